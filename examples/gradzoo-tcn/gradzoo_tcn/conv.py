"""A causal, dilated 1-D convolution over a sequence, from gradzoo's matrix products.

    y_t = b + sum_{m=0}^{k-1} W[:, :, m] x_{t - (k-1-m) d}        x_s = 0 for s < 0

``k`` is the kernel size and ``d`` the dilation: the output at step t reads k
inputs spaced d apart, the last of them x_t itself, never a later one. The
weight has PyTorch's shape (out_channels, in_channels, kernel_size), and the
result is PyTorch's ``conv1d`` of the input padded on the left by (k-1) d zeros.
"""

from __future__ import annotations

import math

from gradzoo.engine import Tensor, backend, nn
from gradzoo.engine import functional as F


class CausalConv1d(nn.Module):
    """A 1-D convolution that pads on the left only, so no output sees the future."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.weight = nn.init.new_parameter(out_channels, in_channels, kernel_size)
        self.bias = nn.init.new_parameter(out_channels)
        bound = 1.0 / math.sqrt(in_channels * kernel_size)  # PyTorch's default for Conv1d
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    @property
    def receptive_field(self) -> int:
        """How many steps back (counting the current one) an output can see: (k-1) d + 1."""
        return (self.kernel_size - 1) * self.dilation + 1

    def forward(self, x: Tensor) -> Tensor:
        """(B, L, in_channels) -> (B, L, out_channels); one matrix product per kernel tap."""
        batch, length, channels = x.shape
        pad = (self.kernel_size - 1) * self.dilation
        zeros = backend.xp_of(x.data).zeros((batch, pad, channels), dtype=x.dtype)
        padded = F.concat([Tensor(zeros), x], dim=1)        # x_s = 0 for s < 0
        y = self.bias
        for m in range(self.kernel_size):                   # tap m reads x_{t - (k-1-m) d}
            start = m * self.dilation
            y = y + padded[:, start:start + length, :] @ self.weight[:, :, m].T
        return y

    def extra_repr(self) -> str:
        out_channels, in_channels, _ = self.weight.shape
        return (f"{in_channels}, {out_channels}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}")
