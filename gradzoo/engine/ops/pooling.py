"""2-D max and average pooling: each output pixel summarises one window of its channel.

x (N, C, H, W), window k = (kH, kW), stride s (default: k, windows side by side),
padding p (max: -inf around the picture, average: zeros, counted as PyTorch counts them):

    Ho = (H + 2 p - kH) // s + 1,   Wo likewise
    window(n, c, i, j) = x_pad[n, c, s*i : s*i + kH, s*j : s*j + kW]

    max_pool2d:  y[n, c, i, j] = max  window(n, c, i, j)
                 dL/dx = g[n, c, i, j] at the window's largest pixel (the FIRST of ties,
                 as PyTorch), 0 elsewhere; a pixel in several windows adds up their shares
    avg_pool2d:  y[n, c, i, j] = mean window(n, c, i, j)     (always / kH kW)
                 dL/dx = g[n, c, i, j] / (kH kW) on every pixel of the window, summed likewise

The windows are a strided VIEW of the padded input, (N, C, Ho, Wo, kH, kW): moving one
output pixel moves s input pixels, moving inside the window moves one (no copy, no loop
over pixels). The forward reduces the view one kernel offset at a time (kH kW vectorised
steps over whole (N, C, Ho, Wo) grids), which runs much faster than reducing the two small
window axes directly. The backward is the adjoint of that view, as col2im is for convolution:
one vectorised addition per kernel offset (u, v), whose (Ho, Wo) grid of gradients lands
on rows u, u + s, ... and columns v, v + s, ... of the padded input, then the padding is
cropped.

The composed twins build the same windows from Tensor ops: one strided slice per kernel
offset, stacked on a last axis and reduced (max with its first index, or a mean).
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.ops.conv import pair
from gradzoo.engine.ops.pad import Pad
from gradzoo.engine.ops.shape import Stack


def pool_geometry(shape, kernel_size, stride, padding, op: str):
    """(kernel, stride, padding, (Ho, Wo)) as pairs, checked the way PyTorch checks them."""
    kernel = pair(kernel_size, op)
    stride = kernel if stride is None or stride == () else pair(stride, op)
    padding = pair(padding, op)
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel_size {kernel} and stride {stride} must be positive and "
                         f"padding {padding} not negative")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} should be at most half of the kernel size "
                         f"{kernel}")
    if len(shape) != 4:
        raise ValueError(f"{op}: expected an input of shape (N, C, H, W) or (C, H, W), got "
                         f"shape {tuple(shape)}")
    out_size = tuple((side + 2 * p - k) // s + 1
                     for side, k, s, p in zip(shape[2:], kernel, stride, padding))
    if min(out_size) < 1:
        raise ValueError(f"{op}: the {kernel} window does not fit in the input of shape "
                         f"{tuple(shape)} with padding {padding}; the output would be "
                         f"{out_size}")
    return kernel, stride, padding, out_size


# ---------------------------------------------------------------------- composed twins


def _window_slices(x, kernel, stride, padding, fill: float):
    """The kH kW shifted, strided slices of the padded x, stacked last: (N, C, Ho, Wo, kH kW)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if ph or pw:
        x = Pad.apply(x, pad=(pw, pw, ph, ph), value=fill)
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    slices = [x[:, :, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw]
              for u in range(kh) for v in range(kw)]
    return Stack.apply(*slices, dim=-1)


def max_pool2d_composed(x, kernel_size, stride=None, padding=0):
    """max_pool2d with Tensor ops: the window's pixels stacked, then ``max(dim=-1).values``."""
    kernel, stride, padding, _ = pool_geometry(x.shape, kernel_size, stride, padding,
                                               "max_pool2d")
    return _window_slices(x, kernel, stride, padding, float("-inf")).max(dim=-1).values


def avg_pool2d_composed(x, kernel_size, stride=None, padding=0):
    """avg_pool2d with Tensor ops: the window's pixels stacked, then their mean."""
    kernel, stride, padding, _ = pool_geometry(x.shape, kernel_size, stride, padding,
                                               "avg_pool2d")
    return _window_slices(x, kernel, stride, padding, 0.0).mean(dim=-1)


# ---------------------------------------------------------------------- the fused ops


def pool_windows(x_pad, kernel, stride, out_size):
    """Every window of the padded input as a strided view, (N, C, Ho, Wo, kH, kW); no copy."""
    n, c = x_pad.shape[:2]
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_size
    sn, sc, s_row, s_col = x_pad.strides
    return xp_of(x_pad).lib.stride_tricks.as_strided(
        x_pad, shape=(n, c, ho, wo, kh, kw),
        strides=(sn, sc, sh * s_row, sw * s_col, s_row, s_col))


def pad_picture(x, padding, fill: float):
    """x with ``padding`` = (ph, pw) pixels of ``fill`` around its last two dims."""
    ph, pw = padding
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    padded = xp_of(x).full((n, c, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    return padded


def unpool(window_grads, input_shape, kernel, stride, padding, out_size):
    """The adjoint of ``pool_windows``: add each window's gradients back onto its pixels.

    ``window_grads(u, v)`` is the (N, C, Ho, Wo) gradient of kernel offset (u, v); it lands
    on rows u, u + s, ..., columns v, v + s, ... of the padded input (kH kW additions).
    """
    n, c, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = kernel, stride, padding, out_size
    first = window_grads(0, 0)
    grad = xp_of(first).zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=first.dtype)
    for u in range(kh):
        for v in range(kw):
            part = first if u == v == 0 else window_grads(u, v)
            grad[:, :, u:u + sh * ho:sh, v:v + sw * wo:sw] += part
    return grad[:, :, ph:ph + h, pw:pw + w]


class MaxPool2d(Function):
    """y = the max of each window; dL/dx = g at the window's first largest pixel, else 0."""

    parameters = ("kernel_size", "stride", "padding")
    stride = None
    padding = 0
    composed = staticmethod(max_pool2d_composed)

    def forward(self, x):
        self.kernel, self.stride, self.padding, self.out_size = pool_geometry(
            x.shape, self.kernel_size, self.stride, self.padding, "max_pool2d")
        windows = pool_windows(pad_picture(x, self.padding, float("-inf")),
                               self.kernel, self.stride, self.out_size)
        xp, kw = xp_of(x), self.kernel[1]
        best = windows[..., 0, 0].copy()                     # (N, C, Ho, Wo)
        self.argmax = xp.zeros(best.shape, dtype="int64")    # offset u kW + v of the max
        for k in range(1, self.kernel[0] * kw):              # one pass per window offset
            candidate = windows[..., k // kw, k % kw]
            # strictly larger keeps the FIRST of ties (as PyTorch); a NaN wins and stays
            better = (candidate > best) | (candidate != candidate)
            xp.copyto(best, candidate, where=better)
            self.argmax[better] = k
        return best

    def backward(self, grad):
        kw = self.kernel[1]

        def offset_grad(u, v):  # g where the max sat at offset (u, v) of its window
            return grad * (self.argmax == u * kw + v)

        return (unpool(offset_grad, self.inputs[0].shape, self.kernel, self.stride,
                       self.padding, self.out_size),)


class AvgPool2d(Function):
    """y = the mean of each window (/ kH kW); dL/dx = g / (kH kW) on each of its pixels."""

    parameters = ("kernel_size", "stride", "padding")
    stride = None
    padding = 0
    composed = staticmethod(avg_pool2d_composed)

    def forward(self, x):
        self.kernel, self.stride, self.padding, self.out_size = pool_geometry(
            x.shape, self.kernel_size, self.stride, self.padding, "avg_pool2d")
        windows = pool_windows(pad_picture(x, self.padding, 0.0),
                               self.kernel, self.stride, self.out_size)
        (kh, kw), total = self.kernel, windows[..., 0, 0].copy()
        for k in range(1, kh * kw):                  # one addition per window offset
            total += windows[..., k // kw, k % kw]
        return total * (1.0 / (kh * kw))

    def backward(self, grad):
        share = grad / (self.kernel[0] * self.kernel[1])
        return (unpool(lambda u, v: share, self.inputs[0].shape, self.kernel, self.stride,
                       self.padding, self.out_size),)
