"""``LayerNorm``: normalise each position's features, then scale and shift them."""

from __future__ import annotations

from gradzoo.engine import functional as F
from gradzoo.engine.nn import init
from gradzoo.engine.nn.module import Module
from gradzoo.engine.tensor import Tensor


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, over the last dims (Ba et al., 2016).

    ``normalized_shape`` names those last dims (an int for the usual one dim).
    ``weight`` starts at ones and ``bias`` at zeros, so the layer starts as a
    pure normalisation; ``elementwise_affine=False`` leaves them out.

    >>> from gradzoo.engine import nn, tensor
    >>> y = nn.LayerNorm(2)(tensor([[1.0, 3.0]]))
    >>> [round(v, 3) for v in y.tolist()[0]]
    [-1.0, 1.0]
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 device: str | None = None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = init.ones_(init.new_parameter(*self.normalized_shape, device=device))
            self.bias = init.zeros_(init.new_parameter(*self.normalized_shape, device=device))

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.weight is not None}")
