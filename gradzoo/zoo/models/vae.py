"""``vae``: the variational autoencoder (Kingma & Welling, 2014), trained on a lower bound.

    encoder   q(z | x) = N(mu(x), diag sigma^2(x))     an MLP gives mu and log sigma^2
    sample    z = mu + sigma * eps,  eps ~ N(0, I)      the reparameterisation trick
    decoder   p(x | z) = N(f(z), diag s^2)             an MLP gives the mean f(z); s is learned
    prior     p(z) = N(0, I)
    ELBO      log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || p(z))
    loss      reconstruction + beta * KL               (beta = 1: the negative ELBO, nats/example)

Writing z as mu + sigma * eps moves the randomness into eps, which needs no
gradient, so the loss is differentiable in mu and sigma. A sample of the model
is z ~ p(z) decoded, *plus* the decoder's noise s * eps: that noise is part of
the model p(x | z), not an afterthought.
"""

from __future__ import annotations

import math

from gradzoo.engine import Tensor, nn
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.generative_parts import MLP, hidden_sizes, standard_normal, width_options

HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


def kl_to_standard_normal(mean: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(mean, e^log_var) || N(0, 1)) per example, summed over the latent dimensions.

    KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2), which is >= 0, and 0 only
    when mu = 0 and sigma = 1 (Kingma & Welling 2014, appendix B).
    """
    return (0.5 * (mean * mean + log_var.exp() - 1.0 - log_var)).sum(dim=1)


def gaussian_nll(x: Tensor, mean: Tensor, log_scale: Tensor) -> Tensor:
    """-log N(x; mean, s^2) per example, summed over dimensions, with log s = ``log_scale``.

    -log N(x; m, s^2) = 1/2 ((x - m) / s)^2 + log s + 1/2 log(2 pi)
    """
    z = (x - mean) / log_scale.exp()
    return (0.5 * z * z + log_scale + HALF_LOG_TWO_PI).sum(dim=1)


class VAE(nn.Module):
    """An MLP encoder to (mu, log sigma^2), the reparameterised z, an MLP decoder to the mean."""

    def __init__(self, data_dim: int, latent: int, width: int, layers: int, beta: float):
        super().__init__()
        self.data_dim, self.latent, self.beta = data_dim, latent, beta
        hidden = hidden_sizes(width, layers)
        self.encoder = MLP([data_dim, *hidden, 2 * latent])
        self.decoder = MLP([latent, *hidden, data_dim])
        self.log_scale = nn.init.new_parameter(data_dim)  # log s, the decoder's noise: s = 1 first
        self.last_metrics = {}

    def encode(self, x: Tensor):
        """The posterior q(z | x): its mean and log-variance, each (B, latent)."""
        h = self.encoder(x)
        return h[:, :self.latent], h[:, self.latent:]

    def reparameterise(self, mean: Tensor, log_var: Tensor) -> Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): a sample of q(z | x) that gradients pass."""
        eps = standard_normal(mean.shape[0], self.latent, mean.device)
        return mean + (0.5 * log_var).exp() * eps

    def loss(self, batch) -> Tensor:
        """The negative ELBO (for beta = 1), averaged over the batch; logs both terms."""
        x = batch.flat
        mean, log_var = self.encode(x)
        z = self.reparameterise(mean, log_var)
        reconstruction = gaussian_nll(x, self.decoder(z), self.log_scale).mean()  # -E_q log p(x|z)
        kl = kl_to_standard_normal(mean, log_var).mean()                   # KL(q(z|x) || p(z))
        self.last_metrics = {"reconstruction": reconstruction.item(), "kl": kl.item()}
        return reconstruction + self.beta * kl

    def reconstruct(self, x: Tensor) -> Tensor:
        """The decoder's mean for the posterior mean of each example: x -> mu(x) -> f(mu(x))."""
        return self.decoder(self.encode(x)[0])

    def sample(self, n: int) -> Tensor:
        """x = f(z) + s * eps with z ~ N(0, I): a draw of p(x) = integral p(x | z) p(z) dz."""
        device = self.log_scale.device
        z = standard_normal(n, self.latent, device)
        noise = standard_normal(n, self.data_dim, device)
        return self.decoder(z) + self.log_scale.exp() * noise


def build(task, options) -> VAE:
    """A VAE sized for ``task``: ``task.data_dim`` numbers in, and out."""
    return VAE(task.data_dim, options["latent"], options["width"], options["layers"],
               options["beta"])


SPEC = ModelSpec(
    name="vae", kinds=("generative",), build=build,
    summary="variational autoencoder: reparameterised latent, ELBO loss",
    options=(
        Option("latent", 2, "dimensions of the latent code z (2 can be drawn)", min=1, max=1024),
        Option("beta", 1.0, "weight of the KL term (1: the ELBO; beta-VAE otherwise)",
               min=0.0, max=100.0),
        *width_options(128, 2),
    ),
    training={"steps": 3000, "lr": 5e-3, "batch_size": 256, "eval_every": 500},
)


@hookimpl
def register_models(register):
    """Register ``vae``."""
    register(SPEC)
