"""The example ``gradzoo inspect`` looks at: a held-out one, or tokens the user typed.

An example is the token ids a model reads and, for each part of the model, their
names: a decoder-only model reads one stream (``source SEP target[:-1]`` on a
sequence task); an encoder-decoder reads the source in its encoder and
``SEP target[:-1]`` in its decoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradzoo.engine import Tensor, backend
from gradzoo.lab.errors import UsageError

HELD_OUT = 64  # examples of the test split that --example may pick: 0 .. HELD_OUT - 1
host = backend.array_module("cpu")


@dataclass
class Example:
    """One example: what the model is called with, and the token names of each stream."""

    batch: object                 # a batch of one, as the task makes it (None for --input)
    tokens: dict = field(default_factory=dict)   # stream name -> list of token names
    ids: object = None            # (1, L) ids of the decoder-only stream (for --input)
    label: str = ""


def held_out(task, index: int) -> Example:
    """Example ``index`` of the test split (a UsageError when out of range)."""
    if not 0 <= index < HELD_OUT:
        raise UsageError(f"--example {index}: choose a held-out example from 0 to {HELD_OUT - 1}")
    batch = task.batch(HELD_OUT, 0, split="test")
    one = _row(batch, index)
    return Example(one, stream_names(task, one), label=f"held-out example {index}")


def from_text(task, text: str) -> Example:
    """The user's own tokens, checked against the task's vocabulary."""
    ids = encode(task, text)
    names = [_name(task, i) for i in ids]
    return Example(None, {"stream": names, "source": names}, Tensor(host.asarray([ids])),
                   label=f"input {text!r}")


def encode(task, text: str) -> list[int]:
    """Token ids for ``text``: names separated by spaces (sequence tasks) or characters."""
    names = getattr(task, "token_names", None)
    if names is None:
        try:
            return list(task.encode(text))
        except (AttributeError, ValueError) as error:
            raise UsageError(f"--input: {error}") from None
    words = text.split() if " " in text.strip() else list(text.strip())
    unknown = [w for w in dict.fromkeys(words) if w not in names]
    if unknown or not words:
        what = ", ".join(repr(w) for w in unknown) if unknown else "nothing"
        raise UsageError(f"--input: unknown tokens {what}; task '{task.name}' knows "
                         f"{' '.join(names)} (separate them by spaces)")
    return [names.index(w) for w in words]


def stream_names(task, batch) -> dict:
    """Token names of every stream a model of ``task`` may read for ``batch``."""
    streams = {}
    if hasattr(batch, "stream"):   # a sequence task
        inputs, _ = batch.stream()
        streams["stream"] = _names(task, inputs)
        streams["source"] = _names(task, batch.source)
        target = batch.target.numpy()[0].tolist()
        streams["decoder"] = [_name(task, t) for t in [batch.sep_token, *target[:-1]]]
    for attribute in ("inputs", "tokens", "captions"):   # language, cloze, paired tasks
        if hasattr(batch, attribute):
            streams["stream"] = _names(task, getattr(batch, attribute))
    return streams


def _names(task, ids: Tensor) -> list[str]:
    return [_name(task, i) for i in ids.numpy()[0].tolist()]


def _name(task, token: int) -> str:
    names = getattr(task, "token_names", None)
    if names is not None:
        return names[int(token)]
    return task.decode([int(token)]) if hasattr(task, "decode") else str(int(token))


def _row(batch, index: int):
    """A batch of one: row ``index`` of every tensor field of ``batch``."""
    fields = dict(vars(batch))
    for name, value in fields.items():
        if isinstance(value, Tensor):
            fields[name] = Tensor(value.data[index:index + 1])
        elif name == "labels" and value is not None and hasattr(value, "shape"):
            fields[name] = value[index:index + 1]
    return type(batch)(**fields)
