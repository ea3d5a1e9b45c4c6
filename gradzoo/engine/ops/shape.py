"""Ops that move values around without changing them: reshape, transpose, permute,
indexing, concat, stack and where. Their backward moves the gradient back."""

from __future__ import annotations

from gradzoo.engine import backend
from gradzoo.engine.backend import scatter_add, xp_of
from gradzoo.engine.function import Function, unbroadcast


class Reshape(Function):
    """Same values, new shape (a view when possible); the gradient is reshaped back."""

    parameters = ("shape",)

    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise RuntimeError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
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
            raise RuntimeError(f"permute{self.dims} must name each of the {x.ndim} dimensions "
                               f"once")
        return x.transpose(self.dims)

    def backward(self, grad):
        inverse = [0] * len(self.dims)
        for position, d in enumerate(self.dims):
            inverse[d % len(self.dims)] = position
        return (grad.transpose(inverse),)


_BASIC_PARTS = (int, slice, type(None), type(Ellipsis))
_BASIC_TYPES = frozenset(_BASIC_PARTS)  # (bool is not among them: x[True] adds a dimension)


def torch_index(index, shape, data):
    """``index`` rewritten so that NumPy picks what PyTorch picks, as ``(first, second)``.

    NumPy and PyTorch agree on basic indexing and on advanced indexing (integer and
    boolean arrays) alone, but not on both at once: PyTorch applies the integers
    first (each removes its dimension), then the advanced indices among what is left.
    So ``x[0, :, [0, 1]]`` on a (2, 3, 4) tensor is (3, 2) there, and (2, 3) in NumPy,
    which counts the 0 as an advanced index separated from [0, 1] by the slice. The
    answer is ``data[first][second]``, where ``first`` (None: nothing to do) holds the
    integers; boolean masks are turned into their integer positions (``nonzero``).
    """
    parts = index if type(index) is tuple else (index,)
    for part in parts:
        if part.__class__ not in _BASIC_TYPES:
            break
    else:
        return None, index  # basic indexing: the same in NumPy and PyTorch
    xp = xp_of(data)
    parts = [_index_part(part, xp) for part in parts]
    if sum(part is Ellipsis for part in parts) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_dims_used(part) for part in parts)
    at = next((i for i, part in enumerate(parts) if part is Ellipsis), None)
    if at is not None:
        parts[at:at + 1] = [slice(None)] * max(len(shape) - used, 0)
    expanded, dim = [], 0
    for part in parts:
        if backend.is_array(part) and part.dtype == backend.bool_ and part.ndim:
            _check_mask(part, shape, dim)
            expanded.extend(part.nonzero())
        else:
            expanded.append(part)
        dim += _dims_used(part)
    has_integer = any(type(part) is int for part in expanded)
    if not has_integer or not any(backend.is_array(part) for part in expanded):
        return None, _one_or_tuple(expanded)
    first = tuple(part if type(part) is int else slice(None)
                  for part in expanded if _dims_used(part)) + (Ellipsis,)
    second = [part for part in expanded if type(part) is not int]
    return first, _one_or_tuple(second)


def _index_part(part, xp):
    """One part of an index as NumPy should see it (0-d integer tensors count as integers)."""
    if type(part) is bool or isinstance(part, _BASIC_PARTS):
        return part
    if isinstance(part, (list, tuple)) or backend.is_array(part) or hasattr(part, "dtype"):
        array = xp.asarray(part)
        if array.size == 0 and not backend.is_integer(array.dtype):
            array = array.astype(backend.int64)  # x[[]]: an empty integer index
        if array.dtype != backend.bool_ and not backend.is_integer(array.dtype):
            raise IndexError(f"tensors used as indices must be integer or boolean tensors, "
                             f"not {array.dtype}")
        if array.ndim == 0:
            return bool(array) if array.dtype == backend.bool_ else int(array)
        return array
    raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and integer or "
                     f"boolean tensors are valid indices (got {type(part).__name__})")


def _dims_used(part) -> int:
    """How many dimensions of the indexed tensor one part of an index consumes."""
    if backend.is_array(part):
        return part.ndim if part.dtype == backend.bool_ else 1
    return 0 if part is None or part is Ellipsis or type(part) is bool else 1


def _check_mask(mask, shape, dim) -> None:
    """A boolean mask must have the shape of the dimensions it covers."""
    for i, size in enumerate(mask.shape):
        if dim + i >= len(shape) or shape[dim + i] != size:
            raise IndexError(f"The shape of the mask {list(mask.shape)} at index {i} does not "
                             f"match the shape of the indexed tensor {list(shape)} at index "
                             f"{dim + i}")


def _one_or_tuple(parts):
    return parts[0] if len(parts) == 1 and backend.is_array(parts[0]) else tuple(parts)


def _repeats_possible(index) -> bool:
    """True when the index holds integer arrays (which may pick an element twice)."""
    parts = index if type(index) is tuple else (index,)
    return any(backend.is_array(part) for part in parts)


class GetItem(Function):
    """y = x[index] with PyTorch's rules; the gradient goes back to the picked places.

    Integers, slices, None, ``...``, integer and boolean arrays (``torch_index`` says how
    they combine). An element picked twice (``x[[0, 0]]``) gets both gradients added.
    """

    parameters = ("index",)

    def forward(self, x):
        self.first, self.second = first, second = torch_index(self.index, x.shape, x)
        return x[second] if first is None else x[first][second]

    def backward(self, grad):
        x = self.inputs[0].data
        grad_x = xp_of(grad).zeros(x.shape, dtype=grad.dtype)
        target = grad_x if self.first is None else grad_x[self.first]  # a view into grad_x
        if _repeats_possible(self.second):
            scatter_add(target, self.second, grad)
        else:
            target[self.second] = grad
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
            raise RuntimeError(f"concat along dim {self.dim}: shapes {shapes} differ in "
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
            raise RuntimeError(f"stack needs tensors of one shape, got {shapes}") from None

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
