"""What a plugin registers: ``ModelSpec`` and ``TaskSpec``, with typed ``Option``s.

A spec is a description, not a model: it says what the thing is called, what it
can do and which options it takes, and holds the function that builds it. The
command line lists, validates and documents options from the spec alone.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KINDS = ("sequence", "language", "generative", "paired", "classification")
TRAINING_KEYS = ("steps", "batch_size", "lr", "warmup", "weight_decay", "beta1", "beta2", "clip",
                 "eval_every", "log_every")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class SpecError(ValueError):
    """A spec or an option value is not valid; the message says what is allowed."""


def did_you_mean(name: str, choices) -> str:
    """' (did you mean 'x'?)' for the closest of ``choices``, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


@dataclass(frozen=True)
class Option:
    """One option of a model or task: name, default, type, help, and allowed values.

    ``type`` is taken from the default when not given (int, float, str or bool).
    ``choices`` limits the values to a list; ``min``/``max`` bound numbers.
    """

    name: str
    default: Any
    help: str = ""
    type: type | None = None
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None

    @property
    def value_type(self) -> type:
        return self.type or type(self.default)

    def describe(self) -> str:
        """What values are allowed, in words: 'an integer >= 1', 'one of: a, b'."""
        if self.choices:
            return "one of: " + ", ".join(str(c) for c in self.choices)
        words = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
        text = words.get(self.value_type, self.value_type.__name__)
        if self.min is not None and self.max is not None:
            return f"{text} from {self.min} to {self.max}"
        if self.min is not None:
            return f"{text} >= {self.min}"
        if self.max is not None:
            return f"{text} <= {self.max}"
        return text

    def parse(self, value, owner: str = ""):
        """Turn ``value`` (a string from the command line, or a Python value) into a valid value."""
        where = f"option '{self.name}'" + (f" of {owner}" if owner else "")
        try:
            parsed = _convert(value, self.value_type)
        except (TypeError, ValueError):
            raise SpecError(f"{where} must be {self.describe()}, got {value!r}") from None
        if self.choices and parsed not in self.choices:
            raise SpecError(f"{where} must be {self.describe()}, got {value!r}")
        if self.min is not None and parsed < self.min or self.max is not None and parsed > self.max:
            raise SpecError(f"{where} must be {self.describe()}, got {value!r}")
        return parsed


def _convert(value, kind: type):
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind is str:
        return str(value)
    return kind(value)


@dataclass(frozen=True)
class _Spec:
    name: str
    summary: str
    options: tuple[Option, ...] = field(default=())

    def _check_common(self, what: str) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise SpecError(f"{what} name {self.name!r} must be lowercase letters, digits and "
                            f"underscores, starting with a letter")
        if not self.summary or "\n" in self.summary:
            raise SpecError(f"{what} '{self.name}': summary must be one non-empty line")
        names = [o.name for o in self.options]
        if len(set(names)) != len(names):
            raise SpecError(f"{what} '{self.name}': option names repeat: {names}")
        for option in self.options:
            option.parse(option.default, f"{what} '{self.name}'")  # the default must be valid

    def defaults(self) -> dict[str, Any]:
        """Every option at its default value."""
        return {o.name: o.default for o in self.options}

    def resolve(self, values: dict | None = None) -> dict[str, Any]:
        """The defaults updated with ``values``, each checked; unknown names are an error."""
        known = {o.name: o for o in self.options}
        resolved = self.defaults()
        for name, value in (values or {}).items():
            if name not in known:
                allowed = ", ".join(known) or "none"
                raise SpecError(f"unknown option '{name}' for {self._what} '{self.name}'"
                                f"{did_you_mean(name, known)}; its options: {allowed}")
            resolved[name] = known[name].parse(value, f"{self._what} '{self.name}'")
        return resolved


@dataclass(frozen=True)
class ModelSpec(_Spec):
    """A model a plugin offers.

    - ``name``: unique, lowercase (``"gpt"``); ``summary``: one line.
    - ``kinds``: the task kinds it can run, from ``"sequence"``, ``"language"``,
      ``"generative"``, ``"paired"``, ``"classification"``.
    - ``build(task, options) -> model``: makes the model (an ``nn.Module``) for a
      task, with ``options`` the resolved option values (a dict).
    - ``options``: its hyperparameters, as ``Option``s with defaults.
    - ``training``: training settings it works best with, overriding the lab's
      defaults (keys: ``steps``, ``batch_size``, ``lr``, ``warmup``,
      ``weight_decay``, ``beta1``, ``beta2``, ``clip``, ``eval_every``, ``log_every``).
    - ``picture_training``: settings that replace those of ``training`` on a
      picture task (one with ``image_shape``), where the model builds another
      network (diffusion's U-Net, a DCGAN); the user's own settings still win.
    - ``example_task``: the task it is shown on when none is named (``gradzoo
      list``, ``gradzoo graph``, the conformance kit); default: the usual task
      of its first kind. ``bert`` names ``cloze``, since next-character
      prediction would let a model that reads both sides see the answer. A
      dict names one per kind (``{"language": "cloze", "classification":
      "doc_topics"}``): a text model is not shown on the usual picture task.
    """

    kinds: tuple[str, ...] = ()
    build: Callable | None = None
    training: dict = field(default_factory=dict)
    picture_training: dict = field(default_factory=dict)
    example_task: str | dict = ""
    _what = "model"

    def __post_init__(self):
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "options", tuple(self.options))
        self._check_common("model")
        bad = [k for k in self.kinds if k not in KINDS]
        if not self.kinds or bad:
            raise SpecError(f"model '{self.name}': kinds must be a non-empty list from "
                            f"{', '.join(KINDS)}; got {list(self.kinds)}")
        if not callable(self.build):
            raise SpecError(f"model '{self.name}': build must be a function "
                            f"(task, options) -> model")
        named = self.example_task if isinstance(self.example_task, dict) else {
            self.kinds[0]: self.example_task}
        for kind, task in named.items():
            if kind not in self.kinds:
                raise SpecError(f"model '{self.name}': example_task names a task for {kind!r}, "
                                f"a kind it does not run ({', '.join(self.kinds)})")
            if task and not (isinstance(task, str) and _NAME.match(task)):
                raise SpecError(f"model '{self.name}': example_task {task!r} is not a "
                                f"task name (lowercase letters, digits and underscores)")
        unknown = sorted((set(self.training) | set(self.picture_training)) - set(TRAINING_KEYS))
        if unknown:
            raise SpecError(f"model '{self.name}': unknown training settings {unknown}; "
                            f"allowed: {', '.join(TRAINING_KEYS)}")

    def example_task_for(self, kind: str | None = None) -> str:
        """The task ``example_task`` names for ``kind`` (None: any kind, or the first of a
        dict), or ''."""
        if isinstance(self.example_task, dict):
            return self.example_task.get(kind or self.kinds[0], "")
        return self.example_task


@dataclass(frozen=True)
class TaskSpec(_Spec):
    """A task a plugin offers.

    - ``name``: unique, lowercase (``"reverse"``); ``summary``: one line.
    - ``kind``: ``"sequence"``, ``"language"``, ``"generative"``, ``"paired"`` or
      ``"classification"``.
    - ``make(options, seed) -> task``: builds the task's data, reproducibly from ``seed``.
    - ``options``: its settings, as ``Option``s with defaults.
    """

    kind: str = ""
    make: Callable | None = None
    _what = "task"

    def __post_init__(self):
        object.__setattr__(self, "options", tuple(self.options))
        self._check_common("task")
        if self.kind not in KINDS:
            raise SpecError(f"task '{self.name}': kind must be one of {', '.join(KINDS)}; "
                            f"got {self.kind!r}")
        if not callable(self.make):
            raise SpecError(f"task '{self.name}': make must be a function (options, seed) -> task")
