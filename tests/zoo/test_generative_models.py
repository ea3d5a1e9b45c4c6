"""The generative models learn moons, and their mathematics holds: KL >= 0, exact flow
log-determinants, a forward diffusion that ends in N(0, I), a GAN that steps each player
alone and resumes exactly."""

import json
import math

import numpy as np
import pytest

from gradzoo.engine import Tensor, nn, no_grad
from gradzoo.lab.training import runs
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.lab.training.loop import Trainer
from gradzoo.plugins.manager import get_registry
from gradzoo.zoo.models import diffusion, flow, vae
from gradzoo.zoo.models.generative_parts import MLP

MODELS = ["vae", "diffusion", "gan", "flow"]

# Reduced sizes that still learn moons in a few seconds (seed 0).
SMALL = {
    "vae": ({"width": 32}, {"steps": 1500, "batch_size": 256, "lr": 5e-3}),
    "diffusion": ({"width": 32}, {"steps": 3000, "batch_size": 128, "lr": 4e-3}),
    "gan": ({"width": 64}, {"steps": 1200, "batch_size": 128, "lr": 2e-3}),
    "flow": ({"width": 32, "couplings": 4}, {"steps": 400, "batch_size": 128, "lr": 2e-3}),
}


def experiment(model, task="moons", steps=None, **options):
    small_options, training = SMALL[model]
    training = {**training, "warmup": 20, "eval_every": 100_000, "log_every": 10}
    if steps is not None:
        training["steps"] = steps
    return build_experiment(get_registry(), model, task, {**small_options, **options}, seed=0,
                            training=training)


def train(exp, run_dir):
    trainer = Trainer(exp, run_dir, progress=False)
    trainer.start()
    return trainer.train()


@pytest.mark.parametrize("model", MODELS)
def test_beats_the_gaussian_baseline_on_moons(model, tmp_path):
    """Energy distance to held-out moons well under that of a Gaussian fitted to them."""
    exp = experiment(model)
    scores = train(exp, tmp_path / "run").scores
    assert scores["energy_distance"] < 0.6 * scores["gaussian_baseline"], scores


@pytest.mark.parametrize("model", MODELS)
def test_runs_on_images_too(model, tmp_path):
    """The same models read flattened images: a few steps on 8 x 8 shapes, then samples."""
    fewer_steps = {"timesteps": 10} if model == "diffusion" else {}
    exp = experiment(model, task="shapes", steps=3, size=8, **fewer_steps)
    result = train(exp, tmp_path / "run")
    assert math.isfinite(result.final_loss)
    with no_grad():
        assert exp.model.sample(5).shape == (5, 64)


# ---------------------------------------------------------------------- vae


def test_kl_is_non_negative_and_zero_only_at_the_prior():
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(500, 3)) * 2, rng.normal(size=(500, 3)) * 2
    kl = vae.kl_to_standard_normal(Tensor(mean), Tensor(log_var)).numpy()
    assert kl.shape == (500,) and (kl >= 0).all() and kl.min() > 0
    zero = vae.kl_to_standard_normal(Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 3))))
    np.testing.assert_allclose(zero.numpy(), 0.0, atol=1e-7)


def test_kl_matches_a_monte_carlo_estimate():
    """KL(q || p) = E_q[log q(z) - log p(z)], estimated from 200 000 draws of q."""
    mean, log_var = np.array([[0.7, -1.2]]), np.array([[-0.5, 0.8]])
    std = np.exp(0.5 * log_var)
    z = mean + std * np.random.default_rng(1).standard_normal((200_000, 2))
    log_q = (-0.5 * ((z - mean) / std) ** 2 - np.log(std)).sum(axis=1)
    log_p = (-0.5 * z ** 2).sum(axis=1)
    exact = vae.kl_to_standard_normal(Tensor(mean), Tensor(log_var)).item()
    assert exact == pytest.approx((log_q - log_p).mean(), rel=0.02)


def test_vae_logs_reconstruction_and_kl_and_the_kl_stays_non_negative(tmp_path):
    train(experiment("vae", steps=30), tmp_path)
    logged = [m for m in runs.read_metrics(tmp_path) if "kl" in m]
    assert len(logged) == 3
    for record in logged:
        assert record["kl"] >= 0
        assert record["loss"] == pytest.approx(record["reconstruction"] + record["kl"], rel=1e-4)


def test_the_reparameterisation_trick_lets_gradients_reach_mean_and_variance():
    model = experiment("vae", steps=1).model
    mean = Tensor(np.zeros((4, 2)), requires_grad=True)
    log_var = Tensor(np.zeros((4, 2)), requires_grad=True)
    model.reparameterise(mean, log_var).sum().backward()
    np.testing.assert_allclose(mean.grad.numpy(), 1.0)
    assert np.abs(log_var.grad.numpy()).sum() > 0  # dz/dlog_var = eps / 2, random


# ---------------------------------------------------------------------- flow


def random_flow(data_dim=2, image_shape=None):
    """A float64 RealNVP whose layers are far from the identity it starts as."""
    model = flow.RealNVP(data_dim, couplings=4, width=16, layers=2, image_shape=image_shape)
    for coupling in model.couplings:
        nn.init.normal_(coupling.net.layers[-1].weight, std=0.5)
        nn.init.normal_(coupling.net.layers[-1].bias, std=0.5)
    return model.to("float64")


def numerical_log_det(model, x, h=1e-6):
    """log |det J| of z = f(x) for each row of x, J by central differences."""
    out = []
    for row in x:
        columns = []
        for j in range(len(row)):
            step = np.zeros_like(row)
            step[j] = h
            plus = model.to_latent(Tensor(row + step, dtype="float64").unsqueeze(0))[0].numpy()
            minus = model.to_latent(Tensor(row - step, dtype="float64").unsqueeze(0))[0].numpy()
            columns.append((plus - minus)[0] / (2 * h))
        out.append(np.linalg.slogdet(np.stack(columns, axis=1))[1])
    return np.array(out)


@pytest.mark.parametrize("data_dim, image_shape", [(2, None), (6, (2, 3))])
def test_flow_log_determinant_matches_a_numerical_jacobian(data_dim, image_shape):
    model = random_flow(data_dim, image_shape)
    x = np.random.default_rng(0).normal(size=(5, data_dim))
    with no_grad():
        _, log_det = model.to_latent(Tensor(x, dtype="float64"))
        expected = numerical_log_det(model, x)
    assert np.abs(expected).max() > 0.1                   # the map is far from volume-preserving
    np.testing.assert_allclose(log_det.numpy(), expected, atol=1e-6)


def test_flow_inverse_undoes_the_map():
    model = random_flow()
    x = np.random.default_rng(0).normal(size=(50, 2))
    with no_grad():
        z, _ = model.to_latent(Tensor(x, dtype="float64"))
        np.testing.assert_allclose(model.from_latent(z).numpy(), x, atol=1e-10)


def test_flow_density_is_exact_it_integrates_to_one():
    """sum of p(x) over a fine grid times the cell area = 1: the likelihood is normalised."""
    model = random_flow()
    edges = np.linspace(-12, 12, 401)
    centres = (edges[:-1] + edges[1:]) / 2
    grid = np.stack(np.meshgrid(centres, centres), axis=-1).reshape(-1, 2)
    with no_grad():
        density = np.exp(model.log_prob(Tensor(grid, dtype="float64")).numpy())
    assert density.sum() * (edges[1] - edges[0]) ** 2 == pytest.approx(1.0, abs=0.01)


# ---------------------------------------------------------------------- diffusion


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("timesteps", [100, 1000])
def test_the_forward_process_ends_close_to_a_standard_normal(schedule, timesteps):
    """x_T = sqrt(abar_T) x_0 + sqrt(1 - abar_T) eps has mean 0 and covariance I, whatever x_0."""
    model = diffusion.Diffusion(2, timesteps, schedule, MLP([2 + 8, 8, 2]), embedding=8)
    exp = experiment("diffusion", steps=1)
    x_0 = Tensor(exp.task.draw(20_000, 0)[0] * 3.0 + 2.0)   # data far from N(0, I) on purpose
    eps = Tensor(np.random.default_rng(0).standard_normal((20_000, 2)).astype(np.float32))
    x_t = model.add_noise(x_0, np.full(20_000, timesteps), eps).numpy()
    assert math.sqrt(model.schedule.alpha_bars[-1]) < 0.01
    np.testing.assert_allclose(x_t.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(np.cov(x_t.T), np.eye(2), atol=0.04)


def test_the_schedules_follow_the_papers():
    linear = diffusion.linear_betas(1000)
    assert linear[0] == pytest.approx(1e-4) and linear[-1] == pytest.approx(0.02)
    assert diffusion.linear_betas(100)[-1] == pytest.approx(0.2)          # scaled by 1000 / T
    schedule = diffusion.NoiseSchedule("cosine", 1000)
    t = np.arange(1, 1001) / 1000
    f = np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2 / np.cos(0.008 / 1.008 * np.pi / 2) ** 2
    unclipped = schedule.betas < 0.999
    np.testing.assert_allclose(schedule.alpha_bars[unclipped], f[unclipped], rtol=1e-9)


def test_the_time_embedding_is_sines_then_cosines():
    emb = diffusion.time_embedding(np.array([3, 40]), 8, "cpu").numpy()
    frequencies = 10000.0 ** (-np.arange(4) / 4)
    np.testing.assert_allclose(emb[1, :4], np.sin(40 * frequencies), atol=1e-6)
    np.testing.assert_allclose(emb[1, 4:], np.cos(40 * frequencies), atol=1e-6)


def test_the_trajectory_runs_from_pure_noise_to_the_sample():
    model = experiment("diffusion", steps=1, timesteps=20).model
    with no_grad():
        trajectory = model.sample_trajectory(16, snapshots=5)
    steps = [t for t, _ in trajectory]
    assert steps == [20, 15, 10, 5, 0]
    assert all(x.shape == (16, 2) for _, x in trajectory)


# ---------------------------------------------------------------------- gan


def test_each_gan_player_moves_only_in_its_own_step():
    exp = experiment("gan", steps=1)
    model, settings = exp.model, exp.settings
    trainer = Trainer(exp, "unused", progress=False)
    batch = exp.task.batch(64, 1)

    def snapshot(module):
        return [p.numpy().copy() for p in module.parameters()]

    def moved(before, module):
        return any(not np.array_equal(a, p.numpy()) for a, p in zip(before, module.parameters()))

    g_before, d_before = snapshot(model.generator), snapshot(model.discriminator)
    d_loss = model.discriminator_loss(batch.flat, model.generate(64).detach())
    model.update_player(d_loss, model.discriminator, trainer.optimizer, settings)
    assert moved(d_before, model.discriminator) and not moved(g_before, model.generator)
    g_before, d_before = snapshot(model.generator), snapshot(model.discriminator)
    g_loss = model.generator_loss(model.generate(64))
    model.update_player(g_loss, model.generator, trainer.optimizer, settings,
                        frozen=model.discriminator)
    assert moved(g_before, model.generator) and not moved(d_before, model.discriminator)


def test_a_resumed_gan_ends_where_an_uninterrupted_one_does(tmp_path):
    """All the state lives in the weights, the trainer's optimizer and the seeded generator."""
    straight = experiment("gan", steps=8)
    train(straight, tmp_path / "straight")
    train(experiment("gan", steps=4), tmp_path / "cut")
    resumed = experiment("gan", steps=8)
    trainer = Trainer(resumed, tmp_path / "cut", progress=False)
    trainer.resume()
    trainer.train()
    for (name, a), b in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    logged = [json.loads(line) for line in (tmp_path / "cut" / runs.METRICS).open()]
    assert {"d_loss", "g_loss"} <= set(logged[-2]) | set(logged[-1])
