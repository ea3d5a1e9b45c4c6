"""Reductions along dimensions: sum, mean, max (values only, like torch.amax)."""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function


def normalize_dims(dim, ndim: int):
    """``dim`` (None, an int or a tuple; negatives allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dim {d} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(d % ndim for d in dims)) if ndim else ()  # 0-d: dim 0 or -1 is all


def kept_shape(shape, axes) -> tuple:
    """``shape`` with the reduced ``axes`` kept as size 1 (what keepdim=True gives)."""
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


def _grad_to_input_shape(grad, axes, keepdim, shape):
    """Put the reduced axes back (size 1), then copy the gradient to every reduced element."""
    if not keepdim and grad.ndim:  # (a 0-d gradient, of a sum of all, broadcasts as it is)
        grad = grad.reshape(kept_shape(shape, axes))
    spread = xp_of(grad).empty(shape, dtype=grad.dtype)
    spread[...] = grad  # broadcasting assignment: one C loop (xp.broadcast_to costs more)
    return spread


class Sum(Function):
    """y = sum_i x_i;  dy/dx_i = 1: the gradient is copied back to every summed element."""

    parameters = ("dim", "keepdim")
    dim = None
    keepdim = False

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, grad):
        return (_grad_to_input_shape(grad, self.axes, self.keepdim, self.inputs[0].shape),)


class Mean(Function):
    """y = (1/n) sum_i x_i;  dy/dx_i = 1/n."""

    parameters = ("dim", "keepdim")
    dim = None
    keepdim = False

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        return x.mean(axis=self.axes, keepdims=self.keepdim)

    def backward(self, grad):
        shape = self.inputs[0].shape
        return (_grad_to_input_shape(grad / self.count, self.axes, self.keepdim, shape),)


class Max(Function):
    """y = max_i x_i;  dy/dx_i = 1 for the largest element (split evenly between ties), else 0."""

    parameters = ("dim", "keepdim")
    dim = None
    keepdim = False

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        self.out = x.max(axis=self.axes, keepdims=True)
        return self.out if self.keepdim else self.out.reshape(
            tuple(s for i, s in enumerate(x.shape) if i not in self.axes))

    def backward(self, grad):
        x = self.inputs[0].data
        is_max = (x == self.out).astype(x.dtype)
        share = is_max / is_max.sum(axis=self.axes, keepdims=True)
        return (share * _grad_to_input_shape(grad, self.axes, self.keepdim, x.shape),)
