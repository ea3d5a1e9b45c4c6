"""Built-in 2-D point sets: the smallest generative problems, where every sample can be seen.

Each set is drawn on the fly, centred near the origin at about unit scale, with
Gaussian ``noise`` (its standard deviation) added to every point:

* ``moons``    two interleaved half-circles of radius 1 (labels: which moon);
* ``circles``  two concentric circles of radius 1 and 0.5 (labels: which circle);
* ``spiral``   two interleaved arms of a spiral, 1.5 turns each (labels: which arm);
* ``ring``     eight Gaussians on a circle of radius 2, the classic test of
  whether a GAN covers every mode (labels: which Gaussian; ``noise`` is their width).

A single Gaussian can match where these points are and how they spread, but
not their shape: that is the baseline a model must beat (``sample_scores.py``).
"""

from __future__ import annotations

import math

from gradzoo.engine import backend
from gradzoo.plugins import Option, TaskSpec, hookimpl
from gradzoo.zoo.tasks.generative import GenerativeTask

host = backend.array_module("cpu")


class PointTask(GenerativeTask):
    """A 2-D point set made by ``shape(rng, n) -> (points, labels)``, plus ``noise``."""

    def __init__(self, name: str, shape, noise: float, seed: int, label_names):
        super().__init__(name, data_dim=2, seed=seed)
        self._shape = shape
        self.noise = noise
        self.label_names = tuple(label_names)

    def examples(self, n: int, rng, split: str):
        points, labels = self._shape(rng, n)
        points = points + self.noise * rng.standard_normal((n, 2))
        return points.astype("float32"), labels.astype("int64")


def moons(rng, n):
    """Upper half-circle (cos a, sin a) and lower one (1 - cos a, 1/2 - sin a), centred."""
    label = rng.integers(0, 2, size=n)
    angle = rng.uniform(0.0, math.pi, size=n)
    x = host.where(label == 0, host.cos(angle), 1.0 - host.cos(angle)) - 0.5
    y = host.where(label == 0, host.sin(angle), 0.5 - host.sin(angle)) - 0.25
    return host.stack([x, y], axis=1), label


def circles(rng, n):
    """A circle of radius 1 (label 0) around one of radius 0.5 (label 1)."""
    label = rng.integers(0, 2, size=n)
    angle = rng.uniform(0.0, 2.0 * math.pi, size=n)
    radius = host.where(label == 0, 1.0, 0.5)
    return radius[:, None] * host.stack([host.cos(angle), host.sin(angle)], axis=1), label


def spiral(rng, n):
    """Two arms: radius r = 1.5 u, angle 3 pi u (+ pi for the second arm), u ~ U(0.15, 1)."""
    label = rng.integers(0, 2, size=n)
    u = rng.uniform(0.15, 1.0, size=n)
    angle = 3.0 * math.pi * u + math.pi * label
    radius = 1.5 * u
    return radius[:, None] * host.stack([host.cos(angle), host.sin(angle)], axis=1), label


def ring(rng, n):
    """The centres of eight Gaussians at angles 2 pi k / 8 on a circle of radius 2."""
    label = rng.integers(0, 8, size=n)
    angle = 2.0 * math.pi * label / 8
    return 2.0 * host.stack([host.cos(angle), host.sin(angle)], axis=1), label


def _maker(name, shape, label_names):
    """The ``make(options, seed)`` of a TaskSpec for the point set drawn by ``shape``."""
    def make(options, seed):
        return PointTask(name, shape, options["noise"], seed, label_names)
    return make


def _noise_option(default: float) -> Option:
    """The ``noise`` option every point set takes, with its own default."""
    return Option("noise", default, "standard deviation of the Gaussian noise added to each point",
                  min=0.0, max=2.0)


TASKS = [
    TaskSpec(name="moons", kind="generative", make=_maker("moons", moons, ("upper", "lower")),
             summary="2-D points on two interleaved half-moons",
             options=(_noise_option(0.05),)),
    TaskSpec(name="circles", kind="generative",
             make=_maker("circles", circles, ("outer", "inner")),
             summary="2-D points on two concentric circles",
             options=(_noise_option(0.05),)),
    TaskSpec(name="spiral", kind="generative",
             make=_maker("spiral", spiral, ("arm 1", "arm 2")),
             summary="2-D points on the two arms of a spiral",
             options=(_noise_option(0.05),)),
    TaskSpec(name="ring", kind="generative",
             make=_maker("ring", ring, tuple(f"mode {k}" for k in range(8))),
             summary="2-D points from eight Gaussians on a circle",
             options=(_noise_option(0.1),)),
]


@hookimpl
def register_tasks(register):
    """Register the four point sets."""
    for spec in TASKS:
        register(spec)
