"""The convolutional gan and vae on pictures: DCGAN's layout and init, each player stepping
alone, the Bernoulli ELBO by hand, learning on tiny shapes, and clear errors."""

import math

import numpy as np
import pytest

from gradzoo.engine import Tensor, nn, no_grad, optim
from gradzoo.lab.errors import UsageError
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.plugins.manager import get_registry
from gradzoo.plugins.testing import check_model
from gradzoo.zoo.models import image_nets
from gradzoo.zoo.models.generative_parts import MLP
from gradzoo.zoo.tasks.generative import seeded


def experiment(model, task="shapes", lr=2e-3, **options):
    training = {"steps": 100, "batch_size": 32, "lr": lr, "warmup": 0, "eval_every": 100_000}
    sizes = {"channels": 8, "size": 8} if task == "shapes" else {"channels": 8}
    return build_experiment(get_registry(), model, task, {**sizes, **options}, seed=0,
                            training=training)


def train_steps(model, batch, steps, lr=2e-3):
    """``steps`` steps as the Trainer takes them (a GAN's own train_step), on one batch."""
    optimizer = optim.AdamW(model.parameters(), lr=lr, betas=(0.5, 0.999), weight_decay=0.0)
    settings = type("Settings", (), {"clip": 1.0})()
    for step in range(steps):
        with seeded(step):
            if hasattr(model, "train_step"):
                model.train_step(batch, optimizer, settings)
            else:
                loss = model.loss(batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()


# ---------------------------------------------------------------------- the networks


@pytest.mark.parametrize("image_shape", [(8, 8), (16, 12)])
def test_each_network_gives_its_shape(image_shape):
    pixels = image_shape[0] * image_shape[1]
    z, x = Tensor(np.zeros((3, 5), np.float32)), Tensor(np.zeros((3, pixels), np.float32))
    assert image_nets.DCGANGenerator(5, image_shape, 4)(z).shape == (3, pixels)
    assert image_nets.DCGANDiscriminator(image_shape, 4)(x).shape == (3, 1)
    assert image_nets.ConvEncoder(image_shape, 4, 10)(x).shape == (3, 10)
    assert image_nets.ConvDecoder(5, image_shape, 4)(z).shape == (3, pixels)


def layers_in_order(module):
    """The leaf layers of ``module`` in the order forward runs them (Sequentials here)."""
    return [m for m in module.modules() if not list(m.children())]


def test_batchnorm_everywhere_but_the_generator_output_and_the_discriminator_input():
    g = layers_in_order(image_nets.DCGANGenerator(4, (8, 8), 4))
    d = layers_in_order(image_nets.DCGANDiscriminator((8, 8), 4))
    weighted = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
    g_layers = [i for i, m in enumerate(g) if isinstance(m, weighted)]
    d_layers = [i for i, m in enumerate(d) if isinstance(m, weighted)]
    for i in g_layers[:-1]:                                  # each hidden layer of G: then BN
        assert any(isinstance(m, nn.BatchNorm2d) for m in g[i + 1:i + 3])
    assert not any(isinstance(m, nn.BatchNorm2d) for m in g[g_layers[-1]:])   # G's output
    assert isinstance(d[d_layers[0] + 1], nn.LeakyReLU)      # D's input layer: no BN
    assert any(isinstance(m, nn.BatchNorm2d) for m in d[d_layers[1]:d_layers[2]])
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in g + d)
    assert [d[i].stride for i in d_layers[:2]] == [(2, 2), (2, 2)]
    assert all(m.negative_slope == 0.2 for m in d if isinstance(m, nn.LeakyReLU))


def test_weights_start_from_a_normal_with_std_0_02():
    g = image_nets.DCGANGenerator(16, (16, 16), 32)
    d = image_nets.DCGANDiscriminator((16, 16), 32)
    for module in (g, d):
        for name, p in module.named_parameters():
            values = p.numpy()
            if values.ndim > 1:                            # conv and linear weights
                assert values.std() == pytest.approx(0.02, rel=0.1), name
                assert abs(values.mean()) < 0.002, name
        for norm in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
            assert norm.weight.numpy().mean() == pytest.approx(1.0, abs=0.01)   # N(1, 0.02)
            assert 0.01 < norm.weight.numpy().std() < 0.03
            np.testing.assert_array_equal(norm.bias.numpy(), 0.0)


@pytest.mark.parametrize("network", [image_nets.DCGANGenerator, image_nets.ConvDecoder])
def test_sizes_not_divisible_by_4_are_refused_clearly(network):
    with pytest.raises(ValueError, match="multiples of 4.*10 x 12"):
        network(4, (10, 12), 4)
    with pytest.raises(UsageError, match="multiples of 4.*network=mlp"):
        experiment("gan", size=10)
    with pytest.raises(UsageError, match="multiples of 4"):
        experiment("vae", size=10)


# ---------------------------------------------------------------------- choosing the network


def test_auto_picks_convolutions_for_pictures_and_mlps_for_points():
    on_pictures, on_points = experiment("gan").model, experiment("gan", task="moons").model
    assert isinstance(on_pictures.generator, image_nets.DCGANGenerator)
    assert isinstance(on_points.generator, MLP) and isinstance(on_points.discriminator, MLP)
    assert isinstance(experiment("vae").model.encoder, image_nets.ConvEncoder)
    assert isinstance(experiment("vae", network="mlp").model.encoder, MLP)
    with pytest.raises(UsageError, match="network=conv needs a task with pictures"):
        experiment("vae", task="moons", network="conv")
    with pytest.raises(UsageError, match="bernoulli needs values in"):
        experiment("vae", task="moons", likelihood="bernoulli")


# ---------------------------------------------------------------------- gan


def test_each_dcgan_player_moves_only_in_its_own_step():
    exp = experiment("gan")
    model = exp.model
    optimizer = optim.AdamW(model.parameters(), lr=1e-2)
    batch = exp.task.batch(16, 1)

    def snapshot(module):
        return [p.numpy().copy() for p in module.parameters()]

    def moved(before, module):
        return [not np.array_equal(a, p.numpy()) for a, p in zip(before, module.parameters())]

    g_before, d_before = snapshot(model.generator), snapshot(model.discriminator)
    d_loss = model.discriminator_loss(batch.flat, model.generate(16).detach())
    model.update_player(d_loss, model.discriminator, optimizer, exp.settings)
    assert all(moved(d_before, model.discriminator)) and not any(moved(g_before, model.generator))
    g_before, d_before = snapshot(model.generator), snapshot(model.discriminator)
    g_loss = model.generator_loss(model.generate(16))
    model.update_player(g_loss, model.generator, optimizer, exp.settings,
                        frozen=model.discriminator)
    assert all(moved(g_before, model.generator)) and not any(moved(d_before, model.discriminator))


def test_the_dcgan_learns_how_bright_shapes_are():
    """G starts at grey 0.5 everywhere; within 60 steps its pictures are mostly black, as data."""
    exp = experiment("gan")
    batch = exp.task.batch(64, 1)
    with no_grad():
        start = exp.model.generate(256).numpy().mean()
    train_steps(exp.model, batch, 60, lr=5e-3)
    with no_grad():
        end = exp.model.generate(256).numpy().mean()
    data = batch.flat.numpy().mean()
    assert abs(end - data) < 0.5 * abs(start - data), (start, end, data)


# ---------------------------------------------------------------------- vae


def test_the_conv_vae_loss_is_the_bernoulli_negative_elbo():
    """With the networks' last layers zeroed but for biases, every term is known by hand:
    logits l = b everywhere, and q(z | x) = N(m, e^v) for every x."""
    model = experiment("vae", size=8, latent=2).model
    assert model.likelihood == "bernoulli"
    b, m, v = 0.7, np.array([0.5, -1.0]), np.array([0.2, -0.4])
    last = model.decoder.upsample[-1]
    nn.init.zeros_(last.weight)
    last.bias.data[...] = b
    nn.init.zeros_(model.encoder.read_out.weight)
    model.encoder.read_out.bias.data[...] = np.concatenate([m, v]).astype(np.float32)
    batch = experiment("vae").task.batch(4, 1)
    x = batch.flat.numpy().astype(np.float64)
    # -log p(x | z) = sum_pixels softplus(l) - x l;  KL = 1/2 sum_j (m^2 + e^v - 1 - v)
    reconstruction = (math.log1p(math.exp(b)) - x * b).sum(axis=1).mean()
    kl = 0.5 * (m ** 2 + np.exp(v) - 1 - v).sum()
    assert model.loss(batch).item() == pytest.approx(reconstruction + kl, rel=1e-5)
    assert model.last_metrics["kl"] == pytest.approx(kl, rel=1e-5)
    nn.init.zeros_(model.encoder.read_out.bias)
    last.bias.data[...] = 0.0                                # l = 0: log 2 nats a pixel, KL 0
    assert model.loss(batch).item() == pytest.approx(64 * math.log(2), rel=1e-6)


def test_the_conv_vae_samples_flip_each_pixels_coin():
    """Samples are 0/1 pictures; over many draws of one z a pixel is lit sigmoid(l) of the time."""
    model = experiment("vae").model
    with no_grad(), seeded(0):
        samples = model.sample(50).numpy()
    assert samples.shape == (50, 64) and set(np.unique(samples)) <= {0.0, 1.0}
    model.decoded_mean = lambda z: Tensor(np.full((len(z), 64), 0.3, np.float32))
    with no_grad(), seeded(1):
        lit = model.sample(2000).numpy().mean()
    assert lit == pytest.approx(0.3, abs=0.01)


def test_the_conv_vae_learns_tiny_shapes():
    exp = experiment("vae", latent=4)
    batch = exp.task.batch(32, 1)
    with seeded(0):
        start = exp.model.loss(batch).item()
    train_steps(exp.model, batch, 60, lr=5e-3)
    with seeded(0):
        end = exp.model.loss(batch).item()
    assert end < 0.6 * start, (start, end)


# ---------------------------------------------------------------------- the kit


@pytest.mark.parametrize("model", ["gan", "vae"])
def test_conforms_on_shapes(model):
    check_model(model, task="shapes")
