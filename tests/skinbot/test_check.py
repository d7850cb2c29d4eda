"""`skinbot check` through the real CLI entry point, on the generated test model and odd files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from inference.pipeline import Pipeline
from skinbot.cli import main
from skinbot.commands.check import READ_ERROR, assess_file
from tests.inference.testmodel import FIXTURES, LESION_TYPES, RASH_THRESHOLD, REPO, config_for, make_model_dir

KEYS = {"path", "status", "lesion_score", "malignancy", "risk", "modality", "lesion_type", "type_probs", "rash", "cam",
        "issues", "ms", "model_version"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_dir(tmp_path_factory.mktemp("models"))


def config_file(tmp_path: Path, models_dir: Path) -> Path:
    """The repository config with `models.dir` pointing elsewhere."""
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["models"]["dir"] = str(models_dir)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A directory tree of real photos and odd files, as a user's folder might be."""
    root = tmp_path / "photos"
    shutil.copytree(FIXTURES, root / "good")
    odd = root / "odd" / "deeper"
    odd.mkdir(parents=True)
    (odd / "empty.jpg").write_bytes(b"")
    (odd / "notes.jpg").write_text("this is a text file with a photo's name\n")
    jpeg = (FIXTURES / "benign_1.jpg").read_bytes()
    (odd / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (root / ".hidden.jpg").write_bytes(jpeg)  # hidden files are skipped, like a file manager does
    return root


def run_check(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), "check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_lines_have_the_schema_and_a_status_for_every_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_dir: Path, photos: Path
) -> None:
    code, out, _ = run_check(capsys, config_file(tmp_path, model_dir), "--json", str(photos))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    by_name = {Path(r["path"]).name: r for r in records}
    assert len(records) == 9 and ".hidden.jpg" not in by_name
    for record in records:
        assert set(record) == KEYS
        assert isinstance(record["issues"], list)
        assert isinstance(record["ms"], float) and record["ms"] >= 0
        assert record["model_version"] == "test-0.1"
    assert {name: by_name[name]["issues"] for name in ("empty.jpg", "notes.jpg", "cut.jpg")} == {
        "empty.jpg": ["empty"], "notes.jpg": ["not_an_image"], "cut.jpg": ["truncated"]
    }
    assert {by_name[n]["status"] for n in ("empty.jpg", "notes.jpg", "cut.jpg")} == {"unreadable"}
    lesion = by_name["malignant_1.jpg"]
    assert lesion["status"] == "ok"
    assert 0 <= lesion["lesion_score"] <= 1 and 0 <= lesion["malignancy"] <= 1
    assert lesion["risk"] in {"low", "medium", "high"}
    assert lesion["modality"] in {"dermoscopic", "clinical"}
    assert list(lesion["type_probs"]) == list(LESION_TYPES)
    assert sum(lesion["type_probs"].values()) == pytest.approx(1.0, abs=1e-5)
    assert lesion["lesion_type"] == max(lesion["type_probs"], key=lesion["type_probs"].get)
    assert lesion["rash"] is (lesion["type_probs"]["rash"] >= RASH_THRESHOLD)
    assert len(lesion["cam"]) == 7 and all(len(row) == 7 for row in lesion["cam"])
    not_skin = by_name["notskin_receipt.jpg"]
    assert not_skin["status"] == "not_skin"
    assert not_skin["malignancy"] is None
    assert [not_skin[k] for k in ("modality", "lesion_type", "type_probs", "rash", "cam")] == [None] * 5


def test_json_numbers_are_the_pipelines(capsys: pytest.CaptureFixture[str], tmp_path: Path, model_dir: Path) -> None:
    photo = FIXTURES / "benign_10.jpg"
    _, out, _ = run_check(capsys, config_file(tmp_path, model_dir), "--json", str(photo))
    record = json.loads(out)
    with Pipeline.from_config(config_for(model_dir, workers=1)) as pipeline:
        result = pipeline.analyze(photo.read_bytes())
    assert (record["status"], record["risk"], record["modality"], record["lesion_type"], record["rash"]) == (
        result.status, result.risk, result.modality, result.lesion_type, result.rash)
    assert record["malignancy"] == pytest.approx(result.malignancy, abs=1e-6)
    assert record["type_probs"] == pytest.approx(result.type_probs, abs=1e-6)
    np.testing.assert_allclose(record["cam"], result.cam, atol=1e-4)


def test_table_lists_every_file_and_a_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_dir: Path, photos: Path
) -> None:
    config = config_file(tmp_path, model_dir)
    code, out, _ = run_check(capsys, config, str(photos / "odd"), str(FIXTURES / "benign_1.jpg"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "model test-0.1"
    assert lines[1].split()[:8] == ["status", "lesion", "malig.", "risk", "ms", "modality", "type", "rash"]
    assert len(lines) == 2 + 4 + 1
    assert lines[2].startswith("unreadable") and lines[2].endswith("cut.jpg") and "truncated" in lines[2]
    assert lines[5].startswith("ok") and lines[5].endswith("benign_1.jpg")
    ok_cells = lines[5].split()
    assert ok_cells[5] in {"dermoscopic", "clinical"} and ok_cells[6] in LESION_TYPES and ok_cells[7] in {"yes", "no"}
    assert lines[2].split()[5:9] == ["-", "-", "-", "truncated"]  # nothing judged: no modality, type or rash
    assert lines[-1].startswith("4 file(s): 1 ok, 3 unreadable; median")


def test_missing_paths_are_reported_but_others_still_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_dir: Path
) -> None:
    config = config_file(tmp_path, model_dir)
    code, out, err = run_check(capsys, config, "--json", str(tmp_path / "nope.jpg"), str(FIXTURES / "benign_1.jpg"))
    assert code == 0
    assert "no such file or directory" in err and "nope.jpg" in err
    assert len(out.splitlines()) == 1
    code, out, err = run_check(capsys, config, "--json", str(tmp_path / "nope.jpg"))
    assert code == 1
    assert out == ""


def test_special_files_are_skipped_not_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_dir: Path
) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)  # reading it would block forever
    photo = FIXTURES / "benign_1.jpg"
    code, out, err = run_check(capsys, config_file(tmp_path, model_dir), "--json", str(fifo), str(photo))
    assert code == 0
    assert "not a regular file" in err
    assert [json.loads(line)["path"] for line in out.splitlines()] == [str(photo)]


def test_reader_closing_the_pipe_stops_check_quietly(tmp_path: Path, model_dir: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(400):  # ~80 kB of JSON lines: more than a pipe buffer holds, so writing must hit the closed pipe
        shutil.copy(FIXTURES / "notskin_tench.jpg", many / f"{i:03d}.jpg")
    command = [sys.executable, "-m", "skinbot", "--config", str(config_file(tmp_path, model_dir)), "check", "--json"]
    process = subprocess.Popen([*command, str(many)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    assert process.wait(timeout=60) == 0
    assert json.loads(first)["path"].endswith("000.jpg")
    assert b"Traceback" not in process.stderr.read()


def test_missing_model_is_a_clear_error_not_a_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_check(capsys, config_file(tmp_path, tmp_path / "empty"), str(FIXTURES))
    assert code == 2
    assert "cannot load the model" in err and "Traceback" not in err
    assert out == ""


def test_file_that_cannot_be_read_is_unreadable(model_dir: Path, tmp_path: Path) -> None:
    with Pipeline.from_config(config_for(model_dir, workers=1)) as pipeline:
        result = assess_file(pipeline, tmp_path)  # a directory: open() fails
    assert result.status == "unreadable"
    assert result.issues == (READ_ERROR,)


def test_oversized_file_is_refused_after_reading_only_the_limit(model_dir: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes((FIXTURES / "benign_1.jpg").read_bytes() + b"\0" * 5000)
    with Pipeline.from_config(config_for(model_dir, workers=1, max_image_bytes=4000)) as pipeline:
        assert assess_file(pipeline, big).issues == ("too_large_file",)
