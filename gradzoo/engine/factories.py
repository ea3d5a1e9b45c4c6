"""Tensors made from a size or a range: PyTorch's factory functions, with its signatures.

``zeros(2, 3)`` and ``zeros((2, 3))`` alike; every factory takes ``dtype=``, ``device=``
and ``requires_grad=``. Floats are float32 unless a dtype is asked for; integers
(``arange(5)``, ``full((2,), 7)``, ``randint``) are int64. Random numbers come from the
engine's seeded generator (``backend.host_rng()``, seeded by ``manual_seed``), drawn on
the host and sent to the device, so one seed gives the same numbers on the CPU and the GPU.

>>> from gradzoo.engine import arange, zeros
>>> zeros(2, 3).shape, zeros((2, 3)).dtype
((2, 3), dtype('float32'))
>>> arange(3).tolist(), arange(0, 1, 0.25).tolist()
([0, 1, 2], [0.0, 0.25, 0.5, 0.75])
"""

from __future__ import annotations

import math

from gradzoo.engine import backend
from gradzoo.engine.tensor import Tensor

__all__ = ["zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand", "randn",
           "randint", "randperm", "zeros_like", "ones_like", "empty_like", "full_like",
           "rand_like", "randn_like", "randint_like"]


# ---------------------------------------------------------------------- helpers


def _shape(size: tuple, what: str) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``: the shape as a tuple of ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = []
    for side in size:
        if isinstance(side, bool) or not hasattr(side, "__index__"):
            raise TypeError(f"{what}(): size must be integers (or one tuple of them), got "
                            f"{size!r}")
        shape.append(side.__index__())
    if any(side < 0 for side in shape):
        raise RuntimeError(f"{what}(): Trying to create tensor with negative dimension: {shape}")
    return tuple(shape)


def _device(device) -> str:
    return backend.default_device() if device is None else backend.check_device(device)


def _wrap(data, requires_grad: bool) -> Tensor:
    """A new leaf tensor around ``data`` (an array already on its device, in its dtype)."""
    if requires_grad and not backend.is_floating(data.dtype):
        raise RuntimeError(f"Only Tensors of floating point dtype can require gradients, "
                           f"not {data.dtype}")
    return Tensor._make(data, bool(requires_grad), None)


def _filled(shape, value, dtype, device, requires_grad) -> Tensor:
    xp = backend.array_module(_device(device))
    return _wrap(xp.full(shape, value, dtype=dtype), requires_grad)


def _float_dtype(dtype, what: str):
    dtype = backend.float32 if dtype is None else backend.dtype(dtype)
    if not backend.is_floating(dtype):
        raise NotImplementedError(f"{what}: random floats need a floating dtype, not {dtype}")
    return dtype


def _from_host(values, dtype, device, requires_grad) -> Tensor:
    """Host values (from the seeded generator) as a tensor on ``device``."""
    return _wrap(backend.make_array(values, dtype, _device(device)), requires_grad)


def _number(value):
    """A Python number from a number or a one-element tensor."""
    return value.item() if isinstance(value, Tensor) else value


# ---------------------------------------------------------------------- filled


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)``."""
    dtype = backend.float32 if dtype is None else backend.dtype(dtype)
    return _filled(_shape(size, "zeros"), 0, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)``."""
    dtype = backend.float32 if dtype is None else backend.dtype(dtype)
    return _filled(_shape(size, "ones"), 1, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An "uninitialised" tensor; gradzoo fills it with zeros (PyTorch leaves memory as it was)."""
    dtype = backend.float32 if dtype is None else backend.dtype(dtype)
    return _filled(_shape(size, "empty"), 0, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value as in PyTorch
    (bool -> bool, int -> int64, float -> float32) unless ``dtype`` is given."""
    fill_value = _number(fill_value)
    if dtype is None:
        dtype = (backend.bool_ if isinstance(fill_value, bool) else
                 backend.int64 if isinstance(fill_value, int) else backend.float32)
    size = (size,) if isinstance(size, int) else tuple(size)
    return _filled(_shape(size, "full"), fill_value, backend.dtype(dtype), device, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``)."""
    dtype = backend.float32 if dtype is None else backend.dtype(dtype)
    n, m = _shape((n, n if m is None else m), "eye")
    xp = backend.array_module(_device(device))
    return _wrap(xp.eye(n, m, dtype=dtype), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``start, start + step, ...`` up to ``end`` (excluded); ``arange(n)`` is 0 .. n-1.

    int64 when every argument is an integer, float32 otherwise (or ``dtype``).
    """
    start, end, step = (_number(v) for v in ((0, start, step) if end is None else
                                             (start, end, step)))
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        integers = all(isinstance(v, int) for v in (start, end, step))
        dtype = backend.int64 if integers else backend.float32
    dtype = backend.dtype(dtype)
    count = max(0, math.ceil((end - start) / step))
    xp = backend.array_module(_device(device))
    # start + i * step, computed in float64 (or int64) and then cast, as PyTorch does
    wide = backend.int64 if backend.is_integer(dtype) or dtype == backend.bool_ else backend.float64
    values = start + xp.arange(count, dtype=wide) * step
    return _wrap(values.astype(dtype), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included)."""
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    dtype = backend.float32 if dtype is None else backend.dtype(dtype)
    xp = backend.array_module(_device(device))
    values = xp.linspace(_number(start), _number(end), steps, dtype=backend.float64)
    return _wrap(values.astype(dtype), requires_grad)


# ---------------------------------------------------------------------- random


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform random numbers in [0, 1)."""
    dtype = _float_dtype(dtype, "rand")
    values = backend.host_rng().random(_shape(size, "rand"), dtype=_draw_dtype(dtype))
    return _from_host(values, dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal random numbers N(0, 1)."""
    dtype = _float_dtype(dtype, "randn")
    values = backend.host_rng().standard_normal(_shape(size, "randn"), dtype=_draw_dtype(dtype))
    return _from_host(values, dtype, device, requires_grad)


def randint(*args, low=None, high=None, size=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """Random integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (``size`` a tuple); int64 unless ``dtype`` says otherwise."""
    numbers = [_number(a) for a in args if not isinstance(a, (tuple, list))]
    sizes = [a for a in args if isinstance(a, (tuple, list))]
    if sizes:
        size = sizes[0]
    if len(numbers) == 2:
        low, high = numbers
    elif len(numbers) == 1:
        low, high = (numbers[0], high) if high is not None else (low, numbers[0])
    low = 0 if low is None else low
    if high is None or size is None:
        raise TypeError("randint() needs high and size: randint(high, size) or "
                        "randint(low, high, size)")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    values = backend.host_rng().integers(low, high, size=_shape(tuple(size), "randint"))
    dtype = backend.int64 if dtype is None else backend.dtype(dtype)
    return _from_host(values, dtype, device, requires_grad)


def randperm(n, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64)."""
    values = backend.host_rng().permutation(int(n))
    dtype = backend.int64 if dtype is None else backend.dtype(dtype)
    return _from_host(values, dtype, device, requires_grad)


def _draw_dtype(dtype):
    """The dtype the generator draws in (it makes float32 and float64 only)."""
    return dtype if dtype in (backend.float32, backend.float64) else backend.float64


# ---------------------------------------------------------------------- *_like


def _like(input: Tensor, dtype, device) -> dict:
    return {"dtype": input.dtype if dtype is None else dtype,
            "device": input.device if device is None else device}


def zeros_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of ``input``'s shape, dtype and device (unless given)."""
    return zeros(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def ones_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return ones(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def empty_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return empty(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` (converted to ``input``'s dtype) in ``input``'s shape."""
    return full(input.shape, fill_value, requires_grad=requires_grad,
                **_like(input, dtype, device))


def rand_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return rand(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def randn_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return randn(input.shape, requires_grad=requires_grad, **_like(input, dtype, device))


def randint_like(input, low=0, high=None, *, dtype=None, device=None,
                 requires_grad=False) -> Tensor:
    """Random integers in [low, high) in ``input``'s shape and dtype: ``randint_like(x, 10)``
    draws from [0, 10)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), requires_grad=requires_grad,
                   **_like(input, dtype, device))
