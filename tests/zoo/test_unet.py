"""The diffusion U-Net: shapes, skip connections, time conditioning, learning, and DDIM."""

from __future__ import annotations

import numpy as np
import pytest

from gradzoo.engine import Tensor, manual_seed, no_grad
from gradzoo.lab.errors import UsageError
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.plugins.manager import get_registry
from gradzoo.plugins.testing import check_model
from gradzoo.zoo.models import diffusion
from gradzoo.zoo.models.unet import UNet


def small_unet(size=8, channels=8, attention=True):
    manual_seed(0)
    return UNet((size, size), channels, embedding=8, attention=attention)


def pictures(batch=2, size=8, seed=0):
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal((batch, 1, size, size)).astype(np.float32),
                  requires_grad=True)


def embedding(steps, dim=8):
    return diffusion.time_embedding(np.asarray(steps), dim, "cpu")


def test_the_output_is_one_noise_value_per_pixel():
    net = small_unet()
    assert net(pictures(3), embedding([1, 5, 9])).shape == (3, 1, 8, 8)


def test_sizes_that_do_not_halve_twice_are_refused():
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet((10, 12))


@pytest.mark.parametrize("attention", [True, False])
def test_a_corner_of_the_output_sees_the_opposite_corner_of_the_input(attention):
    """Through two halvings (and attention) every output pixel depends on every input pixel."""
    net = small_unet(attention=attention)
    x = pictures(1)
    net(x, embedding([10]))[0, 0, 0, 0].backward()
    assert abs(x.grad.numpy()[0, 0, -1, -1]) > 0
    assert (np.abs(x.grad.numpy()) > 0).mean() > 0.9


def test_the_step_changes_the_prediction():
    net = small_unet()
    x = pictures(2)
    with no_grad():
        early, late = net(x, embedding([1, 1])), net(x, embedding([90, 90]))
    assert np.abs(early.numpy() - late.numpy()).mean() > 1e-3


def test_images_get_the_unet_and_points_the_mlp():
    registry = get_registry()
    on_shapes = build_experiment(registry, "diffusion", "shapes", {"task.size": "8"})
    on_moons = build_experiment(registry, "diffusion", "moons")
    assert isinstance(on_shapes.model.noise_predictor, UNet)
    assert not isinstance(on_moons.model.noise_predictor, UNet)
    assert on_shapes.settings.batch_size == 64 and on_moons.settings.batch_size == 256
    with pytest.raises(UsageError, match="needs pictures"):
        build_experiment(registry, "diffusion", "moons", {"network": "unet"})


def tiny_diffusion(**options):
    values = {"task.size": "8", "channels": "8", "timesteps": "20", **options}
    return build_experiment(get_registry(), "diffusion", "shapes", values,
                            training={"batch_size": 32})


def test_a_tiny_unet_diffusion_learns_to_predict_the_noise():
    experiment = tiny_diffusion()
    model, task = experiment.model, experiment.task
    from gradzoo.engine import optim

    optimizer = optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for step in range(40):
        loss = model.loss(task.batch(32, step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-8:]) < 0.6 * np.mean(losses[:4]), losses


def test_ddim_walks_an_even_subsequence_down_to_zero():
    model = tiny_diffusion(sampler="ddim", sample_steps="5").model
    assert model.reverse_steps() == [(20, 16), (16, 12), (12, 8), (8, 4), (4, 0)]
    every = tiny_diffusion(sampler="ddim").model.reverse_steps()
    assert len(every) == 20 and every[0] == (20, 19) and every[-1] == (1, 0)


def test_ddim_is_deterministic_and_stays_in_the_pixel_range():
    model = tiny_diffusion(sampler="ddim", sample_steps="4").model
    model.eval()
    with no_grad():
        manual_seed(3)
        first = model.sample(6).numpy()
        manual_seed(3)
        again = model.sample(6).numpy()
    np.testing.assert_array_equal(first, again)
    assert first.shape == (6, 64) and first.min() >= 0.0 and first.max() <= 1.0


def test_many_pictures_are_denoised_in_chunks_that_join_up():
    model = tiny_diffusion(sampler="ddim", sample_steps="2").model
    with no_grad():
        samples = model.sample(diffusion.SAMPLE_CHUNK + 3)
    assert samples.shape == (diffusion.SAMPLE_CHUNK + 3, 64)


def test_the_trajectory_follows_the_ddim_walk():
    model = tiny_diffusion(sampler="ddim", sample_steps="4").model
    with no_grad():
        trajectory = model.sample_trajectory(3, snapshots=5)
    assert [t for t, _ in trajectory] == [20, 15, 10, 5, 0]


def test_more_sample_steps_than_timesteps_is_refused():
    with pytest.raises(UsageError, match="sample_steps=30 is more than timesteps=20"):
        tiny_diffusion(sampler="ddim", sample_steps="30")


def test_the_conformance_kit_passes_on_pictures():
    assert check_model("diffusion", task="shapes").passed
