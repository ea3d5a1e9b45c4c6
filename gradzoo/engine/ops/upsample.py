"""Nearest-neighbour upsampling by whole factors: every pixel becomes an s_h x s_w block.

x (N, C, H, W) (or any number of spatial dims after N, C), scale factors s = (s_h, s_w):

    y[n, c, i, j] = x[n, c, i // s_h, j // s_w]            y: (N, C, s_h H, s_w W)
    dL/dx[n, c, a, b] = sum_{p < s_h, q < s_w} g[n, c, s_h a + p, s_w b + q]

The forward repeats each pixel s_h times down and s_w times across (``repeat``, one axis
at a time); the backward adds, axis by axis, the s strided slices g[..., p::s] that one
input pixel was copied to. The composed twin writes the forward as a broadcast view, x
as (N, C, H, 1, W, 1) expanded to (N, C, H, s_h, W, s_w) and reshaped, and lets the
engine differentiate it.
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function

MODES = ("nearest", "nearest-exact")  # the same for whole factors: floor(i / s)


def blocks_shape(shape, scale):
    """(N, C, H, 1, W, 1) for the input, (N, C, H, s_h, W, s_w) for the blocks."""
    single, stretched = list(shape[:2]), list(shape[:2])
    for side, s in zip(shape[2:], scale):
        single += [side, 1]
        stretched += [side, s]
    return tuple(single), tuple(stretched)


def scale_factors(shape, scale_factor, mode: str = "nearest") -> tuple[int, ...]:
    """One whole scale factor per spatial dim of ``shape``, or a clear error."""
    if mode not in MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; gradzoo "
                                  f"upsamples with mode 'nearest' only")
    if len(shape) < 3:
        raise ValueError(f"interpolate: expected an input (N, C, H, W) (or (N, C, L), "
                         f"(N, C, D, H, W)), got shape {tuple(shape)}")
    spatial = len(shape) - 2
    factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) \
        else (scale_factor,) * spatial
    if len(factors) != spatial:
        raise ValueError(f"interpolate: scale_factor {scale_factor} should give one factor "
                         f"per spatial dim of the input of shape {tuple(shape)}")
    if any(float(f) != int(f) or int(f) < 1 for f in factors):
        raise NotImplementedError(f"interpolate: scale_factor {scale_factor} is not supported; "
                                  f"gradzoo upsamples by whole factors (1, 2, 3, ...) only")
    return tuple(int(f) for f in factors)


def factors_for_size(shape, size) -> tuple[int, ...]:
    """The whole scale factors that take ``shape``'s spatial dims to ``size``, or an error."""
    spatial = tuple(shape[2:])
    size = (size,) * len(spatial) if isinstance(size, int) else tuple(int(s) for s in size)
    if len(size) != len(spatial) or any(s % side for s, side in zip(size, spatial)):
        raise NotImplementedError(f"interpolate: size {size} is not supported for an input of "
                                  f"shape {tuple(shape)}; gradzoo upsamples by whole factors "
                                  f"only, so each size must be a multiple of the input's")
    return tuple(s // side for s, side in zip(size, spatial))


def upsample_nearest_composed(x, scale_factor=2, mode="nearest"):
    """Nearest upsampling with Tensor ops: reshape to (N, C, H, 1, W, 1), expand, reshape.

    It takes ``F.interpolate``'s arguments (whole scale factors, mode "nearest" only).
    """
    scale = scale_factors(x.shape, scale_factor, mode)
    single, stretched = blocks_shape(x.shape, scale)
    out_shape = tuple(x.shape[:2]) + tuple(side * s for side, s in zip(x.shape[2:], scale))
    return x.reshape(single).expand(stretched).reshape(out_shape)


class UpsampleNearest(Function):
    """y[..., i, j] = x[..., i // s_h, j // s_w]; dL/dx sums g over each s_h x s_w block."""

    parameters = ("scale_factor",)   # a tuple of ints, one per spatial dim
    composed = staticmethod(upsample_nearest_composed)

    def forward(self, x):
        xp = xp_of(x)
        for axis, s in enumerate(self.scale_factor, start=2):   # each pixel s times, axis by axis
            x = xp.repeat(x, s, axis=axis) if s > 1 else x
        return x

    def backward(self, grad):
        # sum each block one spatial axis at a time: g[..., 0::s] + g[..., 1::s] + ...
        # (strided additions of whole grids; reducing the small block axes directly is slow)
        for axis, s in enumerate(self.scale_factor, start=2):
            if s > 1:
                grad = sum(grad[(slice(None),) * axis + (slice(p, None, s),)] for p in range(s))
        return (grad,)
