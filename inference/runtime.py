"""The LiteRT model runtime: a fixed pool of interpreters, one per worker thread, never shared while running.

A LiteRT interpreter is not safe to call from two threads at once, so the pool hands each caller its own.
By default each runs single-threaded and parallelism comes from running several photos at once (LiteRT releases
the GIL while it computes); `inference.model_threads` trades that for lower single-photo latency.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from inference.card import ModelCardError

DEFAULT_SIGNATURE = "serving_default"


@dataclass(frozen=True)
class Logits:
    """Raw model outputs for a batch: one gate and one lesion logit per image."""

    gate: np.ndarray
    lesion: np.ndarray


class _Worker:
    """One interpreter and its signature runner; used by one thread at a time."""

    def __init__(self, model_path: Path, gate_output: str, lesion_output: str, threads: int) -> None:
        interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
        signatures: dict[str, Any] = interpreter.get_signature_list()
        if not signatures:
            raise ModelCardError(f"{model_path}: the model has no signature; export it with one")
        key = next(iter(signatures)) if len(signatures) == 1 else DEFAULT_SIGNATURE
        if key not in signatures:
            raise ModelCardError(f"{model_path}: several signatures and none is '{DEFAULT_SIGNATURE}'")
        inputs, outputs = signatures[key]["inputs"], signatures[key]["outputs"]
        if len(inputs) != 1:
            raise ModelCardError(f"{model_path}: signature '{key}' must take exactly one input, has {inputs}")
        missing = {gate_output, lesion_output} - set(outputs)
        if missing:
            raise ModelCardError(f"{model_path}: signature '{key}' lacks output(s) {sorted(missing)} named by the card")
        self._runner = interpreter.get_signature_runner(key)
        self._input = inputs[0]
        self._gate, self._lesion = gate_output, lesion_output

    def run(self, batch: np.ndarray) -> Logits:
        result = self._runner(**{self._input: batch})
        count = batch.shape[0]
        # Heads may be shaped (N,) or (N, 1); copy out of the interpreter's buffers before it is reused.
        return Logits(
            gate=np.array(result[self._gate], dtype=np.float32).reshape(count),
            lesion=np.array(result[self._lesion], dtype=np.float32).reshape(count),
        )


class InterpreterPool:
    """`size` interpreters of one model; `run` borrows an idle one (waiting if all are busy) and returns it.

    `threads` is LiteRT's intra-op thread count per interpreter: 1 suits concurrent callers; more lowers the latency
    of a lone photo when cores would otherwise sit idle.
    """

    def __init__(
        self, model_path: Path, input_size: int, gate_output: str, lesion_output: str, size: int, threads: int = 1
    ) -> None:
        if size < 1 or threads < 1:
            raise ValueError(f"the interpreter pool needs at least one worker and thread, got {size} and {threads}")
        self.input_size = input_size
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        warmup = np.zeros((1, input_size, input_size, 3), dtype=np.float32)
        for _ in range(size):
            worker = _Worker(model_path, gate_output, lesion_output, threads)
            worker.run(warmup)  # allocates tensors now, so the first user does not wait for it
            self._idle.put(worker)
        self.size = size

    def run(self, batch: np.ndarray) -> Logits:
        """Run a float32 (N, size, size, 3) batch of raw 0..255 RGB; blocks until an interpreter is free."""
        if self.size == 0:
            raise RuntimeError("the interpreter pool is closed")
        worker = self._idle.get()
        try:
            return worker.run(batch)
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        """Release the interpreters, waiting for running ones; call it once nothing will be analysed any more."""
        for _ in range(self.size):
            self._idle.get()
        self.size = 0
