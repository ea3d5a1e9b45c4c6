"""What the conformance kit's checks share: the model under test, fixed randomness, errors.

A check (``conformance_checks.py``) takes a ``Subject``, one model spec on one
task at a tiny size, and returns a line of what it saw, raises ``CheckFailed``
with a message a plugin author can act on, or ``CheckSkipped`` when it does
not apply. ``gradzoo.plugins.testing`` runs them.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from dataclasses import dataclass, field

from gradzoo.engine import Tensor, backend, no_grad
from gradzoo.plugins.protocols import classification_inputs, kind_method
from gradzoo.plugins.specs import ModelSpec, TaskSpec

host = backend.array_module("cpu")


class CheckFailed(AssertionError):
    """A check found a problem; the message says what and what to do."""


class CheckSkipped(Exception):
    """A check that does not apply to this model (the message says why)."""


@dataclass
class Subject:
    """One model spec on one built task, with resolved (tiny) options: what the checks test."""

    spec: ModelSpec
    task_spec: TaskSpec
    options: dict
    task_options: dict
    seed: int
    task: object = field(repr=False)

    @property
    def kind(self) -> str:
        return self.task_spec.kind

    def build(self, seed: int | None = None):
        """A fresh model, its weights drawn from ``seed`` (default: the subject's)."""
        backend.manual_seed(self.seed if seed is None else seed)
        return self.spec.build(self.task, dict(self.options))

    def batch(self, size: int, step: int = 0, split: str = "train"):
        return self.task.batch(size, step, split)


# ---------------------------------------------------------------------- helpers


@contextlib.contextmanager
def seeded(seed: int):
    """Draw the same random numbers inside the block every time; put the old state back after."""
    saved = backend.get_rng_state()
    backend.manual_seed(seed)
    try:
        yield
    finally:
        backend.set_rng_state(saved)


def seeded_loss(model, batch, seed: int):
    """``model.loss(batch)`` with its random draws (noise, dropout) fixed by ``seed``."""
    with seeded(seed):
        return model.loss(batch)


@contextlib.contextmanager
def evaluating(model):
    """Eval mode and no gradients inside the block; the model's mode is put back after."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


def host_values(value):
    """A Tensor or backend array as a host (NumPy) array."""
    return backend.to_host(value.data if isinstance(value, Tensor) else value)


def all_finite(value) -> bool:
    return bool(host.isfinite(host_values(value)).all())


def describe_error(error: BaseException) -> str:
    """'TypeError: ... (at file.py:12 in forward: `line`)', pointing at the plugin's own code."""
    frames = traceback.extract_tb(error.__traceback__)
    gradzoo_parts = [os.path.join("gradzoo", part) + os.sep for part in ("engine", "plugins")]
    own = [f for f in frames if not any(part in f.filename for part in gradzoo_parts)]
    where = ""
    if own:
        frame = own[-1]
        where = f" (at {frame.filename}:{frame.lineno} in {frame.name}: `{frame.line}`)"
    return f"{type(error).__name__}: {error}{where}"


def call(what: str, function, *args, **kwargs):
    """``function(*args)``; an exception becomes a CheckFailed that says what was being done."""
    try:
        return function(*args, **kwargs)
    except (CheckFailed, CheckSkipped):
        raise
    except Exception as error:
        raise CheckFailed(f"{what} raised {describe_error(error)}") from error


def kind_output(model, subject: Subject, batch):
    """What the model's kind-specific method gives on a small input (in eval mode, seeded)."""
    method = kind_method(subject.kind)
    with evaluating(model), seeded(subject.seed):
        if subject.kind == "sequence":
            return call("predict(source)", model.predict, batch.source)
        if subject.kind == "language":
            prompt = Tensor(batch.inputs.data[:2, :4])
            return call("generate(prompt, tokens=3)", model.generate, prompt, 3, temperature=0)
        if subject.kind == "paired":
            return call("similarity(images, captions)", model.similarity, batch.images,
                        batch.captions)
        if subject.kind == "classification":
            return call("classify(inputs)", model.classify, classification_inputs(batch))
        return call(f"{method}(5)", model.sample, 5)
