"""The generative tasks: reproducible data of the promised shape, an honest score, a real loader."""

import gzip

import numpy as np
import pytest

from gradzoo.engine import Tensor, nn
from gradzoo.plugins import SpecError
from gradzoo.zoo.tasks import sample_scores
from gradzoo.zoo.tasks.images import TASKS as IMAGE_TASKS
from gradzoo.zoo.tasks.images import draw_shapes
from gradzoo.zoo.tasks.points import TASKS as POINT_TASKS

POINT_SETS = ["moons", "circles", "spiral", "ring"]


def make(name, seed=0, **options):
    spec = next(s for s in POINT_TASKS + IMAGE_TASKS if s.name == name)
    return spec.make(spec.resolve(options), seed)


class DataModel(nn.Module):
    """A 'model' whose samples are fresh draws of the task's own data: a perfect model."""

    def __init__(self, task):
        super().__init__()
        self.task, self.calls = task, 0

    def sample(self, n):
        self.calls += 1
        return Tensor(self.task.draw(n, 10_000 + self.calls, "train")[0])


class ConstantModel(nn.Module):
    """Every sample the same point: it has learned nothing of the shape."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def sample(self, n):
        return Tensor(np.zeros((n, self.dim), dtype=np.float32))


@pytest.mark.parametrize("name", POINT_SETS)
def test_point_sets_are_reproducible_2d_float32_batches(name):
    task = make(name, seed=3)
    batch = task.batch(64, 5)
    assert task.kind == "generative" and task.data_dim == 2
    assert batch.points.shape == (64, 2) and batch.points.dtype == np.float32
    assert batch.flat is batch.points and len(batch) == 64
    again = make(name, seed=3).batch(64, 5)
    np.testing.assert_array_equal(batch.points.numpy(), again.points.numpy())
    assert not np.array_equal(batch.points.numpy(), task.batch(64, 6).points.numpy())
    assert not np.array_equal(batch.points.numpy(), task.batch(64, 5, "valid").points.numpy())
    assert np.abs(batch.points.numpy()).max() < 4  # about unit scale, centred
    assert set(np.unique(batch.labels.numpy())) <= set(range(len(task.label_names)))


def test_moons_lie_on_two_half_circles():
    points, labels = make("moons", noise=0.0).draw(500, 0)
    upper = points[labels == 0] + [0.5, 0.25]          # undo the centring
    lower = points[labels == 1] + [0.5, 0.25] - [1.0, 0.5]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.hypot(*lower.T), 1.0, atol=1e-5)
    assert (upper[:, 1] >= -1e-6).all() and (lower[:, 1] <= 1e-6).all()


def test_ring_has_eight_modes_of_width_noise():
    task = make("ring", noise=0.1)
    points, labels = task.draw(4000, 0)
    assert sorted(np.unique(labels)) == list(range(8))
    angle = 2 * np.pi * labels / 8
    offsets = points - 2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    assert offsets.std() == pytest.approx(0.1, rel=0.1)


def test_energy_distance_is_zero_for_equal_sets_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((1000, 2)), rng.standard_normal((1000, 2))
    assert sample_scores.energy_distance(x, y) == pytest.approx(0.0, abs=3e-3)
    shifts = [sample_scores.energy_distance(x + [d, 0], y) for d in (0.25, 0.5, 1.0)]
    assert 0.01 < shifts[0] < shifts[1] < shifts[2]


def test_energy_distance_matches_its_definition_on_a_tiny_set():
    x, y = np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    between = np.mean([np.linalg.norm(a - b) for a in x for b in y])
    within_x = 5.0                                       # the one distinct pair, |(3, 4)| = 5
    within_y = np.mean([1.0, 1.0, np.sqrt(2), 1.0, 1.0, np.sqrt(2)])
    expected = 2 * between - within_x - within_y
    assert sample_scores.energy_distance(x, y) == pytest.approx(expected)


def test_the_score_ranks_a_perfect_model_above_the_gaussian_above_a_constant():
    task = make("moons")
    perfect = task.score(DataModel(task))
    constant = task.score(ConstantModel(2))
    assert task.main_metric == "energy_distance" and task.higher_is_better is False
    assert abs(perfect["energy_distance"]) < 0.3 * perfect["gaussian_baseline"]
    assert perfect["gaussian_baseline"] < constant["energy_distance"]
    assert abs(perfect["data_floor"]) < 0.3 * perfect["gaussian_baseline"]


def test_nearest_neighbour_accuracy_is_a_half_for_one_distribution_and_one_for_two():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((500, 20)), rng.standard_normal((500, 20))
    assert sample_scores.nearest_neighbour_accuracy(x, y) == pytest.approx(0.5, abs=0.05)
    assert sample_scores.nearest_neighbour_accuracy(x + 5.0, y) == 1.0
    # the tiny case by hand: samples {0, 10}, data {1, 11}: every nearest neighbour is across
    assert sample_scores.nearest_neighbour_accuracy([[0.0], [10.0]], [[1.0], [11.0]]) == 0.0


def test_images_are_scored_by_nearest_neighbours_where_a_gaussian_is_easy_to_tell_apart(
        tmp_path, monkeypatch):
    """On pixels the Gaussian baseline is far from 0.5; fresh data is close to it."""
    monkeypatch.setenv("GRADZOO_CACHE", str(tmp_path))  # the picture scores' judge (a cnn)
    task = make("shapes", size=8)
    task.judge_steps = 50
    scores = task.score(DataModel(task), batches=4)
    assert task.main_metric == "nn_accuracy" and list(scores)[:3] == ["nn_accuracy",
                                                                      "gaussian_baseline",
                                                                      "data_floor"]
    assert {"frechet_distance", "class_mix_gap", "grey_share"} <= set(scores)  # more: its tests
    assert abs(scores["nn_accuracy"] - 0.5) < 0.1 and abs(scores["data_floor"] - 0.5) < 0.1
    assert scores["gaussian_baseline"] > 0.75
    assert task.score(ConstantModel(64), batches=4)["nn_accuracy"] > 0.95


def test_scoring_leaves_the_random_generator_where_it_was():
    from gradzoo.engine import backend

    task = make("moons")
    state = backend.get_rng_state()
    task.score(ConstantModel(2), batches=1)
    assert backend.get_rng_state() == state


def test_shapes_draws_small_binary_images_of_four_kinds():
    task = make("shapes", size=12)
    batch = task.batch(64, 0)
    images = batch.images.numpy()
    assert task.image_shape == (12, 12) and task.data_dim == 144
    assert images.shape == (64, 144) and images.dtype == np.float32
    assert set(np.unique(images)) <= {0.0, 1.0}
    assert (images.sum(axis=1) >= 2).all()             # every picture shows something
    assert sorted(np.unique(batch.labels.numpy())) == [0, 1, 2, 3]
    np.testing.assert_array_equal(images, make("shapes", size=12).batch(64, 0).images.numpy())


def test_a_disc_is_round_and_a_square_fills_its_box():
    rng = np.random.default_rng(0)
    square, disc = draw_shapes(rng, np.array([0, 1]), 32)
    assert square.sum() > disc.sum()                   # same kind of size, the disc lacks corners
    rows, cols = np.nonzero(disc)
    height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
    assert abs(height - width) <= 1
    assert disc.sum() == pytest.approx(np.pi * (height / 2) ** 2, rel=0.25)


# ---------------------------------------------------------------------- the images task


def write_idx(path, array, compress=False):
    """An MNIST-style IDX file: magic 0x00 0x00 0x08 ndim, big-endian dims, unsigned bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def digits(count=20, size=6):
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(count, size, size)).astype(np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_images_reads_an_mnist_idx_file(tmp_path, compress):
    array = digits()
    task = make("images", path=str(write_idx(tmp_path / "train-images-idx3-ubyte", array,
                                             compress)))
    assert task.image_shape == (6, 6) and task.data_dim == 36
    every = np.concatenate([task.splits["train"], task.splits["valid"]])
    np.testing.assert_allclose(np.sort(every, axis=0), np.sort(array.reshape(20, 36) / 255.0,
                                                               axis=0), atol=1e-6)
    assert len(task.splits["valid"]) == 2
    batch = task.batch(8, 0)
    assert batch.images.shape == (8, 36) and 0.0 <= batch.images.numpy().min()


def test_a_file_of_images_is_scored_on_each_held_out_image_once(tmp_path):
    """Repeats would be their own nearest neighbours; fresh training images score about 0.5."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.integers(0, 256, size=(400, 6, 6)).astype(np.uint8))
    task = make("images", path=str(tmp_path / "x.npy"))
    held_out = task.held_out("valid", 8, 128)
    assert len(held_out) == 40 and len(np.unique(held_out, axis=0)) == 40
    perfect = task.score(DataModel(task))
    assert abs(perfect["data_floor"] - 0.5) < 0.2


@pytest.mark.parametrize("layout", [(20, 6, 6), (20, 6, 6, 1), (20, 1, 6, 6)])
def test_images_reads_npy_and_npz_in_three_layouts(tmp_path, layout):
    floats = (digits() / 255.0).astype(np.float32).reshape(layout)
    np.save(tmp_path / "x.npy", floats)
    np.savez(tmp_path / "x.npz", images=floats, labels=np.zeros(20))
    for name in ("x.npy", "x.npz"):
        assert make("images", path=str(tmp_path / name)).image_shape == (6, 6)


BAD_FILES = [
    ("shape", lambda: np.zeros((20, 36), np.uint8), r"shape \(20, 36\); expected grayscale "
                                                    r"images, an array shaped \(N, H, W\)"),
    ("colour", lambda: np.zeros((20, 6, 6, 3), np.uint8), r"shape \(20, 6, 6, 3\)"),
    ("range", lambda: np.full((20, 6, 6), 7.0), r"values from 7 to 7; expected .* floats "
                                                r"0\.0\.\.1\.0 \(divide them by 255\)"),
    ("negative", lambda: np.full((20, 6, 6), -3, np.int16), r"from -3 to -3; expected .* "
                                                            r"integers 0\.\.255"),
    ("nan", lambda: np.full((20, 6, 6), np.nan, np.float32), r"values from nan"),
    ("few", lambda: np.zeros((19, 6, 6), np.uint8), r"19 images of 6 x 6 pixels; expected at "
                                                    r"least 20 images"),
    ("text", lambda: np.array([["a"] * 6] * 6 * 20).reshape(20, 6, 6), r"values of type <U1"),
]


@pytest.mark.parametrize("kind, make_array, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_image_arrays_are_refused_with_what_is_expected(tmp_path, kind, make_array, message):
    np.save(tmp_path / "bad.npy", make_array())
    with pytest.raises(SpecError, match=message):
        make("images", path=str(tmp_path / "bad.npy"))


def test_bad_image_files_are_refused_with_their_reason(tmp_path):
    with pytest.raises(SpecError, match="needs a file of images: --set path=FILE"):
        make("images")
    with pytest.raises(SpecError, match="no such file"):
        make("images", path=str(tmp_path / "missing.npy"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SpecError, match="is not a .npy, .npz or IDX file"):
        make("images", path=str(tmp_path / "notes.txt"))
    damaged = write_idx(tmp_path / "cut-idx3-ubyte", digits())
    damaged.write_bytes(damaged.read_bytes()[:-5])
    with pytest.raises(SpecError, match=r"damaged IDX file: .* \(20, 6, 6\)"):
        make("images", path=str(damaged))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}] * 20, dtype=object))
    with pytest.raises(SpecError, match="cannot be read as a NumPy file"):
        make("images", path=str(tmp_path / "objects.npy"))
    np.savez(tmp_path / "two.npz", a=digits(), b=digits())
    with pytest.raises(SpecError, match=r"holds arrays \['a', 'b'\]; name the images 'images'"):
        make("images", path=str(tmp_path / "two.npz"))
