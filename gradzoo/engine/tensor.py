"""``Tensor``: an array that remembers how it was made, so gradients can flow back.

A tensor holds ``data`` (a NumPy or CuPy array), and, when it was produced by
an op that needs a gradient, its ``creator`` (a Function). ``backward()`` walks
from the tensor back through the creators in reverse topological order,
applying each op's backward (the chain rule), and adds the gradients of the
leaves (parameters, inputs with ``requires_grad=True``) into their ``.grad``.
"""

from __future__ import annotations

import functools
import types
from operator import attrgetter

from gradzoo.engine import backend
from gradzoo.engine import return_types as _return_types
from gradzoo.engine.autograd_mode import is_grad_enabled as _grad_enabled
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
        """Number of elements; also callable as PyTorch's ``x.size()`` (the shape) and
        ``x.size(dim)`` (one dim's length)."""
        return _size_of(self.data.shape)

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not by an op): their ``.grad`` is filled."""
        return self.creator is None

    def __len__(self) -> int:
        if not self.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        """The truth of a one-element tensor (``if loss < best:``); more values are ambiguous."""
        if self.size != 1:
            amount = "no values" if self.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous "
                               f"(shape {self.shape}); use .any() or .all()")
        return bool(backend.to_host(self.data).reshape(()))

    def __iter__(self):
        """The sub-tensors along the first dimension, as ``t[0], t[1], ...``."""
        if not self.ndim:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __contains__(self, value) -> bool:
        """``value in t``: whether any element equals ``value``."""
        return bool((backend.to_host(self.data) == _peer_data(value, self)).any())

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __index__(self) -> int:
        """A one-element integer tensor as an index (``items[t]``, ``range(t)``)."""
        if self.size != 1 or not backend.is_integer(self.dtype):
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._scalar("index"))

    def _scalar(self, conversion: str):
        if self.size != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars "
                             f"({conversion}() of a tensor of shape {self.shape})")
        return backend.to_host(self.data).reshape(()).item()

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
            raise RuntimeError(f"item() needs a tensor with one element, this one has shape "
                               f"{self.shape} ({self.size} elements)")
        return backend.to_host(self.data).reshape(()).item()

    def tolist(self):
        return backend.to_host(self.data).tolist()

    def detach(self) -> Tensor:
        """The same values, cut from the graph (no gradient flows through it)."""
        return Tensor._make(self.data, False, None)

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
                raise RuntimeError(f"backward(grad): grad has shape {grad_data.shape}, "
                                   f"the tensor has shape {self.shape}")
        if self.creator is None:
            _accumulate_leaf(self, grad_data)
            return
        _run_backward(self.creator, grad_data, retain_graph)

    # ------------------------------------------------------------------ operators

    def __add__(self, other):
        return _ops.Add.apply(self, other)

    def __radd__(self, other):
        return _ops.Add.apply(other, self)

    def __sub__(self, other):
        return _ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return _ops.Sub.apply(other, self)

    def __mul__(self, other):
        return _ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return _ops.Mul.apply(self, other)

    def __truediv__(self, other):
        return _ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return _ops.Div.apply(other, self)

    def __pow__(self, exponent):
        return _ops.Pow.apply(self, exponent)

    def __rpow__(self, base):
        return _ops.Pow.apply(base, self)

    def __neg__(self):
        return _ops.Neg.apply(self)

    def __matmul__(self, other):
        return _ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return _ops.MatMul.apply(other, self)

    def __getitem__(self, index):
        """Index as PyTorch does: ints, slices, None, ..., integer and boolean tensors/lists."""
        return _ops.GetItem.apply(self, index=_index_data(index))

    def __setitem__(self, index, value):
        """``t[index] = value`` in place, for tensors that need no gradient (or under no_grad).

        gradzoo has no in-place ops on tensors that need a gradient (PyTorch tracks them
        with version counters); build a new tensor instead (``F.where``, ``masked_fill``).
        """
        if self.requires_grad and _grad_enabled():
            raise RuntimeError("in-place assignment t[...] = value on a tensor that requires "
                               "grad: gradzoo has no in-place ops on tensors that need a "
                               "gradient; build a new tensor (F.where, masked_fill, cat), or "
                               "assign under no_grad() (initialising weights)")
        first, second = _ops.shape.torch_index(_index_data(index), self.shape, self.data)
        target = self.data if first is None else self.data[first]  # a view into the data
        target[second] = _peer_data(value, self)

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

    def sum(self, dim=None, keepdim=False, dtype=None):
        """The sum over ``dim`` (None: all); integers and booleans sum to int64, as torch."""
        x = self if dtype is None else self.to(dtype)
        return _ops.Sum.apply(x, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None):
        """The mean over ``dim`` (None: all), of a float tensor (or pass ``dtype=``), as torch."""
        x = self if dtype is None else self.to(dtype)
        if not backend.is_floating(x.dtype):
            raise RuntimeError(f"mean() needs a floating-point tensor, not {x.dtype}: "
                               f"convert it first (.float()), or pass dtype='float32'")
        return _ops.Mean.apply(x, dim=dim, keepdim=keepdim)

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

    def squeeze(self, dim=None):
        """Remove dimensions of size 1: all of them, or those of ``dim`` (an int or a tuple).

        As in PyTorch, a named dimension whose size is not 1 is left as it is.
        """
        dims = range(self.ndim) if dim is None else \
            {_dim_index(d, self.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        shape = tuple(size for d, size in enumerate(self.shape) if not (d in dims and size == 1))
        return self.reshape(shape)

    # ---- elementwise functions, //, % and bitwise operators ----

    def abs(self):
        """|x| elementwise (its gradient is 0 at 0, as PyTorch's)."""
        return _ops.Abs.apply(self)

    __abs__ = abs

    def sqrt(self):
        return _ops.Sqrt.apply(self)

    def rsqrt(self):
        """1 / sqrt(x) elementwise."""
        return _ops.Rsqrt.apply(self)

    def sin(self):
        return _ops.Sin.apply(self)

    def cos(self):
        return _ops.Cos.apply(self)

    def log1p(self):
        """ln(1 + x), accurate for small x."""
        return _ops.Log1p.apply(self)

    def expm1(self):
        """e^x - 1, accurate for small x."""
        return _ops.Expm1.apply(self)

    def erf(self):
        """The error function (2 / sqrt(pi)) int_0^x e^(-t^2) dt."""
        return _ops.Erf.apply(self)

    def sign(self):
        """-1, 0 or 1 elementwise (gradient 0, as PyTorch)."""
        return _ops.Sign.apply(self)

    def floor(self):
        return _ops.Floor.apply(self)

    def ceil(self):
        return _ops.Ceil.apply(self)

    def round(self, decimals=0):
        """Round to ``decimals`` places, halves to even (2.5 -> 2.0), as PyTorch."""
        return _ops.Round.apply(self, decimals=decimals)

    def clamp(self, min=None, max=None):
        """Clip to [min, max] (either may be None; a bound may be a tensor, and gets a gradient)."""
        return _ops.Clamp.between(self, min, max)

    clip = clamp

    def clamp_min(self, min):
        return _ops.Clamp.between(self, min, None)

    def clamp_max(self, max):
        return _ops.Clamp.between(self, None, max)

    def minimum(self, other):
        """The elementwise minimum of two tensors (a tie splits the gradient evenly)."""
        return _ops.Minimum.apply(self, self._tensor_operand(other, "minimum"))

    def maximum(self, other):
        """The elementwise maximum of two tensors (a tie splits the gradient evenly)."""
        return _ops.Maximum.apply(self, self._tensor_operand(other, "maximum"))

    @staticmethod
    def _tensor_operand(other, name: str):
        """``other`` if it is a tensor; PyTorch's minimum/maximum take no numbers (TypeError)."""
        if not isinstance(other, Tensor):
            raise TypeError(f"{name}(): other must be a Tensor, not {type(other).__name__} "
                            f"(for a number use clamp({'max' if name == 'minimum' else 'min'}"
                            f"=...))")
        return other

    def floor_divide(self, other):
        return _ops.FloorDivide.apply(self, other)

    def __floordiv__(self, other):
        return _ops.FloorDivide.apply(self, other)

    def __rfloordiv__(self, other):
        return _ops.FloorDivide.apply(other, self)

    def remainder(self, other):
        return _ops.Remainder.apply(self, other)

    def __mod__(self, other):
        return _ops.Remainder.apply(self, other)

    def __rmod__(self, other):
        return _ops.Remainder.apply(other, self)

    def _bitwise(self, other, name: str, reflected: bool = False):
        """``self`` and ``other`` combined by ``xp.<name>``: integer and boolean tensors only."""
        other_data = _peer_data(other, self)
        for value in (self.data, other_data):
            if isinstance(value, float) or (hasattr(value, "dtype")
                                            and backend.is_floating(value.dtype)):
                raise NotImplementedError(f"{name} is for integer and boolean tensors, not "
                                          f"floating-point ones (as in PyTorch)")
        a, b = (other_data, self.data) if reflected else (self.data, other_data)
        return Tensor._make(getattr(backend.xp_of(self.data), name)(a, b), False, None)

    def bitwise_and(self, other):
        return self._bitwise(other, "bitwise_and")

    def bitwise_or(self, other):
        return self._bitwise(other, "bitwise_or")

    def bitwise_xor(self, other):
        return self._bitwise(other, "bitwise_xor")

    __and__, __or__, __xor__ = bitwise_and, bitwise_or, bitwise_xor

    def __rand__(self, other):
        return self._bitwise(other, "bitwise_and", reflected=True)

    def __ror__(self, other):
        return self._bitwise(other, "bitwise_or", reflected=True)

    def __rxor__(self, other):
        return self._bitwise(other, "bitwise_xor", reflected=True)

    def __lshift__(self, other):
        return self._bitwise(other, "left_shift")

    def __rshift__(self, other):
        return self._bitwise(other, "right_shift")

    def bitwise_not(self):
        """~x: logical not of a boolean tensor, the bitwise complement of an integer one."""
        if backend.is_floating(self.dtype):
            raise TypeError("~ (operator.invert) is only for integer and boolean tensors, "
                            f"not {self.dtype} (as in PyTorch)")
        return Tensor._make(backend.xp_of(self.data).invert(self.data), False, None)

    __invert__ = bitwise_not

    # ---- casts, spellings and layout ----
    # (.float() .double() .half() .int() .long() .bool() and .type() are added after the
    # class, by _add_torch_spellings: inside the class body their names would hide the
    # builtins float, int, bool and type from the rest of the body.)

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False) -> Tensor:
        """Convert to a dtype and/or move to a device, as ``torch.Tensor.to``.

        ``x.to("float64")``, ``x.to(gradzoo.engine.float64)``, ``x.to("gpu")``,
        ``x.to("gpu", "float64")``, ``x.to(other)`` (other's dtype and device),
        ``x.to(device=..., dtype=...)``. The result is ``x`` itself when nothing changes
        (unless ``copy=True``). A cast is differentiable (``ops.Cast``): the gradient comes
        back in x's dtype, on x's device; a cast to an integer or bool dtype has none.
        ``non_blocking`` is accepted and ignored.
        """
        if len(args) > 2:
            raise TypeError(f"to() takes at most a device and a dtype, got {len(args)} "
                            f"positional arguments")
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, str) and arg in backend.DEVICE_CHOICES:
                device = arg
            else:
                dtype = arg
        dtype = self.dtype if dtype is None else _dtype_named(dtype, "to")
        device = self.device if device is None else backend.check_device(device)
        if dtype == self.dtype and device == self.device:
            return self.clone() if copy else self
        if not backend.is_floating(dtype):  # an integer or bool result has no gradient
            return _ops.Cast.apply(self.detach(), dtype=dtype, device=device)
        return _ops.Cast.apply(self, dtype=dtype, device=device)

    def type_as(self, other) -> Tensor:
        """This tensor cast to ``other``'s dtype."""
        return self.to(other.dtype)

    def cpu(self) -> Tensor:
        """``x.to("cpu")``."""
        return self.to("cpu")

    def cuda(self) -> Tensor:
        """``x.to("gpu")`` (PyTorch's CUDA device is gradzoo's ``"gpu"``)."""
        return self.to("gpu")

    def clone(self) -> Tensor:
        """A copy in new memory, differentiable (``ops.Clone``): d(copy)/dx = 1."""
        return _ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        """This tensor if its elements lie in row-major order, else such a copy (differentiable)."""
        if self.is_contiguous():
            return self
        return _ops.Clone.apply(self, order="C")

    def is_contiguous(self) -> bool:
        """True when the elements lie in memory in row-major (C) order, with no gaps."""
        return bool(self.data.flags.c_contiguous)

    def requires_grad_(self, requires_grad=True) -> Tensor:
        """Set ``requires_grad`` in place and return the tensor: ``zeros(3).requires_grad_()``."""
        if requires_grad and not backend.is_floating(self.dtype):
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, "
                               f"not {self.dtype}")
        if not requires_grad and not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; use "
                               ".detach() for a tensor cut from the graph")
        self.requires_grad = bool(requires_grad)
        return self

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    nelement = numel

    def dim(self) -> int:
        """The number of dimensions (``ndim``)."""
        return self.data.ndim

    # arithmetic spelled as methods: they run the operators, so the same rules apply

    def add(self, other, alpha=1) -> Tensor:
        """``self + alpha * other``."""
        return self + _times_alpha(other, alpha, self, "add")

    def sub(self, other, alpha=1) -> Tensor:
        """``self - alpha * other``."""
        return self - _times_alpha(other, alpha, self, "sub")

    subtract = sub

    def mul(self, other) -> Tensor:
        return self * other

    multiply = mul

    def div(self, other, rounding_mode=None) -> Tensor:
        """``self / other``; ``rounding_mode="floor"`` rounds the quotient toward -inf (the
        values of ``self // other``), ``"trunc"`` toward zero; both have a zero gradient, as
        in PyTorch (``ops.RoundedDivide``)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode in ("floor", "trunc"):
            return _ops.RoundedDivide.apply(self, other, rounding_mode=rounding_mode)
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found {rounding_mode!r}")

    divide = div
    true_divide = div

    def neg(self) -> Tensor:
        return -self

    negative = neg

    def pow(self, exponent) -> Tensor:
        return self ** exponent

    def matmul(self, other) -> Tensor:
        return self @ other

    # layout: the same values, arranged anew

    def view(self, *shape) -> Tensor:
        """The same values in a new shape (one size may be -1), as ``reshape``.

        PyTorch's ``view`` refuses tensors whose memory layout cannot take the new shape
        without a copy (``x.t().view(-1)``); gradzoo copies then, as ``reshape`` does.
        """
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)) \
                and not hasattr(shape[0], "__index__"):
            raise TypeError(f"view({shape[0]!r}): gradzoo's view takes a shape; reinterpreting "
                            f"the bits as another dtype is not supported (use .to(dtype))")
        return self.reshape(*shape)

    def view_as(self, other) -> Tensor:
        return self.reshape(other.shape)

    def reshape_as(self, other) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1) -> Tensor:
        """Merge dims ``start_dim`` .. ``end_dim`` (both included) into one; 0-d becomes 1-d."""
        start = _dim_index(start_dim, self.ndim)
        end = _dim_index(end_dim, self.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if self.ndim == 0:
            return self.reshape(1)
        shape = self.shape
        merged = 1
        for side in shape[start:end + 1]:
            merged *= side
        return self.reshape(shape[:start] + (merged,) + shape[end + 1:])

    def unflatten(self, dim, sizes) -> Tensor:
        """Split dim ``dim`` into ``sizes`` (one of them may be -1)."""
        dim = _dim_index(dim, self.ndim)
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1:])

    def unsqueeze(self, dim) -> Tensor:
        """Insert a dimension of size 1 at ``dim`` (from -ndim-1 to ndim)."""
        dim = _dim_index(dim, self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def t(self) -> Tensor:
        """The transpose of a matrix (0-d and 1-d tensors stay as they are)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D; use transpose(dim0, dim1) or permute")
        return self if self.ndim < 2 else self.transpose(0, 1)

    def swapaxes(self, axis0, axis1) -> Tensor:
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def expand(self, *sizes) -> Tensor:
        """Stretch size-1 dims (and add leading ones) without copying; -1 keeps a size.

        ``tensor([[1.], [2.]]).expand(2, 3)`` repeats each row's value 3 times. The
        gradient of an element is the sum over its copies (``ops.Expand``).
        """
        sizes = _sizes(sizes, "expand")
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand(size={list(sizes)}): the number of sizes provided "
                               f"({len(sizes)}) must be greater or equal to the number of "
                               f"dimensions in the tensor ({self.ndim}, shape {self.shape})")
        lead = len(sizes) - self.ndim
        shape = list(sizes)
        for i, size in enumerate(sizes):
            if i < lead:
                if size < 0:
                    raise RuntimeError(f"expand: the expanded size of the tensor ({size}) isn't "
                                       f"allowed in a leading, non-existing dimension {i}")
                continue
            old = self.shape[i - lead]
            if size == -1:
                shape[i] = old
            elif size != old and old != 1:
                raise RuntimeError(f"The expanded size of the tensor ({size}) must match the "
                                   f"existing size ({old}) at non-singleton dimension {i}.  "
                                   f"Target sizes: {list(sizes)}.  Tensor sizes: "
                                   f"{list(self.shape)}")
        shape = tuple(shape)
        return self if shape == self.shape else _ops.Expand.apply(self, shape=shape)

    def expand_as(self, other) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes) -> Tensor:
        """Tile the tensor ``sizes[i]`` times along dim i (more sizes than dims add leading
        dims): ``tensor([1, 2]).repeat(2)`` is ``[1, 2, 1, 2]``. Copies (``ops.Repeat``)."""
        sizes = _sizes(sizes, "repeat")
        if not sizes:
            raise TypeError("repeat() missing the sizes: x.repeat(2, 3) or x.repeat((2, 3))")
        if len(sizes) < self.ndim:
            raise RuntimeError(f"Number of dimensions of repeat dims ({len(sizes)}) can not be "
                               f"smaller than number of dimensions of tensor ({self.ndim})")
        return _ops.Repeat.apply(self, repeats=sizes)

    def flip(self, *dims) -> Tensor:
        """Reverse the elements' order along each of ``dims``: ``x.flip(0)``, ``x.flip([0, 1])``."""
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        positions = tuple(_dim_index(d, self.ndim) for d in dims)
        if len(set(positions)) != len(positions):
            raise RuntimeError(f"flip: a dim appears multiple times in the list of dims "
                               f"{tuple(dims)}")
        return _ops.Flip.apply(self, dims=positions if self.ndim else ())

    def fliplr(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError("fliplr: input tensor must be at least 2-D")
        return self.flip(1)

    def flipud(self) -> Tensor:
        if self.ndim < 1:
            raise RuntimeError("flipud: input tensor must be at least 1-D")
        return self.flip(0)

    def split(self, split_size_or_sections, dim=0) -> tuple:
        """Cut along ``dim`` into pieces of ``split_size`` (the last may be shorter), or of
        the sizes listed in ``sections``. Each piece is a differentiable slice."""
        dim = _dim_index(dim, self.ndim)
        length = self.shape[dim]
        if isinstance(split_size_or_sections, (list, tuple)):
            sizes = [int(size) for size in split_size_or_sections]
            if sum(sizes) != length or any(size < 0 for size in sizes):
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                                   f"{length} (input tensor's size at dimension {dim}), but got "
                                   f"split_sizes={sizes}")
        else:
            step = int(split_size_or_sections)
            if step < 0 or (step == 0 and length > 0):
                raise RuntimeError(f"split expects split_size be positive (0 only for an "
                                   f"empty dimension), but got split_size={step}")
            sizes = [min(step, length - start) for start in range(0, length, step)] or [0]
        pieces, start = [], 0
        for size in sizes:
            pieces.append(self[(slice(None),) * dim + (slice(start, start + size),)])
            start += size
        return tuple(pieces)

    def chunk(self, chunks, dim=0) -> tuple:
        """Cut along ``dim`` into ``chunks`` pieces of ceil(size / chunks) (there may be fewer)."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        length = self.shape[_dim_index(dim, self.ndim)]
        if length == 0:
            return tuple(self.split(0, dim) * chunks)
        return self.split(-(-length // chunks), dim)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        """Zeros of ``size`` with this tensor's dtype and device (unless given)."""
        return _factories.zeros(*size, **self._new_options(dtype, device, requires_grad))

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        return _factories.ones(*size, **self._new_options(dtype, device, requires_grad))

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        return _factories.empty(*size, **self._new_options(dtype, device, requires_grad))

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return _factories.full(size, fill_value,
                               **self._new_options(dtype, device, requires_grad))

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False) -> Tensor:
        return Tensor(data, **self._new_options(dtype, device, requires_grad))

    def _new_options(self, dtype, device, requires_grad) -> dict:
        return {"dtype": self.dtype if dtype is None else dtype,
                "device": self.device if device is None else device,
                "requires_grad": requires_grad}

    # ---- reductions and ordering ----

    @staticmethod
    def _constant(data) -> Tensor:
        """Indices, truth values: results with no gradient (as torch gives them none)."""
        return Tensor._make(data, False, None)

    def max(self, dim=None, keepdim=False):
        """The largest value; along ``dim``, PyTorch's named pair ``(values, indices)``.

        ``x.max()`` is the 0-d maximum (its gradient split evenly among ties, as
        torch); ``x.max(dim)`` gives the ``values`` (differentiable: the gradient
        goes to the first of tied maxima, as torch) and their int64 ``indices``;
        ``x.max(other)`` is ``maximum``. ``amax`` gives values only, over many dims.

        >>> from gradzoo.engine import tensor
        >>> values, indices = tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
        >>> values.tolist(), indices.tolist()
        ([5.0, 7.0], [1, 0])
        """
        return self._extreme(dim, keepdim, largest=True)

    def min(self, dim=None, keepdim=False):
        """The smallest value; along ``dim``, the named pair ``(values, indices)`` (see ``max``)."""
        return self._extreme(dim, keepdim, largest=False)

    def _extreme(self, dim, keepdim, largest):
        name = "max" if largest else "min"
        if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
            return self.maximum(dim) if largest else self.minimum(dim)
        if dim is None:
            if self.size == 0:
                raise RuntimeError(f"{name}() of a tensor with no elements (shape {self.shape}) "
                                   f"has no value; give a dim whose size is not 0")
            return (_ops.Max if largest else _ops.Min).apply(self, keepdim=keepdim)
        indices = _ops.sort.arg_extreme(self.data, dim, True, largest, name)
        values = _ops.TakeAlong.apply(self, indices=indices, dim=dim % max(self.ndim, 1),
                                      keepdim=keepdim)
        pair = _return_types.max if largest else _return_types.min
        return pair(values, Tensor._constant(indices.reshape(values.shape)))

    def amax(self, dim=None, keepdim=False):
        """The largest values over ``dim`` (an int, a tuple, or None for all); the gradient is
        split evenly among ties."""
        return _ops.Max.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim=None, keepdim=False):
        """The smallest values over ``dim`` (see ``amax``)."""
        return _ops.Min.apply(self, dim=dim, keepdim=keepdim)

    def argmax(self, dim=None, keepdim=False):
        """Where the largest value is (int64; the first of ties); ``dim=None``: the flat index."""
        return Tensor._constant(_ops.sort.arg_extreme(self.data, dim, keepdim, True, "argmax"))

    def argmin(self, dim=None, keepdim=False):
        """Where the smallest value is (int64; the first of ties); ``dim=None``: the flat index."""
        return Tensor._constant(_ops.sort.arg_extreme(self.data, dim, keepdim, False, "argmin"))

    def prod(self, dim=None, keepdim=False, dtype=None):
        """The product of all elements, or along one ``dim`` (integers give int64)."""
        if dim is not None and (not hasattr(dim, "__index__") or isinstance(dim, bool)):
            raise TypeError(f"prod(): dim must be one int or None, not {dim!r}")
        x = self if dtype is None else self.to(dtype)
        return _ops.Prod.apply(x, dim=dim, keepdim=keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The variance sum((x - mean)^2) / (n - correction) over ``dim``.

        ``correction=1`` (the default, Bessel's) is ``unbiased=True``; ``unbiased=False``
        is ``correction=0``. As in torch, ``x.var(False)`` means ``unbiased=False``.
        """
        dim, correction = self._spread_arguments("var", dim, unbiased, correction)
        return _ops.Var.apply(self, dim=dim, correction=correction, keepdim=keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The standard deviation, the square root of ``var`` (the same arguments)."""
        dim, correction = self._spread_arguments("std", dim, unbiased, correction)
        return _ops.Std.apply(self, dim=dim, correction=correction, keepdim=keepdim)

    def _spread_arguments(self, name, dim, unbiased, correction):
        """(dim, correction) from var/std's arguments, checked as torch checks them."""
        if isinstance(dim, bool):  # x.var(False): torch's var(unbiased) form
            dim, unbiased = None, dim
        if unbiased is not None and correction is not None:
            raise TypeError(f"{name}(): give unbiased or correction, not both")
        if not backend.is_floating(self.dtype):
            raise RuntimeError(f"{name}() needs a floating-point tensor, not {self.dtype} "
                               f"(convert it with .float())")
        if correction is None:
            correction = 0 if unbiased is False else 1
        return dim, correction

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) over ``dim``, computed without overflow; integers give float32."""
        x = self if backend.is_floating(self.dtype) else self.to(backend.float32)
        return _ops.LogSumExp.apply(x, dim=dim, keepdim=keepdim)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector p-norm over ``dim`` (None: all elements), as ``torch.norm``.

        ``p`` is a number (2, 1, float('inf'), 0, any other) or ``'fro'`` (the 2-norm);
        the gradient is 0 where the norm is 0, as in torch.
        """
        x = self if dtype is None else self.to(dtype)
        if not backend.is_floating(x.dtype):
            raise RuntimeError(f"norm() needs a floating-point tensor, not {x.dtype} "
                               f"(convert it with .float(), or pass dtype=)")
        if p is None or p == "fro":
            p = 2.0
        elif isinstance(p, str):
            raise ValueError(f"norm(): p={p!r} is not supported here; use a number or 'fro'")
        return _ops.Norm.apply(x, p=float(p), dim=dim, keepdim=keepdim)

    def any(self, dim=None, keepdim=False):
        """True where some element over ``dim`` is non-zero (a bool tensor, no gradient)."""
        return Tensor._constant(_ops.reduce.any_along(self.data, dim, keepdim))

    def all(self, dim=None, keepdim=False):
        """True where every element over ``dim`` is non-zero (a bool tensor, no gradient)."""
        return Tensor._constant(_ops.reduce.all_along(self.data, dim, keepdim))

    def count_nonzero(self, dim=None):
        """How many elements over ``dim`` are not zero (int64, no gradient)."""
        return (self != 0).sum(dim=dim)

    def cumsum(self, dim, dtype=None):
        """Running sums along ``dim``: y_i = x_0 + ... + x_i (integers give int64)."""
        x = self if dtype is None else self.to(dtype)
        return _ops.CumSum.apply(x, dim=_ops.sort.one_dim(dim, x.ndim, "cumsum"))

    def cumprod(self, dim, dtype=None):
        """Running products along ``dim``: y_i = x_0 * ... * x_i (integers give int64)."""
        x = self if dtype is None else self.to(dtype)
        return _ops.CumProd.apply(x, dim=_ops.sort.one_dim(dim, x.ndim, "cumprod"))

    def sort(self, dim=-1, descending=False, stable=False):
        """The values sorted along ``dim`` and where they came from: the pair (values, indices).

        The sort is always stable (ties keep their order); NaN sorts as the largest value.
        """
        axis = _ops.sort.one_dim(dim, self.ndim, "sort")
        indices = _ops.sort.sort_indices(self.data, axis, descending)
        values = _ops.TakeAlong.apply(self, indices=indices, dim=axis)
        return _return_types.sort(values, Tensor._constant(indices))

    def argsort(self, dim=-1, descending=False, stable=False):
        """The indices that sort the tensor along ``dim`` (int64, stable)."""
        axis = _ops.sort.one_dim(dim, self.ndim, "argsort")
        return Tensor._constant(_ops.sort.sort_indices(self.data, axis, descending))

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The ``k`` largest (``largest=False``: smallest) values along ``dim``, best first,
        with their indices: the pair (values, indices)."""
        axis = _ops.sort.one_dim(dim, self.ndim, "topk")
        indices = _ops.sort.topk_indices(self.data, k, axis, largest)
        values = _ops.TakeAlong.apply(self, indices=indices, dim=axis)
        return _return_types.topk(values, Tensor._constant(indices))

    def kthvalue(self, k, dim=-1, keepdim=False):
        """The ``k``-th smallest value along ``dim`` (k counts from 1) and where it is."""
        axis = _ops.sort.one_dim(dim, self.ndim, "kthvalue")
        indices = _ops.sort.kth_smallest_indices(self.data, k, axis)
        values = _ops.TakeAlong.apply(self, indices=indices, dim=axis, keepdim=keepdim)
        return _return_types.kthvalue(values, Tensor._constant(indices.reshape(values.shape)))

    def median(self, dim=None, keepdim=False):
        """The median: the lower of the two middle values for an even count, as torch.

        ``dim=None`` gives the 0-d median of all elements; along ``dim``, the pair
        (values, indices). NaN anywhere in a row makes its median NaN.
        """
        if dim is None:
            if not self.size:
                return Tensor._constant(backend.xp_of(self.data).full((), float("nan"), self.dtype))
            middle = self.reshape(-1).median(dim=0).values
            if not middle.requires_grad or middle.data != middle.data:  # (NaN)
                return middle
            # the gradient split evenly among the elements equal to the median, as torch
            return _ops.Where.apply(self, float("inf"), cond=self.data == middle.data).amin()
        axis = _ops.sort.one_dim(dim, self.ndim, "median")
        size = self.shape[axis] if self.ndim else 1
        indices = _ops.sort.kth_smallest_indices(self.data, (size + 1) // 2, axis)
        if backend.is_floating(self.dtype):  # a NaN is the median of its row (sorted last)
            xp = backend.xp_of(self.data)
            is_nan = xp.isnan(self.data)
            has_nan = is_nan.any(axis=axis, keepdims=True) if self.ndim else is_nan
            first_nan = is_nan.argmax(axis=axis, keepdims=True) if self.ndim else indices
            indices = xp.where(has_nan, first_nan, indices)
        values = _ops.TakeAlong.apply(self, indices=indices, dim=axis, keepdim=keepdim)
        return _return_types.median(values, Tensor._constant(indices.reshape(values.shape)))

    # ---- indexing, masks and padding ----
    # (each one is the function of the same name in functional.py, with ``self`` as input)

    def gather(self, dim, index, *, sparse_grad=False):
        """Values picked along ``dim``: ``out[i][j] = self[i][index[i][j]]`` (dim = 1)."""
        return _functional().gather(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        """A copy with ``src`` (a tensor or a number) written at ``index`` along ``dim``."""
        return _functional().scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim, index, src):
        """A copy with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
        return _functional().scatter_add(self, dim, index, src)

    def index_select(self, dim, index):
        """The slices along ``dim`` at the positions of the 1-D ``index``."""
        return _functional().index_select(self, dim, index)

    def index_add(self, dim, index, source, *, alpha=1):
        """A copy with ``alpha * source`` slices added at the positions ``index`` along ``dim``."""
        return _functional().index_add(self, dim, index, source, alpha=alpha)

    def masked_fill(self, mask, value):
        """``value`` where the boolean ``mask`` is True (gradient 0 there), ``self`` elsewhere."""
        return _functional().masked_fill(self, mask, value)

    def masked_select(self, mask):
        """The elements where the boolean ``mask`` is True, as a 1-D tensor."""
        return _functional().masked_select(self, mask)

    def nonzero(self, *, as_tuple=False):
        """The int64 (count, ndim) positions of the non-zero elements (no gradient)."""
        return _functional().nonzero(self, as_tuple=as_tuple)

    def argwhere(self):
        """``nonzero()``: the (count, ndim) positions of the non-zero elements."""
        return _functional().nonzero(self)

    def tril(self, diagonal=0):
        """The lower triangle of the last two dims, 0 above diagonal ``diagonal``."""
        return _functional().tril(self, diagonal)

    def triu(self, diagonal=0):
        """The upper triangle of the last two dims, 0 below diagonal ``diagonal``."""
        return _functional().triu(self, diagonal)

    def where(self, condition, other):
        """``self`` where ``condition`` is True, ``other`` (a tensor or number) elsewhere."""
        return _functional().where(condition, self, other)

    # ---- end of issue-14 sections ----


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


def _functional():
    """``engine.functional``, imported on first use (it imports this module)."""
    from gradzoo.engine import functional

    return functional


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


def _dim_index(dim: int, ndim: int) -> int:
    """``dim`` counted from 0 (a negative one from the end); IndexError out of range, as torch."""
    low, high = -max(ndim, 1), max(ndim, 1) - 1  # a 0-d tensor takes dim 0 or -1
    if not low <= dim <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], "
                         f"but got {dim})")
    return dim % max(ndim, 1)


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


# ---- casts, spellings and layout: helpers ----

_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor",
               "int32": "IntTensor", "bool": "BoolTensor"}  # the dtypes gradzoo has
_DTYPE_OF_TYPE_NAME = {f"torch.{name}": dtype for dtype, name in _TYPE_NAMES.items()}
_DTYPE_OF_TYPE_NAME.update({f"torch.cuda.{name}": dtype for dtype, name in _TYPE_NAMES.items()})
_NUMPY_SPELLINGS = {"axis": "dim", "keepdims": "keepdim"}  # torch accepts both names


def _dtype_named(dtype, what: str):
    """A dtype from a name ('float32'), a dtype object (``engine.float32``) or a Python type."""
    if isinstance(dtype, str) and dtype in _DTYPE_OF_TYPE_NAME:
        dtype = _DTYPE_OF_TYPE_NAME[dtype]
    try:
        return backend.dtype(dtype)
    except (TypeError, ValueError):
        raise RuntimeError(f"{what}({dtype!r}): gradzoo has no such dtype or device; dtypes: "
                           f"{', '.join(_TYPE_NAMES)}; devices: "
                           f"{', '.join(backend.DEVICE_CHOICES)}") from None


def _sizes(sizes: tuple, what: str) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` alike: the sizes as a tuple of Python ints."""
    if len(sizes) == 1 and not isinstance(sizes[0], int) and hasattr(sizes[0], "__len__"):
        sizes = tuple(sizes[0])
    try:
        return tuple(int(size.__index__()) for size in sizes)
    except AttributeError:
        raise TypeError(f"{what}(): sizes must be integers, got {sizes}") from None


def _times_alpha(other, alpha, reference: Tensor, what: str):
    """``alpha * other`` for ``add``/``sub``; a float alpha with integer tensors is an error."""
    if alpha == 1:
        return other
    if isinstance(alpha, float) and not backend.is_floating(reference.dtype) and not (
            isinstance(other, Tensor) and backend.is_floating(other.dtype)):
        raise RuntimeError(f"{what}: for integral input tensors, argument alpha must not be "
                           f"a floating point number")
    return other * alpha


class _Size(int):
    """A tensor's ``size``: the number of elements (NumPy's meaning, an int), and callable as
    PyTorch's ``size()``: ``x.size()`` is the shape, ``x.size(dim)`` the length of one dim."""

    def __new__(cls, count: int, shape: tuple):
        size = super().__new__(cls, count)
        size.shape = shape
        return size

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        return self.shape[_dim_index(dim, len(self.shape))]


@functools.lru_cache(maxsize=1024)  # one per shape: ``x.size`` stays about as cheap as an int
def _size_of(shape: tuple) -> _Size:
    count = 1
    for side in shape:
        count *= side
    return _Size(count, shape)


def _with_numpy_spellings(method):
    """``method`` that also takes NumPy's ``axis=``/``keepdims=`` for its ``dim``/``keepdim``,
    as PyTorch's methods do (``x.sum(axis=0, keepdims=True)``)."""
    @functools.wraps(method)
    def accepting_numpy_spellings(self, *args, **kwargs):
        if not kwargs:
            return method(self, *args)
        if "axis" in kwargs or "keepdims" in kwargs:
            for alias, name in _NUMPY_SPELLINGS.items():
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{method.__name__}() got both {name}= and its "
                                        f"alias {alias}=")
                    kwargs[name] = kwargs.pop(alias)
        return method(self, *args, **kwargs)
    return accepting_numpy_spellings


def _cast_method(dtype_name: str, spelling: str):
    """The method ``x.<spelling>()``, which is ``x.to(dtype_name)`` (differentiable)."""

    def cast(self):
        return self.to(dtype_name)
    cast.__name__ = cast.__qualname__ = spelling
    cast.__doc__ = f"``x.to({dtype_name!r})``: a differentiable cast (no copy if it is one)."
    return cast


def _type(self, dtype=None, non_blocking=False):
    """With no argument, the type's name as PyTorch writes it (``"torch.FloatTensor"``);
    ``x.type(dtype)`` is ``x.to(dtype)`` (also for names like ``"torch.DoubleTensor"``)."""
    if dtype is None:
        name = _TYPE_NAMES.get(str(self.dtype), str(self.dtype))
        return f"torch.cuda.{name}" if self.device == "gpu" else f"torch.{name}"
    return self.to(_dtype_named(dtype, "type"))


def _add_torch_spellings(cls) -> None:
    """Give ``cls`` the methods whose names are builtins (``float``, ``int``, ``bool``,
    ``type``: defined in the class body they would hide the builtins from the rest of it),
    and let every method with a ``dim``/``keepdim`` take ``axis``/``keepdims`` too."""
    for spelling, dtype_name in (("float", "float32"), ("double", "float64"), ("int", "int32"),
                                 ("long", "int64"), ("bool", "bool"),
                                 ("half", "float16")):  # (gradzoo has no float16: an error)
        setattr(cls, spelling, _cast_method(dtype_name, spelling))
    cls.type = _type
    for name, method in list(vars(cls).items()):
        if not isinstance(method, types.FunctionType) or name.startswith("__"):
            continue
        code = getattr(method, "__wrapped__", method).__code__
        arguments = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        if ("dim" in arguments or "keepdim" in arguments) and "axis" not in arguments:
            setattr(cls, name, _with_numpy_spellings(method))


from gradzoo.engine import factories as _factories  # noqa: E402  (it makes Tensors)
from gradzoo.engine import ops as _ops  # noqa: E402  (ops need Tensor defined first)

_add_torch_spellings(Tensor)
