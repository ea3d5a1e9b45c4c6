"""Normalisation layers: ``LayerNorm`` (features), ``GroupNorm`` and ``BatchNorm1d/2d`` (channels).

Each normalises, then scales and shifts by a learned ``weight`` (ones at first)
and ``bias`` (zeros), so it starts as a pure normalisation.
"""

from __future__ import annotations

from gradzoo.engine import functional as F
from gradzoo.engine.factories import ones, zeros
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


def _affine_parameters(channels: int, affine: bool, bias: bool, device):
    """(weight, bias) of a per-channel affine map: ones and zeros, or None where left out."""
    if not affine:
        return None, None
    weight = init.ones_(init.new_parameter(channels, device=device))
    return weight, init.zeros_(init.new_parameter(channels, device=device)) if bias else None


class GroupNorm(Module):
    """Normalise the channels of each sample in ``num_groups`` groups (Wu & He, 2018).

    ``num_channels`` must split into ``num_groups`` equal groups; ``weight`` and
    ``bias`` hold one number per channel. No statistics are shared between samples,
    so training and eval are the same and a batch of one is fine.

    >>> from gradzoo.engine import nn, tensor
    >>> nn.GroupNorm(1, 2)(tensor([[[1.0], [3.0]]])).numpy().round(4).tolist()
    [[[-1.0], [1.0]]]
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device: str | None = None, *, bias: bool = True):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = \
            num_groups, num_channels, eps, affine
        self.weight, self.bias = _affine_parameters(num_channels, affine, bias, device)

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class _BatchNorm(Module):
    """Batch normalisation (Ioffe & Szegedy, 2015) of each channel: the base of 1d and 2d.

    In ``train()`` each channel is normalised by the batch's mean and variance,
    and the buffers ``running_mean`` and ``running_var`` move towards them:
    running = (1 - momentum) running + momentum batch (``momentum=None``: the
    plain average of all batches so far), counted in ``num_batches_tracked``.
    In ``eval()`` the running estimates are used, so one sample gets the same
    answer alone as in any batch. ``track_running_stats=False`` keeps no
    buffers and always uses the batch.
    """

    expected_dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: str | None = None, *, bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight, self.bias = _affine_parameters(num_features, affine, bias, device)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device))
            self.register_buffer("running_var", ones(num_features, device=device))
            self.register_buffer("num_batches_tracked", zeros((), dtype="int64", device=device))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self) -> None:
        """Forget what the running estimates have seen: mean 0, variance 1, no batches."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.expected_dims:
            raise ValueError(f"{type(self).__name__}: expected a "
                             f"{' or '.join(f'{d}D' for d in self.expected_dims)} input "
                             f"(got {x.ndim}D input of shape {x.shape})")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # the average of every batch so far
                momentum = 1.0 / int(self.num_batches_tracked.item())
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of features (N, C) or of sequences (N, C, L), per channel C.

    >>> from gradzoo.engine import nn, tensor
    >>> norm = nn.BatchNorm1d(1)
    >>> norm(tensor([[1.0], [3.0]])).numpy().round(4).tolist()
    [[-1.0], [1.0]]
    >>> norm.running_mean.tolist(), norm.num_batches_tracked.item()
    ([0.20000000298023224], 1)
    """

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W), each channel over the batch and the pixels.

    >>> from gradzoo.engine import nn, tensor
    >>> norm = nn.BatchNorm2d(1)
    >>> norm(tensor([[[[1.0, 3.0]]]])).numpy().round(4).tolist()
    [[[[-1.0, 1.0]]]]
    >>> [name for name in norm.state_dict()]
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    expected_dims = (4,)
