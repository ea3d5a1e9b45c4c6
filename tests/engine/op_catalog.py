"""Which ops exist, and which ones a piece of code ran: for the tests that must cover every op."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil

from gradzoo.engine import Function, hooks, ops


def engine_ops() -> set[type]:
    """Every Function subclass defined in the gradzoo.engine.ops package (all modules loaded)."""
    for module in pkgutil.iter_modules(ops.__path__):
        importlib.import_module(f"{ops.__name__}.{module.name}")
    found, pending = set(), [Function]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.startswith(ops.__name__ + "."):
                found.add(subclass)
    return found


@contextlib.contextmanager
def recording_ops():
    """Collect the class of every op recorded for backward inside the ``with`` block."""
    seen: set[type] = set()
    with hooks.op_recorded(lambda fn: seen.add(type(fn))):
        yield seen
