"""Whether ops record the graph: ``no_grad()`` switches recording off inside a ``with``."""

from __future__ import annotations

import contextlib
import threading


class _GradMode(threading.local):
    """Per thread, as in PyTorch: ``no_grad`` in one thread leaves the others recording."""

    enabled = True  # each thread starts with recording on


_state = _GradMode()


def is_grad_enabled() -> bool:
    """True when ops record themselves for backward (the default)."""
    return _state.enabled


@contextlib.contextmanager
def no_grad():
    """Run ops without recording a graph (evaluation, sampling, optimizer updates).

    >>> from gradzoo.engine import tensor, no_grad
    >>> w = tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    previous = is_grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous
