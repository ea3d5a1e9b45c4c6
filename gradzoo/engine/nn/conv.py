"""Convolution layers: ``Conv2d``, ``ConvTranspose2d`` and ``Conv1d``, as ``torch.nn``'s.

Initial values as PyTorch's (kaiming_uniform with a = sqrt(5), then the bias): weight and
bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.shape[1] * kH * kW, that is
in_channels * kH * kW for a convolution and out_channels * kH * kW for a transposed one
(its weight is (in, out, kH, kW)).
"""

from __future__ import annotations

import math

from gradzoo.engine import functional as F
from gradzoo.engine.nn import init
from gradzoo.engine.nn.module import Module
from gradzoo.engine.ops.conv import pair
from gradzoo.engine.tensor import Tensor


class _ConvNd(Module):
    """What the convolution layers share: the weight of ``weight_shape``, a bias, the init."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, ...],
                 weight_shape: tuple[int, ...], bias: bool, device: str | None, **settings):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = (in_channels, out_channels,
                                                                 kernel_size)
        for name, value in settings.items():  # stride, padding, output_padding
            setattr(self, name, value)
        bound = 1.0 / math.sqrt(math.prod(weight_shape[1:]))
        self.weight = init.uniform_(init.new_parameter(*weight_shape, device=device),
                                    -bound, bound)
        self.bias = None
        if bias:
            self.bias = init.uniform_(init.new_parameter(out_channels, device=device),
                                      -bound, bound)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


class Conv2d(_ConvNd):
    """y = conv2d(x, W, b), W of shape (out_channels, in_channels, kH, kW), x (N, C, H, W).

    >>> from gradzoo.engine import nn, tensor
    >>> layer = nn.Conv2d(1, 4, kernel_size=3, padding=1)
    >>> layer.weight.shape, layer(tensor([[[[0.0] * 5] * 5]])).shape
    ((4, 1, 3, 3), (1, 4, 5, 5))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, device: str | None = None):
        kernel_size = pair(kernel_size, "Conv2d")
        super().__init__(in_channels, out_channels, kernel_size,
                         (out_channels, in_channels) + kernel_size, bias, device,
                         stride=pair(stride, "Conv2d"), padding=pair(padding, "Conv2d"))

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class ConvTranspose2d(_ConvNd):
    """y = conv_transpose2d(x, W, b), W of shape (in_channels, out_channels, kH, kW).

    >>> from gradzoo.engine import nn, tensor
    >>> layer = nn.ConvTranspose2d(4, 1, kernel_size=4, stride=2, padding=1)
    >>> layer.weight.shape, layer(tensor([[[[0.0] * 3] * 3] * 4])).shape
    ((4, 1, 4, 4), (1, 1, 6, 6))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, bias: bool = True, device: str | None = None):
        kernel_size = pair(kernel_size, "ConvTranspose2d")
        super().__init__(in_channels, out_channels, kernel_size,
                         (in_channels, out_channels) + kernel_size, bias, device,
                         stride=pair(stride, "ConvTranspose2d"),
                         padding=pair(padding, "ConvTranspose2d"),
                         output_padding=pair(output_padding, "ConvTranspose2d"))

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding)


class Conv1d(_ConvNd):
    """y = conv1d(x, W, b), W of shape (out_channels, in_channels, k), x (N, C, L).

    >>> from gradzoo.engine import nn, tensor
    >>> nn.Conv1d(2, 3, kernel_size=3)(tensor([[[0.0] * 5] * 2])).shape
    (1, 3, 3)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, device: str | None = None):
        super().__init__(in_channels, out_channels, (kernel_size,),
                         (out_channels, in_channels, kernel_size), bias, device,
                         stride=(stride,), padding=(padding,))

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride[0], self.padding[0])
