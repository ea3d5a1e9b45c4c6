"""Batch normalisation (Ioffe & Szegedy, 2015): each channel over the batch, with its backward.

For x (N, C, *spatial), channel c gathers m = N * prod(spatial) numbers:

    training:  mu_c = mean(x[:, c]),  var_c = mean((x[:, c] - mu_c)^2)   (biased)
    eval:      mu_c, var_c = running_mean[c], running_var[c]
    x_hat = (x - mu_c) / sqrt(var_c + eps),     y = x_hat * weight[c] + bias[c]

In training the running estimates move towards the batch, in place, as PyTorch's
kernel moves them, with the UNBIASED variance (m / (m - 1) times the biased one):

    running_mean = (1 - momentum) running_mean + momentum mu_c
    running_var  = (1 - momentum) running_var  + momentum var_c m / (m - 1)

Backward, with r_c = 1 / sqrt(var_c + eps) and sums over the m numbers of a channel:

    dL/dweight[c] = sum(g * x_hat),   dL/dbias[c] = sum(g)
    training:  dL/dx = weight[c] r_c (g - dL/dbias[c] / m - x_hat dL/dweight[c] / m)
               (layer norm's formula per channel: mu and var depend on x too)
    eval:      dL/dx = weight[c] r_c g   (the statistics are constants)

The two channel sums are the parameter gradients and the two means of the input
gradient at once. The fused op sees x as (N, C, pixels); the composed twin below
is the first formulas written with the small ops.
"""

from __future__ import annotations

from gradzoo.engine.backend import sum_first_axis, sum_last_axis, xp_of
from gradzoo.engine.function import Function


def batch_norm_composed(x, running_mean, running_var, weight=None, bias=None,
                        training: bool = False, momentum: float = 0.1, eps: float = 1e-5):
    """batch_norm with the small ops: mean and variance over every dim but the channels."""
    dims = (0, *range(2, x.ndim))
    per_channel = (x.shape[1],) + (1,) * (x.ndim - 2)  # (C, 1, 1): broadcasts over the pixels
    if training:
        centered = x - x.mean(dim=dims, keepdim=True)
        variance = (centered * centered).mean(dim=dims, keepdim=True)
        if running_mean is not None:
            count = x.numel() // x.shape[1]
            batch_mean = x.detach().mean(dim=dims)
            batch_var = variance.detach().reshape(-1) * (count / (count - 1))
            running_mean.data[...] = ((1 - momentum) * running_mean + momentum * batch_mean).data
            running_var.data[...] = ((1 - momentum) * running_var + momentum * batch_var).data
    else:  # the estimates in the input's dtype, as the fused op takes them
        centered = x - running_mean.to(x.dtype).reshape(per_channel)
        variance = running_var.to(x.dtype).reshape(per_channel)
    x_hat = centered / (variance + eps) ** 0.5
    out = x_hat if weight is None else x_hat * weight.reshape(per_channel)
    return out if bias is None else out + bias.reshape(per_channel)


def channel_sums(a):
    """Sum of (N, C, pixels) over samples and pixels: one number per channel, shape (C,)."""
    n, c = a.shape[0], a.shape[1]
    return sum_first_axis(sum_last_axis(a.reshape(n * c, -1)).reshape(n, c))


class BatchNorm(Function):
    """Normalise each channel by the batch's statistics (training) or the running ones (eval).

    ``running_mean`` and ``running_var`` are the arrays of the running estimates
    (or None); in training they are updated in place (see above).
    """

    parameters = ("training", "momentum", "eps", "has_weight", "has_bias",
                  "running_mean", "running_var")
    training = False
    momentum = 0.1
    eps = 1e-5
    has_weight = False
    has_bias = False
    running_mean = None
    running_var = None
    composed = staticmethod(batch_norm_composed)

    def forward(self, x, *affine):
        xp, n, c = xp_of(x), x.shape[0], x.shape[1]
        pixels = x.reshape(n, c, -1)
        count = n * pixels.shape[2]  # m, the numbers of one channel
        if self.training:
            mean = channel_sums(pixels) * (1.0 / count)
            centered = pixels - mean.reshape(-1, 1)
            variance = channel_sums(centered * centered) * (1.0 / count)
            self._update_running(mean, variance, count)
        else:
            centered = pixels - self.running_mean.astype(x.dtype, copy=False).reshape(-1, 1)
            variance = self.running_var.astype(x.dtype, copy=False)
        self.inv_std = 1.0 / xp.sqrt(variance + self.eps)      # r_c
        centered *= self.inv_std.reshape(-1, 1)                # x_hat, in place
        self.x_hat = centered
        if not (self.has_weight or self.has_bias):
            return centered.reshape(x.shape).copy()            # x_hat is kept: a copy
        out = centered * affine[0].reshape(-1, 1) if self.has_weight else centered + 0
        if self.has_bias:
            out += affine[-1].reshape(-1, 1)
        return out.reshape(x.shape)

    def _update_running(self, mean, variance, count: int) -> None:
        """running = (1 - momentum) running + momentum batch, the variance unbiased; in place."""
        if self.running_mean is not None:
            self.running_mean *= 1.0 - self.momentum
            self.running_mean += self.momentum * mean
        if self.running_var is not None:
            self.running_var *= 1.0 - self.momentum
            self.running_var += (self.momentum * count / (count - 1)) * variance

    def backward(self, grad):
        n, c = grad.shape[0], grad.shape[1]
        g, x_hat = grad.reshape(n, c, -1), self.x_hat
        count = n * g.shape[2]
        sum_g = channel_sums(g)                                # dL/dbias
        sum_g_x_hat = channel_sums(g * x_hat)                  # dL/dweight
        scale = self.inv_std                                   # weight[c] r_c
        if self.has_weight:
            scale = scale * self.inputs[1].data
        if self.training:  # g - mean(g) - x_hat mean(g x_hat), per channel
            grad_x = g - (sum_g * (1.0 / count)).reshape(-1, 1)
            grad_x -= x_hat * (sum_g_x_hat * (1.0 / count)).reshape(-1, 1)
            grad_x *= scale.reshape(-1, 1)
        else:
            grad_x = g * scale.reshape(-1, 1)
        grads = [grad_x.reshape(grad.shape)]
        if self.has_weight:
            grads.append(sum_g_x_hat)
        if self.has_bias:
            grads.append(sum_g)
        return tuple(grads)
