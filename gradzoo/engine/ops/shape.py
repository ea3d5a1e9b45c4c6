"""Ops that move values around without changing them: reshape, transpose, permute,
indexing, concat, stack and where. Their backward moves the gradient back."""

from __future__ import annotations

from gradzoo.engine.backend import scatter_add, xp_of
from gradzoo.engine.function import Function, unbroadcast


class Reshape(Function):
    """Same values, new shape (a view when possible); the gradient is reshaped back."""

    parameters = ("shape",)

    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                             f"into shape {self.shape}") from None

    def backward(self, grad):
        return (grad.reshape(self.inputs[0].shape),)


class Transpose(Function):
    """Swap dimensions ``dim0`` and ``dim1``; swapping them again undoes it."""

    parameters = ("dim0", "dim1")

    def forward(self, x):
        return x.swapaxes(self.dim0, self.dim1)

    def backward(self, grad):
        return (grad.swapaxes(self.dim0, self.dim1),)


class Permute(Function):
    """Reorder all dimensions; the inverse permutation puts the gradient back."""

    parameters = ("dims",)

    def forward(self, x):
        if sorted(d % max(x.ndim, 1) for d in self.dims) != list(range(x.ndim)):
            raise ValueError(f"permute{self.dims} must name each of the {x.ndim} dimensions once")
        return x.transpose(self.dims)

    def backward(self, grad):
        inverse = [0] * len(self.dims)
        for position, d in enumerate(self.dims):
            inverse[d % len(self.dims)] = position
        return (grad.transpose(inverse),)


def _is_advanced(index) -> bool:
    """True when the index holds integer arrays/lists (which may repeat elements)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(p, (int, slice, type(None), type(Ellipsis))) for p in parts)


class GetItem(Function):
    """y = x[index] with slices or integer arrays; the gradient goes back to the picked places.

    An element picked twice (``x[[0, 0]]``) gets both gradients added.
    """

    parameters = ("index",)

    def forward(self, x):
        return x[self.index]

    def backward(self, grad):
        x = self.inputs[0].data
        grad_x = xp_of(grad).zeros(x.shape, dtype=grad.dtype)
        if _is_advanced(self.index):
            scatter_add(grad_x, self.index, grad)
        else:
            grad_x[self.index] = grad
        return (grad_x,)


class Concat(Function):
    """Join tensors along ``dim``; the gradient is cut back into the same pieces."""

    parameters = ("dim",)
    dim = 0

    def forward(self, *xs):
        try:
            return xp_of(xs[0]).concatenate(xs, axis=self.dim)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"concat along dim {self.dim}: shapes {shapes} differ in "
                             f"another dimension") from None

    def backward(self, grad):
        sizes = [t.shape[self.dim] for t in self.inputs]
        cuts = [sum(sizes[:i + 1]) for i in range(len(sizes) - 1)]
        return tuple(xp_of(grad).split(grad, cuts, axis=self.dim))


class Stack(Function):
    """Stack same-shaped tensors along a new dimension ``dim``."""

    parameters = ("dim",)
    dim = 0

    def forward(self, *xs):
        try:
            return xp_of(xs[0]).stack(xs, axis=self.dim)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"stack needs tensors of one shape, got {shapes}") from None

    def backward(self, grad):
        xp = xp_of(grad)
        return tuple(xp.take(grad, i, axis=self.dim) for i in range(len(self.inputs)))


class Where(Function):
    """y = a where cond else b (``cond`` is a boolean array, not differentiated)."""

    parameters = ("cond",)

    def forward(self, a, b):
        return xp_of(a).where(self.cond, a, b)

    def backward(self, grad):
        a, b = self.inputs
        xp = xp_of(grad)
        zero = xp.zeros((), dtype=grad.dtype)
        grad_a = unbroadcast(xp.where(self.cond, grad, zero), a.shape)
        grad_b = unbroadcast(xp.where(self.cond, zero, grad), b.shape)
        return grad_a, grad_b
