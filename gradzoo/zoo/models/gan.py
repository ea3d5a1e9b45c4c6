"""``gan``: a generative adversarial network (Goodfellow et al., 2014): MLPs, or a DCGAN.

    generator       x = G(z),  z ~ N(0, I)                 turns noise into samples
    discriminator   D(x) = sigmoid(d(x))                   the probability that x is real
    game            min_G max_D  E_data log D(x) + E_z log(1 - D(G(z)))
    D's loss        -log D(x) - log(1 - D(G(z)))  =  softplus(-d(x)) + softplus(d(G(z)))
    G's loss        -log D(G(z))  =  softplus(-d(G(z)))     the non-saturating loss

Each training step follows Algorithm 1 of the paper: ``d_steps`` (their k)
discriminator steps, each on its own slice of the batch and fresh fakes (the
fakes are detached: G does not move), then one generator step (D does not
move). On points both players are MLPs, D's with leaky ReLUs (Radford et al.,
2016), so the generator gets a gradient even where D's units are off. On
pictures they are the DCGAN of Radford et al. (``image_nets.py``, where its
stabilisers are listed): transposed convolutions with BatchNorm in G, strided
convolutions with LeakyReLU in D.

Minimising log(1 - D(G(z))), the literal minimax loss, gives G almost no
gradient early on, when D rejects its samples easily: log(1 - D) is flat
near D = 0. Goodfellow et al. themselves propose maximising log D(G(z))
instead; it has the same fixed point and strong gradients where G is bad.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.generative_parts import (
    MLP,
    hidden_sizes,
    network_option,
    softplus,
    standard_normal,
    uses_conv,
    width_options,
)
from gradzoo.zoo.models.image_nets import DCGANDiscriminator, DCGANGenerator


class GAN(nn.Module):
    """A generator (noise -> sample) and a discriminator (sample -> logit d(x)), MLPs or convs."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, noise: int, d_steps: int,
                 value_range=None):
        super().__init__()
        self.noise, self.d_steps, self.value_range = noise, d_steps, value_range
        self.generator, self.discriminator = generator, discriminator
        self.last_metrics = {}

    def generate(self, n: int) -> Tensor:
        """G(z) for ``n`` draws z ~ N(0, I); for images squashed into their range by a sigmoid."""
        device = next(self.generator.parameters()).device
        x = self.generator(standard_normal(n, self.noise, device))
        if self.value_range is None:
            return x
        low, high = self.value_range
        return low + (high - low) * x.sigmoid()

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """-E log D(x) - E log(1 - D(G(z))): binary cross-entropy, real = 1, fake = 0."""
        real_loss = softplus(-self.discriminator(real)).mean()     # -E log D(x)
        fake_loss = softplus(self.discriminator(fake)).mean()      # -E log(1 - D(G(z)))
        return real_loss + fake_loss

    def generator_loss(self, fake: Tensor) -> Tensor:
        """-E log D(G(z)): the non-saturating generator loss."""
        return softplus(-self.discriminator(fake)).mean()

    def loss(self, batch) -> Tensor:
        """The discriminator's loss on this batch (log 4 = 1.386 when D cannot tell at all)."""
        return self.discriminator_loss(batch.flat, self.generate(len(batch)))

    def train_step(self, batch, optimizer, settings) -> float:
        """``d_steps`` discriminator steps, then one generator step; returns D's last loss."""
        slice_size = max(1, len(batch) // self.d_steps)
        for k in range(self.d_steps):
            real = batch.flat[k * slice_size:(k + 1) * slice_size]
            d_loss = self.discriminator_loss(real, self.generate(len(real)).detach())
            self.update_player(d_loss, self.discriminator, optimizer, settings)   # G: no grads
        g_loss = self.generator_loss(self.generate(slice_size))
        self.update_player(g_loss, self.generator, optimizer, settings, frozen=self.discriminator)
        self.last_metrics = {"d_loss": d_loss.item(), "g_loss": g_loss.item()}
        return d_loss.item()

    @staticmethod
    def update_player(loss, player, optimizer, settings, frozen=None) -> None:
        """Backward, then update only ``player``: the optimizer skips params whose grad is None."""
        optimizer.zero_grad()
        loss.backward()
        if frozen is not None:
            frozen.zero_grad()                          # D's grads from G's loss: dropped
        nn.utils.clip_grad_norm_(list(player.parameters()), settings.clip)
        optimizer.step()

    def sample(self, n: int) -> Tensor:
        """``n`` samples x = G(z): the generator alone makes them."""
        return self.generate(n)


# What 0 ("auto") means for noise and d_steps: (points, pictures), measured on moons and shapes.
AUTO_NOISE = (8, 32)      # pictures vary in kind, size, place and angle: more dimensions of z
AUTO_D_STEPS = (2, 1)     # Goodfellow's k = 2 settles the MLPs on moons; DCGAN takes k = 1


def build(task, options) -> GAN:
    """A GAN sized for ``task``: a DCGAN for its pictures, or MLPs for its data dimension."""
    conv = uses_conv(task, options["network"], "gan")
    noise = options["noise"] or AUTO_NOISE[conv]
    d_steps = options["d_steps"] or AUTO_D_STEPS[conv]
    if conv:
        generator = DCGANGenerator(noise, task.image_shape, options["channels"])
        discriminator = DCGANDiscriminator(task.image_shape, options["channels"])
    else:
        hidden = hidden_sizes(options["width"], options["layers"])
        generator = MLP([noise, *hidden, task.data_dim])
        discriminator = MLP([task.data_dim, *hidden, 1], activation="leaky_relu")
    return GAN(generator, discriminator, noise, d_steps, getattr(task, "value_range", None))


SPEC = ModelSpec(
    name="gan", kinds=("generative",), build=build,
    summary="GAN: generator vs discriminator, non-saturating loss",
    options=(
        Option("noise", 0, "dimensions of the generator's input noise z (0: 8 for points, "
               "32 for pictures)", min=0, max=1024),
        Option("d_steps", 0, "discriminator steps per generator step (k in Goodfellow et al.; "
               "0: 2 for points, 1 for pictures)", min=0, max=100),
        network_option("gan"),
        *width_options(128, 2),
        Option("channels", 32, "conv networks: channels after the first halving (then twice "
               "as many)", min=1, max=1024),
    ),
    # One set for points and pictures (see the page); DCGAN's beta1 = 0.5 waits on the specs.
    training={"steps": 4000, "lr": 2e-3, "batch_size": 64, "eval_every": 1000},
)


@hookimpl
def register_models(register):
    """Register ``gan``."""
    register(SPEC)
