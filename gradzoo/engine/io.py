"""Save and load tensors as safetensors files (never pickle: loading one runs no code).

A safetensors file is a small JSON header (names, dtypes, shapes, optional
string metadata) followed by the raw bytes of each tensor. ``save`` writes
atomically with ``write_atomically`` (which the lab uses for every file of a
run): to a temporary file in the same directory first, then ``os.replace``
renames it over the target, so an interrupted run leaves the previous
checkpoint whole rather than half a new one.

>>> import os, tempfile
>>> from gradzoo.engine import io, tensor
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> io.save({"w": tensor([1.0, 2.0])}, path, metadata={"step": "3"})
>>> io.load(path)["w"].tolist(), io.read_metadata(path)
([1.0, 2.0], {'step': '3'})
"""

from __future__ import annotations

import os
import secrets

import safetensors
import safetensors.numpy

from gradzoo.engine import backend
from gradzoo.engine.tensor import Tensor


class CheckpointError(ValueError):
    """A checkpoint file is missing or is not a readable safetensors file."""


def save(state_dict: dict, path, metadata: dict[str, str] | None = None) -> None:
    """Write ``state_dict`` (name -> Tensor or Python number) to ``path``, atomically.

    Tensors keep their dtype; they are copied to the host first. A Python
    number is stored as a 0-d tensor (float64 for a float, so a learning rate
    survives exactly; int64 for an int), which is how ``load`` returns it.
    ``metadata`` holds optional strings (a config, a step count) for the header.
    """
    arrays = {name: _host_array(name, value) for name, value in state_dict.items()}
    payload = safetensors.numpy.save(arrays, metadata=_checked_metadata(metadata))
    write_atomically(path, payload)


def load(path, device: str | None = None) -> dict[str, Tensor]:
    """Read a file written by ``save``: name -> Tensor on ``device`` (default: the default device).

    Raises CheckpointError, naming the file, when it is missing or unreadable.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            payload = file.read()
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error.strerror or error}") from None
    try:
        arrays = safetensors.numpy.load(payload)
    except Exception as error:  # the Rust parser raises SafetensorError, and others on odd bytes
        raise CheckpointError(f"checkpoint {path} is not a valid safetensors file "
                              f"(truncated or corrupt?): {error}") from None
    return {name: Tensor(array, dtype=array.dtype, device=device)
            for name, array in arrays.items()}


def read_metadata(path) -> dict[str, str]:
    """The string metadata stored by ``save(..., metadata=...)`` ({} when there is none)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"cannot read checkpoint {path}: no such file")
    try:
        with safetensors.safe_open(path, framework="np") as file:
            return dict(file.metadata() or {})
    except Exception as error:
        raise CheckpointError(f"checkpoint {path} is not a valid safetensors file "
                              f"(truncated or corrupt?): {error}") from None


def write_atomically(path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all: temporary file, rename.

    The temporary file lies beside the target under a random name and is flushed
    to disk before ``os.replace`` puts it in place, so a reader sees the old file
    or the new one, never half of it. It is created like any new file of the user:
    mode 0o666 less the umask (``tempfile.mkstemp`` would make it private, 0o600).
    """
    path = os.fspath(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)  # Windows: no \r
    handle = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # atomic on POSIX and Windows: readers see old or new
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


# ---------------------------------------------------------------------- helpers


def _host_array(name, value):
    """A C-ordered host array for one entry, or a TypeError naming the entry."""
    if not isinstance(name, str):
        raise TypeError(f"save: names must be strings, got {name!r}")
    if isinstance(value, Tensor):
        array = backend.to_host(value.data)
    elif isinstance(value, (int, float)):  # bool is an int too: stored as 0 or 1
        number_dtype = backend.float64 if isinstance(value, float) else backend.int64
        array = backend.make_array(value, dtype=number_dtype, device="cpu")
    else:
        raise TypeError(f"save: '{name}' is a {type(value).__name__}; values must be Tensors "
                        f"or Python numbers")
    # safetensors writes the raw memory, so it must be one C-ordered block.
    return array if array.flags["C_CONTIGUOUS"] else array.copy(order="C")


def _checked_metadata(metadata):
    if metadata is None:
        return None
    bad = {k: v for k, v in metadata.items() if not (isinstance(k, str) and isinstance(v, str))}
    if bad:
        raise TypeError(f"save: metadata keys and values must be strings; these are not: {bad} "
                        f"(use str() or json.dumps())")
    return dict(metadata)
