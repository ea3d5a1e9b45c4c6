"""2-D convolution and its adjoint, the transposed convolution, as im2col and one product.

conv2d: x (N, C, H, W), weight (O, C, kH, kW), bias (O,), stride s, padding p:

    y[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] * x_pad[n, c, s*i + u, s*j + v]
    Ho = (H + 2 p - kH) // s + 1,   Wo likewise

im2col lays every receptive field out as one column: a strided VIEW of the padded
input, of shape (C, kH, kW, N, Ho, Wo) (no copy, no loop over pixels), read as the
matrix cols (K, N L) with K = C kH kW rows and one column per output pixel of the
whole batch (L = Ho Wo). Then the whole convolution is ONE product with the weight
seen as a matrix W2 (O, K):

    y = W2 @ cols                 (O, N L) -> (N, O, Ho, Wo), plus b[o]

Backward, from g = dL/dy as the matrix (O, N L):

    dL/dW2   = g @ cols^T                    one product: the sum over n and L is in it
    dL/dcols = W2^T @ g                      one product, (K, N L)
    dL/dx    = col2im(dL/dcols)              each column goes back where it was read
    dL/db    = sum of g over n and L

col2im is the adjoint of im2col: a pixel read by several receptive fields gets the sum
of their gradients. It scatter-adds onto the padded input, one slice per kernel offset
(u, v) (kH kW vectorised additions, no loop over pixels), then crops the padding.

conv_transpose2d is the adjoint of conv2d: its forward is conv2d's input gradient
(weight (C_in, C_out, kH, kW) read as W2 (C_in, K)), and its backward is conv2d's
forward (im2col of the padded g):

    y = crop(col2im(W2^T @ x)),    Ho = (H - 1) s - 2 p + kH + output_padding
    dL/dx = W2 @ im2col(pad(g)),   dL/dW2 = x @ im2col(pad(g))^T   (x as (C_in, N H W))

The composed twins below are built from Tensor ops only: conv2d as a sum over the
kernel offsets of shifted, strided slices times one weight matrix each; the transposed
convolution as a convolution of the zero-stuffed input with the flipped kernel.
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.ops.pad import Pad


def pair(value, name: str) -> tuple[int, int]:
    """An int or a pair of ints as (height, width), the way PyTorch reads them."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name}: expected an int or a pair of ints, got {value}")
    return value


# ---------------------------------------------------------------------- composed twins


def conv2d_composed(x, weight, bias=None, stride=1, padding=0):
    """conv2d with Tensor ops: for each kernel offset (u, v), a strided slice times W[:, :, u, v].

    y[n, :, i, j] = sum_{u, v} W[:, :, u, v] @ x_pad[n, :, s*i + u, s*j + v]  (+ b)
    """
    (sh, sw), (ph, pw) = pair(stride, "conv2d"), pair(padding, "conv2d")
    out_channels, _, kh, kw = weight.shape
    x = Pad.apply(x, pad=(pw, pw, ph, ph)) if ph or pw else x
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = None
    for u in range(kh):
        for v in range(kw):
            window = x[:, :, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw]
            term = window.permute(0, 2, 3, 1) @ weight[:, :, u, v].T  # (N, Ho, Wo, O)
            out = term if out is None else out + term
    if bias is not None:
        out = out + bias
    return out.permute(0, 3, 1, 2)


def conv_transpose2d_composed(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    """conv_transpose2d with Tensor ops: stuff s - 1 zeros between the input pixels, pad by
    k - 1 - p, then convolve (stride 1) with the kernel flipped and its channels swapped."""
    (sh, sw), (ph, pw) = pair(stride, "conv_transpose2d"), pair(padding, "conv_transpose2d")
    oph, opw = pair(output_padding, "conv_transpose2d")
    n, c, h, w = x.shape
    kh, kw = weight.shape[2:]
    stuffed = Pad.apply(x.reshape(n, c, h, 1, w, 1), pad=(0, sw - 1, 0, 0, 0, sh - 1))
    stuffed = stuffed.reshape(n, c, h * sh, w * sw)[:, :, :(h - 1) * sh + 1, :(w - 1) * sw + 1]
    stuffed = Pad.apply(stuffed, pad=(kw - 1 - pw, kw - 1 - pw + opw,
                                      kh - 1 - ph, kh - 1 - ph + oph))
    flipped = weight.flip(2, 3).transpose(0, 1)  # (C_out, C_in, kH, kW)
    return conv2d_composed(stuffed, flipped, bias)


# ---------------------------------------------------------------------- im2col and col2im


def im2col(x_pad, kernel, stride, out_size):
    """The receptive fields of a padded input as columns: (N, C, H, W) -> (C kH kW, N Ho Wo).

    A strided view first, (C, kH, kW, N, Ho, Wo): moving one kernel row is one input row,
    moving one output row is s input rows; the reshape to a matrix then copies it. Row
    (c, u, v) matches column (c, u, v) of the weight seen as a matrix; column (n, i, j) is
    the receptive field of output pixel (i, j) of image n, so the whole batch is one product.
    """
    xp = xp_of(x_pad)
    n, c = x_pad.shape[:2]
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_size
    sn, sc, s_row, s_col = x_pad.strides
    windows = xp.lib.stride_tricks.as_strided(
        x_pad, shape=(c, kh, kw, n, ho, wo),
        strides=(sc, s_row, s_col, sn, sh * s_row, sw * s_col))
    return windows.reshape(c * kh * kw, n * ho * wo)


def col2im(cols, channels, kernel, stride, out_size, padded_size):
    """The adjoint of ``im2col``: add each column back onto the padded input it was read from.

    One vectorised addition per kernel offset (u, v): the (N, Ho, Wo) grid of values that
    offset read lands on rows u, u + s, ..., columns v, v + s, ... of the padded input.
    The result is laid out (C, N, H_pad, W_pad), channels first like the columns' rows.
    """
    xp = xp_of(cols)
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_size
    n = cols.shape[1] // (ho * wo)
    cols = cols.reshape(channels, kh, kw, n, ho, wo)
    x_pad = xp.zeros((channels, n) + tuple(padded_size), dtype=cols.dtype)
    for u in range(kh):
        for v in range(kw):
            x_pad[:, :, u:u + sh * ho:sh, v:v + sw * wo:sw] += cols[:, u, v]
    return x_pad


def channels_first(x):
    """(N, C, H, W) -> the matrix (C, N H W): each channel's values for the whole batch."""
    n, c = x.shape[:2]
    return xp_of(x).ascontiguousarray(x.swapaxes(0, 1)).reshape(c, -1)


def batch_first(matrix, n: int, size):
    """The inverse of ``channels_first``: (C, N H W) (or (C, N, H, W)) -> (N, C, H, W)."""
    grid = matrix.reshape((matrix.shape[0], n) + tuple(size))
    return xp_of(matrix).ascontiguousarray(grid.swapaxes(0, 1))


def pad_image(x, padding):
    """x with ``padding`` = (ph, pw) zeros around its last two dims (x itself when none)."""
    ph, pw = padding
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    padded = xp_of(x).zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    return padded


def crop_image(x, padding, size):
    """The (H, W) = ``size`` window of x that starts at ``padding``."""
    (ph, pw), (h, w) = padding, size
    return x[:, :, ph:ph + h, pw:pw + w]


def transposed(matrix):
    """matrix^T laid out row by row (a small copy: the product then runs faster)."""
    return xp_of(matrix).ascontiguousarray(matrix.T)


# ---------------------------------------------------------------------- the ops


class Conv2d(Function):
    """y = W2 @ im2col(pad(x)) + b: the 2-D convolution (cross-correlation, as in PyTorch)."""

    parameters = ("stride", "padding", "has_bias")
    stride = (1, 1)
    padding = (0, 0)
    has_bias = False
    composed = staticmethod(conv2d_composed)

    def forward(self, x, weight, bias=None):
        n, c, h, w = x.shape
        out_channels, _, kh, kw = weight.shape
        (sh, sw), (ph, pw) = self.stride, self.padding
        self.out_size = ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
        self.cols = im2col(pad_image(x, self.padding), (kh, kw), self.stride, self.out_size)
        out = weight.reshape(out_channels, -1) @ self.cols           # (O, N L): one product
        if bias is not None:
            out += bias.reshape(-1, 1)
        return batch_first(out, n, self.out_size)

    def backward(self, grad):
        x, weight = self.inputs[0].data, self.inputs[1].data
        out_channels, channels, kh, kw = weight.shape
        g = channels_first(grad)                                     # (O, N L)
        grad_x = grad_w = None
        if self.needs_input_grad[0]:
            grad_cols = transposed(weight.reshape(out_channels, -1)) @ g  # (K, N L)
            (ph, pw), (h, w) = self.padding, x.shape[2:]
            x_pad = col2im(grad_cols, channels, (kh, kw), self.stride, self.out_size,
                           (h + 2 * ph, w + 2 * pw))
            grad_x = batch_first(crop_image(x_pad, self.padding, (h, w)), x.shape[0], (h, w))
        if self.needs_input_grad[1]:
            grad_w = (g @ self.cols.T).reshape(weight.shape)         # sum over n and L at once
        if self.has_bias:
            return grad_x, grad_w, g.sum(axis=1)
        return grad_x, grad_w


class ConvTranspose2d(Function):
    """y = crop(col2im(W2^T @ x)) + b: conv2d's input gradient, run forward (see above)."""

    parameters = ("stride", "padding", "output_padding", "has_bias")
    stride = (1, 1)
    padding = (0, 0)
    output_padding = (0, 0)
    has_bias = False
    composed = staticmethod(conv_transpose2d_composed)

    def forward(self, x, weight, bias=None):
        n, in_channels, h, w = x.shape
        _, out_channels, kh, kw = weight.shape
        (sh, sw), (ph, pw), (oph, opw) = self.stride, self.padding, self.output_padding
        self.out_size = ((h - 1) * sh - 2 * ph + kh + oph, (w - 1) * sw - 2 * pw + kw + opw)
        padded_size = (self.out_size[0] + 2 * ph, self.out_size[1] + 2 * pw)
        cols = transposed(weight.reshape(in_channels, -1)) @ channels_first(x)  # (K, N H W)
        out_pad = col2im(cols, out_channels, (kh, kw), self.stride, (h, w), padded_size)
        out = crop_image(out_pad, self.padding, self.out_size)       # (C_out, N, Ho, Wo)
        if bias is not None:
            out = out + bias.reshape(-1, 1, 1, 1)
        return batch_first(out, n, self.out_size)

    def backward(self, grad):
        x, weight = self.inputs[0].data, self.inputs[1].data
        n, in_channels, h, w = x.shape
        kh, kw = weight.shape[2:]
        cols = im2col(pad_image(grad, self.padding), (kh, kw), self.stride, (h, w))
        grad_x = grad_w = None
        if self.needs_input_grad[0]:
            grad_x = batch_first(weight.reshape(in_channels, -1) @ cols, n, (h, w))
        if self.needs_input_grad[1]:
            grad_w = (channels_first(x) @ cols.T).reshape(weight.shape)
        if self.has_bias:
            return grad_x, grad_w, grad.sum(axis=(0, 2, 3))
        return grad_x, grad_w
