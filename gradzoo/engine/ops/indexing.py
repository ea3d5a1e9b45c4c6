"""Ops that pick values by index tensors, or put values at them: gather, scatter, scatter_add,
index_select, masked_select. Each one's backward is the other half of the pair.

    gather:       y[i][j] = x[i][index[i][j]]            (dim = 1)
                  dL/dx[i][index[i][j]] += g[i][j]         (a scatter-add of g)
    scatter:      y = x, then y[i][index[i][j]] = src[i][j]
                  dL/dx = g with the overwritten places zeroed; dL/dsrc[i][j] = g[i][index[i][j]]
    scatter_add:  y = x, then y[i][index[i][j]] += src[i][j]
                  dL/dx = g;  dL/dsrc[i][j] = g[i][index[i][j]]  (a gather of g)
    index_select: y = x[:, index]  (whole slices along ``dim``)
                  dL/dx[:, index[k]] += g[:, k]
    masked_select: y = x[mask] (a 1-D tensor; x and mask broadcast together)
                  dL/dx = g put back at the places of the mask (summed over broadcast dims)

The index arrays are op parameters (they get no gradient), checked by ``check_index`` in the
user's terms before the maths runs, with the exception types PyTorch raises.
"""

from __future__ import annotations

from gradzoo.engine.backend import is_integer, scatter_add, xp_of
from gradzoo.engine.function import Function, unbroadcast


def normalize_dim(dim: int, ndim: int, op: str) -> int:
    """``dim`` in [0, ndim) (a 0-d tensor has one dim to name: 0 or -1); IndexError otherwise."""
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op}(): dimension out of range (expected to be in range of "
                         f"[{-rank}, {rank - 1}], but got {dim})")
    return dim % rank


def check_index(op: str, index, shape: tuple, dim: int, src_shape: tuple | None = None) -> None:
    """Raise PyTorch's errors for a bad ``index`` of gather/scatter along ``dim`` of ``shape``.

    The index has the input's number of dims, is no larger than the input in every other
    dim (and no larger than ``src`` in any), and its values lie in [0, shape[dim]).
    """
    if not is_integer(index.dtype):
        raise RuntimeError(f"{op}(): index must be an integer tensor (int64 or int32), "
                           f"not {index.dtype}")
    if index.ndim != len(shape):
        raise RuntimeError(f"{op}(): index must have the same number of dimensions as the "
                           f"input: index has shape {index.shape}, the input {shape}")
    for d, size in enumerate(index.shape):
        if d != dim and size > shape[d]:
            raise RuntimeError(f"{op}(): index of shape {index.shape} must be no larger than "
                               f"the input {shape} apart from dimension {dim}")
        if src_shape is not None and size > src_shape[d]:
            raise RuntimeError(f"{op}(): index of shape {index.shape} must be no larger than "
                               f"src {src_shape}")
    check_range(op, index, shape[dim], dim)


def check_range(op: str, index, size: int, dim: int) -> None:
    """RuntimeError unless every value of ``index`` lies in [0, size)."""
    if index.size == 0:
        return
    low, high = int(index.min()), int(index.max())
    if low < 0 or high >= size:
        raise RuntimeError(f"{op}(): index {low if low < 0 else high} is out of bounds for "
                           f"dimension {dim} with size {size}")


def positions(index, dim: int) -> tuple:
    """The full index of the elements ``index`` points at along ``dim``.

    For each element ``index[i, j, k]`` (dim = 1): ``(i, index[i, j, k], k)``, as broadcast
    integer arrays, so that ``x[positions(index, 1)]`` is ``gather(x, 1, index)``.
    """
    xp = xp_of(index)
    grids = []
    for d, size in enumerate(index.shape):
        grids.append(index if d == dim else
                     xp.arange(size).reshape((size,) + (1,) * (index.ndim - 1 - d)))
    return tuple(grids)


def leading(shape: tuple) -> tuple:
    """The slices of the first ``shape`` elements in each dim (``src`` may be larger than index)."""
    return tuple(slice(0, size) for size in shape)


def broadcast_shape(a: tuple, b: tuple) -> tuple:
    """The shape two shapes broadcast to (NumPy's rules); RuntimeError if they do not."""
    padded_a, padded_b = (1,) * (len(b) - len(a)) + a, (1,) * (len(a) - len(b)) + b
    if any(m != n and 1 not in (m, n) for m, n in zip(padded_a, padded_b)):
        raise RuntimeError(f"shapes {a} and {b} do not broadcast together")
    return tuple(n if m == 1 else m for m, n in zip(padded_a, padded_b))


class Gather(Function):
    """y = x gathered along ``dim`` at ``index``; backward scatter-adds g back (repeats add up)."""

    parameters = ("dim", "index")

    def forward(self, x):
        self.where = positions(self.index, self.dim)
        return x[self.where]

    def backward(self, grad):
        grad_x = xp_of(grad).zeros(self.inputs[0].shape, dtype=grad.dtype)
        scatter_add(grad_x, self.where, grad)
        return (grad_x,)


class Scatter(Function):
    """y = x with ``src`` (a tensor, or the number ``value``) written at ``index`` along ``dim``.

    dL/dx is g where x was kept and 0 where it was overwritten; dL/dsrc = g gathered at index
    (PyTorch's rule; with repeated indices it is the gradient of every copy written).
    """

    parameters = ("dim", "index", "value")
    value = None

    def forward(self, x, src=None):
        self.where = positions(self.index, self.dim)
        out = x.copy()
        out[self.where] = self.value if src is None else src[leading(self.index.shape)]
        return out

    def backward(self, grad):
        xp = xp_of(grad)
        grad_x = grad_src = None
        if self.needs_input_grad[0]:
            grad_x = grad.copy()
            grad_x[self.where] = 0
        if len(self.inputs) > 1 and self.needs_input_grad[1]:
            grad_src = xp.zeros(self.inputs[1].shape, dtype=grad.dtype)
            grad_src[leading(self.index.shape)] = grad[self.where]
        return grad_x, grad_src


class ScatterAdd(Function):
    """y = x with ``src`` added at ``index`` along ``dim`` (repeats add up);
    dL/dx = g, dL/dsrc = g gathered at index."""

    parameters = ("dim", "index")

    def forward(self, x, src):
        self.where = positions(self.index, self.dim)
        out = x.copy()
        scatter_add(out, self.where, src[leading(self.index.shape)])
        return out

    def backward(self, grad):
        grad_src = xp_of(grad).zeros(self.inputs[1].shape, dtype=grad.dtype)
        grad_src[leading(self.index.shape)] = grad[self.where]
        return grad, grad_src


class IndexSelect(Function):
    """y = the slices of x along ``dim`` named by the 1-D ``index``;
    each picked slice gets the sum of its gradients."""

    parameters = ("dim", "index")

    def forward(self, x):
        return xp_of(x).take(x, self.index, axis=self.dim)

    def backward(self, grad):
        xp = xp_of(grad)
        grad_x = xp.zeros(self.inputs[0].shape, dtype=grad.dtype)
        # dim first on both sides (views), so each index names one row: the fast scatter-add
        scatter_add(xp.moveaxis(grad_x, self.dim, 0), self.index, xp.moveaxis(grad, self.dim, 0))
        return (grad_x,)


class MaskedSelect(Function):
    """y = the elements of x where ``mask`` is True, as a 1-D tensor (x and mask broadcast);
    dL/dx is g put back at those places, 0 elsewhere."""

    parameters = ("mask",)

    def forward(self, x):
        xp = xp_of(x)
        shape = broadcast_shape(x.shape, self.mask.shape)
        self.mask = xp.broadcast_to(self.mask, shape)
        return xp.broadcast_to(x, shape)[self.mask]

    def backward(self, grad):
        grad_x = xp_of(grad).zeros(self.mask.shape, dtype=grad.dtype)
        grad_x[self.mask] = grad
        return (unbroadcast(grad_x, self.inputs[0].shape),)
