"""A stand-in for CuPy, backed by NumPy, so the GPU code path is tested on every machine.

gradzoo's ops run on NumPy or CuPy through ``xp = xp_of(array)``. The bugs that
only show on a GPU are nearly all of one kind: code that hands a NumPy array,
a list or a NumPy function to a GPU array. NumPy is lenient about that; CuPy
refuses any implicit transfer between host and device. This module refuses
the same things, so those bugs fail here too, without a GPU:

* ``ndarray`` holds a NumPy array; every operator, method and function wraps
  its result again (a reduction gives a 0-d array, never a NumPy scalar).
* Implicit conversion to NumPy raises TypeError, with CuPy's message
  (``numpy.asarray(a)``, ``a.__array__()``); ``a.get()`` is the explicit way.
* A NumPy function or ufunc called on one raises TypeError. This is stricter
  than CuPy, which would dispatch ``numpy.exp(a)`` to ``cupy.exp``: engine
  code must call ``xp.exp``. Only a NumPy *scalar* on the left of an operator
  (``numpy.float32(2) * a``) is computed, as CuPy does.
* Mixing with a NumPy array (or a list) in an operator or a ufunc raises
  TypeError, as in CuPy; Python and NumPy scalars mix fine. Index arrays may
  be NumPy arrays or lists (CuPy copies them over); assigned values may not.
* ``asarray(numpy_array)`` copies to the "device"; ``asarray(a)`` returns ``a``.

Use: ``backend.use_gpu_module(fakecupy)``; the ``device`` fixture in conftest.py does it.
"""

from __future__ import annotations

import functools
import operator
import types

import numpy as np

_IMPLICIT_HOST = ("Implicit conversion to a NumPy array is not allowed. "
                  "Please use `.get()` to construct a NumPy array explicitly.")
_SCALARS = (bool, int, float, complex, np.generic)
# the dtypes CuPy's scatter kernels (behind add.at) support
_SCATTER_DTYPES = tuple(np.dtype(t) for t in ("float16", "float32", "float64",
                                              "int32", "uint32", "uint64"))


def _unsupported(value) -> TypeError:
    return TypeError(f"Unsupported type {type(value)} (fakecupy: a host value met a GPU array; "
                     f"copy it over with xp.asarray, or bring the GPU array back with .get())")


def _operand(value, strict=False):
    """An operand of an operator or ufunc, as NumPy sees it: GPU arrays and scalars only.

    Anything else is refused, except, for operators (``strict=False``), objects
    that may know better (a Tensor): NotImplemented lets their reflected operator run.
    """
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, _SCALARS):
        return value
    if strict or isinstance(value, (np.ndarray, list, tuple)):
        raise _unsupported(value)
    return NotImplemented


def _unwrap(value):
    """Arguments of the other functions: GPU arrays unwrapped, even in lists; no host arrays."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, np.ndarray):
        raise _unsupported(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    return value


def _index(index):
    """An index: GPU arrays unwrapped; NumPy arrays and lists welcome (CuPy copies them)."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    return index._a if isinstance(index, ndarray) else index


def _host(obj):
    """Data for ``array``/``asarray`` (an explicit transfer): anything NumPy takes."""
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, (list, tuple)):
        return [_host(v) for v in obj]
    return obj


def _wrap(result):
    """Wrap what NumPy returned: arrays and NumPy scalars become GPU arrays."""
    if isinstance(result, np.ndarray):
        return ndarray._from(result)
    if isinstance(result, np.generic):
        return ndarray._from(np.asarray(result))
    if isinstance(result, (list, tuple)):
        return type(result)(_wrap(r) for r in result)
    return result


def _device_function(numpy_function):
    """``numpy_function`` working on GPU arrays (and refusing host arrays)."""
    @functools.wraps(numpy_function)
    def function(*args, **kwargs):
        args = [_unwrap(a) for a in args]
        kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
        return _wrap(numpy_function(*args, **kwargs))
    return function


def _refuse_numpy(name) -> TypeError:
    return TypeError(f"numpy.{name} called on a GPU array (fakecupy); engine code must "
                     f"use the array module: xp.{name}(...)")


class ndarray:  # noqa: N801  (the name CuPy uses)
    """A "GPU" array: a NumPy array that will not turn back into one implicitly."""

    __slots__ = ("_a",)
    __array_priority__ = 100  # as CuPy
    __hash__ = None

    def __init__(self, shape, dtype=float):
        self._a = np.empty(shape, dtype=dtype)  # uninitialised, as in CuPy

    @classmethod
    def _from(cls, array):
        out = object.__new__(cls)
        out._a = array
        return out

    # ---- the refusals
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT_HOST)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for x in inputs:
            if isinstance(x, np.ndarray):
                raise _unsupported(x)
        if (method == "__call__" and not kwargs and any(isinstance(x, np.generic) for x in inputs)
                and all(isinstance(x, (ndarray, *_SCALARS)) for x in inputs)):
            return _DeviceUfunc(ufunc)(*inputs)  # numpy.float32(2) * a: CuPy computes it
        raise _refuse_numpy(ufunc.__name__)

    def __array_function__(self, func, types, args, kwargs):
        raise _refuse_numpy(func.__name__)

    # ---- explicit transfer and conversions (each a synchronising copy on a real GPU)
    def get(self, stream=None, order="C", out=None):
        return self._a.copy(order=order)

    def item(self):
        if self._a.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __repr__(self):
        return f"fakecupy.{self._a!r}"

    T = property(lambda self: ndarray._from(self._a.T))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        out = self._a.astype(dtype, order=order, copy=copy)
        return self if out is self._a else ndarray._from(out)

    def take(self, indices, axis=None, out=None):
        return _wrap(self._a.take(_index(indices), axis=axis))

    # ---- containers and indexing
    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._a.shape[0]))

    def __getitem__(self, index):
        return _wrap(self._a[_index(index)])

    def __setitem__(self, index, value):
        self._a[_index(index)] = _operand(value, strict=True)


def _binary(op, reflected=False):
    def method(self, other):
        value = _operand(other)
        if value is NotImplemented:
            return NotImplemented
        return _wrap(op(value, self._a) if reflected else op(self._a, value))
    return method


def _inplace(op):
    def method(self, other):
        op(self._a, _operand(other, strict=True))  # NumPy updates self._a in place
        return self
    return method


def _method(name):
    def method(self, *args, **kwargs):
        return _device_function(getattr(self._a, name))(*args, **kwargs)
    method.__name__ = name
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_",
              "xor"):
    _dunder = _name.rstrip("_")
    setattr(ndarray, f"__{_dunder}__", _binary(getattr(operator, _name)))
    setattr(ndarray, f"__r{_dunder}__", _binary(getattr(operator, _name), reflected=True))
    if _name != "matmul":
        setattr(ndarray, f"__i{_dunder}__", _inplace(getattr(operator, f"i{_dunder}")))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(ndarray, f"__{_name}__", _binary(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", _method(f"__{_name}__"))
for _name in ("int", "float", "complex", "bool", "len", "str", "format"):  # as NumPy does
    setattr(ndarray, f"__{_name}__",
            lambda self, *args, _f=f"__{_name}__": getattr(self._a, _f)(*args))
for _name in ("shape", "dtype", "ndim", "size", "itemsize", "nbytes", "strides", "flags"):
    setattr(ndarray, _name, property(operator.attrgetter(f"_a.{_name}")))
for _name in ("all", "any", "argmax", "argmin", "argsort", "clip", "conj", "copy", "cumsum",
              "dot", "fill", "flatten", "max", "mean", "min", "nonzero", "prod", "ravel",
              "repeat", "reshape", "round", "sort", "squeeze", "std", "sum", "swapaxes",
              "transpose", "var", "view"):
    setattr(ndarray, _name, _method(_name))


class _DeviceUfunc:
    """A NumPy ufunc on GPU arrays: operands must be GPU arrays or scalars, as in CuPy."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, out=None, **kwargs):
        if out is not None:
            kwargs["out"] = _operand(out, strict=True)
        return _wrap(self._ufunc(*[_operand(a, strict=True) for a in args], **kwargs))

    def at(self, a, indices, b=None):
        """Unbuffered ``a[indices] op= b`` (CuPy's scatter ops: add, maximum, minimum)."""
        if self.__name__ not in ("add", "maximum", "minimum"):
            raise NotImplementedError(f"`{self.__name__}.at` is not supported yet")
        if not isinstance(a, ndarray):
            raise _unsupported(a)
        if a.dtype not in _SCATTER_DTYPES:
            raise TypeError(f"scatter_{self.__name__} does not support {a.dtype} "
                            f"(float16/32/64, int32, uint32, uint64 only)")
        self._ufunc.at(a._a, _index(indices), _operand(b, strict=True))

    def __getattr__(self, name):  # reduce, accumulate, outer, nin, ...
        attribute = getattr(self._ufunc, name)
        return _device_function(attribute) if callable(attribute) else attribute


# ------------------------------------------------------------------ module-level functions


def array(obj, dtype=None, copy=True, ndmin=0):
    """Copy host data (NumPy arrays, lists, scalars) or a GPU array to the device."""
    return ndarray._from(np.array(_host(obj), dtype=dtype, copy=True, ndmin=ndmin))


def asarray(a, dtype=None, order=None):
    """``a`` itself when it already is a GPU array of that dtype, else a device copy."""
    if isinstance(a, ndarray) and (dtype is None or np.dtype(dtype) == a.dtype):
        return a
    return array(a, dtype=dtype)


def asnumpy(a):
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def where(condition, x, y):
    """Elementwise choice; as in CuPy, ``condition`` must be an array (CuPy calls .astype)."""
    if not isinstance(condition, (ndarray, np.ndarray)):
        raise AttributeError(f"{type(condition).__name__!r} object has no attribute 'astype'")
    return _DeviceUfunc(np.where)(condition, x, y)  # not a ufunc, but with a ufunc's rules


def take(a, indices, axis=None, out=None):
    return a.take(indices, axis=axis)


class _Random:
    """``cupy.random``: draws from a seeded NumPy generator, returns GPU arrays."""

    def __init__(self):
        self.seed(0)

    def seed(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def random(self, size=None, dtype=float):
        return ndarray._from(np.asarray(self._rng.random(size, dtype=np.dtype(dtype).type)))

    random_sample = random

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return ndarray._from(np.asarray(self._rng.uniform(low, high, size), dtype=dtype))

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return ndarray._from(np.asarray(self._rng.normal(loc, scale, size), dtype=dtype))


random = _Random()
cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
# cupy.lib.stride_tricks.as_strided: a view with the strides given (in bytes, as NumPy's)
lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
    as_strided=_device_function(np.lib.stride_tricks.as_strided)))


def __getattr__(name):
    """The long tail: any other NumPy name, made to work on (and only on) GPU arrays."""
    try:
        value = getattr(np, name)
    except AttributeError:
        raise AttributeError(f"module 'fakecupy' has no attribute {name!r}") from None
    if isinstance(value, np.ufunc):
        value = _DeviceUfunc(value)
    elif callable(value) and not isinstance(value, type):
        value = _device_function(value)
    globals()[name] = value  # later look-ups find it directly (and keep its identity)
    return value
