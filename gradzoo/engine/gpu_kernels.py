"""Fused CUDA kernels for the hot ops, used only when the array module is the real CuPy.

On a GPU every array operation is a kernel launch that reads its inputs from
and writes its output to the GPU's memory. ``softmax`` written as max, exp,
sum and divide makes four launches and four round trips; the kernels here do
the same arithmetic in one or two. They are CuPy ``ElementwiseKernel`` and
``ReductionKernel`` objects: the loop body is a line of CUDA C++ and CuPy
compiles it on first use (and caches the binary on disk).

Each op in ``engine/ops`` asks ``kernels_for(array)``: it gets this module's
kernels for a real CuPy array and ``None`` otherwise, and then runs its
portable ``xp`` code, the same formulas written with array operations (the
path NumPy, the test suite's CuPy stand-in and a reader follow). The tests
compare the two on a machine with a GPU.
"""

from __future__ import annotations

import functools

from gradzoo.engine import backend

# Overloads so that one kernel body serves float32 (expf...) and float64 (exp...).
_PREAMBLE = r"""
__device__ inline float gz_exp(float x) { return expf(x); }
__device__ inline double gz_exp(double x) { return exp(x); }
__device__ inline float gz_log(float x) { return logf(x); }
__device__ inline double gz_log(double x) { return log(x); }
__device__ inline float gz_normcdf(float x) { return normcdff(x); }
__device__ inline double gz_normcdf(double x) { return normcdf(x); }
__device__ inline float gz_sqrt(float x) { return sqrtf(x); }
__device__ inline double gz_sqrt(double x) { return sqrt(x); }
"""


def kernels_for(array):
    """This module's kernels when ``array`` is a real CuPy array, else None (portable path)."""
    if backend.device_of(array) != "gpu":
        return None
    cupy = backend.gpu_module()
    if getattr(cupy, "__name__", "") != "cupy" or not hasattr(cupy, "ElementwiseKernel"):
        return None  # a stand-in (tests/fakecupy.py): the portable path
    return _Kernels.build(cupy)


class _Kernels:
    """The compiled kernels, built once per process (CuPy compiles each on first call)."""

    @classmethod
    @functools.lru_cache(maxsize=1)
    def build(cls, cupy):
        return cls(cupy)

    def __init__(self, cupy):
        elementwise, reduction = cupy.ElementwiseKernel, cupy.ReductionKernel
        options = {"preamble": _PREAMBLE}

        # GELU: y = x Phi(x) and its slope Phi(x) + x phi(x), kept for backward.
        self.gelu = elementwise(
            "T x", "T y, T slope",
            "T cdf = gz_normcdf(x);"
            "y = x * cdf;"
            "slope = cdf + x * gz_exp(x * x * (T)(-0.5)) * (T)0.3989422804014327;",
            "gradzoo_gelu", **options)

        # sum_j exp(x_j - m) along an axis (m: the row maximum, broadcast).
        self.sum_exp = reduction(
            "T x, T m", "T total", "gz_exp(x - m)", "a + b", "total = a", "0",
            "gradzoo_sum_exp", **options)
        # sum_j g_j y_j along an axis.
        self.sum_product = reduction(
            "T g, T y", "T total", "g * y", "a + b", "total = a", "0",
            "gradzoo_sum_product")
        # sum_j g_j w_j xh_j along an axis (layer norm's backward).
        self.sum_product3 = reduction(
            "T g, T w, T xh", "T total", "g * w * xh", "a + b", "total = a", "0",
            "gradzoo_sum_product3")
        # sum_j (x_j - mu)^2 along an axis.
        self.sum_squared_deviation = reduction(
            "T x, T mu", "T total", "(x - mu) * (x - mu)", "a + b", "total = a", "0",
            "gradzoo_sum_squared_deviation")

        self.softmax = elementwise(
            "T x, T m, T total", "T y", "y = gz_exp(x - m) / total",
            "gradzoo_softmax", **options)
        self.softmax_backward = elementwise(
            "T g, T y, T dot", "T dx", "dx = y * (g - dot)", "gradzoo_softmax_backward")
        self.log_softmax = elementwise(
            "T x, T m, T total", "T y", "y = x - m - gz_log(total)",
            "gradzoo_log_softmax", **options)
        self.log_softmax_backward = elementwise(
            "T g, T y, T total_g", "T dx", "dx = g - gz_exp(y) * total_g",
            "gradzoo_log_softmax_backward", **options)

        # cross-entropy: dL/dz = (softmax(z) - onehot(t)) * scale, scale = counted * grad / N;
        # i is the flat index into (rows, classes), so i % classes is the class.
        self.cross_entropy_backward = elementwise(
            "T z, T log_norm, int64 target, T scale, int64 classes", "T dz",
            "dz = (gz_exp(z - log_norm) - (T)((i % classes) == target)) * scale",
            "gradzoo_cross_entropy_backward", **options)

        self.layer_norm = elementwise(
            "T x, T mu, T inv_std, T w, T b", "T x_hat, T y",
            "x_hat = (x - mu) * inv_std; y = x_hat * w + b", "gradzoo_layer_norm")
        self.layer_norm_backward = elementwise(
            "T g, T w, T x_hat, T mean_g, T mean_gx, T inv_std", "T dx",
            "dx = inv_std * (g * w - mean_g - x_hat * mean_gx)", "gradzoo_layer_norm_backward")

        # Adam / AdamW for one parameter, in place (param, m and v are read and written):
        #   p *= decay; g = grad + l2 * p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
        #   p -= step_size * m / (sqrt(v) / correction2 + eps)
        self.adam = elementwise(
            "T grad, T decay, T l2, T beta1, T beta2, T step_size, T correction2, T eps",
            "T param, T m, T v",
            "param = param * decay;"
            "T g = grad + l2 * param;"
            "m = beta1 * m + (1 - beta1) * g;"
            "v = beta2 * v + (1 - beta2) * g * g;"
            "param = param - step_size * m / (gz_sqrt(v) / correction2 + eps);",
            "gradzoo_adam", **options)
