"""The cluster harness: nginx's generated configuration, nginx in front of stub replicas (spread, no re-send of
a POST to another replica after a SIGKILL, rejoin after restart, /healthz), and the generic process launcher."""

from __future__ import annotations

import asyncio
import itertools
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from playground.cluster import nginx
from playground.cluster.nginx import Address, NginxNotInstalled, NginxSpec, TlsFiles, find_nginx, site_config
from playground.cluster.processes import (
    HttpReady,
    ManagedProcess,
    ProcessFailed,
    ProcessSet,
    ProcessSpec,
    TcpReady,
    free_port,
)
from playground.cluster.replicas import reminder_worker, webhook_replicas
from playground.cluster.stack import Backend, Cluster, running_cluster

REPO = Path(__file__).resolve().parents[2]
STUBS = ("a", "b", "c")


def spec_for(upstreams: tuple[Address, ...], log_dir: Path, **settings: object) -> NginxSpec:
    return NginxSpec(upstreams, Address("127.0.0.1", free_port()), log_dir, webhook_path="/hook", **settings)


@pytest.fixture
def nginx_executable() -> Path:
    """nginx must be installed: without it these tests fail (they are not skipped), saying how to install it."""
    try:
        return find_nginx()
    except NginxNotInstalled as exc:
        pytest.fail(str(exc))


# --- the configuration -------------------------------------------------------------------------------------------

def directives(text: str, name: str) -> list[str]:
    """The arguments of every `name ...;` directive in an nginx configuration text."""
    return [m.group(1).strip() for m in re.finditer(rf"^\s*{re.escape(name)}\s+([^;{{]*);", text, re.MULTILINE)]


def test_site_config_has_the_upstreams_and_the_settings_the_bot_depends_on(tmp_path):
    upstreams = tuple(Address(f"10.0.0.{i}", 8443) for i in (1, 2, 3))
    text = site_config(NginxSpec(upstreams, Address("", 443), tmp_path, webhook_path="/tg/hook", read_timeout_s=125,
                                 fail_timeout_s=7, tls=TlsFiles(Path("/etc/ssl/c.pem"), Path("/etc/ssl/k.pem"))))
    upstream_block = text[text.index("upstream skinbot_replicas {"):text.index("}")]
    assert directives(upstream_block, "server") == [f"10.0.0.{i}:8443 max_fails=1 fail_timeout=7s" for i in (1, 2, 3)]
    assert directives(upstream_block, "keepalive") == ["16"]
    assert directives(text, "proxy_next_upstream") == ["error timeout"]  # never non_idempotent
    assert "non_idempotent" not in "".join(directives(text, "proxy_next_upstream"))
    assert directives(text, "proxy_read_timeout") == ["125s"]
    assert directives(text, "client_max_body_size") == ["1m"]
    assert directives(text, "proxy_http_version") == ["1.1"]
    assert 'Connection ""' in directives(text, "proxy_set_header")
    assert directives(text, "listen") == ["443 ssl"]
    assert directives(text, "ssl_certificate") == ['"/etc/ssl/c.pem"']
    assert "location = /tg/hook {" in text and "location = /healthz {" in text
    assert directives(text, "proxy_pass") == ["http://skinbot_replicas"] * 2


def test_standalone_config_keeps_every_file_in_the_runtime_folder_and_nginx_accepts_it(tmp_path, nginx_executable):
    runtime = tmp_path / "run"
    runtime.mkdir()
    text = nginx.standalone_config(spec_for((Address("127.0.0.1", 9),), tmp_path, connect_timeout_s=0.25),
                                   runtime, "root", "root")
    assert directives(text, "daemon") == ["off"]
    assert directives(text, "pid") == [f'"{runtime}/nginx.pid"']
    assert directives(text, "error_log") == [f'"{runtime}/error.log" warn']
    temp = {d: directives(text, f"{d}_temp_path") for d in nginx.TEMP_PATHS}
    assert temp == {d: [f'"{runtime}/{d}"'] for d in nginx.TEMP_PATHS}
    assert directives(text, "proxy_connect_timeout") == ["250ms"]
    (runtime / "nginx.conf").write_text(text)
    check = subprocess.run([nginx_executable, "-t", "-p", runtime, "-e", runtime / "error.log",
                            "-c", runtime / "nginx.conf"], capture_output=True, text=True, timeout=10)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("text", ["10.0.0.1", "host:0", "host:65536", "a;b:80", "ho st:80", ":80x", ""])
def test_bad_addresses_are_refused(text):
    with pytest.raises(ValueError, match=r"expected host:port|not a host name"):
        Address.parse(text)


def test_addresses_parse():
    assert Address.parse("10.0.0.1:8443") == Address("10.0.0.1", 8443)
    assert Address.parse("[::1]:80") == Address("[::1]", 80)
    assert str(Address.parse("443")) == "443"


@pytest.mark.parametrize(("settings", "problem"), [
    ({"upstreams": ()}, "at least one upstream"),
    ({"upstreams": (Address("", 80),)}, "a host is needed"),
    ({"upstreams": (Address("h", 80), Address("h", 80))}, "listed twice"),
    ({"webhook_path": "/a b"}, "webhook path"),
    ({"webhook_path": "/x;return 200"}, "webhook path"),
    ({"webhook_path": "/healthz"}, "webhook path"),
    ({"server_name": "a;b"}, "server name"),
    ({"log_dir": Path("/var/log/$host")}, "file path"),
    ({"read_timeout_s": 0}, "timeouts must be positive"),
])
def test_bad_specs_are_refused(tmp_path, settings, problem):
    fields = {"upstreams": (Address("h", 80),), "listen": Address("", 80), "log_dir": tmp_path, **settings}
    with pytest.raises(ValueError, match=problem):
        NginxSpec(**fields)


def test_missing_nginx_is_said_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(nginx, "DEBIAN_NGINX", tmp_path / "nginx")
    with pytest.raises(NginxNotInstalled, match="apt-get install nginx"):
        find_nginx()


# --- nginx in front of stub replicas -----------------------------------------------------------------------------

def stub(name: str, journal_dir: Path) -> Backend:
    port = free_port()
    spec = ProcessSpec(name, (sys.executable, "-m", "tests.playground.stub_replica", name, str(port),
                              str(journal_dir / f"{name}.journal")),
                       journal_dir / f"{name}.log", ready=HttpReady(f"http://127.0.0.1:{port}/healthz"), cwd=REPO,
                       ready_timeout_s=15)
    return Backend(spec, Address("127.0.0.1", port))


def received(journal_dir: Path) -> dict[str, list[str]]:
    """The update ids each stub has received so far (written on arrival, so a killed stub's too)."""
    journals = {name: journal_dir / f"{name}.journal" for name in STUBS}
    return {name: path.read_text().split() if path.exists() else [] for name, path in journals.items()}


async def post(http: aiohttp.ClientSession, url: str, update_id: str, hold_s: float = 0.0) -> tuple[int, str]:
    """POST an update through nginx: its status and the stub that answered ("" when none did)."""
    try:
        async with http.post(f"{url}/hook", json={"id": update_id, "hold_s": hold_s}) as response:
            body = await response.json() if response.status == 200 else {}
            return response.status, body.get("upstream", "")
    except aiohttp.ClientError:
        return 0, ""


@pytest.fixture
async def stub_cluster(tmp_path, nginx_executable) -> AsyncIterator[tuple[Cluster, Path]]:
    backends = [stub(name, tmp_path) for name in STUBS]
    spec = spec_for(tuple(b.address for b in backends), tmp_path, fail_timeout_s=1)
    async with running_cluster(backends, spec, tmp_path / "nginx") as cluster:
        yield cluster, tmp_path


async def test_nginx_spreads_updates_and_never_resends_a_post_a_killed_replica_had(stub_cluster):
    cluster, journals = stub_cluster
    async with aiohttp.ClientSession() as http:
        answers = [await post(http, cluster.url, f"spread-{i}") for i in range(9)]
        assert {status for status, _ in answers} == {200}
        assert {name for _, name in answers} == set(STUBS)  # every replica took some
        assert sorted(i for ids in received(journals).values() for i in ids) == sorted(f"spread-{i}" for i in range(9))

        in_flight = asyncio.create_task(post(http, cluster.url, "doomed", hold_s=3))
        victim = await arrival_of("doomed", journals)
        await cluster.backends[victim].kill()
        status, _ = await asyncio.wait_for(in_flight, 10)
        assert status == 502  # nginx answers as Telegram will see it; Telegram then re-sends
        await asyncio.sleep(0.3)
        holders = [name for name, ids in received(journals).items() for i in ids if i == "doomed"]
        assert holders == [victim]  # sent to one replica only: nginx did not try another

        answers = [await post(http, cluster.url, f"after-kill-{i}") for i in range(6)]
        assert answers and all(status == 200 and name != victim for status, name in answers)

        await cluster.backends[victim].start()
        # After fail_timeout (1 s, on nginx's clock of whole seconds) nginx tries the restarted replica again.
        async with asyncio.timeout(5):
            for attempt in itertools.count():
                status, name = await post(http, cluster.url, f"rejoined-{attempt}")
                assert status == 200
                if name == victim:
                    break
                await asyncio.sleep(0.1)


async def arrival_of(update_id: str, journals: Path, timeout_s: float = 10.0) -> str:
    """The stub that received `update_id` (waits until one has)."""
    async with asyncio.timeout(timeout_s):
        while True:
            for name, ids in received(journals).items():
                if update_id in ids:
                    return name
            await asyncio.sleep(0.05)


async def test_nginx_passes_the_health_check_through_and_refuses_the_rest(stub_cluster):
    cluster, _ = stub_cluster
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{cluster.url}/healthz") as response:
            assert response.status == 200
            assert await response.text() in STUBS  # answered by a replica, not by nginx
        async with http.post(f"{cluster.url}/healthz") as response:
            assert response.status == 403
        async with http.get(f"{cluster.url}/hook") as response:
            assert response.status == 403
        async with http.get(f"{cluster.url}/elsewhere") as response:
            assert response.status == 404
        async with http.post(f"{cluster.url}/hook", data=b"x" * 1_100_000) as response:
            assert response.status == 413  # client_max_body_size 1m
    rss = cluster.rss_bytes()
    assert set(rss) == {*STUBS, "nginx"} and all(value > 1_000_000 for value in rss.values())


async def test_cluster_refuses_upstreams_that_are_not_its_backends(tmp_path):
    backends = [stub("a", tmp_path)]
    with pytest.raises(ValueError, match="not the backends' addresses"):
        async with running_cluster(backends, spec_for((Address("127.0.0.1", 1),), tmp_path), tmp_path):
            pass


# --- the generic launcher ----------------------------------------------------------------------------------------

def http_server(tmp_path: Path, port: int) -> ProcessSpec:
    return ProcessSpec("web", (sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                               "--directory", str(tmp_path)),
                       tmp_path / "web.log", ready=HttpReady(f"http://127.0.0.1:{port}/"), ready_timeout_s=15)


async def answers(url: str) -> bool:
    async with aiohttp.ClientSession() as http:
        return await HttpReady(url).probe(http)


async def accepts(port: int) -> bool:
    async with aiohttp.ClientSession() as http:
        return await TcpReady("127.0.0.1", port).probe(http)


async def test_a_process_is_waited_for_killed_restarted_measured_and_stopped(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    async with ManagedProcess(http_server(tmp_path, port)) as web:
        assert await answers(url)
        first = web.pid
        assert web.rss_bytes() > 1_000_000
        await web.kill()
        assert not web.running and web.rss_bytes() == 0
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
        assert not await answers(url)
        await web.start()
        assert web.pid != first and await answers(url)
    assert not web.running and not await answers(url)


async def test_stop_sends_the_stop_signal_and_reports_the_exit_code(tmp_path):
    port = free_port()
    async with ManagedProcess(http_server(tmp_path, port)) as web:
        code = await web.stop()
    assert code == -15  # SIGTERM ended it (http.server has no handler for it)
    assert await web.stop() is None  # already stopped: nothing to do


async def test_a_process_ignoring_the_stop_signal_is_killed(tmp_path):
    port = free_port()
    code = ("import signal, socket, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            f"s = socket.create_server(('127.0.0.1', {port})); time.sleep(60)")
    spec = ProcessSpec("stubborn", (sys.executable, "-c", code), tmp_path / "s.log", ready=TcpReady("127.0.0.1", port),
                       stop_timeout_s=0.5)
    async with ManagedProcess(spec) as process:
        assert await accepts(port)
        code_after = await process.stop()
    assert code_after == -9
    assert not await accepts(port)


async def test_kill_takes_what_the_process_spawned(tmp_path):
    code = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    async with ManagedProcess(ProcessSpec("parent", (sys.executable, "-c", code), tmp_path / "p.log")) as parent:
        await asyncio.sleep(0.5)
        children = psutil.Process(parent.pid).children()
        assert [c.name() for c in children] == ["sleep"]
        await parent.kill()
    await asyncio.sleep(0.1)
    assert all(not c.is_running() or c.status() == psutil.STATUS_ZOMBIE for c in children)


async def test_a_process_that_exits_while_starting_is_reported_with_its_log(tmp_path):
    spec = ProcessSpec("broken", (sys.executable, "-c", "print('no config here'); raise SystemExit(3)"),
                       tmp_path / "b.log", ready=TcpReady("127.0.0.1", free_port()))
    with pytest.raises(ProcessFailed, match=r"(?s)broken exited with code 3 while starting.*no config here"):
        await ManagedProcess(spec).start()


async def test_a_process_never_ready_is_killed_after_the_timeout(tmp_path):
    spec = ProcessSpec("silent", (sys.executable, "-c", "import time; time.sleep(60)"), tmp_path / "s.log",
                       ready=TcpReady("127.0.0.1", free_port()), ready_timeout_s=0.5)
    process = ManagedProcess(spec)
    with pytest.raises(ProcessFailed, match="silent was not ready"):
        await process.start()
    assert not process.running


async def test_a_set_whose_member_fails_stops_the_others(tmp_path):
    port = free_port()
    broken = ProcessSpec("broken", (sys.executable, "-c", "raise SystemExit(1)"), tmp_path / "b.log",
                         ready=TcpReady("127.0.0.1", free_port()))
    members = ProcessSet([http_server(tmp_path, port), broken])
    with pytest.raises(ProcessFailed, match="broken exited"):
        await members.start()
    assert not members["web"].running and not await answers(f"http://127.0.0.1:{port}/")
    with pytest.raises(ValueError, match="distinct"):
        ProcessSet([broken, broken])


def test_webhook_replicas_each_get_a_port_and_a_health_check(tmp_path):
    config = tmp_path / "config.yaml"
    env = {"SKINBOT_DB_URL": "postgresql://x@127.0.0.1/skinbot", "SKINBOT_WEBHOOK_SECRET": "s"}
    replicas = webhook_replicas(3, config, env, tmp_path)
    ports = [b.address.port for b in replicas]
    assert len(set(ports)) == 3
    for backend, port in zip(replicas, ports, strict=True):
        spec = backend.process
        assert spec.argv[-3:] == ("--config", str(config), "run")
        assert spec.env["SKINBOT_WEBHOOK_PORT"] == str(port) and spec.env["SKINBOT_DB_URL"] == env["SKINBOT_DB_URL"]
        assert spec.ready == HttpReady(f"http://127.0.0.1:{port}/healthz")
    worker = reminder_worker(None, env, tmp_path)
    assert worker.argv[-1] == "worker" and "--config" not in worker.argv and worker.ready is None
