"""The array backend: NumPy on the CPU, CuPy on an NVIDIA GPU.

This is the only module in gradzoo that imports numpy or cupy. Every op works
on raw arrays through ``xp = array_module(device)``, so one body of code runs
on both (the "xp discipline"). CuPy is imported only when a GPU is asked for.

The device is chosen by ``GRADZOO_DEVICE=auto|cpu|gpu`` (default ``auto``:
the GPU when CuPy imports and sees one, else the CPU). Asking for ``gpu``
where there is none is an error, never a silent fallback.
"""

from __future__ import annotations

import functools
import math
import os
import sys

import numpy as np

DEVICES = ("cpu", "gpu")
DEVICE_CHOICES = ("auto", "cpu", "gpu")

GPU_INSTALL_HINT = (
    "install CuPy with the gpu extra: pip install 'gradzoo[gpu]' "
    "(CUDA 12; use 'gradzoo[gpu-cuda13]' for CUDA 13), on a machine with an NVIDIA GPU"
)

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

_DTYPE_NAMES = {"float32": float32, "float64": float64, "int64": int64, "int32": np.dtype("int32"),
                "bool": bool_}

# The GPU array module (cupy, or a test stand-in); None until a GPU is first needed.
_gpu_module = None
_default_device: str | None = None
_host_rng = np.random.default_rng(0)


class DeviceError(RuntimeError):
    """A device was asked for that this machine cannot provide, or devices were mixed."""


# ----------------------------------------------------------------------------- memory


def keep_freed_memory() -> bool:
    """Ask the C library to keep freed array memory for reuse instead of handing it back.

    Every NumPy result is a fresh buffer, and a training step frees and
    allocates the same few sizes again and again. By default glibc returns a
    freed buffer of more than 128 KiB to the operating system at once, so the
    next allocation of that size is new memory that the kernel must map and
    zero page by page; on this engine that was about a tenth of a GPT training
    step. Raising the two thresholds keeps those buffers in the process, as
    PyTorch's caching allocator keeps its own. The peak memory does not grow.
    Linux with glibc only; ``GRADZOO_KEEP_MEMORY=0`` leaves the C library as it is.
    Returns True when the setting was made.
    """
    if os.environ.get("GRADZOO_KEEP_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's <malloc.h> names
    done = mallopt(m_mmap_threshold, 32 * 1024 * 1024)   # arrays up to 32 MiB: the heap
    done &= mallopt(m_trim_threshold, 1024 * 1024 * 1024)  # keep up to 1 GiB of free heap
    return bool(done)


# ----------------------------------------------------------------------------- devices


def gpu_module():
    """Return CuPy, importing it on first use; raise DeviceError if there is no usable GPU."""
    global _gpu_module
    if _gpu_module is None:
        try:
            import cupy
        except ImportError as error:
            raise DeviceError(f"device 'gpu' needs CuPy, which is not installed ({error}); "
                              f"{GPU_INSTALL_HINT}") from None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as error:  # CUDA driver missing or broken
            raise DeviceError(f"device 'gpu': CuPy is installed but sees no GPU ({error}); "
                              f"{GPU_INSTALL_HINT}") from None
        if count == 0:
            raise DeviceError(f"device 'gpu': CuPy is installed but sees no GPU; "
                              f"{GPU_INSTALL_HINT}")
        _gpu_module = cupy
        _register_gpu_kernels(cupy)
    return _gpu_module


def _register_gpu_kernels(cupy) -> None:
    """Let the CUDA kernels of gpu_kernels.py replace the portable code for CuPy's arrays.

    (A stand-in without CuPy's kernel classes, as in the tests, keeps the portable code.)
    """
    if not hasattr(cupy, "ElementwiseKernel"):
        return
    from gradzoo.engine import gpu_kernels

    gpu_kernels.register_overrides(cupy)


def gpu_available() -> bool:
    """True when device 'gpu' can be used (CuPy imports and sees a device)."""
    try:
        gpu_module()
    except DeviceError:
        return False
    return True


def use_gpu_module(module) -> None:
    """Use ``module`` as the GPU array module (tests use a NumPy-backed stand-in for CuPy).

    ``None`` forgets the current one, so the next GPU request imports CuPy again.
    """
    global _gpu_module
    _gpu_module = module


def check_device(device: str) -> str:
    """Validate a device name; 'auto' is resolved to 'gpu' or 'cpu'."""
    if device not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {device!r}; allowed: {', '.join(DEVICE_CHOICES)}")
    if device == "auto":
        return "gpu" if gpu_available() else "cpu"
    if device == "gpu":
        gpu_module()  # raises with an install hint when there is no GPU
    return device


def default_device() -> str:
    """The device new tensors go to: ``GRADZOO_DEVICE`` (auto|cpu|gpu), resolved once."""
    global _default_device
    if _default_device is None:
        requested = os.environ.get("GRADZOO_DEVICE", "auto").strip().lower() or "auto"
        if requested not in DEVICE_CHOICES:
            raise DeviceError(f"GRADZOO_DEVICE={requested!r} is not a device; "
                              f"allowed: {', '.join(DEVICE_CHOICES)}")
        _default_device = check_device(requested)
    return _default_device


def set_default_device(device: str | None) -> None:
    """Set the device new tensors go to (``None``: read ``GRADZOO_DEVICE`` again)."""
    global _default_device
    _default_device = None if device is None else check_device(device)


def array_module(device: str):
    """The array module (``xp``) for a device: numpy for 'cpu', cupy for 'gpu'."""
    return np if device == "cpu" else gpu_module()


def device_of(array) -> str:
    """'gpu' for a GPU array, 'cpu' for anything else."""
    if _gpu_module is not None and isinstance(array, _gpu_module.ndarray):
        return "gpu"
    return "cpu"


def xp_of(array):
    """The array module an array belongs to."""
    if _gpu_module is not None and isinstance(array, _gpu_module.ndarray):
        return _gpu_module
    return np


def to_device(array, device: str):
    """Copy an array to a device (no copy when it is already there)."""
    if device_of(array) == device:
        return array
    if device == "gpu":
        return gpu_module().asarray(array)
    return array.get()  # GPU -> host: an explicit transfer


def to_host(array):
    """A NumPy array with the same values (explicit transfer from the GPU when needed)."""
    if device_of(array) == "gpu":
        return array.get()
    return np.asarray(array)


# ----------------------------------------------------------------------------- dtypes


def dtype(name_or_dtype):
    """Turn 'float32', a numpy dtype or a scalar type into a numpy dtype."""
    if isinstance(name_or_dtype, str):
        if name_or_dtype not in _DTYPE_NAMES:
            raise ValueError(f"unknown dtype {name_or_dtype!r}; allowed: {', '.join(_DTYPE_NAMES)}")
        return _DTYPE_NAMES[name_or_dtype]
    return np.dtype(name_or_dtype)


def promote_types(a, b):
    """The smaller dtype that holds both of two dtypes of one category (int32, int64: int64)."""
    return np.promote_types(a, b)


def is_floating(dt) -> bool:
    return np.issubdtype(dt, np.floating)


def is_integer(dt) -> bool:
    return np.issubdtype(dt, np.integer)


def is_array(obj) -> bool:
    """True for a numpy or GPU array."""
    return obj.__class__ is np.ndarray or isinstance(obj, np.ndarray) or device_of(obj) == "gpu"


def make_array(data, dtype=None, device: str = "cpu"):
    """Build an array on ``device`` from Python data or an array.

    Floats become float32 unless ``dtype`` says otherwise (no silent float64);
    integers become int64 and booleans stay booleans.
    """
    if device_of(data) == "gpu":
        data = data if device == "gpu" else data.get()
    else:
        data = np.array(data)  # a copy: the tensor never shares memory with the caller's array
    if dtype is None and is_floating(data.dtype):  # the same rules for GPU arrays
        dtype = float32
    elif dtype is None and data.dtype.kind in "iu":
        dtype = int64
    if dtype is not None and data.dtype != dtype:
        data = data.astype(dtype)
    return to_device(data, device)


# ----------------------------------------------------------------------------- overrides


def overridable(portable):
    """Mark ``portable``, a formula written with ``xp``, as one an array library may replace.

    The function returned runs ``portable`` unless ``override`` registered a faster
    version for the library of its first argument (``"numpy"``, ``"cupy"``): a BLAS
    trick for NumPy, a fused CUDA kernel for CuPy. The choice is made once per array
    type and kept, so a call costs one dict lookup. An op body therefore never asks
    which device it runs on; the fast paths are registered from one place each
    (this module for NumPy, ``gpu_kernels`` for CuPy).

    >>> @overridable
    ... def double(a):
    ...     return a + a
    >>> @override(double, "numpy")
    ... def _double_by_multiplying(a):
    ...     return a * 2
    >>> double(np.arange(3)).tolist(), double.portable is not double
    ([0, 2, 4], True)
    """
    replacements: dict[str, object] = {}   # library name -> replacement
    chosen: dict[type, object] = {}        # array type -> the function its arrays run

    @functools.wraps(portable)
    def dispatch(array, *args, **kwargs):
        function = chosen.get(type(array))
        if function is None:
            function = chosen[type(array)] = replacements.get(_library_of(type(array)), portable)
        return function(array, *args, **kwargs)

    dispatch.portable = portable
    dispatch.replacements = replacements
    dispatch.chosen = chosen
    return dispatch


OVERRIDE_LIBRARIES = ("numpy", "cupy")


def override(function, library: str):
    """Register the decorated function as ``function``'s version for arrays of ``library``."""
    if library not in OVERRIDE_LIBRARIES:
        raise ValueError(f"override: unknown array library {library!r}; "
                         f"allowed: {', '.join(OVERRIDE_LIBRARIES)}")
    if not hasattr(function, "replacements"):
        raise TypeError(f"override: {getattr(function, '__name__', function)!r} is not "
                        f"marked @overridable")

    def register(replacement):
        function.replacements[library] = replacement
        function.chosen.clear()  # the next call with each array type chooses again
        return replacement
    return register


def _library_of(array_type) -> str:
    """The top-level package an array type comes from: 'numpy', 'cupy' (a stand-in: its own)."""
    return array_type.__module__.partition(".")[0]


# ----------------------------------------------------------------------------- numerics


@overridable
def scatter_add(target, indices, values) -> None:
    """``target[indices] += values`` where repeated indices all add up (unbuffered)."""
    xp_of(target).add.at(target, indices, values)


@override(scatter_add, "numpy")
def _scatter_add_numpy(target, indices, values) -> None:
    """Row numbers (an embedding's gradient) by sorting; anything else by ``np.add.at``."""
    if _is_row_index(indices, target, values):
        _scatter_add_rows(target, indices, values)
    else:
        np.add.at(target, indices, values)


def _is_row_index(indices, target, values) -> bool:
    """True for a 1-D integer array of row numbers with one row of ``values`` each."""
    return (isinstance(indices, np.ndarray) and indices.ndim == 1 and indices.size > 0
            and is_integer(indices.dtype) and target.ndim >= 1
            and values.shape == indices.shape + target.shape[1:])


def _scatter_add_rows(target, rows, values) -> None:
    """``target[rows] += values`` for row numbers that may repeat (an embedding's gradient).

    NumPy's ``add.at`` handles one element at a time, which is slow; here the row
    numbers are sorted so that equal ones sit side by side, ``add.reduceat`` sums
    each run of equal rows in one pass, and each distinct row is added once.
    """
    rows = np.where(rows < 0, rows + target.shape[0], rows)  # -1: the last row, as in add.at
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    run_starts = np.flatnonzero(np.concatenate(([True], sorted_rows[1:] != sorted_rows[:-1])))
    target[sorted_rows[run_starts]] += np.add.reduceat(values[order], run_starts, axis=0)


@overridable
def sum_last_axis(a):
    """``a.sum(axis=-1, keepdims=True)``: the sum of each row."""
    return a.sum(axis=-1, keepdims=True)


@override(sum_last_axis, "numpy")
def _sum_last_axis_by_blas(a):
    """The row sums as a product with a column of ones.

    The same sums (up to rounding). NumPy's reduction pays a fixed cost for every
    row, which dominates for short rows (a softmax over 64 keys, a layer norm over
    128 features); one matrix-vector product goes through all rows in a single BLAS
    call, several times faster.
    """
    rows, columns = math.prod(a.shape[:-1]), a.shape[-1]
    ones = np.ones((columns, 1), dtype=a.dtype)
    return (a.reshape(rows, columns) @ ones).reshape(a.shape[:-1] + (1,))


@overridable
def max_last_axis(a):
    """``a.max(axis=-1, keepdims=True)``: the largest number of each row (softmax's shift)."""
    return a.max(axis=-1, keepdims=True)


@override(max_last_axis, "numpy")
def _max_last_axis_by_reduceat(a):
    """The row maxima by ``maximum.reduceat`` over the rows as runs of one flat array.

    NumPy's reduction over short rows (64 keys, 65 classes) pays a fixed cost per
    row, as its sum does; ``reduceat`` finds each run's maximum in one call, about
    1.5-2x faster. The same values exactly (a maximum does not round).
    """
    columns = a.shape[-1] if a.ndim else 0
    if a.size == 0 or columns == 0:
        return a.max(axis=-1, keepdims=True)
    row_starts = np.arange(0, a.size, columns)
    flat = a.reshape(-1)  # a view when ``a`` is contiguous, else one copy
    return np.maximum.reduceat(flat, row_starts).reshape(a.shape[:-1] + (1,))


@overridable
def sum_first_axis(a):
    """``a.sum(axis=0)`` of a matrix: the gradient of a bias."""
    return a.sum(axis=0)


@override(sum_first_axis, "numpy")
def _sum_first_axis_by_blas(a):
    """The column sums as a row of ones times ``a``: one BLAS call, several times faster."""
    ones = np.ones((1, a.shape[0]), dtype=a.dtype)
    return (ones @ a).reshape(a.shape[1:])


@overridable
def normal_cdf(x, density):
    """Phi(x), the standard normal distribution function, elementwise, in the dtype of ``x``.

    ``density`` is phi(x) = exp(-x^2 / 2) / sqrt(2 pi), which the caller has already
    (GELU needs it for its slope too). Abramowitz & Stegun 26.2.17 (error below
    7.5e-8, float32's resolution), for z = |x|:

        t = 1 / (1 + p z),   Phi(-z) = phi(z) (b1 t + b2 t^2 + b3 t^3 + b4 t^4 + b5 t^5)

    and Phi(z) = 1 - Phi(-z). Computed in place, pass after pass on one buffer
    (NumPy's ``divide`` and ``multiply`` are vectorised where its ``reciprocal`` and
    ``copysign`` are not, hence the choice of passes below).
    """
    xp = xp_of(x)
    b1, b2, b3, b4, b5, p = (0.319381530, -0.356563782, 1.781477937,
                             -1.821255978, 1.330274429, 0.2316419)
    shape, x = x.shape, x.reshape(-1)  # 1-D: every step below works in place, also for 0-d
    t = xp.abs(x)
    t += 1.0 / p
    xp.divide(1.0 / p, t, out=t)                    # t = 1 / (1 + p z) = (1/p) / (1/p + z)
    tail = t * b5                                   # Horner: ((((b5 t + b4) t + b3) t ...) t
    for b in (b4, b3, b2, b1):
        tail += b
        tail *= t
    tail *= density.reshape(-1)                     # Phi(-z), the small tail
    flip = xp.multiply(tail, -2.0, out=t)           # (t is used up: its buffer is reused)
    flip += 1.0
    flip *= x >= 0                                  # 1 - 2 Phi(-z) where x >= 0, else 0
    tail += flip                                    # Phi(x): Phi(-z) for x < 0, 1 - Phi(-z) else
    return tail.reshape(shape)


@override(normal_cdf, "numpy")
def _normal_cdf_numpy(x, density):
    """float64 exactly, with ``math.erf``: Phi(x) = (1 + erf(x / sqrt 2)) / 2; else as above."""
    if x.dtype != float64:
        return normal_cdf.portable(x, density)
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[float64])(x / math.sqrt(2.0)))


@overridable
def erf(x):
    """erf(x) = (2 / sqrt(pi)) int_0^x e^(-t^2) dt, elementwise, in the dtype of ``x``.

    Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, float32's resolution),
    for z = |x|:  t = 1 / (1 + p z),  erf(z) = 1 - (a1 t + ... + a5 t^5) e^(-z^2),
    and erf(-z) = -erf(z).
    """
    xp = xp_of(x)
    a1, a2, a3, a4, a5, p = (0.254829592, -0.284496736, 1.421413741,
                             -1.453152027, 1.061405429, 0.3275911)
    z = xp.abs(x)
    t = 1.0 / (1.0 + p * z)
    poly = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t
    return xp.sign(x) * (1.0 - poly * xp.exp(-(z * z)))


@override(erf, "numpy")
def _erf_numpy(x):
    """float64 exactly, with ``math.erf``; float32 by the formula above."""
    if x.dtype != float64:
        return erf.portable(x)
    return np.vectorize(math.erf, otypes=[float64])(x)


def library_versions() -> dict:
    """Versions of the array libraries in use (reports record them beside the numbers)."""
    versions = {"numpy": np.__version__}
    if _gpu_module is not None:
        versions["cupy"] = getattr(_gpu_module, "__version__", "stand-in")
    return versions


# ----------------------------------------------------------------------------- randomness


def manual_seed(seed: int) -> None:
    """Seed every random number gradzoo draws (initial weights, dropout, data)."""
    global _host_rng
    _host_rng = np.random.default_rng(seed)
    if _gpu_module is not None:
        _gpu_module.random.seed(seed)


def host_rng():
    """The seeded NumPy generator used for initial weights (the same on every device)."""
    return _host_rng


def get_rng_state() -> dict:
    """The host generator's state (JSON-serialisable): a resumed run draws the same numbers."""
    return _host_rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore the host generator to a state from ``get_rng_state``."""
    _host_rng.bit_generator.state = state


def new_rng(seed: int):
    """A fresh seeded NumPy generator (tasks use one each, so their data is reproducible)."""
    return np.random.default_rng(seed)


def random_uniform(shape, device: str, dtype=float32):
    """Uniform [0, 1) numbers drawn on ``device`` (dropout masks)."""
    if device == "cpu":
        return _host_rng.random(shape, dtype=dtype)
    return gpu_module().random.random(shape, dtype=dtype)


def random_normal(shape, device: str, dtype=float32):
    """Standard normal numbers N(0, 1) drawn on ``device`` (the noise of VAEs, GANs, diffusion).

    On the CPU they come from the seeded host generator, so a resumed run draws the same noise.
    """
    if device == "cpu":
        return _host_rng.standard_normal(shape, dtype=dtype)
    return gpu_module().random.normal(0.0, 1.0, size=shape, dtype=dtype)
