"""The op base class: every differentiable operation is a ``Function``.

A Function keeps the two halves of an op side by side:

* ``forward(*arrays) -> array`` computes the value from raw backend arrays;
* ``backward(grad) -> tuple of arrays`` turns the gradient of the loss with
  respect to the output into the gradients with respect to each input
  (the chain rule: dL/dx = dL/dy * dy/dx).

``Function.apply(*inputs, **params)`` runs the forward pass and, when a
gradient will be needed, records the Function as the ``creator`` of its output
so that ``Tensor.backward`` can walk the graph back.
"""

from __future__ import annotations

import itertools

from gradzoo.engine import backend
from gradzoo.engine.autograd_mode import _state as _grad_mode
from gradzoo.engine.hooks import _op_callbacks, _tell_op_recorded
from gradzoo.engine.tensor import Tensor


class Function:
    """One node of the computation graph: an op with its forward and its backward.

    Subclasses name their op parameters in ``parameters`` (``("dim", "keepdim")``);
    a class attribute of the same name is a parameter's default, and one without
    a default must be given. ``apply``'s keyword arguments become attributes (any
    other keyword is a TypeError). An op may save arrays on ``self`` in
    ``forward`` for use in ``backward``. The input tensors are available in
    ``backward`` as ``self.inputs``, and ``self.needs_input_grad[i]`` says
    whether input ``i`` needs a gradient (skip the work when it does not).

    Inputs of mixed dtypes are promoted first as PyTorch promotes them
    (``result_dtype``), so ``forward`` sees arrays of one dtype. A ValueError from
    ``forward`` (NumPy's "could not be broadcast", a shape check) reaches the user as
    a RuntimeError, the type PyTorch raises for shapes that do not fit; check the
    arguments whose errors should stay ValueErrors before calling ``apply``.
    """

    inputs: tuple[Tensor, ...] = ()
    needs_input_grad: tuple[bool, ...] = ()
    sequence = 0  # when this op ran, counted over all ops (backward visits high to low)
    parameters: tuple[str, ...] = ()  # the keyword parameters of ``apply``
    _allowed: frozenset = frozenset()   # set(parameters), made once per class
    _required: frozenset = frozenset()  # the parameters without a class default

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._allowed = frozenset(cls.parameters)
        cls._required = frozenset(name for name in cls.parameters if not hasattr(cls, name))

    @classmethod
    def apply(cls, *inputs, **params) -> Tensor:
        """Run the op on ``inputs`` (tensors or Python numbers) and record it for backward."""
        fn = cls.__new__(cls)
        if params:  # dim=..., eps=...: the op's parameters
            if not (params.keys() <= cls._allowed and params.keys() >= cls._required):
                raise _parameter_error(cls, params)
            fn.__dict__.update(params)
        elif cls._required:
            raise _parameter_error(cls, params)
        tensors = _as_tensors(inputs, cls.__name__)
        arrays, needs = [], []
        for t in tensors:  # one loop, not two list comprehensions (each a call in Python 3.11)
            arrays.append(t.data)
            needs.append(t.requires_grad)
        try:
            out_data = fn.forward(*arrays)
        except ValueError as error:  # NumPy's shape errors; PyTorch raises RuntimeError for them
            if isinstance(error, IndexError):  # an AxisError (dim out of range): IndexError
                raise
            message = str(error)  # (gradzoo's own messages begin with the op's name and ':')
            named = message.split(" ", 1)[0].endswith(":")
            raise RuntimeError(message if named else f"{cls.__name__}: {message}") from None
        if not backend.is_array(out_data):  # NumPy reductions give scalars; .data is an array
            out_data = backend.xp_of(out_data).asarray(out_data)
        needs_input_grad = tuple(needs)
        if not (_grad_mode.enabled and True in needs_input_grad):
            return Tensor._make(out_data, False, None)
        fn.inputs = tensors
        fn.needs_input_grad = needs_input_grad
        fn.sequence = next(_sequence)
        if _op_callbacks:  # a tool watches the ops (hooks.op_recorded)
            _tell_op_recorded(fn)
        return Tensor._make(out_data, True, fn)

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def release(self) -> None:
        """Drop the inputs and saved arrays once backward has used them (frees memory)."""
        self.__dict__.clear()
        self.inputs = None

    @property
    def name(self) -> str:
        return type(self).__name__


# Numbers each recorded Function in the order the ops ran.
_sequence = itertools.count(1)


def _parameter_error(op: type, params: dict) -> TypeError:
    """The TypeError for keywords an op does not take, or required ones left out."""
    allowed = ", ".join(op.parameters) or "none"
    unknown = sorted(set(params) - op._allowed)
    if unknown:
        return TypeError(f"{op.__name__}.apply() got an unknown parameter "
                         f"{', '.join(map(repr, unknown))}; its parameters: {allowed}")
    missing = sorted(op._required - set(params))
    return TypeError(f"{op.__name__}.apply() is missing the required parameter "
                     f"{', '.join(map(repr, missing))}; its parameters: {allowed}")


def array_on(x, device: str, what: str):
    """An argument that gets no gradient (indices, a target, a mask) as an array on ``device``.

    Python data and NumPy arrays are copied there; a tensor on another device is an
    error, as it is for the inputs of any op.
    """
    if isinstance(x, Tensor):
        if x.device != device:
            raise backend.DeviceError(f"{what} is on '{x.device}' but the input is on "
                                      f"'{device}'; move it with .to('{device}')")
        return x.data
    return backend.make_array(x, device=device)


def _as_tensors(inputs, op_name: str) -> tuple[Tensor, ...]:
    """Check that every input is on one device, and give them one dtype where they mix.

    Python numbers become tensors; dtypes are promoted as PyTorch promotes them
    (``result_dtype``), so ``int_tensor * 0.5`` is float32, ``int32_tensor + 1``
    stays int32 and ``float32_tensor * 2.0`` is never a silent float64.
    """
    # The common case, checked first because every op pays for it: tensors only,
    # whose arrays are of one type (so one device) and one dtype.
    first = inputs[0] if inputs else None
    if isinstance(first, Tensor):
        kind, dtype = type(first.data), first.data.dtype
        for x in inputs:
            if not isinstance(x, Tensor) or type(x.data) is not kind or x.data.dtype != dtype:
                break
        else:
            return inputs
    first = next((x for x in inputs if isinstance(x, Tensor)), None)
    if first is None:
        raise TypeError(f"{op_name} needs at least one Tensor input")
    device = first.device
    # Lists and arrays become tensors by the usual rules (floats float32, integers int64);
    # Python numbers stay numbers until the dtype is known: they take the tensors' dtype.
    inputs = [x if isinstance(x, (Tensor, bool, int, float)) else Tensor(x, device=device)
              for x in inputs]
    dtype = result_dtype(*inputs)
    xp = backend.array_module(device)
    tensors = []
    for x in inputs:
        if not isinstance(x, Tensor):
            x = Tensor._make(xp.asarray(x, dtype=dtype), False, None)
        elif x.device != device:
            raise backend.DeviceError(
                f"{op_name}: inputs are on different devices ('{device}' and '{x.device}'); "
                f"move them with .to('{device}') or .to('{x.device}') first")
        elif x.dtype != dtype:
            x = x.to(dtype) if x.requires_grad else Tensor._make(x.data.astype(dtype), False, None)
        tensors.append(x)
    return tuple(tensors)


def result_dtype(*operands):
    """The dtype PyTorch gives an op on ``operands`` (tensors and Python numbers).

    The categories are bool < integer < floating. Tensors with dimensions decide
    the dtype among themselves (float32 with float64: float64); a 0-d tensor, then a
    Python number, counts only when it is of a higher category than those before it:
    ``int32_tensor + 1`` is int32, ``float32_tensor + float64_0d_tensor`` is float32,
    ``int_tensor * 0.5`` is float32 (the default float dtype), ``int_tensor + float64_0d``
    float64.
    """
    dimensioned = zero_dim = number = None
    for x in operands:
        if isinstance(x, Tensor):
            if x.ndim:
                dimensioned = _promote(dimensioned, x.dtype)
            else:
                zero_dim = _promote(zero_dim, x.dtype)
        else:
            number = _promote(number, _number_dtype(x))
    return _combine(dimensioned, _combine(zero_dim, number))


def _number_dtype(value):
    """The dtype a Python number stands for: bool, int64, or the default float32."""
    if isinstance(value, bool):
        return backend.bool_
    if isinstance(value, int):
        return backend.int64
    return backend.float32


def _category(dtype) -> int:
    return 2 if backend.is_floating(dtype) else 0 if dtype == backend.bool_ else 1


def _promote(a, b):
    """PyTorch's promote_types: the smallest dtype that holds both (int64 + float32: float32)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    category_a, category_b = _category(a), _category(b)
    if category_a != category_b:
        return a if category_a > category_b else b
    return backend.promote_types(a, b)


def _combine(higher, lower):
    """The dtype of a stronger group of operands (``higher``) meeting a weaker one."""
    if higher is None:
        return lower
    if lower is not None and _category(lower) > _category(higher):
        return _promote(higher, lower)
    return higher


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting.

    If x of shape (3, 1) was broadcast to (2, 3, 4), each element of x was used
    2 * 4 times, so its gradient is the sum over the broadcast axes.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1)
    grad = grad.sum(axis=axes, keepdims=True) if axes else grad
    return grad.reshape(shape)
