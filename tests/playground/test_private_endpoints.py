"""The emulator's private endpoints (/_chat/, /_control/): text that is not Unicode is refused without poisoning
anyone's updates, and only the page itself (same origin, the emulator's own host name) or a non-browser client may
call them."""

import json

import aiohttp
import pytest
import telegram

from playground.client import ChatClient
from playground.server import Emulator
from tests.playground.conftest import TOKEN


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def test_a_lone_surrogate_is_refused_and_getupdates_keeps_working(emulator, http):
    chat = await ChatClient(emulator.url, http).new_chat("Ann")
    body = json.dumps({"user_id": chat.user_id, "text": "hi \ud800"})  # JSON escapes it: \\ud800
    async with http.post(f"{emulator.url}/_chat/send", data=body,
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400 and "Unicode" in (await response.json())["error"]
    async with http.post(f"{emulator.url}/_chat/users", data='{"first_name": "\\udc00x"}') as response:
        assert response.status == 400
    await chat.send_text("hello")
    bot = telegram.Bot(TOKEN, base_url=emulator.api_base_url, base_file_url=emulator.file_base_url)
    async with bot:
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates] == ["hello"]
    # a Bot API client cannot send one either
    async with http.post(f"{emulator.api_base_url}{TOKEN}/sendMessage", headers={"Content-Type": "application/json"},
                         data=json.dumps({"chat_id": chat.user_id, "text": "x\ud800"})) as response:
        assert response.status == 400 and "UTF-8" in (await response.json())["description"]


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Host": "evil.example"},
    {"Host": "evil.example:80"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
@pytest.mark.parametrize("method, path, body", [
    ("POST", "/_chat/users", '{"first_name": "Mallory"}'),
    ("POST", "/_control/faults", '{"kind": "500"}'),
    ("GET", "/_chat/users", None),
    ("GET", "/_control/stats", None),
])
async def test_cross_origin_and_foreign_host_requests_are_refused(emulator, http, headers, method, path, body):
    # a web page's "simple" request: text/plain needs no CORS preflight, so only the server can refuse it
    request_headers = {"Content-Type": "text/plain", **headers}
    async with http.request(method, f"{emulator.url}{path}", data=body, headers=request_headers) as response:
        assert response.status == 403
    assert emulator.world.users == {} and emulator.faults.active() == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_the_page_itself_and_plain_clients_are_served(emulator, http, host):
    origin = f"http://{host}:{emulator.port}"
    same_origin = {"Origin": origin, "Host": f"{host}:{emulator.port}", "Sec-Fetch-Site": "same-origin"}
    async with http.post(f"{emulator.url}/_chat/users", json={"first_name": "Ann"}, headers=same_origin) as response:
        assert response.status == 200
    async with http.post(f"{emulator.url}/_control/faults", data='{"kind": "500"}') as response:  # like curl -d
        assert response.status == 200
    assert len(emulator.world.users) == 1 and len(emulator.faults.active()) == 1


async def test_extra_host_names_can_be_allowed(http):
    emulator = Emulator(token=TOKEN, extra_hosts=("192.168.1.5",))
    await emulator.start()
    try:
        lan = {"Host": f"192.168.1.5:{emulator.port}", "Origin": f"http://192.168.1.5:{emulator.port}"}
        async with http.get(f"{emulator.url}/_chat/users", headers=lan) as response:
            assert response.status == 200
        async with http.get(f"{emulator.url}/_chat/users", headers={"Host": "192.168.1.6"}) as response:
            assert response.status == 403
    finally:
        await emulator.stop()
