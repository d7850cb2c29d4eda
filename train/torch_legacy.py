"""Read a PyTorch *legacy* (pre-zip) checkpoint of a state_dict into numpy arrays, without torch and without trust.

The legacy format is a sequence of pickles: magic number, protocol version, system info, the state_dict (whose tensors
refer to storages by persistent id), the list of storage keys; then, for each key in that order, an 8-byte
little-endian element count followed by the storage's raw little-endian bytes.

`pickle.load` on such a file would import and call whatever the file names. The unpickler here resolves only the
handful of globals a state_dict needs, to inert stand-ins, and refuses everything else.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

_STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class CheckpointError(ValueError):
    """The file is not a legacy PyTorch state_dict this reader accepts."""


@dataclass(frozen=True)
class _StorageType:
    name: str


@dataclass(frozen=True)
class _TensorRef:
    storage_key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage: tuple[str, _StorageType], offset: int, size: tuple[int, ...],
                       stride: tuple[int, ...], *_ignored: Any) -> _TensorRef:
    key, _ = storage
    return _TensorRef(storage_key=key, offset=int(offset), shape=tuple(size), stride=tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only OrderedDict, the tensor rebuild function and storage types; refuses all other globals."""

    def __init__(self, file: BinaryIO, storages: dict[str, _StorageType]) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(f"checkpoint refers to {module}.{name}, which a plain state_dict never needs")

    def persistent_load(self, pid: Any) -> Any:
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise CheckpointError(f"unexpected persistent id in checkpoint: {pid!r:.80}")
        key = str(pid[2])
        self._storages[key] = pid[1]
        return (key, pid[1])


def _plain_load(handle: BinaryIO) -> Any:
    """Unpickle a header record that may hold only plain data (numbers, strings, dicts, lists)."""
    return _RestrictedUnpickler(handle, {}).load()


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Parse a legacy PyTorch state_dict file into {name: float32/int array} (read-only copies, C order)."""
    data = path.read_bytes()
    handle = io.BytesIO(data)
    try:
        if _plain_load(handle) != LEGACY_MAGIC:
            raise CheckpointError(f"{path}: not a legacy PyTorch checkpoint (bad magic number)")
        if _plain_load(handle) != LEGACY_PROTOCOL:
            raise CheckpointError(f"{path}: unsupported legacy protocol version")
        _plain_load(handle)  # system info: endianness and type sizes; the storages below are little-endian
        storage_types: dict[str, _StorageType] = {}
        state = _RestrictedUnpickler(handle, storage_types).load()
        keys = _plain_load(handle)
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, TypeError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{path}: corrupt checkpoint header: {exc}") from exc
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise CheckpointError(f"{path}: checkpoint does not hold a state_dict")

    buffers: dict[str, np.ndarray] = {}
    for key in keys:
        key = str(key)
        if key not in storage_types:
            raise CheckpointError(f"{path}: storage {key} is listed but never referenced")
        dtype = _STORAGE_DTYPES[storage_types[key].name]
        header = handle.read(8)
        if len(header) != 8:
            raise CheckpointError(f"{path}: truncated before storage {key}")
        (count,) = struct.unpack("<q", header)
        raw = handle.read(count * dtype.itemsize)
        if count < 0 or len(raw) != count * dtype.itemsize:
            raise CheckpointError(f"{path}: truncated storage {key}")
        buffers[key] = np.frombuffer(raw, dtype=dtype)

    tensors: dict[str, np.ndarray] = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            raise CheckpointError(f"{path}: entry {name} is not a tensor")
        tensors[str(name)] = _materialise(buffers[ref.storage_key], ref, f"{path}:{name}")
    return tensors


def _materialise(buffer: np.ndarray, ref: _TensorRef, where: str) -> np.ndarray:
    if not ref.shape:
        if ref.offset >= buffer.size:
            raise CheckpointError(f"{where}: offset outside its storage")
        return np.array(buffer[ref.offset])
    extent = ref.offset + sum((s - 1) * st for s, st in zip(ref.shape, ref.stride, strict=True)) + 1
    if ref.offset < 0 or extent > buffer.size or any(st < 0 for st in ref.stride):
        raise CheckpointError(f"{where}: tensor view outside its storage")
    view = np.lib.stride_tricks.as_strided(
        buffer[ref.offset:],
        shape=ref.shape,
        strides=tuple(st * buffer.itemsize for st in ref.stride),
        writeable=False,
    )
    return np.ascontiguousarray(view)
