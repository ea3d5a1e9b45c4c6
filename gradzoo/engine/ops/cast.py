"""Copies of a tensor: in another dtype or on another device (``Cast``), or the same (``Clone``).

A copy changes no value, so its derivative is 1: the gradient goes back as it came,
only converted to the input's dtype and moved to the input's device. Casts to an
integer or boolean dtype have no gradient (``Tensor.to`` makes them without recording
an op), as in PyTorch.
"""

from __future__ import annotations

from gradzoo.engine import backend
from gradzoo.engine.function import Function


class Cast(Function):
    """y = x in ``dtype`` and/or on ``device`` (None: keep it);  dy/dx = 1.

    Backward: dL/dx = dL/dy converted back to x's dtype, on x's device (a float64
    gradient reaching a float32 input arrives as float32, as in PyTorch).
    """

    parameters = ("dtype", "device")
    dtype = None
    device = None

    def forward(self, x):
        if self.dtype is not None and x.dtype != self.dtype:
            x = x.astype(self.dtype)
        if self.device is not None:
            x = backend.to_device(x, self.device)
        return x

    def backward(self, grad):
        x = self.inputs[0]
        grad = backend.to_device(grad, x.device)
        return (grad if grad.dtype == x.dtype else grad.astype(x.dtype),)


class Clone(Function):
    """y = a copy of x in new memory (``order`` "K" keeps the layout, "C" makes it
    row-major contiguous);  dy/dx = 1, so dL/dx = dL/dy."""

    parameters = ("order",)
    order = "K"

    def forward(self, x):
        return x.copy(order=self.order)

    def backward(self, grad):
        return (grad,)
