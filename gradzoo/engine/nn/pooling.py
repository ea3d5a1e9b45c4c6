"""Layers that change a picture's resolution: max and average pooling down, nearest up.

None of them has parameters; each holds its window (or factor) and calls ``F``.

>>> from gradzoo.engine import nn, tensor
>>> x = tensor([[[[1.0, 2.0], [4.0, 3.0]]]])
>>> nn.MaxPool2d(2)(x).tolist(), nn.AvgPool2d(2)(x).tolist()
([[[[4.0]]]], [[[[2.5]]]])
>>> nn.Upsample(scale_factor=2)(x).shape
(1, 1, 4, 4)
"""

from __future__ import annotations

from gradzoo.engine import functional as F
from gradzoo.engine.nn.module import Module
from gradzoo.engine.tensor import Tensor


class _Pool2d(Module):
    """A window of ``kernel_size`` moved ``stride`` pixels at a time (default: kernel_size)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride  # as PyTorch stores it
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """y = the largest pixel of each window, per channel (``F.max_pool2d``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """y = the mean of each window, per channel (``F.avg_pool2d``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Upsample(Module):
    """Each pixel repeated into a ``scale_factor`` block (``F.interpolate``, mode "nearest").

    ``size=(H, W)`` instead of a factor works when it is a whole multiple of the input's.
    """

    def __init__(self, scale_factor=None, mode: str = "nearest", *, size=None,
                 align_corners=None):
        super().__init__()
        if (scale_factor is None) == (size is None):
            raise ValueError("Upsample: give exactly one of scale_factor or size")
        self.scale_factor = scale_factor
        self.mode = mode
        self.size = size
        self.align_corners = align_corners

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, self.scale_factor, self.mode, size=self.size,
                             align_corners=self.align_corners)

    def extra_repr(self) -> str:
        given = f"size={self.size}" if self.size is not None else \
            f"scale_factor={self.scale_factor}"
        return f"{given}, mode={self.mode!r}"
