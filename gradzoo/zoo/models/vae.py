"""``vae``: the variational autoencoder (Kingma & Welling, 2014), trained on a lower bound.

    encoder   q(z | x) = N(mu(x), diag sigma^2(x))     a network gives mu and log sigma^2
    sample    z = mu + sigma * eps,  eps ~ N(0, I)      the reparameterisation trick
    decoder   p(x | z): for points  N(f(z), diag s^2)   a network gives the mean f(z); s is learned
                        for pictures Bernoulli(sigmoid(l(z)))  one coin per pixel, l the logits
    prior     p(z) = N(0, I)
    ELBO      log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || p(z))
    loss      reconstruction + beta * KL               (beta = 1: the negative ELBO, nats/example)

Writing z as mu + sigma * eps moves the randomness into eps, which needs no
gradient, so the loss is differentiable in mu and sigma. On points a sample of
the model is z ~ p(z) decoded, *plus* the decoder's noise s * eps: that noise is
part of the model p(x | z), not an afterthought. On pictures (MLPs, or the
convolutional encoder and decoder of ``image_nets.py``) the pixels of ``shapes``
are 0 or 1, and a Bernoulli decoder is the likelihood that fits them: its
-log p(x | z) is the binary cross-entropy of the logits. A sample flips each
pixel's coin, so it is a 0/1 picture like the data; ``reconstruct`` gives the
mean sigmoid(l(z)), each pixel's chance to be lit (the models page measures both).
"""

from __future__ import annotations

import math

from gradzoo.engine import Tensor, backend, nn
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.generative_parts import (
    MLP,
    hidden_sizes,
    network_option,
    standard_normal,
    uses_conv,
    width_options,
)
from gradzoo.zoo.models.image_nets import ConvDecoder, ConvEncoder

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


def bernoulli_nll(x: Tensor, logits: Tensor) -> Tensor:
    """-log Bernoulli(x; sigmoid(l)) per example, summed over pixels: the binary cross-entropy.

    -log p(x | l) = -x log sigmoid(l) - (1 - x) log(1 - sigmoid(l)) = softplus(l) - x l
    """
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)


class VAE(nn.Module):
    """An encoder to (mu, log sigma^2), the reparameterised z, a decoder to p(x | z)'s parameters.

    ``likelihood`` "gaussian": the decoder gives the mean, ``log_scale`` holds log s;
    "bernoulli": the decoder gives one logit per pixel.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, data_dim: int, latent: int,
                 beta: float, likelihood: str = "gaussian"):
        super().__init__()
        self.data_dim, self.latent, self.beta = data_dim, latent, beta
        self.likelihood = likelihood
        self.encoder, self.decoder = encoder, decoder
        if likelihood == "gaussian":      # log s, the decoder's noise: s = 1 first
            self.log_scale = nn.init.new_parameter(data_dim)
        self.last_metrics = {}

    def encode(self, x: Tensor):
        """The posterior q(z | x): its mean and log-variance, each (B, latent)."""
        h = self.encoder(x)
        return h[:, :self.latent], h[:, self.latent:]

    def reparameterise(self, mean: Tensor, log_var: Tensor) -> Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): a sample of q(z | x) that gradients pass."""
        eps = standard_normal(mean.shape[0], self.latent, mean.device)
        return mean + (0.5 * log_var).exp() * eps

    def negative_log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """-log p(x | z) per example, with the decoder's likelihood."""
        if self.likelihood == "bernoulli":
            return bernoulli_nll(x, self.decoder(z))
        return gaussian_nll(x, self.decoder(z), self.log_scale)

    def loss(self, batch) -> Tensor:
        """The negative ELBO (for beta = 1), averaged over the batch; logs both terms."""
        x = batch.flat
        mean, log_var = self.encode(x)
        z = self.reparameterise(mean, log_var)
        reconstruction = self.negative_log_likelihood(x, z).mean()        # -E_q log p(x|z)
        kl = kl_to_standard_normal(mean, log_var).mean()                   # KL(q(z|x) || p(z))
        self.last_metrics = {"reconstruction": reconstruction.item(), "kl": kl.item()}
        return reconstruction + self.beta * kl

    def decoded_mean(self, z: Tensor) -> Tensor:
        """E[x | z]: f(z) for the Gaussian, sigmoid(l(z)) (each pixel's chance to be lit) else."""
        out = self.decoder(z)
        return out.sigmoid() if self.likelihood == "bernoulli" else out

    def reconstruct(self, x: Tensor) -> Tensor:
        """The decoder's mean for the posterior mean of each example: x -> mu(x) -> E[x | mu(x)]."""
        return self.decoded_mean(self.encode(x)[0])

    def sample(self, n: int) -> Tensor:
        """z ~ N(0, I), then x ~ p(x | z): a draw of p(x) = integral p(x | z) p(z) dz.

        Gaussian: x = f(z) + s * eps. Bernoulli: pixel j is lit (1) where u_j < sigmoid(l_j(z)),
        u_j ~ U(0, 1): a coin per pixel, so samples are 0/1 pictures like the data.
        """
        device = next(self.decoder.parameters()).device
        z = standard_normal(n, self.latent, device)
        if self.likelihood == "bernoulli":
            coins = Tensor(backend.random_uniform((n, self.data_dim), device))
            return (coins < self.decoded_mean(z)).float()
        noise = standard_normal(n, self.data_dim, device)
        return self.decoder(z) + self.log_scale.exp() * noise


AUTO_LATENT = (2, 16)   # what latent 0 means, (points, pictures): 2 can be drawn; shapes need more


def build(task, options) -> VAE:
    """A VAE sized for ``task``: conv networks for its pictures, or MLPs for its data dimension."""
    image_shape = getattr(task, "image_shape", None)
    conv = uses_conv(task, options["network"], "vae")
    latent = options["latent"] or AUTO_LATENT[conv]
    if conv:
        encoder = ConvEncoder(image_shape, options["channels"], 2 * latent)
        decoder = ConvDecoder(latent, image_shape, options["channels"])
    else:
        hidden = hidden_sizes(options["width"], options["layers"])
        encoder = MLP([task.data_dim, *hidden, 2 * latent])
        decoder = MLP([latent, *hidden, task.data_dim])
    return VAE(encoder, decoder, task.data_dim, latent, options["beta"],
               choose_likelihood(task, options["likelihood"]))


def choose_likelihood(task, likelihood: str) -> str:
    """auto: Bernoulli for pictures (grey levels in [0, 1]), Gaussian for points."""
    pictures = getattr(task, "image_shape", None) is not None
    if likelihood == "bernoulli" and getattr(task, "value_range", None) != (0.0, 1.0):
        raise ValueError(f"vae: likelihood=bernoulli needs values in [0, 1] (pictures); task "
                         f"'{task.name}' has points: use likelihood=gaussian or auto")
    if likelihood == "auto":
        return "bernoulli" if pictures else "gaussian"
    return likelihood


SPEC = ModelSpec(
    name="vae", kinds=("generative",), build=build,
    summary="variational autoencoder: reparameterised latent, ELBO loss",
    options=(
        Option("latent", 0, "dimensions of the latent code z (0: 2 for points, which can be "
               "drawn, 16 for pictures)", min=0, max=1024),
        Option("beta", 1.0, "weight of the KL term (1: the ELBO; beta-VAE otherwise)",
               min=0.0, max=100.0),
        Option("likelihood", "auto", "the decoder p(x | z): gaussian (learned scale) or "
               "bernoulli (pixels 0..1); auto: bernoulli for pictures, gaussian for points",
               choices=("auto", "gaussian", "bernoulli")),
        network_option("vae"),
        *width_options(128, 2),
        Option("channels", 32, "conv networks: channels after the first halving (then twice "
               "as many)", min=1, max=1024),
    ),
    training={"steps": 3000, "lr": 5e-3, "batch_size": 256, "eval_every": 500},
)


@hookimpl
def register_models(register):
    """Register ``vae``."""
    register(SPEC)
