"""The built wheel works where it is installed: a fresh virtualenv outside the repository, run from another folder.

The wheel is built from a copy of the source tree (so the checkout stays clean) and installed without
dependencies into a new virtualenv; that virtualenv reaches the dependencies (LiteRT, Telegram, numpy...) through a
`.pth` line naming this interpreter's site-packages, which is added as a plain path, so the editable install of
skinbot found there is never activated. Every command runs from a folder outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from bot.storage.schema import latest_version
from tests.inference.testmodel import FIXTURES, REPO, make_model_dir

pytestmark = pytest.mark.slow
# Not part of the wheel, or too large to copy for nothing.
SKIPPED_WHEN_COPYING = (".git", ".venv", "tests", "models", "docs", "build", "dist", "data", "cache", "runs",
                        "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.db")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel --no-deps` builds from the source tree."""
    source = tmp_path_factory.mktemp("source") / "skinbot"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(*SKIPPED_WHEN_COPYING))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(source)],
                   check=True, capture_output=True)
    (built,) = dist.glob("skinbot-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv outside the repository with the wheel installed in it (and nothing else of skinbot's)."""
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "skinbot_test_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True, capture_output=True)
    return root


def run_installed(venv: Path, cwd: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `skinbot` console script in `cwd`, with SKINBOT_HOME set to `home` (or unset)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SKINBOT_HOME", "PYTHONPATH", "SKINBOT_DB_URL")}
    if home is not None:
        env["SKINBOT_HOME"] = str(home)
    return subprocess.run([str(venv / "bin" / "skinbot"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_wheel_holds_the_resources_and_no_models_or_tests(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"skinbot/_data/config.yaml", "skinbot/_data/messages/en.yaml", "skinbot/_data/messages/ko.yaml",
            "playground/static/index.html", "playground/static/chat.js", "playground/static/chat.css",
            "bot/storage/migrations/sqlite/0001_initial.sql",
            "bot/storage/migrations/postgres/0001_initial.sql"} <= names
    assert (REPO / "config.yaml").read_bytes() == zipfile.ZipFile(wheel).read("skinbot/_data/config.yaml")
    tops = {name.split("/")[0] for name in names if not name.startswith("skinbot-0")}
    assert tops == {"skinbot", "bot", "inference", "playground", "train"}
    assert not any(name.endswith((".tflite", ".h5", "model_card.json")) for name in names)


def test_installed_code_is_the_wheels(venv: Path, tmp_path: Path) -> None:
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import json, bot.messages, inference, playground.server, skinbot.resources as r; "
         "print(json.dumps([bot.messages.__file__, inference.__file__, r.__file__, str(r.messages_dir()), "
         "str(r.static_dir())]))"],
        cwd=tmp_path, check=True, capture_output=True, text=True,
    )
    for path in json.loads(found.stdout):
        assert Path(path).resolve().is_relative_to(venv.resolve()), path


def test_installed_ask_answers_from_any_folder(venv: Path, tmp_path: Path) -> None:
    result = run_installed(venv, tmp_path, "ask", "--json", "what does medium risk mean?")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["intent"] != "fallback"
    korean = run_installed(venv, tmp_path, "ask", "--json", "암이에요?")
    assert json.loads(korean.stdout)["intent"] == "is_it_cancer"


def test_installed_migrate_finds_its_migrations(venv: Path, tmp_path: Path) -> None:
    result = run_installed(venv, tmp_path, "migrate", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"schema version {latest_version('sqlite')}")
    assert (tmp_path / "skinbot.db").exists()  # a relative storage.url is under SKINBOT_HOME


def test_installed_check_finds_the_model_through_skinbot_home(venv: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_model_dir(home / "models")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(FIXTURES / "benign_1.jpg", elsewhere / "photo.jpg")
    result = run_installed(venv, elsewhere, "check", "--json", "photo.jpg", home=home)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["path"] == "photo.jpg" and record["status"] in ("ok", "not_skin", "poor_quality")
    assert run_installed(venv, elsewhere, "check", "photo.jpg").returncode == 2  # no home: no model, a clear exit


@pytest.mark.parametrize("args", [("ask", "what does medium risk mean?"), ("check", "photo.jpg")])
def test_installed_commands_end_quietly_when_the_reader_goes(venv: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    home = tmp_path / "home"
    make_model_dir(home / "models")
    shutil.copy(FIXTURES / "benign_1.jpg", tmp_path / "photo.jpg")
    env = {**os.environ, "SKINBOT_HOME": str(home)}
    process = subprocess.Popen([str(venv / "bin" / "skinbot"), *args], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head` that has already gone: every write meets a closed pipe
    assert process.wait(timeout=120) == 0
    assert b"Traceback" not in process.stderr.read()
