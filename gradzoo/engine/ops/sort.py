"""Ordering along a dimension: max/min with a dim, argmax/argmin, sort, topk, median, kthvalue.

Each of these first finds *where* its values are (integer indices, no gradient,
as in PyTorch) and then takes the values at those places with one op,
``TakeAlong``, whose backward sends each value's gradient back to the place it
was taken from. So ``x.max(dim=1).values`` gives its whole gradient to the first
of tied maxima, as torch does (``amax`` splits it between them).
"""

from __future__ import annotations

import operator

from gradzoo.engine import backend
from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.ops.reduce import check_not_empty


def one_dim(dim, ndim: int, op_name: str) -> int:
    """``dim`` (an int, negatives allowed) as an axis; 0-d tensors take dim 0 or -1."""
    try:
        if isinstance(dim, bool):
            raise TypeError
        dim = operator.index(dim)  # an int, or a NumPy integer
    except TypeError:
        raise TypeError(f"{op_name}(): dim must be one int, not {dim!r}") from None
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"{op_name}(): dim {dim} is out of range for a tensor with {ndim} "
                         f"dimensions (allowed: {-bound} to {bound - 1})")
    return dim % bound


def _along(indices, dim: int):
    """The index tuple that picks ``x[..., indices[...], ...]`` along ``dim`` (others in order)."""
    xp = xp_of(indices)
    index = []
    for axis, size in enumerate(indices.shape):
        if axis == dim:
            index.append(indices)
        else:
            shape = [1] * indices.ndim
            shape[axis] = size
            index.append(xp.arange(size).reshape(shape))
    return tuple(index)


class TakeAlong(Function):
    """y = x at ``indices`` along ``dim`` (indices distinct along dim: max, sort, topk, median);
    dL/dx = g at the places the values were taken from, 0 elsewhere.

    ``indices`` has x's number of dims; ``keepdim=False`` drops ``dim`` (of size 1) from y.
    """

    parameters = ("indices", "dim", "keepdim")
    keepdim = True

    def forward(self, x):
        self.index = _along(self.indices, self.dim)
        picked = x[self.index]
        if self.keepdim or x.ndim == 0:
            return picked
        return picked.reshape(picked.shape[:self.dim] + picked.shape[self.dim + 1:])

    def backward(self, grad):
        x = self.inputs[0].data
        spread = xp_of(grad).zeros(x.shape, dtype=grad.dtype)
        spread[self.index] = grad.reshape(self.indices.shape)  # one place each: no sum needed
        return (spread,)


def _as_int64(indices):
    return indices.astype(backend.int64, copy=False)


def arg_extreme(x, dim, keepdim: bool, largest: bool, op_name: str):
    """Where the largest (or smallest) value is: the first of ties, as torch; NaN counts as largest.

    ``dim=None`` looks at all elements in order (the flat index); ``keepdim`` keeps size-1 dims.
    """
    xp = xp_of(x)
    find = xp.argmax if largest else xp.argmin
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{op_name}() of a tensor with no elements (shape {x.shape}) has no "
                             f"answer; give a dim whose size is not 0")
        flat = _as_int64(xp.asarray(find(x.reshape(-1))))
        return flat.reshape((1,) * x.ndim) if keepdim else flat
    axis = one_dim(dim, x.ndim, op_name)
    if x.ndim == 0:
        return xp.zeros((), dtype=backend.int64)
    check_not_empty(x.shape, (axis,), dim, op_name)
    found = _as_int64(find(x, axis=axis))
    return xp.expand_dims(found, axis) if keepdim else found


def sort_indices(x, axis: int, descending: bool):
    """The stable order of ``x`` along ``axis`` (ties keep their order; NaN sorts as largest)."""
    xp = xp_of(x)
    if x.ndim == 0:
        return xp.zeros((), dtype=backend.int64)
    if not descending:
        return _as_int64(xp.argsort(x, axis=axis, kind="stable"))
    # Largest first and ties still in order: sort the reversed row, read it backwards.
    last = x.shape[axis] - 1
    backwards = xp.argsort(xp.flip(x, axis=axis), axis=axis, kind="stable")
    return _as_int64(last - xp.flip(backwards, axis=axis))


def topk_indices(x, k: int, axis: int, largest: bool):
    """Where the ``k`` largest (or smallest) values along ``axis`` are, best first."""
    size = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk(): k={k} is out of range: dim {axis} has {size} elements")
    order = sort_indices(x, axis, descending=largest)
    if x.ndim == 0:
        return order
    return order[(slice(None),) * axis + (slice(0, k),)]


def kth_smallest_indices(x, k: int, axis: int):
    """Where the k-th smallest value (k counted from 1) along ``axis`` is, keeping ``axis``."""
    size = x.shape[axis] if x.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): k={k} is out of range: dim {axis} has {size} elements "
                           f"(allowed: 1 to {size})")
    order = sort_indices(x, axis, descending=False)
    if x.ndim == 0:
        return order
    return order[(slice(None),) * axis + (slice(k - 1, k),)]
