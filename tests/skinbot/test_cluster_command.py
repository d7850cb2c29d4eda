from pathlib import Path

import pytest

from skinbot.cli import main


@pytest.fixture
def webhook_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("bot: {mode: webhook, webhook_url: 'https://bot.example.org/tg/hook'}\n", encoding="utf-8")
    return path


def test_nginx_config_takes_path_and_name_from_the_webhook_url(capsys, webhook_config):
    code = main(["--config", str(webhook_config), "cluster", "nginx-config", "--upstream", "10.0.0.1:8443",
                 "--upstream", "10.0.0.2:8443", "--tls-cert", "/etc/ssl/bot.pem", "--tls-key", "/etc/ssl/bot.key"])
    out = capsys.readouterr().out
    assert code == 0
    assert "server 10.0.0.1:8443 " in out and "server 10.0.0.2:8443 " in out
    assert "location = /tg/hook {" in out and "server_name bot.example.org;" in out
    assert "listen 443 ssl;" in out and 'ssl_certificate_key "/etc/ssl/bot.key";' in out


def test_nginx_config_without_tls_listens_on_80(capsys, webhook_config):
    assert main(["--config", str(webhook_config), "cluster", "nginx-config", "--upstream", "127.0.0.1:18201",
                 "--read-timeout", "90"]) == 0
    out = capsys.readouterr().out
    assert "listen 80;" in out and "ssl" not in out and "proxy_read_timeout 90s;" in out


@pytest.mark.parametrize(("options", "problem"), [
    (["--upstream", "10.0.0.1"], "expected host:port"),
    (["--upstream", "10.0.0.1:80", "--tls-cert", "/c.pem"], "go together"),
    (["--upstream", "10.0.0.1:80", "--read-timeout", "0"], "timeouts must be positive"),
    (["--upstream", "10.0.0.1:80", "--log-dir", "/var/log/my logs"], "file path"),
])
def test_bad_options_exit_2_with_the_reason(capsys, webhook_config, options, problem):
    assert main(["--config", str(webhook_config), "cluster", "nginx-config", *options]) == 2
    captured = capsys.readouterr()
    assert problem in captured.err and captured.out == ""


def test_the_deploy_guide_shows_what_the_command_writes(capsys, tmp_path):
    """docs/deploy.md shows the site for its example; it must be what the command writes for it today."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("bot: {mode: webhook, webhook_url: 'https://bot.example.org/telegram/hook'}\n")
    live = "/etc/letsencrypt/live/bot.example.org"
    assert main(["--config", str(config), "cluster", "nginx-config", "--upstream", "10.0.0.11:8443",
                 "--upstream", "10.0.0.12:8443", "--upstream", "10.0.0.13:8443",
                 "--tls-cert", f"{live}/fullchain.pem", "--tls-key", f"{live}/privkey.pem"]) == 0
    assert f"```nginx\n{capsys.readouterr().out}```" in guide
