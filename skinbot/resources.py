"""Where skinbot finds what is not code: its home (models, database, data), the default config, the message files
and the playground's static files. The one module that knows these places, so skinbot works wherever it is
installed and from any working directory.

- The home is `$SKINBOT_HOME` when set; else, when running from a source checkout (an editable install or
  `python -m skinbot` in the repository), the checkout; else the current directory. Relative paths in the
  configuration are taken from the home (`skinbot.config.anchored`), so `skinbot check photo.jpg` finds
  `models/` wherever it is run.
- The default configuration is `<home>/config.yaml` when there is one, else the copy packaged with skinbot.
- Message files and static files are package data (`skinbot/_data/`, `playground/static/`): an installed skinbot
  carries them. In a checkout, `skinbot/_data/` links to the top-level `messages/` and `config.yaml`.

Models are not packaged (they are large and retrained on their own schedule): put them in `<home>/models`, or
point `models.dir` at them.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

HOME_VARIABLE = "SKINBOT_HOME"
CONFIG_FILE = "config.yaml"
# The packages of this distribution besides `skinbot`; their names are generic, so another distribution's package
# of the same name could shadow one of them (see `foreign_packages`).
SIBLING_PACKAGES = ("bot", "inference", "playground", "train")


def _checkout() -> Path | None:
    """The source checkout this module runs from, if it is one (the wheel has no pyproject.toml beside skinbot/)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "messages").is_dir() else None


def home(env: Mapping[str, str] | None = None) -> Path:
    """The folder skinbot's relative paths start from: $SKINBOT_HOME, else the checkout, else the current directory."""
    env = os.environ if env is None else env
    if env.get(HOME_VARIABLE):
        return Path(env[HOME_VARIABLE]).expanduser().resolve()
    return _checkout() or Path.cwd()


def _package_data(*parts: str) -> Path:
    """A file or folder packaged with skinbot, as a path (skinbot is installed as files, never zipped)."""
    return Path(str(resources.files("skinbot").joinpath("_data", *parts)))


def default_config_file(env: Mapping[str, str] | None = None) -> Path:
    """`config.yaml` in the home when there is one, else the packaged default (which states the typed defaults)."""
    local = home(env) / CONFIG_FILE
    return local if local.is_file() else _package_data(CONFIG_FILE)


def messages_dir() -> Path:
    """The folder holding `<lang>.yaml`, every user-facing string."""
    return _package_data("messages")


def static_dir() -> Path:
    """The playground's web page, script and style sheet."""
    return Path(str(resources.files("playground").joinpath("static")))


def foreign_packages() -> list[str]:
    """Sibling packages that would be imported from somewhere other than this installation of skinbot (another
    distribution's `bot`, say), so the command line can refuse to start with a clear message."""
    ours = Path(__file__).resolve().parent.parent
    foreign = []
    for name in SIBLING_PACKAGES:
        spec = importlib.util.find_spec(name)
        origin = None if spec is None or spec.origin is None else Path(spec.origin).resolve()
        if origin is None or origin.parent.parent != ours:
            foreign.append(name)
    return foreign
