"""What every generative task shares: batches of examples, and one score for a model's samples.

A generative task holds samples of a distribution (2-D point sets, small
images). Its batches are float tensors with one example per row:

* ``PointBatch.points``  (B, 2) coordinates;
* ``ImageBatch.images``  (B, H*W) grey levels in [0, 1], each image flattened
  row by row (``task.image_shape`` is (H, W), to draw them).

Both offer ``batch.flat``, the (B, D) tensor a model reads (D = ``task.data_dim``),
and ``labels`` (B,): which mode (moon, circle, shape) each example came from,
for pictures only; models never see them. ``task.value_range`` is (0, 1) for
images (a model may keep its samples inside it) and None for points.

``score(model)`` draws as many samples from the model as it takes held-out
examples and compares the two sets with one number, lower is better
(``sample_scores.py``): the energy distance for points, the 1-nearest-neighbour
two-sample accuracy for images (``task.main_metric`` names it). Two numbers in
the same units help to read it: ``gaussian_baseline``, the score of a Gaussian
fitted to the data (a model that learned something beats it clearly), and
``data_floor``, the score of fresh data (what a perfect model gets, up to
sampling noise). A task may add more scores (``more_scores``), each NAME beside
``NAME_gaussian`` and ``NAME_data``: pictures add a Fréchet distance, a class
mix and a grey share (``images.py``, ``docs/picture_scores.md``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from gradzoo.engine import Tensor, backend, no_grad
from gradzoo.zoo.tasks import sample_scores

host = backend.array_module("cpu")  # data is made on the host, then moved to the device
SPLIT_OFFSET = {"train": 0, "valid": 1, "test": 2}
FIT_STEP = 1_000_000_000  # the training "step" whose examples the Gaussian baseline is fitted to


@dataclass
class PointBatch:
    """``points`` (B, 2) float32 coordinates; ``labels`` (B,) the mode each point came from."""

    points: Tensor
    labels: Tensor | None = None

    @property
    def flat(self) -> Tensor:
        """The examples as a (B, D) tensor, one per row (here D = 2)."""
        return self.points

    def __len__(self) -> int:
        return self.points.shape[0]


@dataclass
class ImageBatch:
    """``images`` (B, H*W) float32 grey levels in [0, 1], flattened row by row; ``labels`` (B,)."""

    images: Tensor
    labels: Tensor | None = None

    @property
    def flat(self) -> Tensor:
        """The examples as a (B, D) tensor, one image per row (D = H*W)."""
        return self.images

    def __len__(self) -> int:
        return self.images.shape[0]


class GenerativeTask:
    """Base of the generative tasks: a subclass defines ``examples(n, rng, split)``.

    ``examples`` returns host arrays: values (n, D) float32 and labels (n,) int
    (or None). Batch ``step`` of a split is drawn from a generator seeded with
    (seed, split, step), so every model and every run sees the same data.
    """

    kind = "generative"
    main_metric = "energy_distance"
    higher_is_better = False
    image_shape: tuple[int, int] | None = None  # (H, W) for image tasks
    value_range: tuple[float, float] | None = None  # (0, 1) for images; points are unbounded
    pixel_levels: int | None = None             # 256 for 8-bit images (a flow dequantizes)
    label_names: tuple[str, ...] = ()

    def __init__(self, name: str, data_dim: int, seed: int):
        self.name = name
        self.data_dim = data_dim
        self.seed = seed
        self._references: dict = {}

    def examples(self, n: int, rng, split: str):
        raise NotImplementedError(f"task '{self.name}' must define examples(n, rng, split)")

    def draw(self, n: int, step: int, split: str = "train"):
        """Host arrays (values, labels) of batch ``step`` of ``split``, reproducibly."""
        if split not in SPLIT_OFFSET:
            raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLIT_OFFSET)}")
        rng = backend.new_rng([self.seed, SPLIT_OFFSET[split], step])
        return self.examples(n, rng, split)

    def batch(self, batch_size: int, step: int, split: str = "train"):
        values, labels = self.draw(batch_size, step, split)
        kind = PointBatch if self.image_shape is None else ImageBatch
        return kind(Tensor(values), None if labels is None else Tensor(labels))

    def score(self, model, batches: int = 8, split: str = "valid",
              batch_size: int = 128) -> dict[str, float]:
        """Energy distance between ``batches * batch_size`` model samples and held-out data.

        The samples are drawn with a fixed seed and the random generator is put
        back afterwards, so scoring never changes what training draws next.
        """
        held_out = self.held_out(split, batches, batch_size)
        samples = draw_samples(model, len(held_out), seed=[self.seed, 7])
        return {self.main_metric: self.compare(samples, held_out),
                **self.reference_scores(held_out, split, batches),
                **self.more_scores(samples, held_out, split, batches)}

    def more_scores(self, samples, held_out, split: str, batches: int) -> dict[str, float]:
        """Scores beyond the main one, each beside its baselines: none here (pictures add some)."""
        return {}

    def held_out(self, split: str, batches: int, batch_size: int):
        """The examples to score against: batches 0, 1, ... of ``split``, joined."""
        return host.concatenate([self.draw(batch_size, step, split)[0]
                                 for step in range(batches)])

    def fresh_training_data(self, count: int):
        """``count`` training examples never used to train: what a perfect model would draw."""
        return self.draw(count, FIT_STEP, "train")[0]

    def compare(self, samples, held_out) -> float:
        """The task's score of ``samples`` against ``held_out`` (lower is better)."""
        return sample_scores.SCORES[self.main_metric](samples, held_out)

    def gaussian_samples(self, count: int):
        """``count`` draws of the baseline: a Gaussian fitted to 4096 or more training examples."""
        fit = self.draw(max(4096, count), FIT_STEP + 1, "train")[0]
        mean, covariance = sample_scores.fit_gaussian(fit)
        return sample_scores.sample_gaussian(mean, covariance, count, [self.seed, 8])

    def reference_scores(self, held_out, split: str, batches: int) -> dict[str, float]:
        """The Gaussian baseline and the data floor for this held-out set (computed once)."""
        key = (split, len(held_out), batches)
        if key not in self._references:
            self._references[key] = {
                "gaussian_baseline": self.compare(self.gaussian_samples(len(held_out)), held_out),
                "data_floor": self.compare(self.fresh_training_data(len(held_out)), held_out)}
        return self._references[key]


def draw_samples(model, n: int, seed) -> object:
    """``model.sample(n)`` as a host array, in eval mode, with a fixed seed."""
    was_training = model.training
    model.eval()
    try:
        with no_grad(), seeded(seed):
            return backend.to_host(model.sample(n).data)
    finally:
        model.train(was_training)


@contextlib.contextmanager
def seeded(seed):
    """Draw from a generator seeded with ``seed`` inside the block, then restore the old state."""
    saved = backend.get_rng_state()
    backend.set_rng_state(backend.new_rng(seed).bit_generator.state)
    try:
        yield
    finally:
        backend.set_rng_state(saved)
