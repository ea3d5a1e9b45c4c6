"""``flow``: a RealNVP normalizing flow of affine couplings (Dinh, Sohl-Dickstein & Bengio, 2017).

    map         z = f(x) = f_K(... f_2(f_1(x))),  each f_k invertible;  z ~ N(0, I)
    coupling    y = b * x + (1 - b) * (x * exp(s(b * x)) + t(b * x))    b: a 0/1 mask
    inverse     x = b * y + (1 - b) * (y - t(b * y)) * exp(-s(b * y))
    log-det     log |det dy/dx| = sum_j (1 - b_j) s_j(b * x)
    likelihood  log p(x) = log N(f(x); 0, I) + sum_k log |det df_k/dx_{k-1}|   (exact)

A coupling layer lets half of the coordinates (b = 1) through unchanged and
scales and shifts the other half by amounts computed from the first half. Its
Jacobian is triangular, so its determinant is the product of the diagonal,
exp(s): no D x D determinant is ever computed, and s and t may be any
networks, because they never need to be inverted. The masks alternate from one
layer to the next, so every coordinate gets transformed.

Training maximises the exact log-likelihood of the data; sampling draws
z ~ N(0, I) and runs the layers backwards.
"""

from __future__ import annotations

import math

from gradzoo.engine import Tensor, backend, nn
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.generative_parts import MLP, hidden_sizes, standard_normal, width_options

HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)
LOGIT_ALPHA = 0.05  # images: the flow models logit(alpha + (1 - 2 alpha) x), as Dinh et al. do


def alternating_masks(data_dim: int, count: int, image_shape=None) -> list:
    """``count`` 0/1 masks (host arrays), each the complement of the one before.

    Points: coordinate parity ([1, 0], then [0, 1]); images: a checkerboard of pixels.
    """
    xp = backend.array_module("cpu")
    if image_shape is not None:
        rows, cols = xp.indices(image_shape)
        parity = ((rows + cols) % 2).reshape(-1)
    else:
        parity = xp.arange(data_dim) % 2
    return [((parity + k) % 2 == 0).astype("float32") for k in range(count)]


class AffineCoupling(nn.Module):
    """y = x * exp(s) + t, with s and t computed from the masked x and zero where b = 1."""

    def __init__(self, mask, width: int, layers: int):
        super().__init__()
        data_dim = len(mask)
        self.register_buffer("mask", Tensor(mask), persistent=False)   # b
        self.net = MLP([data_dim, *hidden_sizes(width, layers), 2 * data_dim])
        self.log_scale_limit = nn.init.ones_(nn.init.new_parameter(data_dim))
        last = self.net.layers[-1]
        nn.init.zeros_(last.weight)   # s = t = 0 at first: the layer starts as the identity
        nn.init.zeros_(last.bias)

    def scale_and_shift(self, x: Tensor):
        """s(b * x) and t(b * x), both multiplied by (1 - b): they act on the other half only."""
        data_dim = self.mask.shape[0]
        h = self.net(x * self.mask)
        free = 1.0 - self.mask
        s = self.log_scale_limit * h[:, :data_dim].tanh() * free   # |s| bounded: stable exp(s)
        t = h[:, data_dim:] * free
        return s, t

    def forward(self, x: Tensor):
        """y and log |det dy/dx| = sum_j s_j per example."""
        s, t = self.scale_and_shift(x)
        return x * s.exp() + t, s.sum(dim=1)

    def inverse(self, y: Tensor) -> Tensor:
        """x = (y - t) * exp(-s): b * y = b * x, so s and t can be recomputed from y."""
        s, t = self.scale_and_shift(y)
        return (y - t) * (-s).exp()


class RealNVP(nn.Module):
    """A stack of affine couplings with alternating masks, over a standard normal base."""

    def __init__(self, data_dim: int, couplings: int, width: int, layers: int,
                 image_shape=None, pixel_levels=None, value_range=None):
        super().__init__()
        self.data_dim, self.pixel_levels, self.value_range = data_dim, pixel_levels, value_range
        masks = alternating_masks(data_dim, couplings, image_shape)
        self.couplings = nn.ModuleList([AffineCoupling(m, width, layers) for m in masks])

    def to_latent(self, x: Tensor):
        """z = f(x) and the summed log-determinant of the layers' Jacobians."""
        log_det = 0.0
        for coupling in self.couplings:
            x, layer_log_det = coupling(x)
            log_det = log_det + layer_log_det
        return x, log_det

    def from_latent(self, z: Tensor) -> Tensor:
        """x = f^-1(z): the layers' inverses, last layer first."""
        for coupling in reversed(list(self.couplings)):
            z = coupling.inverse(z)
        return z

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) = log N(f(x); 0, I) + log |det df/dx|, per example (nats)."""
        x, log_det_logit = self.to_unbounded(x)
        z, log_det = self.to_latent(x)
        log_base = -(0.5 * z * z).sum(dim=1) - self.data_dim * HALF_LOG_TWO_PI
        return log_base + log_det + log_det_logit

    def to_unbounded(self, x: Tensor):
        """Images: y = logit(p), p = alpha + (1 - 2 alpha) u, u = x rescaled to [0, 1].

        A bounded value becomes any real number, which a Gaussian base can cover
        (Dinh et al., 2017, section 4.1). The change of variables adds
        log |dy/dx| = sum_j log((1 - 2 alpha) / (p_j (1 - p_j) (high - low))).
        Points pass unchanged (log |dy/dx| = 0).
        """
        if self.value_range is None:
            return x, 0.0
        low, high = self.value_range
        p = LOGIT_ALPHA + (1 - 2 * LOGIT_ALPHA) * (x - low) / (high - low)
        log_det = (math.log((1 - 2 * LOGIT_ALPHA) / (high - low)) - p.log() - (1.0 - p).log())
        return p.log() - (1.0 - p).log(), log_det.sum(dim=1)

    def from_unbounded(self, y: Tensor) -> Tensor:
        """The inverse of ``to_unbounded``: u = (sigmoid(y) - alpha) / (1 - 2 alpha), rescaled."""
        if self.value_range is None:
            return y
        low, high = self.value_range
        u = (y.sigmoid() - LOGIT_ALPHA) / (1 - 2 * LOGIT_ALPHA)
        return low + (high - low) * u

    def dequantize(self, x: Tensor) -> Tensor:
        """Grey levels k / (L - 1) become (k + u) / L, u ~ U(0, 1): a density needs no ties.

        On discrete data the likelihood of a continuous model grows without bound
        (it can pile all its mass on the L levels); spreading each level over an
        interval of width 1 / L makes log p a bound on the discrete log-likelihood.
        """
        if self.pixel_levels is None:
            return x
        u = Tensor(backend.random_uniform(x.shape, x.device))
        return (x * (self.pixel_levels - 1) + u) / self.pixel_levels

    def loss(self, batch) -> Tensor:
        """Negative log-likelihood, nats per example: -mean log p(x)."""
        return -self.log_prob(self.dequantize(batch.flat)).mean()

    def sample(self, n: int) -> Tensor:
        """x = f^-1(z) with z ~ N(0, I)."""
        device = self.couplings[0].mask.device
        return self.from_unbounded(self.from_latent(standard_normal(n, self.data_dim, device)))


def build(task, options) -> RealNVP:
    """A flow sized for ``task``; for images, also their shape, grey levels and range."""
    return RealNVP(task.data_dim, options["couplings"], options["width"], options["layers"],
                   getattr(task, "image_shape", None), getattr(task, "pixel_levels", None),
                   getattr(task, "value_range", None))


SPEC = ModelSpec(
    name="flow", kinds=("generative",), build=build,
    summary="RealNVP flow: invertible couplings, exact log-likelihood",
    options=(
        Option("couplings", 6, "affine coupling layers (masks alternate)", min=2, max=64),
        *width_options(64, 2),
    ),
    training={"steps": 2000, "lr": 2e-3, "batch_size": 256, "eval_every": 500},
)


@hookimpl
def register_models(register):
    """Register ``flow``."""
    register(SPEC)
