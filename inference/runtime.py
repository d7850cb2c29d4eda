"""The LiteRT model runtime: `BatchRunner` (one interpreter of the card's model, batches of any size) and
`InterpreterPool` (a fixed set of them for concurrent callers). The one way anything here runs the served model:
serving, `skinbot check`, `skinbot bench` and `skinbot evaluate` all use it.

Both return the model's outputs as a dict keyed by the card's output names (`card.outputs`), batch first, copied out
of the interpreter's buffers; `inference.judge` turns them into judgements. At load, the model must have a single
input of the card's size and every output the card names, and its outputs for a warm-up image must fit the card
(e.g. one type logit per lesion type): otherwise `ModelCardError`, before any user photo arrives.

A LiteRT interpreter is not safe to call from two threads at once, so the pool hands each caller its own.
By default each runs single-threaded and parallelism comes from running several photos at once (LiteRT releases
the GIL while it computes); `inference.model_threads` trades that for lower single-photo latency.
"""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from inference.card import ModelCard, ModelCardError
from inference.judge import judge_arrays

DEFAULT_SIGNATURE = "serving_default"


def _output_names(card: ModelCard) -> tuple[str, ...]:
    o = card.outputs
    return (o.gate, o.lesion, o.type, o.modality, o.cam)


class BatchRunner:
    """One interpreter of the card's model file. `run` takes a float32 (N, size, size, 3) batch of raw 0..255 RGB,
    any N (run in chunks of `batch_size`, so memory stays bounded), and returns the outputs by the card's names.

    Not thread-safe: one caller at a time (use `InterpreterPool` for concurrent callers). `threads` is LiteRT's
    intra-op thread count. `model_content` runs a flatbuffer not yet written beside the card (export's parity check
    of the model it is about to ship) instead of the card's model file.
    """

    def __init__(
        self, card: ModelCard, threads: int = 1, batch_size: int = 32, model_content: bytes | None = None
    ) -> None:
        if threads < 1 or batch_size < 1:
            raise ValueError(f"a runner needs at least one thread and a positive batch size, got {threads}, "
                             f"{batch_size}")
        if model_content is None:
            model_path = card.file("model")
            interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
        else:
            model_path = Path("<model content>")
            interpreter = Interpreter(model_content=model_content, num_threads=threads)
        signatures: dict[str, Any] = interpreter.get_signature_list()
        if not signatures:
            raise ModelCardError(f"{model_path}: the model has no signature; export it with one")
        key = next(iter(signatures)) if len(signatures) == 1 else DEFAULT_SIGNATURE
        if key not in signatures:
            raise ModelCardError(f"{model_path}: several signatures and none is '{DEFAULT_SIGNATURE}'")
        inputs, outputs = signatures[key]["inputs"], signatures[key]["outputs"]
        if len(inputs) != 1:
            raise ModelCardError(f"{model_path}: signature '{key}' must take exactly one input, has {inputs}")
        self._names = _output_names(card)
        missing = set(self._names) - set(outputs)
        if missing:
            raise ModelCardError(f"{model_path}: signature '{key}' lacks output(s) {sorted(missing)} named by the "
                                 f"card (it has {sorted(outputs)})")
        runner = interpreter.get_signature_runner(key)
        self._input = inputs[0]
        shape = tuple(int(d) for d in runner.get_input_details()[self._input]["shape"][1:])
        if shape != (card.input_size, card.input_size, 3):
            raise ModelCardError(f"{model_path}: the model takes images shaped {shape}, the card says "
                                 f"({card.input_size}, {card.input_size}, 3)")
        self._runner: Any = runner
        self.batch_size = batch_size
        self.input_size = card.input_size
        # Allocates tensors now, so the first user does not wait for it, and checks the outputs fit the card.
        judge_arrays(self.run(np.zeros((1, *shape), dtype=np.float32)), card)

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """The model's outputs for a float32 (N, size, size, 3) batch, by the card's output names."""
        if self._runner is None:
            raise RuntimeError("the model runner is closed")
        if len(batch) <= self.batch_size:
            return self._run_one(batch)
        parts = [self._run_one(batch[i:i + self.batch_size]) for i in range(0, len(batch), self.batch_size)]
        return {name: np.concatenate([p[name] for p in parts]) for name in self._names}

    def _run_one(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        result = self._runner(**{self._input: np.asarray(batch, dtype=np.float32)})
        # Copy out of the interpreter's buffers: they are overwritten by its next run.
        return {name: np.array(result[name], dtype=np.float32) for name in self._names}

    def close(self) -> None:
        """Drop the interpreter; `run` refuses work afterwards."""
        self._runner = None


class InterpreterPool:
    """`size` runners of one model; `run` borrows an idle one (waiting if all are busy) and returns it.

    `threads` is LiteRT's intra-op thread count per interpreter: 1 suits concurrent callers; more lowers the latency
    of a lone photo when cores would otherwise sit idle.
    """

    def __init__(self, card: ModelCard, size: int, threads: int = 1) -> None:
        if size < 1:
            raise ValueError(f"the interpreter pool needs at least one worker, got {size}")
        self.input_size = card.input_size
        self._idle: queue.SimpleQueue[BatchRunner] = queue.SimpleQueue()
        for _ in range(size):
            self._idle.put(BatchRunner(card, threads))
        self.size = size

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run a float32 (N, size, size, 3) batch of raw 0..255 RGB; blocks until an interpreter is free."""
        if self.size == 0:
            raise RuntimeError("the interpreter pool is closed")
        runner = self._idle.get()
        try:
            return runner.run(batch)
        finally:
            self._idle.put(runner)

    def close(self) -> None:
        """Release the interpreters, waiting for running ones; call it once nothing will be analysed any more."""
        for _ in range(self.size):
            self._idle.get().close()
        self.size = 0
