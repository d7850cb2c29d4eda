"""nginx in front of webhook replicas: the configuration, generated from a small typed spec, and nginx run as a
child process on it.

The same generator writes the site that docs/deploy.md shows (`skinbot cluster nginx-config`, an `upstream` and a
`server` block for /etc/nginx/conf.d/) and the whole standalone configuration the local cluster runs (`daemon off`,
pid, logs and every temporary path inside one folder).

What matters for the bot (see docs/deploy.md): a POST that nginx has sent to a replica is never sent to another
one (nginx's default for non-idempotent requests, kept: `proxy_next_upstream error timeout` only moves on before
the request is sent), so a replica killed mid-update gives Telegram a 502 and Telegram re-sends the update, as it
does after any error; and nginx waits for a replica's answer a little longer than the bot's slowest handling.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from bot.intake import HEALTH_PATH  # the replicas' health check (200 serving, 503 draining), passed through
from playground.cluster.processes import ManagedProcess, ProcessSpec, TcpReady

UPSTREAM_NAME = "skinbot_replicas"
LOG_FORMAT = "skinbot_upstream"
DEBIAN_NGINX = Path("/usr/sbin/nginx")  # Debian's nginx package installs here, often not on a user's PATH
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")  # nginx's *_temp_path directives

_HOST = re.compile(r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]")
_SERVER_NAME = re.compile(r"[A-Za-z0-9.\-*_]+")
_PATH = re.compile(r"/[A-Za-z0-9._~\-/]*")  # a URL path, without characters nginx would read as syntax
_FILE = re.compile(r"[^\"\\$;{}\s]+")  # a file path nginx can take quoted, without variables


class NginxNotInstalled(RuntimeError):
    """No nginx executable was found."""


@dataclass(frozen=True)
class Address:
    """host:port; an empty host (listen addresses only) means every address."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Address:
        """`host:port`, `[v6]:port` or a bare `port`; ValueError with a readable message otherwise."""
        host, sep, port = text.strip().rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{text!r}: expected host:port with a port from 1 to 65535")
        if sep and not _HOST.fullmatch(host):
            raise ValueError(f"{text!r}: {host!r} is not a host name or IP address")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" if self.host else str(self.port)


@dataclass(frozen=True)
class TlsFiles:
    """The certificate chain and private key nginx serves HTTPS with (Telegram only calls HTTPS webhooks)."""

    certificate: Path
    key: Path


@dataclass(frozen=True)
class NginxSpec:
    """The load balancer: where it listens, the replicas, and the settings the bot depends on."""

    upstreams: tuple[Address, ...]
    listen: Address
    log_dir: Path  # access log of the site (nginx's own error log is the installation's, or the runtime folder's)
    webhook_path: str = "/"  # the path of bot.webhook_url
    server_name: str = "_"
    tls: TlsFiles | None = None
    # A little above the bot's slowest handling (bot.webhook_claim_s bounds it): nginx must not give up on an
    # update the replica is still handling.
    read_timeout_s: float = 130.0
    connect_timeout_s: float = 2.0  # a replica that does not accept within this is skipped (the POST is not sent)
    fail_timeout_s: int = 10  # a replica that failed is left out this long, then tried again (whole seconds)
    keepalive: int = 16  # idle connections kept open to the replicas, per nginx worker

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))


def _problems(spec: NginxSpec) -> list[str]:
    problems = []
    if not spec.upstreams:
        problems.append("at least one upstream replica is needed")
    problems += [f"upstream {a}: a host is needed" for a in spec.upstreams if not a.host]
    if len(set(spec.upstreams)) != len(spec.upstreams):
        problems.append("an upstream is listed twice")
    if not _PATH.fullmatch(spec.webhook_path) or spec.webhook_path == HEALTH_PATH:
        problems.append(f"webhook path {spec.webhook_path!r}: expected /letters-digits-._~ (not {HEALTH_PATH})")
    if not _SERVER_NAME.fullmatch(spec.server_name):
        problems.append(f"server name {spec.server_name!r}: expected a host name")
    files = [spec.log_dir] + ([spec.tls.certificate, spec.tls.key] if spec.tls else [])
    problems += [f"file path {str(p)!r}: quotes, $, ;, braces and spaces are not allowed" for p in files
                 if not _FILE.fullmatch(str(p))]
    timeouts = (spec.read_timeout_s, spec.connect_timeout_s, spec.fail_timeout_s)
    if min(timeouts) <= 0 or spec.keepalive < 0:
        problems.append("timeouts must be positive and keepalive at least 0")
    return problems


def _seconds(value: float) -> str:
    """nginx time syntax: whole seconds, else milliseconds (so that fractions survive)."""
    milliseconds = round(value * 1000)
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


def site_config(spec: NginxSpec) -> str:
    """The `upstream` and `server` blocks (http context): for conf.d/ in a deployment, and inside the standalone
    configuration."""
    servers = "\n".join(f"    server {a} max_fails=1 fail_timeout={spec.fail_timeout_s}s;"
                        for a in spec.upstreams)
    listen = f"{spec.listen} ssl" if spec.tls else str(spec.listen)
    tls = (f"    ssl_certificate \"{spec.tls.certificate}\";\n    ssl_certificate_key \"{spec.tls.key}\";\n"
           "    ssl_protocols TLSv1.2 TLSv1.3;\n" if spec.tls else "")
    return f"""\
log_format {LOG_FORMAT} '$remote_addr [$time_local] "$request" $status '
                        'upstream=$upstream_addr upstream_status=$upstream_status time=$request_time';

upstream {UPSTREAM_NAME} {{
    # Photos take far longer than button taps: each update goes to the replica with the fewest open requests.
    least_conn;
{servers}
    keepalive {spec.keepalive};
}}

server {{
    listen {listen};
    server_name {spec.server_name};
{tls}    access_log "{spec.log_dir}/skinbot-access.log" {LOG_FORMAT};
    client_max_body_size 1m;  # an update is JSON (photos come as file ids); Telegram's are far smaller

    proxy_http_version 1.1;  # with the empty Connection header: keep-alive connections to the replicas
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_connect_timeout {_seconds(spec.connect_timeout_s)};
    proxy_read_timeout {_seconds(spec.read_timeout_s)};
    proxy_send_timeout {_seconds(spec.read_timeout_s)};
    # Move to another replica only while the request is not sent yet (connection refused, connect timeout).
    # Never add non_idempotent: a POST sent to a replica that then died may have been handled, and Telegram
    # re-sends it after the 502 anyway; the replicas' claims keep that copy from being handled twice.
    proxy_next_upstream error timeout;

    location = {spec.webhook_path} {{
        limit_except POST {{ deny all; }}
        proxy_pass http://{UPSTREAM_NAME};
    }}

    location = {HEALTH_PATH} {{
        limit_except GET {{ deny all; }}
        proxy_pass http://{UPSTREAM_NAME};
    }}

    location / {{
        return 404;
    }}
}}
"""


def standalone_config(spec: NginxSpec, runtime_dir: Path, user: str, group: str) -> str:
    """A whole nginx.conf for nginx as a foreground child process: pid, error log and temporary files all in
    `runtime_dir`, workers running as `user`:`group` (the directive only matters when nginx starts as root: as
    the user who started it, the workers can reach the temporary files in a folder only that user may enter)."""
    if not _FILE.fullmatch(str(runtime_dir)):
        raise ValueError(f"runtime folder {str(runtime_dir)!r}: quotes, $, ;, braces and spaces are not allowed")
    temp_paths = "\n".join(f"    {kind}_temp_path \"{runtime_dir}/{kind}\";" for kind in TEMP_PATHS)
    site = "\n".join(f"    {line}" if line else "" for line in site_config(spec).splitlines())
    return f"""\
daemon off;
user {user} {group};
worker_processes 1;
pid "{runtime_dir}/nginx.pid";
error_log "{runtime_dir}/error.log" warn;

events {{
    worker_connections 1024;
}}

http {{
{temp_paths}

{site}
}}
"""


def find_nginx() -> Path:
    """The nginx executable (on PATH, else Debian's /usr/sbin/nginx); NginxNotInstalled says how to get it."""
    found = shutil.which("nginx")
    if found:
        return Path(found)
    if os.access(DEBIAN_NGINX, os.X_OK):
        return DEBIAN_NGINX
    raise NginxNotInstalled("nginx is not installed: on Debian or Ubuntu `apt-get install nginx` "
                            "(scripts/system-packages.sh test installs it), or put nginx on PATH")


def nginx_process(spec: NginxSpec, runtime_dir: Path) -> ManagedProcess:
    """nginx running `spec` in the foreground, its configuration, pid, logs and temporary files in `runtime_dir`;
    ready once it accepts connections on the listen address. Not started yet (use `async with`)."""
    executable = find_nginx()
    runtime_dir.mkdir(parents=True, exist_ok=True)
    config = runtime_dir / "nginx.conf"
    config.write_text(standalone_config(spec, runtime_dir, pwd.getpwuid(os.geteuid()).pw_name,
                                        grp.getgrgid(os.getegid()).gr_name),
                      encoding="utf-8")
    host = spec.listen.host.strip("[]") or "127.0.0.1"
    return ManagedProcess(ProcessSpec(
        # -e: nginx opens its error log before reading the configuration; the compiled-in one may not be writable
        name="nginx", argv=(str(executable), "-p", str(runtime_dir), "-e", str(runtime_dir / "error.log"),
                            "-c", str(config)),
        log_path=runtime_dir / "nginx.out", ready=TcpReady(host, spec.listen.port),
        stop_signal=signal.SIGQUIT,  # graceful: finish the requests in flight, then exit
        ready_timeout_s=10.0, stop_timeout_s=10.0,
    ))
