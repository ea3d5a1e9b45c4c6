"""``Tensor``: an array that remembers how it was made, so gradients can flow back.

A tensor holds ``data`` (a NumPy or CuPy array), and, when it was produced by
an op that needs a gradient, its ``creator`` (a Function). ``backward()`` walks
from the tensor back through the creators in reverse topological order,
applying each op's backward (the chain rule), and adds the gradients of the
leaves (parameters, inputs with ``requires_grad=True``) into their ``.grad``.
"""

from __future__ import annotations

from operator import attrgetter

from gradzoo.engine import backend
from gradzoo.engine.hooks import _backward_callbacks, _tell_backward_step


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    >>> from gradzoo.engine import tensor
    >>> x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.numpy().tolist()
    [2.0, 4.0, 6.0]
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "name", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor calls Tensor.__rmul__

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        if device is None:
            device = "gpu" if backend.device_of(data) == "gpu" else backend.default_device()
        else:
            device = backend.check_device(device)
        dtype = None if dtype is None else backend.dtype(dtype)
        self.data = backend.make_array(data, dtype, device)
        if requires_grad and not backend.is_floating(self.data.dtype):
            raise TypeError(f"only floating-point tensors can require gradients, "
                            f"not {self.data.dtype} (use dtype='float32')")
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.creator = None
        self.name = None

    @classmethod
    def _make(cls, data, requires_grad, creator):
        """Wrap an op's output array (already on the right device and dtype) without checks."""
        t = object.__new__(cls)
        t.data = data
        t.requires_grad = requires_grad
        t.creator = creator
        t.grad = None
        t.name = None
        return t

    # ------------------------------------------------------------------ properties

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return self.data.size

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not by an op): their ``.grad`` is filled."""
        return self.creator is None

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        device = "" if self.device == "cpu" else f", device='{self.device}'"
        values = str(self.numpy()).replace("\n", "\n       ")
        return f"tensor({values}, dtype={self.dtype}{device}{grad})"

    # ------------------------------------------------------------------ conversion

    def numpy(self):
        """A NumPy copy of the values on the host."""
        return backend.to_host(self.data).copy()

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape "
                             f"{self.shape}")
        return backend.to_host(self.data).reshape(()).item()

    def tolist(self):
        return backend.to_host(self.data).tolist()

    def detach(self) -> Tensor:
        """The same values, cut from the graph (no gradient flows through it)."""
        return Tensor._make(self.data, False, None)

    def to(self, target) -> Tensor:
        """Move to a device ('cpu', 'gpu') or convert to a dtype ('float64', ...).

        The result is a leaf (detached), keeping ``requires_grad``.
        """
        if isinstance(target, str) and target in backend.DEVICE_CHOICES:
            device = backend.check_device(target)
            if device == self.device:
                return self
            data = backend.to_device(self.data, device)
        else:
            data = self.data.astype(backend.dtype(target))
        out = Tensor._make(data, self.requires_grad, None)
        out.name = self.name
        return out

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    # ------------------------------------------------------------------ backward

    def backward(self, grad=None, retain_graph=False) -> None:
        """Fill ``.grad`` of every leaf this tensor depends on with d(self)/d(leaf).

        ``grad`` is d(loss)/d(self); it may be left out for a one-element tensor
        (it is 1 then). Gradients add up across calls until ``zero_grad()``. The
        graph is freed afterwards unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input of "
                               "the ops that made it has requires_grad=True")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() without a gradient argument needs a one-element "
                                   f"(scalar) tensor, this one has shape {self.shape}; pass "
                                   f"grad=... of the same shape, or reduce it first (.sum())")
            grad_data = backend.xp_of(self.data).array(1, dtype=self.dtype).reshape(self.shape)
        else:
            if isinstance(grad, Tensor) and grad.device != self.device:
                raise backend.DeviceError(f"backward(grad): grad is on '{grad.device}', the "
                                          f"tensor on '{self.device}'; move it with "
                                          f".to('{self.device}')")
            grad_data = grad.data if isinstance(grad, Tensor) else backend.make_array(
                grad, self.dtype, self.device)
            if grad_data.shape != self.shape:
                raise ValueError(f"backward(grad): grad has shape {grad_data.shape}, "
                                 f"the tensor has shape {self.shape}")
        if self.creator is None:
            _accumulate_leaf(self, grad_data)
            return
        _run_backward(self.creator, grad_data, retain_graph)

    # ------------------------------------------------------------------ operators

    def __add__(self, other):
        return _ops.Add.apply(self, other)

    def __radd__(self, other):
        return _ops.Add.apply(_like(other, self), self)

    def __sub__(self, other):
        return _ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return _ops.Sub.apply(_like(other, self), self)

    def __mul__(self, other):
        return _ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return _ops.Mul.apply(self, other)

    def __truediv__(self, other):
        return _ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return _ops.Div.apply(_like(other, self), self)

    def __pow__(self, exponent):
        return _ops.Pow.apply(self, exponent)

    def __rpow__(self, base):
        return _ops.Pow.apply(_like(base, self), self)

    def __neg__(self):
        return _ops.Neg.apply(self)

    def __matmul__(self, other):
        return _ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return _ops.MatMul.apply(_like(other, self), self)

    def __getitem__(self, index):
        return _ops.GetItem.apply(self, index=_index_data(index))

    # comparisons give boolean tensors and no gradient
    def __eq__(self, other):
        return Tensor._make(self.data == _peer_data(other, self), False, None)

    def __ne__(self, other):
        return Tensor._make(self.data != _peer_data(other, self), False, None)

    def __lt__(self, other):
        return Tensor._make(self.data < _peer_data(other, self), False, None)

    def __le__(self, other):
        return Tensor._make(self.data <= _peer_data(other, self), False, None)

    def __gt__(self, other):
        return Tensor._make(self.data > _peer_data(other, self), False, None)

    def __ge__(self, other):
        return Tensor._make(self.data >= _peer_data(other, self), False, None)

    __hash__ = object.__hash__  # tensors are keys by identity (parameters in sets and dicts)

    # ------------------------------------------------------------------ methods

    def sum(self, dim=None, keepdim=False):
        return _ops.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        return _ops.Mean.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False):
        """The largest values along ``dim`` (values only, like ``torch.amax``)."""
        return _ops.Max.apply(self, dim=dim, keepdim=keepdim)

    def exp(self):
        return _ops.Exp.apply(self)

    def log(self):
        return _ops.Log.apply(self)

    def tanh(self):
        return _ops.Tanh.apply(self)

    def sigmoid(self):
        return _ops.Sigmoid.apply(self)

    def relu(self):
        return _ops.ReLU.apply(self)

    def softmax(self, dim=-1):
        return _ops.Softmax.apply(self, dim=dim)

    def log_softmax(self, dim=-1):
        return _ops.LogSoftmax.apply(self, dim=dim)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _ops.Reshape.apply(self, shape=tuple(shape))

    def transpose(self, dim0, dim1):
        """Swap two dimensions."""
        return _ops.Transpose.apply(self, dim0=dim0, dim1=dim1)

    def permute(self, *dims):
        """Reorder all dimensions: ``x.permute(0, 2, 1)``."""
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return _ops.Permute.apply(self, dims=tuple(dims))

    @property
    def T(self):
        """The tensor with its dimensions reversed (the matrix transpose for 2-D)."""
        return self.permute(*reversed(range(self.ndim)))

    def unsqueeze(self, dim):
        """Insert a dimension of size 1 at ``dim``."""
        dim = dim if dim >= 0 else dim + self.ndim + 1
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim):
        """Remove the dimension ``dim`` of size 1."""
        if self.shape[dim] != 1:
            raise ValueError(f"squeeze({dim}): dimension {dim} has size {self.shape[dim]}, not 1")
        dim = dim % self.ndim
        return self.reshape(self.shape[:dim] + self.shape[dim + 1:])


def tensor(data, requires_grad=False, dtype=None, device=None) -> Tensor:
    """Make a tensor from Python data or an array (floats become float32)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


class Parameter(Tensor):
    """A tensor that is a learnable weight: it requires a gradient, and a Module that
    holds one as an attribute lists it in ``parameters()``."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None, device=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


# ---------------------------------------------------------------------- helpers


def _peer_data(other, reference: Tensor):
    """``other`` as an operand of a comparison with ``reference``, on ``reference``'s device.

    Lists and arrays are copied there (as NumPy and CuPy would not mix); a tensor on
    another device is an error, as it is for the inputs of any op.
    """
    if isinstance(other, Tensor):
        if other.device != reference.device:
            raise backend.DeviceError(f"comparison: tensors on different devices "
                                      f"('{reference.device}' and '{other.device}'); move one "
                                      f"with .to('{reference.device}') or .to('{other.device}')")
        return other.data
    if isinstance(other, (list, tuple)) or backend.is_array(other):
        return backend.to_device(other, reference.device)
    return other


def _like(value, reference: Tensor) -> Tensor:
    """A Python number or array as a tensor with ``reference``'s dtype and device."""
    if isinstance(value, Tensor):
        return value
    dtype = reference.dtype if backend.is_floating(reference.dtype) else None
    return Tensor(value, dtype=dtype, device=reference.device)


def _index_data(index):
    """Replace tensors inside an index by their arrays."""
    if isinstance(index, tuple):
        return tuple(_index_data(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    return index


def _accumulate_leaf(leaf: Tensor, grad_data) -> None:
    """Add a gradient into a leaf's ``.grad``.

    The first gradient is copied into a fresh buffer that the leaf owns (the
    array an op's backward returned may be shared, or be a view); later ones
    are added into that buffer in place, as PyTorch does, with no new array.
    """
    grad = leaf.grad
    if grad is None:
        # xp.array copies; NumPy gives 0-d results as scalars, .grad.data is always an array
        leaf.grad = Tensor._make(backend.xp_of(grad_data).array(grad_data), False, None)
    else:
        grad.data += grad_data


def _topological_order(root):
    """Functions reachable from ``root``, each before the functions that made its inputs.

    An op runs after the ops that made its inputs, so its ``sequence`` number
    (given when it ran) is higher than theirs: the reachable Functions sorted by
    that number, highest first, are in reverse topological order (PyTorch's engine
    orders its work the same way). Finding them is an explicit-stack search, not
    a recursive one: an RNN unrolled over hundreds of steps makes a graph deeper
    than Python's recursion limit.
    """
    found, stack = {root}, [root]
    while stack:
        fn = stack.pop()
        if fn.inputs is None:
            raise RuntimeError("backward through a graph a second time: its saved values were "
                               "freed by the first backward(); call backward(retain_graph=True) "
                               "the first time, or run the forward pass again")
        for t in fn.inputs:
            creator = t.creator
            if creator is not None and creator not in found:
                found.add(creator)
                stack.append(creator)
    return sorted(found, key=attrgetter("sequence"), reverse=True)


def _run_backward(root, grad_data, retain_graph: bool) -> None:
    """Apply each Function's backward in reverse topological order (the chain rule).

    Each step is told to the ``hooks.backward_step`` callbacks as it happens (the
    graph drawings use them to show the walk).
    """
    owned = set()  # Functions whose pending gradient is a sum made here (ours to add into)
    order = _topological_order(root)
    pending = {root: grad_data}  # Function -> d(loss)/d(its output), summed over all uses
    for fn in order:
        out_grad = pending.pop(fn)
        input_grads = fn.backward(out_grad)
        if _backward_callbacks:  # a tool watches the walk (hooks.backward_step)
            _tell_backward_step(fn, out_grad, input_grads)
        for t, g, needed in zip(fn.inputs, input_grads, fn.needs_input_grad):
            if not needed or g is None:
                continue
            if g.shape != t.data.shape or g.dtype != t.data.dtype:
                raise RuntimeError(f"{fn.name}.backward returned a {g.dtype} gradient of shape "
                                   f"{g.shape} for a {t.dtype} input of shape {t.shape}")
            creator = t.creator
            if creator is None:
                _accumulate_leaf(t, g)
                continue
            # The first gradient may be shared (a view, or another input's gradient too),
            # so the second makes a fresh sum; later ones are added into that sum in place.
            earlier = pending.get(creator)
            if earlier is None:
                pending[creator] = g
            elif creator in owned:
                earlier += g
                pending[creator] = earlier  # (a 0-d sum is a NumPy scalar: += made a new one)
            else:
                pending[creator] = earlier + g
                owned.add(creator)
        if not retain_graph:
            fn.release()


from gradzoo.engine import ops as _ops  # noqa: E402  (ops need Tensor defined first)
