"""The emulator's HTTP server: the Bot API on /bot<token>/<method>, file downloads, the fault control API,
the chat API and the web page, all on one loopback port.

    emulator = Emulator(token="123:ABC")
    await emulator.start()            # port 0 picks a free port; see emulator.url
    # the bot long-polls emulator.api_base_url, or calls setWebhook there to have updates POSTed to it
    emulator.faults.add(Fault("429", method="sendMessage", retry_after=1))
    ...
    await emulator.stop()
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from playground.bot_api import METHODS, Params, Upload
from playground.chat_api import chat_routes
from playground.faults import Fault, FaultPlan, FaultSpecError, fault_from_json
from playground.formatting import has_lone_surrogate
from playground.webhook import WebhookDelivery
from playground.world import ApiError, World
from skinbot import resources

STATIC_DIR = resources.static_dir()
# The chat and control APIs act as any user and change the emulator: only the page itself (same origin) and
# non-browser clients may call them, and only under the emulator's own host name (against DNS rebinding).
PRIVATE_PREFIXES = ("/_chat/", "/_control/")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SAFE_FETCH_SITES = ("same-origin", "none")
MAX_REQUEST_BYTES = 50 * 1024 * 1024  # Telegram accepts uploads of up to 50 MB from bots
DOWNLOAD_METHOD = "download"          # the name faults use for file downloads

log = logging.getLogger(__name__)


def _telegram_json(status: int, body: dict[str, Any]) -> web.Response:
    try:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate got in after all: escaped JSON is still valid, one reply is kept
        data = json.dumps(body).encode("ascii")
    return web.Response(status=status, body=data, content_type="application/json", charset="utf-8")


def _api_error(error: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": error.error_code, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return _telegram_json(error.error_code, body)


async def _read_params(request: web.Request) -> Params:
    """Parameters from the query string, a JSON body, or form/multipart fields."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: the request body must be a JSON object")
            values.update(body)
        else:
            for name, value in (await request.post()).items():
                if isinstance(value, FileField):
                    uploads[name] = Upload(value.filename or name, value.content_type, value.file.read())
                else:
                    values[name] = value
    if has_lone_surrogate(values):
        raise ApiError(400, "Bad Request: strings must be encoded in UTF-8")
    return Params(values, uploads)


class Emulator:
    """A Telegram Bot API emulator for one bot token, with its users, chats and faults."""

    def __init__(self, token: str, host: str = "127.0.0.1", port: int = 0, extra_hosts: tuple[str, ...] = (), *,
                 webhook_timeout_s: float = 60.0, webhook_retry_s: float = 1.0) -> None:
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.token = token
        self.host = host
        self.port = port
        self.extra_hosts = extra_hosts  # more names the page may be reached by (e.g. a LAN address)
        self.world = World(bot_id=bot_id, bot_username="skinbot_playground_bot")
        self.faults = FaultPlan()
        self.calls: Counter[str] = Counter()
        self.webhook = WebhookDelivery(self.world, webhook_timeout_s, webhook_retry_s)
        self._runner: web.AppRunner | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on host:port (port 0: a free one, then `self.port` holds it)."""
        self._runner = web.AppRunner(self.build_app(), access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        await self.webhook.start()

    async def stop(self) -> None:
        """Stop webhook delivery, close every connection (ending long polls) and stop listening."""
        if self._runner is not None:
            await self.webhook.stop()
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """What python-telegram-bot calls `base_url` (the token is appended)."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        """What python-telegram-bot calls `base_file_url`."""
        return f"{self.url}/file/bot"

    def build_app(self) -> web.Application:
        """The aiohttp application with every route."""
        app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[self._guard_private])
        app.add_routes([
            web.route("*", "/bot{token}/{method}", self._bot_method),
            web.get("/file/bot{token}/{path:.+}", self._download),
            web.get("/_control/faults", self._list_faults),
            web.post("/_control/faults", self._add_fault),
            web.delete("/_control/faults", self._clear_faults),
            web.get("/_control/stats", self._stats),
            *chat_routes(self.world),
            web.get("/", self._index),
            web.static("/static", STATIC_DIR),
        ])
        return app

    # ---- who may use the private endpoints ---------------------------------------------------------------------

    def allowed_hosts(self) -> set[str]:
        """The Host header values the emulator answers to on its private endpoints."""
        names = {_bracketed(name.lower()) for name in (self.host, *LOOPBACK_NAMES, *self.extra_hosts)}
        hosts = {f"{name}:{self.port}" for name in names}
        return hosts | names if self.port == 80 else hosts

    def refusal(self, request: web.Request) -> str | None:
        """Why a request to a private endpoint is refused (foreign Host, another origin), or None."""
        hosts = self.allowed_hosts()
        if request.host.lower() not in hosts:
            return "unknown Host"
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() not in {f"http://{host}" for host in hosts}:
            return "cross-origin request"
        if request.headers.get("Sec-Fetch-Site", "none").lower() not in SAFE_FETCH_SITES:
            return "cross-site request"
        return None

    @web.middleware
    async def _guard_private(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(PRIVATE_PREFIXES):
            refusal = self.refusal(request)
            if refusal is not None:
                log.warning("refused %s %s: %s", request.method, request.path, refusal)
                return web.json_response({"error": f"forbidden: {refusal}"}, status=403)
        response: web.StreamResponse = await handler(request)
        return response

    # ---- Bot API -----------------------------------------------------------------------------------------------

    async def _bot_method(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _api_error(ApiError(401, "Unauthorized"))
        name = request.match_info["method"]
        self.calls[name] += 1
        try:
            params = await _read_params(request)
            fault_response = await self._apply_fault(request, name)
            if fault_response is not None:
                return fault_response
            method = METHODS.get(name.lower())
            if method is None:
                raise ApiError(404, "Not Found: method not found")
            result = await method(self.world, params)
        except ApiError as error:
            return _api_error(error)
        return _telegram_json(200, {"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _api_error(ApiError(401, "Unauthorized"))
        self.calls[DOWNLOAD_METHOD] += 1
        fault_response = await self._apply_fault(request, DOWNLOAD_METHOD)
        if fault_response is not None:
            return fault_response
        stored = self.world.files_by_path.get(request.match_info["path"])
        if stored is None:
            return _api_error(ApiError(404, "Not Found"))
        return web.Response(body=stored.data, content_type=stored.mime_type)

    async def _apply_fault(self, request: web.Request, method: str) -> web.StreamResponse | None:
        """A response replacing the call, or None to carry it out (possibly after a delay)."""
        fault = self.faults.take(method)
        if fault is None:
            return None
        log.info("injecting fault %s into %s", fault.kind, method)
        if fault.kind == "delay":
            await asyncio.sleep(fault.delay)
            if request.transport is None or request.transport.is_closing():
                raise asyncio.CancelledError  # the client gave up waiting: the call never happened
            return None
        if fault.kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        status, body = fault.error()
        return _telegram_json(status, body)

    # ---- control API -------------------------------------------------------------------------------------------

    async def _list_faults(self, request: web.Request) -> web.Response:
        return web.json_response({"faults": [f.as_json() for f in self.faults.active()], "fired": self.faults.fired})

    async def _add_fault(self, request: web.Request) -> web.Response:
        try:
            fault = fault_from_json(await request.json())
        except (ValueError, FaultSpecError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self.faults.add(fault)
        return web.json_response({"fault": fault.as_json()})

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"faults": []})

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": dict(self.calls), "pending_updates": self.world.pending_updates,
                                  "users": len(self.world.users), "faults_fired": self.faults.fired})

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html")


def _bracketed(name: str) -> str:
    """An IPv6 address as it appears in a Host header."""
    return f"[{name}]" if ":" in name and not name.startswith("[") else name


__all__ = ["Emulator", "Fault"]
