"""Elementwise bounds: clamp (clip) to [min, max], and the elementwise minimum and maximum.

The gradient at a tie is PyTorch's choice: ``clamp`` passes the gradient to its
input at the bounds themselves, while ``minimum``/``maximum`` split it evenly
between two equal inputs.
"""

from __future__ import annotations

from gradzoo.engine.backend import float32, is_floating, xp_of
from gradzoo.engine.function import Function, unbroadcast
from gradzoo.engine.tensor import Tensor


class Clamp(Function):
    """y = min(max(x, lo), hi), so y = hi wherever lo > hi (as PyTorch);
    dy/dx = 1 where lo <= x <= hi (the bounds included), else 0;
    dy/dlo = 1 where x < lo < hi;  dy/dhi = 1 where x > hi or hi < lo.

    A bound is a Python number (``min=``, ``max=``), a tensor input (named in
    ``tensor_bounds``, after ``x`` in the order min, max; it gets a gradient), or absent.
    """

    parameters = ("min", "max", "tensor_bounds")
    min = None
    max = None
    tensor_bounds = ()

    @classmethod
    def between(cls, x: Tensor, min=None, max=None) -> Tensor:
        """``x.clamp(min, max)``: numbers become parameters, tensors inputs (with a gradient)."""
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        bounds = (("min", min), ("max", max))
        tensors = [(name, b) for name, b in bounds if isinstance(b, Tensor)]
        numbers = {name: b for name, b in bounds if b is not None and not isinstance(b, Tensor)}
        if not is_floating(x.dtype) and any(isinstance(b, float) for b in numbers.values()):
            x = Tensor._make(x.data.astype(float32), False, None)  # int.clamp(0.5): float32
        if not tensors:
            return cls.apply(x, **numbers)
        return cls.apply(x, *(b for _, b in tensors), **numbers,
                         tensor_bounds=tuple(name for name, _ in tensors))

    def forward(self, x, *bounds):
        xp = xp_of(x)
        given = dict(zip(self.tensor_bounds, bounds))
        self.lo, self.hi = given.get("min", self.min), given.get("max", self.max)
        out = x if self.lo is None else xp.maximum(x, self.lo)
        out = out if self.hi is None else xp.minimum(out, self.hi)
        return out if out is not x else x.copy()

    def backward(self, grad):
        x, lo, hi = self.inputs[0].data, self.lo, self.hi
        inside = True
        if lo is not None:
            inside = inside & (x >= lo)
        if hi is not None:
            inside = inside & (x <= hi)
        grads = [unbroadcast(grad * inside, x.shape)]
        for name, needed, t in zip(self.tensor_bounds, self.needs_input_grad[1:],
                                   self.inputs[1:]):
            if not needed:
                grads.append(None)
            elif name == "min":
                below = (x < lo) if hi is None else (x < lo) & (lo < hi)
                grads.append(unbroadcast(grad * below, t.shape))
            else:
                above = (x > hi) if lo is None else (x > hi) | (hi < lo)
                grads.append(unbroadcast(grad * above, t.shape))
        return tuple(grads)


class Minimum(Function):
    """z = min(x, y) elementwise (NaN if either is NaN);
    dz/dx = 1 where x < y, 1/2 where x == y, else 0; dz/dy alike."""

    def forward(self, x, y):
        return xp_of(x).minimum(x, y)

    def backward(self, grad):
        x, y = self.inputs
        return _split_by_winner(grad, self, x.data > y.data, x.data < y.data)


class Maximum(Function):
    """z = max(x, y) elementwise (NaN if either is NaN);
    dz/dx = 1 where x > y, 1/2 where x == y, else 0; dz/dy alike."""

    def forward(self, x, y):
        return xp_of(x).maximum(x, y)

    def backward(self, grad):
        x, y = self.inputs
        return _split_by_winner(grad, self, x.data < y.data, x.data > y.data)


def _split_by_winner(grad, fn, x_loses, y_loses):
    """The whole gradient to the input chosen, half to each where they tie (as PyTorch:
    an input gets it unless it lost, so a NaN, which never loses, gets all of it)."""
    xp = xp_of(grad)
    (x, y), needs = fn.inputs, fn.needs_input_grad
    half = xp.where(x.data == y.data, grad * 0.5, grad)
    grad_x = unbroadcast(xp.where(x_loses, 0.0, half).astype(grad.dtype, copy=False),
                         x.shape) if needs[0] else None
    grad_y = unbroadcast(xp.where(y_loses, 0.0, half).astype(grad.dtype, copy=False),
                         y.shape) if needs[1] else None
    return grad_x, grad_y
