"""Reductions along dimensions: sum, mean, amax/amin, prod, var/std, logsumexp, norm.

Each one takes ``dim`` (None for all dims, an int, or a tuple) and ``keepdim``
as PyTorch does. Its backward puts the reduced axes back and sends the gradient
to the elements that made the result: to all of them for a sum, to the largest
for amax. ``any``/``all`` (no gradient) are here too, as array functions.
"""

from __future__ import annotations

import contextlib
import operator
import warnings

from gradzoo.engine import backend
from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function


def normalize_dims(dim, ndim: int):
    """``dim`` (None, an int or a tuple; negatives allowed) as a sorted tuple of axes.

    None and an empty tuple mean every dim, as in PyTorch's ``amax(dim=())``.
    """
    if hasattr(dim, "__index__"):  # one int (or a NumPy integer)
        dims = (operator.index(dim),)
    elif dim is None or len(dim) == 0:
        return tuple(range(ndim))
    else:
        dims = tuple(operator.index(d) for d in dim)
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dim {d} is out of range for a tensor with {ndim} dimensions "
                             f"(allowed: {-max(ndim, 1)} to {max(ndim, 1) - 1})")
    axes = tuple(sorted(d % ndim for d in dims)) if ndim else ()  # 0-d: dim 0 or -1 is all
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {dim} names a dimension twice")
    return axes


def kept_shape(shape, axes) -> tuple:
    """``shape`` with the reduced ``axes`` kept as size 1 (what keepdim=True gives)."""
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


def reduced_shape(shape, axes) -> tuple:
    """``shape`` without the reduced ``axes`` (what keepdim=False gives)."""
    return tuple(size for i, size in enumerate(shape) if i not in axes)


def count(shape, axes) -> int:
    """How many elements each result of a reduction over ``axes`` gathers."""
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _grad_to_input_shape(grad, axes, keepdim, shape):
    """Put the reduced axes back (size 1), then copy the gradient to every reduced element."""
    if not keepdim and grad.ndim:  # (a 0-d gradient, of a sum of all, broadcasts as it is)
        grad = grad.reshape(kept_shape(shape, axes))
    spread = xp_of(grad).empty(shape, dtype=grad.dtype)
    spread[...] = grad  # broadcasting assignment: one C loop (xp.broadcast_to costs more)
    return spread


def quiet_division(xp):
    """Let a division by zero give inf or nan without NumPy's warning (CuPy never warns)."""
    errstate = getattr(xp, "errstate", None)
    return errstate(divide="ignore", invalid="ignore") if errstate else contextlib.nullcontext()


def _integer_result_dtype(x):
    """Sums and products of integers or booleans are int64, as in PyTorch; floats keep theirs."""
    return None if backend.is_floating(x.dtype) else backend.int64


class Sum(Function):
    """y = sum_i x_i;  dy/dx_i = 1: the gradient is copied back to every summed element."""

    parameters = ("dim", "keepdim")
    dim = None
    keepdim = False

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdim, dtype=_integer_result_dtype(x))

    def backward(self, grad):
        return (_grad_to_input_shape(grad, self.axes, self.keepdim, self.inputs[0].shape),)


class Mean(Function):
    """y = (1/n) sum_i x_i;  dy/dx_i = 1/n."""

    parameters = ("dim", "keepdim")
    dim = None
    keepdim = False

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        self.count = count(x.shape, self.axes)
        return x.mean(axis=self.axes, keepdims=self.keepdim)

    def backward(self, grad):
        shape = self.inputs[0].shape
        return (_grad_to_input_shape(grad / self.count, self.axes, self.keepdim, shape),)


class Max(Function):
    """y = max_i x_i (torch.amax);  dy/dx_i = 1 for the largest element, split among ties."""

    parameters = ("dim", "keepdim")
    dim = None
    keepdim = False
    name_in_errors = "amax"

    @staticmethod
    def extreme(x, axes):
        return x.max(axis=axes, keepdims=True)

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        check_not_empty(x.shape, self.axes, self.dim, self.name_in_errors)
        self.out = self.extreme(x, self.axes)
        return self.out if self.keepdim else self.out.reshape(reduced_shape(x.shape, self.axes))

    def backward(self, grad):
        x = self.inputs[0].data
        is_extreme = (x == self.out).astype(grad.dtype)
        share = is_extreme / is_extreme.sum(axis=self.axes, keepdims=True)
        return (share * _grad_to_input_shape(grad, self.axes, self.keepdim, x.shape),)


class Min(Max):
    """y = min_i x_i (torch.amin);  dy/dx_i = 1 for the smallest element, split among ties."""

    name_in_errors = "amin"

    @staticmethod
    def extreme(x, axes):
        return x.min(axis=axes, keepdims=True)


def check_not_empty(shape, axes, dim, op_name: str) -> None:
    """A max or min over no elements has no value: PyTorch's errors, in gradzoo's words."""
    if dim is None and 0 in shape:
        raise RuntimeError(f"{op_name}() of a tensor with no elements (shape {shape}) has no "
                           f"value; give a dim whose size is not 0")
    for a in axes:
        if shape[a] == 0:
            raise IndexError(f"{op_name}(): dim {a} has size 0 (shape {shape}), so it has no "
                             f"{op_name[1:] if op_name[0] == 'a' else op_name} to take")


def _product_of_others(x, axes):
    """prod_{j != i} x_j over ``axes`` for every element i, with no division (exact at zeros).

    The product of the elements before i (an exclusive cumulative product) times
    the product of those after it (the same, from the other end).
    """
    xp = xp_of(x)
    if not axes:
        return xp.ones_like(x)
    ends = tuple(range(x.ndim - len(axes), x.ndim))
    moved = xp.moveaxis(x, axes, ends)
    rows = moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,))
    before = xp.ones_like(rows)
    before[..., 1:] = xp.cumprod(rows[..., :-1], axis=-1)
    after = xp.ones_like(rows)
    after[..., :-1] = xp.flip(xp.cumprod(xp.flip(rows[..., 1:], axis=-1), axis=-1), axis=-1)
    return xp.moveaxis((before * after).reshape(moved.shape), ends, axes)


class Prod(Function):
    """y = prod_i x_i;  dy/dx_i = prod_{j != i} x_j (the others' product: right with zeros too)."""

    parameters = ("dim", "keepdim")
    dim = None
    keepdim = False

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        return x.prod(axis=self.axes, keepdims=self.keepdim, dtype=_integer_result_dtype(x))

    def backward(self, grad):
        x = self.inputs[0].data
        spread = _grad_to_input_shape(grad, self.axes, self.keepdim, x.shape)
        return (spread * _product_of_others(x, self.axes),)


def degrees_of_freedom(shape, axes, correction) -> float:
    """n - correction, the divisor of the variance (0 when correction >= n: inf/nan, as PyTorch)."""
    dof = count(shape, axes) - correction
    if dof <= 0:
        warnings.warn(f"var/std: {count(shape, axes)} values per result and correction "
                      f"{correction} leave no degrees of freedom; the result is inf or nan",
                      UserWarning, stacklevel=4)
    return max(dof, 0)


def var_composed(x, dim=None, correction=1, keepdim=False):
    """var with the small ops: sum((x - mean)^2) / (n - correction)."""
    centred = x - x.mean(dim=dim, keepdim=True)
    axes = normalize_dims(dim, x.ndim)
    return (centred * centred).sum(dim=dim, keepdim=keepdim) / degrees_of_freedom(
        x.shape, axes, correction)


def std_composed(x, dim=None, correction=1, keepdim=False):
    """std with the small ops: the square root of var."""
    return var_composed(x, dim=dim, correction=correction, keepdim=keepdim) ** 0.5


class Var(Function):
    """v = sum_i (x_i - mean)^2 / (n - correction);  dv/dx_i = 2 (x_i - mean) / (n - correction).

    (The mean's own dependence on x_i drops out: the centred values sum to 0.)
    """

    parameters = ("dim", "correction", "keepdim")
    dim = None
    correction = 1
    keepdim = False
    composed = staticmethod(var_composed)

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        self.dof = degrees_of_freedom(x.shape, self.axes, self.correction)
        self.centred = x - x.mean(axis=self.axes, keepdims=True)
        squares = self.centred * self.centred
        with quiet_division(xp_of(x)):  # n <= correction: inf or nan, as PyTorch
            return squares.sum(axis=self.axes, keepdims=self.keepdim) / self.dof

    def backward(self, grad):
        spread = _grad_to_input_shape(grad, self.axes, self.keepdim, self.centred.shape)
        with quiet_division(xp_of(grad)):
            return (spread * self.centred * (2 / self.dof if self.dof else float("inf")),)


class Std(Var):
    """s = sqrt(var);  ds/dx_i = (x_i - mean) / ((n - correction) s); 0 where s = 0, as torch."""

    composed = staticmethod(std_composed)

    def forward(self, x):
        self.out = xp_of(x).sqrt(super().forward(x))
        return self.out

    def backward(self, grad):
        xp = xp_of(grad)
        shape = kept_shape(self.centred.shape, self.axes)
        std = self.out.reshape(shape)
        with quiet_division(xp):
            half_over_std = xp.where(std == 0, 0, 0.5 / std).astype(grad.dtype)  # d sqrt(v)/dv
        return super().backward((grad.reshape(shape) * half_over_std).reshape(grad.shape))


def logsumexp_composed(x, dim, keepdim=False):
    """logsumexp with the small ops: m + log(sum(exp(x - m))), m the (constant) max."""
    m = x.detach().amax(dim=dim, keepdim=True)
    out = (x - m).exp().sum(dim=dim, keepdim=True).log() + m
    return out if keepdim else out.reshape(reduced_shape(x.shape, normalize_dims(dim, x.ndim)))


class LogSumExp(Function):
    """y = log sum_i exp(x_i), as m + log sum_i exp(x_i - m) (m = max, so no overflow);
    dy/dx_i = exp(x_i - y), the softmax."""

    parameters = ("dim", "keepdim")
    keepdim = False
    composed = staticmethod(logsumexp_composed)

    def forward(self, x):
        xp = xp_of(x)
        self.axes = normalize_dims(self.dim, x.ndim)
        if not count(x.shape, self.axes):  # a sum of no terms is 0: log 0 = -inf
            shape = kept_shape(x.shape, self.axes) if self.keepdim else reduced_shape(
                x.shape, self.axes)
            self.out = xp.full(kept_shape(x.shape, self.axes), -xp.inf, dtype=x.dtype)
            return self.out.reshape(shape)
        m = x.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype)  # rows of -inf (or +inf): no nan
        with quiet_division(xp):  # log 0 = -inf where every term is exp(-inf)
            self.out = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        return self.out if self.keepdim else self.out.reshape(reduced_shape(x.shape, self.axes))

    def backward(self, grad):
        x = self.inputs[0].data
        spread = _grad_to_input_shape(grad, self.axes, self.keepdim, x.shape)
        return (spread * xp_of(x).exp(x - self.out),)


class Norm(Function):
    """The vector p-norm ||x||_p = (sum_i |x_i|^p)^(1/p) over ``dim`` (torch.linalg.vector_norm).

        p = 2:     dy/dx_i = x_i / y
        p = 1:     dy/dx_i = sign(x_i)
        p = inf:   dy/dx_i = sign(x_i) for the largest |x_i| (split among ties); -inf: smallest
        p = 0:     the count of non-zero elements, no gradient
        other p:   dy/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1)
    and 0 wherever the norm is 0 (as PyTorch, which has no derivative to give there).
    """

    parameters = ("p", "dim", "keepdim")
    p = 2.0
    dim = None
    keepdim = False

    def forward(self, x):
        xp = xp_of(x)
        self.axes = normalize_dims(self.dim, x.ndim)
        size, p = abs(x), self.p
        if p == float("inf") or p == -float("inf"):
            if 0 in x.shape:
                check_not_empty(x.shape, self.axes, self.dim, "norm")
            pick = size.max if p > 0 else size.min
            out = pick(axis=self.axes, keepdims=True)
        elif p == 0:
            out = (x != 0).sum(axis=self.axes, keepdims=True).astype(x.dtype)
        elif p == 1:
            out = size.sum(axis=self.axes, keepdims=True)
        elif p == 2:
            out = xp.sqrt((x * x).sum(axis=self.axes, keepdims=True))
        else:
            out = (size ** p).sum(axis=self.axes, keepdims=True) ** (1 / p)
        self.out = out
        return out if self.keepdim else out.reshape(reduced_shape(x.shape, self.axes))

    def backward(self, grad):
        xp = xp_of(grad)
        x, p, norm = self.inputs[0].data, self.p, self.out
        spread = _grad_to_input_shape(grad, self.axes, self.keepdim, x.shape)
        if p == float("inf") or p == -float("inf"):
            is_extreme = (abs(x) == norm).astype(x.dtype)
            local = xp.sign(x) * is_extreme / is_extreme.sum(axis=self.axes, keepdims=True)
        elif p == 0:
            local = xp.zeros_like(x)
        elif p == 1:
            local = xp.sign(x)
        else:
            with quiet_division(xp):
                if p == 2:
                    local = x / norm
                else:
                    local = xp.sign(x) * abs(x) ** (p - 1) / norm ** (p - 1)
            local = xp.where(norm == 0, 0, local).astype(x.dtype)
        return (spread * local,)


# ---------------------------------------------------------------------- truth (no gradient)


def any_along(x, dim=None, keepdim=False):
    """True where any element along ``dim`` is non-zero (all dims for None)."""
    if isinstance(dim, tuple) and not dim:  # PyTorch: dim=() reduces nothing
        return x.astype(bool)
    return x.any(axis=normalize_dims(dim, x.ndim), keepdims=keepdim)


def all_along(x, dim=None, keepdim=False):
    """True where every element along ``dim`` is non-zero (all dims for None)."""
    if isinstance(dim, tuple) and not dim:
        return x.astype(bool)
    return x.all(axis=normalize_dims(dim, x.ndim), keepdims=keepdim)
