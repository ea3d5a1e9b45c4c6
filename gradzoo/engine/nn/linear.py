"""``Linear``: the fully connected layer y = x W^T + b."""

from __future__ import annotations

import math

from gradzoo.engine import functional as F
from gradzoo.engine.nn import init
from gradzoo.engine.nn.module import Module
from gradzoo.engine.tensor import Tensor


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch.

    Initial values as PyTorch's: W and b ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).
    (PyTorch words it as kaiming_uniform(a=sqrt(5)): gain = sqrt(2 / (1 + a^2))
    = sqrt(1/3), bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).)

    >>> from gradzoo.engine import nn, tensor
    >>> layer = nn.Linear(3, 2)
    >>> layer(tensor([[1.0, 2.0, 3.0]])).shape
    (1, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: str | None = None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = init.uniform_(init.new_parameter(out_features, in_features, device=device),
                                    -bound, bound)
        self.bias = None
        if bias:
            self.bias = init.uniform_(init.new_parameter(out_features, device=device),
                                      -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
