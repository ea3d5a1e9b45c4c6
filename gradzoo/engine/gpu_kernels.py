"""Fused CUDA kernels for the hot ops, registered as "cupy" overrides of their portable code.

On a GPU every array operation is a kernel launch that reads its inputs from
and writes its output to the GPU's memory. ``softmax`` written as max, exp,
sum and divide makes four launches and four round trips; the kernels here do
the same arithmetic in one or two. They are CuPy ``ElementwiseKernel`` and
``ReductionKernel`` objects: the loop body is a line of CUDA C++ and CuPy
compiles it on first use (and caches the binary on disk).

The ops never ask for them. Each op writes its formulas once, as portable
``xp`` functions marked ``@overridable`` (the path NumPy, the test suite's CuPy
stand-in and a reader follow); ``backend`` calls ``register_overrides(cupy)``
when it first loads the real CuPy, and from then on CuPy's arrays run the
kernel versions below. This module never imports CuPy itself: it gets the
module from ``backend``. The tests compare both paths on a machine with a GPU.
"""

from __future__ import annotations

import functools

from gradzoo.engine import optim
from gradzoo.engine.backend import override
from gradzoo.engine.ops import cross_entropy, gelu, layer_norm, softmax

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


def register_overrides(cupy) -> None:
    """Build the kernels with ``cupy`` and register them for its arrays (once per process)."""
    kernels = _Kernels.build(cupy)
    for portable, make in _REPLACEMENTS.items():
        override(portable, "cupy")(make(kernels))


def _softmax_forward(k):
    def softmax_forward(x, dim):
        row_max = x.max(axis=dim, keepdims=True)
        total = k.sum_exp(x, row_max, axis=dim, keepdims=True)  # one pass for the sum
        return k.softmax(x, row_max, total)                     # one for the output
    return softmax_forward


def _softmax_backward(k):
    def softmax_backward(grad, y, dim):
        dot = k.sum_product(grad, y, axis=dim, keepdims=True)
        return k.softmax_backward(grad, y, dot)
    return softmax_backward


def _log_softmax_forward(k):
    def log_softmax_forward(x, dim):
        row_max = x.max(axis=dim, keepdims=True)
        total = k.sum_exp(x, row_max, axis=dim, keepdims=True)
        return k.log_softmax(x, row_max, total)
    return log_softmax_forward


def _log_softmax_backward(k):
    def log_softmax_backward(grad, y, dim):
        return k.log_softmax_backward(grad, y, grad.sum(axis=dim, keepdims=True))
    return log_softmax_backward


def _normalize_rows(k):
    def normalize_rows(rows, weight, bias, eps):
        n = rows.shape[1]
        mu = rows.sum(axis=1, keepdims=True) / n
        variance = k.sum_squared_deviation(rows, mu, axis=1, keepdims=True) / n
        inv_std = 1.0 / k.cupy.sqrt(variance + eps)
        w = 1.0 if weight is None else weight
        b = 0.0 if bias is None else bias
        x_hat, out = k.layer_norm(rows, mu, inv_std, w, b)  # x_hat and y in one pass
        return x_hat, inv_std, out
    return normalize_rows


def _layer_norm_input_grad(k):
    def layer_norm_input_grad(g, weight, x_hat, inv_std, g_x_hat):
        n = g.shape[1]
        if weight is None:
            mean_g = g.sum(axis=1, keepdims=True) / n
            mean_gx = k.sum_product(g, x_hat, axis=1, keepdims=True) / n
        else:
            mean_g = k.sum_product(g, weight, axis=1, keepdims=True) / n
            mean_gx = k.sum_product3(g, weight, x_hat, axis=1, keepdims=True) / n
        w = 1.0 if weight is None else weight
        return k.layer_norm_backward(g, w, x_hat, mean_g, mean_gx, inv_std)
    return layer_norm_input_grad


def _log_sum_exp_rows(k):
    def log_sum_exp_rows(flat):
        row_max = flat.max(axis=1, keepdims=True)
        return row_max + k.cupy.log(k.sum_exp(flat, row_max, axis=1, keepdims=True))
    return log_sum_exp_rows


def _cross_entropy_grad(k):
    def cross_entropy_grad(flat, log_norm, target, scale):
        return k.cross_entropy_backward(flat, log_norm, target[:, None], scale[:, None],
                                        flat.shape[1])
    return cross_entropy_grad


def _gelu_exact(k):
    def gelu_exact(x):
        return k.gelu(x)  # y and the slope in one pass
    return gelu_exact


def _adam_update(k):
    def adam_update(param, grad, exp_avg, exp_avg_sq, decay, l2, beta1, beta2, step_size,
                    correction2_sqrt, eps):
        k.adam(grad, decay, l2, beta1, beta2, step_size, correction2_sqrt, eps,
               param, exp_avg, exp_avg_sq)  # the whole update in one pass
    return adam_update


# portable function -> a maker of its kernel version, given the compiled kernels
_REPLACEMENTS = {
    softmax.softmax_forward: _softmax_forward,
    softmax.softmax_backward: _softmax_backward,
    softmax.log_softmax_forward: _log_softmax_forward,
    softmax.log_softmax_backward: _log_softmax_backward,
    layer_norm.normalize_rows: _normalize_rows,
    layer_norm.layer_norm_input_grad: _layer_norm_input_grad,
    cross_entropy.log_sum_exp_rows: _log_sum_exp_rows,
    cross_entropy.cross_entropy_grad: _cross_entropy_grad,
    gelu.gelu_exact: _gelu_exact,
    optim.adam_update: _adam_update,
}


class _Kernels:
    """The compiled kernels, built once per process (CuPy compiles each on first call)."""

    @classmethod
    @functools.lru_cache(maxsize=1)
    def build(cls, cupy):
        return cls(cupy)

    def __init__(self, cupy):
        self.cupy = cupy
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
