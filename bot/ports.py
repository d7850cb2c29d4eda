"""What the bot needs from the inference side, as a protocol: the bot depends on this, not on inference internals."""

from __future__ import annotations

from typing import Protocol

from inference.assessment import Assessment
from inference.card import ModelCard


class Analyzer(Protocol):
    """Turns photo bytes into an `Assessment`; `inference.pipeline.Pipeline` is the real one."""

    @property
    def card(self) -> ModelCard:
        """The model card of the served model (version, metrics, limitations)."""
        ...

    def analyze(self, image_bytes: bytes) -> Assessment:
        """Blocking, thread-safe analysis that never raises on bad input."""
        ...
