"""`skinbot loadtest` at CI size: every reply arrives exactly once (the full-size run is in docs/benchmarks.md)."""

from __future__ import annotations

import json

from bot.messages import load_catalog
from skinbot.cli import main
from tests.e2e.conftest import REPO, write_config

USERS, PHOTOS = 6, 1


def test_loadtest_command_delivers_every_reply_once(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    config_path = write_config(tmp_path, {})
    report_path = tmp_path / "report.json"
    code = main(["--config", str(config_path), "loadtest", "--users", str(USERS), "--photos", str(PHOTOS),
                 "--think", "0.3", "--ramp", "1", "--p95-target-ms", "5000", "--json", str(report_path)])
    printed = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    questions = len(load_catalog().section("en", "checklist.questions"))
    # each photo: the result, the first question, then one edit per answer (the last one is the advice)
    assert report["expected_replies"] == USERS * PHOTOS * (2 + questions)
    assert report["received_replies"] == report["expected_replies"]
    assert report["lost_replies"] == 0 and report["duplicated_replies"] == 0
    assert 0 < report["photo_p50_ms"] <= report["photo_p95_ms"] and report["bot_peak_rss_mb"] > 20
    assert code == 0 and "targets met" in printed


def test_loadtest_refuses_bad_arguments_and_missing_photos(tmp_path, capsys):
    assert main(["loadtest", "--users", "0"]) == 2
    assert "--users and --photos must be at least 1" in capsys.readouterr().err
    assert main(["loadtest", "--images", str(tmp_path)]) == 2
    assert "no lesion photos" in capsys.readouterr().err


def test_killtest_refuses_bad_arguments(tmp_path, capsys):
    assert main(["killtest", "--users", "0"]) == 2
    assert main(["killtest", "--images", str(tmp_path)]) == 2
    assert "--images must hold lesion photos" in capsys.readouterr().err
