"""Group normalisation (Wu & He, 2018): layer norm over groups of channels, with its backward.

The C channels of x (N, C, *spatial) are split into G groups of C / G channels
each; every (sample, group) is one row of n = (C / G) * prod(spatial) numbers:

    mu = mean(row),  var = mean((row - mu)^2)   (biased, as in PyTorch)
    x_hat = (x - mu) / sqrt(var + eps),     y = x_hat * weight[c] + bias[c]

``weight`` and ``bias`` hold one number per channel c (not per group). The
backward is layer norm's, row by row, with g_hat = g * weight[c] and
r = 1 / sqrt(var + eps):

    dL/dx = r (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat))   (means over the row)
    dL/dweight[c] = sum over samples and pixels of g * x_hat,   dL/dbias[c] = sum of g

The statistics never mix samples, so a batch of one normalises as a batch of 64
(batch norm's weak spot), which is why diffusion U-Nets use it. G = 1 is layer
norm over (C, H, W); G = C is instance norm. The fused op works on two views of
the same numbers: (N * G, n), whose rows carry the statistics, and
(N, C, pixels), whose middle axis carries the per-channel weight and bias. Its
backward needs only two sums per (sample, channel), of g and of g * x_hat: they
are the parameter gradients, and (times weight[c], summed over a group) the two
row means of the formula above.
"""

from __future__ import annotations

from gradzoo.engine.backend import sum_first_axis, sum_last_axis, xp_of
from gradzoo.engine.function import Function


def group_norm_composed(x, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """group_norm with the small ops: reshape into groups, mean, subtract, square, mean."""
    n, c = x.shape[0], x.shape[1]
    groups = x.reshape(n, num_groups, -1)
    centered = groups - groups.mean(dim=-1, keepdim=True)
    variance = (centered * centered).mean(dim=-1, keepdim=True)
    x_hat = (centered / (variance + eps) ** 0.5).reshape(x.shape)
    per_channel = (c,) + (1,) * (x.ndim - 2)  # weight[c] broadcast over the pixels
    out = x_hat if weight is None else x_hat * weight.reshape(per_channel)
    return out if bias is None else out + bias.reshape(per_channel)


class GroupNorm(Function):
    """Normalise each group of ``num_groups`` channels per sample, then scale and shift."""

    parameters = ("num_groups", "eps", "has_weight", "has_bias")
    eps = 1e-5
    has_weight = False
    has_bias = False
    composed = staticmethod(group_norm_composed)

    def forward(self, x, *affine):
        rows = x.reshape(x.shape[0] * self.num_groups, -1)
        n = rows.shape[1]
        centered = rows - sum_last_axis(rows) * (1.0 / n)        # x - mu
        variance = sum_last_axis(centered * centered) * (1.0 / n)
        self.inv_std = 1.0 / xp_of(x).sqrt(variance + self.eps)  # r, one per row
        centered *= self.inv_std                                 # x_hat, in place
        self.x_hat = centered
        if not (self.has_weight or self.has_bias):
            return centered.reshape(x.shape).copy()              # x_hat is kept: a copy
        out = centered.reshape(x.shape[0], x.shape[1], -1)       # (N, C, pixels)
        if self.has_weight:
            out = out * affine[0].reshape(-1, 1)                 # weight[c]
        if self.has_bias:
            out = out + affine[-1].reshape(-1, 1)                # bias[c]
        return out.reshape(x.shape)

    def backward(self, grad):
        n, c, groups = grad.shape[0], grad.shape[1], self.num_groups
        g, x_hat = grad.reshape(n, c, -1), self.x_hat.reshape(n, c, -1)
        sum_g = sum_last_axis(g)                                 # (N, C, 1): over the pixels
        sum_g_x_hat = sum_last_axis(g * x_hat)
        grads = []
        if self.has_weight:
            grads.append(sum_first_axis(sum_g_x_hat.reshape(n, c)))  # dL/dweight
        if self.has_bias:
            grads.append(sum_first_axis(sum_g.reshape(n, c)))        # dL/dbias
        # weight[c] is constant over a channel's pixels, so the row means of g_hat and
        # g_hat x_hat are the channel sums times the weight, summed over the group
        w = self.inputs[1].data.reshape(1, c, 1) if self.has_weight else 1.0
        size = self.x_hat.shape[1]

        def group_mean(sums):                                    # (N, C, 1) -> (N, G, 1)
            return (sums * w).reshape(n, groups, -1).sum(axis=-1, keepdims=True) * (1.0 / size)

        def per_channel(a):                                      # (N, G, x) -> (N, C, 1)
            return xp_of(a).broadcast_to(a, (n, groups, c // groups)).reshape(n, c, 1)

        # dL/dx = r w g - r mean(g_hat) - r mean(g_hat x_hat) x_hat: three coefficients
        r = self.inv_std.reshape(n, groups, 1)
        grad_x = g * per_channel(r * (w.reshape(1, groups, -1) if self.has_weight else 1.0))
        grad_x -= x_hat * per_channel(r * group_mean(sum_g_x_hat))
        grad_x -= per_channel(r * group_mean(sum_g))
        return (grad_x.reshape(grad.shape), *grads)
