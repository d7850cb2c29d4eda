"""Session fixtures: the generated test model (see testmodel.py) and a pipeline loaded from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inference.pipeline import Pipeline
from tests.inference.testmodel import config_for, make_model_dir


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the test model and its card (do not modify; copy it instead)."""
    return make_model_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def pipeline(model_dir: Path) -> Iterator[Pipeline]:
    with Pipeline.from_config(config_for(model_dir)) as loaded:
        yield loaded
