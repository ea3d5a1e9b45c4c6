"""Hooks: how a tool outside the engine watches it work, through this small API and nothing else.

Three moments can be watched, each for the length of a ``with`` block:

    with hooks.op_recorded(callback):    # callback(fn): each Function recorded for backward
    with hooks.module_called(wrapper):   # wrapper(module, forward, *args, **kwargs) runs a call
    with hooks.backward_step(callback):  # callback(fn, grad, input_grads): each backward step

The graph drawings (gradzoo/graph/) use all three: the first two note which module
calls every op ran in, the third shows the backward walk step by step. When no hook
is active, the engine pays one test of an empty list per op, module call and backward step.

>>> from gradzoo.engine import hooks, tensor
>>> x = tensor(2.0, requires_grad=True)
>>> seen = []
>>> with hooks.op_recorded(lambda fn: seen.append(fn.name)):
...     y = (x * x).tanh()
>>> seen
['Mul', 'Tanh']
"""

from __future__ import annotations

import contextlib
import functools

# The active hooks, in the order they were set. function.py, nn/module.py and tensor.py test
# these very lists (an empty list is one cheap check), so they are changed in place only.
_op_callbacks: list = []
_module_wrappers: list = []
_backward_callbacks: list = []


@contextlib.contextmanager
def op_recorded(callback):
    """Inside this ``with``, ``callback(fn)`` sees every Function recorded for backward.

    It is called as the op's output is made: ``fn.inputs``, ``fn.needs_input_grad``
    and ``fn.sequence`` (when it ran, counted over all ops) are set by then.
    """
    with _active(_op_callbacks, callback):
        yield


@contextlib.contextmanager
def module_called(wrapper):
    """Inside this ``with``, every ``module(...)`` call runs through ``wrapper``.

    ``wrapper(module, forward, *args, **kwargs)`` must call ``forward(*args, **kwargs)``
    (the module's forward, or the next wrapper around it) and return what it returns;
    around that call it may note the call, its inputs and its outputs. (A ``/`` after
    ``module, forward`` keeps them apart from a forward's own keyword arguments.)

    >>> from gradzoo.engine import hooks, nn, tensor
    >>> def announce(module, forward, /, *args, **kwargs):
    ...     print("calling", type(module).__name__)
    ...     return forward(*args, **kwargs)
    >>> with hooks.module_called(announce):
    ...     y = nn.Sequential(nn.ReLU())(tensor([1.0]))
    calling Sequential
    calling ReLU
    """
    with _active(_module_wrappers, wrapper):
        yield


@contextlib.contextmanager
def backward_step(callback):
    """Inside this ``with``, ``callback(fn, grad, input_grads)`` sees each step of ``backward()``.

    ``grad`` is d(loss)/d(output of fn), summed over every use; ``input_grads`` what
    ``fn.backward`` sent to each input (None where an input needs no gradient).
    """
    with _active(_backward_callbacks, callback):
        yield


@contextlib.contextmanager
def _active(registry: list, hook):
    """``hook`` in ``registry`` for the length of the ``with`` block, however the block ends."""
    registry.append(hook)
    try:
        yield
    finally:
        registry.remove(hook)


def _tell_op_recorded(fn) -> None:
    """Hand a freshly recorded Function to every ``op_recorded`` callback."""
    for callback in tuple(_op_callbacks):
        callback(fn)


def _call_module(module, args, kwargs):
    """Run ``module.forward`` inside every ``module_called`` wrapper, the first set outermost."""
    forward = module.forward
    for wrapper in reversed(_module_wrappers):
        forward = functools.partial(wrapper, module, forward)
    return forward(*args, **kwargs)


def _tell_backward_step(fn, grad, input_grads) -> None:
    """Hand one step of a backward walk to every ``backward_step`` callback."""
    for callback in tuple(_backward_callbacks):
        callback(fn, grad, input_grads)
