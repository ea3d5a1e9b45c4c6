"""Picture scores (Fréchet distance, class mix, grey share) and the judge behind them.

The judge is trained for few steps on 8 x 8 shapes here, in a cache under tmp_path.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradzoo.engine import Tensor, io, nn
from gradzoo.zoo.tasks import judge as judging
from gradzoo.zoo.tasks import sample_scores
from gradzoo.zoo.tasks.images import ShapesTask

FEW_STEPS = 150  # enough for a judge well above chance (0.25) on 8 x 8 shapes, in about a second
PICTURE_SCORES = ("frechet_distance", "class_mix_gap", "grey_share")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADZOO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def small_shapes(seed=0):
    task = ShapesTask(8, seed)
    task.judge_steps = FEW_STEPS
    return task


# ---------------------------------------------------------------------- the Fréchet distance


def test_frechet_distance_in_one_dimension_is_the_gap_of_means_and_of_spreads():
    """N(m1, s1^2) and N(m2, s2^2): FD = (m1 - m2)^2 + (s1 - s2)^2."""
    a = [[0.0], [2.0]]           # mean 1, standard deviation 1
    b = [[3.0], [7.0]]           # mean 5, standard deviation 2
    assert sample_scores.frechet_distance(a, b) == pytest.approx(16.0 + 1.0)


def test_frechet_distance_with_diagonal_covariances_adds_up_coordinate_by_coordinate():
    a = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # mean 0, cov diag(.5, .5)
    b = a * [3.0, 2.0] + [1.0, 1.0]                                    # mean 1, cov diag(4.5, 2)
    expected = 2.0 + (np.sqrt(0.5) - np.sqrt(4.5)) ** 2 + (np.sqrt(0.5) - np.sqrt(2.0)) ** 2
    assert expected == pytest.approx(4.5)
    assert sample_scores.frechet_distance(a, b) == pytest.approx(expected)


def test_frechet_distance_matches_the_eigenvalues_of_the_covariance_product():
    """General covariances that do not commute: Tr (S_a S_b)^(1/2) = sum sqrt(eig(S_a S_b))."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((200, 3)) @ rng.standard_normal((3, 3))
    b = rng.standard_normal((300, 3)) @ rng.standard_normal((3, 3)) + 0.5
    mean_a, cov_a = a.mean(0), np.cov(a.T, bias=True)
    mean_b, cov_b = b.mean(0), np.cov(b.T, bias=True)
    root_trace = np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real).sum()
    expected = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b) - 2 * root_trace
    assert sample_scores.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((4000, 5)), rng.standard_normal((4000, 5))
    assert sample_scores.frechet_distance(x, y) < 0.02
    shifted = [sample_scores.frechet_distance(x + shift, y) for shift in (0.25, 0.5, 1.0)]
    assert shifted[0] < shifted[1] < shifted[2]
    assert shifted[2] == pytest.approx(5 * 1.0 ** 2, rel=0.05)  # |mu_a - mu_b|^2 = D shift^2


def test_nan_samples_get_the_worst_scores_not_the_best():
    """One NaN sample once became every picture's nearest neighbour (argmin picks NaN): 0.5."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((50, 4)), rng.standard_normal((50, 4))
    x[3, 1] = np.nan
    assert sample_scores.nearest_neighbour_accuracy(x, y) == 1.0
    assert sample_scores.frechet_distance(x, y) == float("inf")


# ---------------------------------------------------------------------- class mix and grey share


def test_class_mix_and_its_gap_on_a_hand_made_case():
    classes = [0, 0, 1, 3]
    np.testing.assert_allclose(sample_scores.class_mix(classes, 4), [0.5, 0.25, 0.0, 0.25])
    assert sample_scores.class_mix_gap(classes, [0.25] * 4) == pytest.approx(25.0)  # points
    assert sample_scores.class_mix_gap([2, 1, 0, 3], [0.25] * 4) == 0.0


def test_grey_share_counts_values_strictly_inside_the_middle_of_the_range():
    values = np.array([0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0, -0.3, 1.4, 0.11])
    assert sample_scores.grey_share(values) == pytest.approx(2 / 10)      # 0.5 and 0.11
    assert sample_scores.grey_share(values.reshape(2, 5)) == pytest.approx(2 / 10)
    assert sample_scores.grey_share([25.0, 26.0, 128.0, 229.0, 230.0], (0, 255)) == 3 / 5
    assert sample_scores.grey_share(np.round(np.random.default_rng(0).random(100))) == 0.0


# ---------------------------------------------------------------------- the judge


def test_the_judge_trains_once_then_is_read_from_the_cache(cache):
    first = judging.judge_for(small_shapes(), FEW_STEPS)
    assert first.trained and first.accuracy > 0.5, first.accuracy   # chance is 0.25
    assert first.path.parent == cache / "judges" and first.path.suffix == ".safetensors"
    assert io.read_metadata(first.path)["accuracy"] == repr(first.accuracy)
    again = judging.judge_for(small_shapes(), FEW_STEPS)
    assert not again.trained and again.accuracy == first.accuracy
    pictures = small_shapes().draw(20, 3, "test")[0]
    np.testing.assert_array_equal(again.features(pictures), first.features(pictures))
    assert first.features(pictures).shape == (20, judging.HIDDEN)
    other_seed = judging.judge_for(small_shapes(seed=1), FEW_STEPS)
    assert other_seed.trained and other_seed.path != first.path


def test_training_or_reading_the_judge_leaves_the_random_generator_where_it_was(cache):
    """Scoring in the middle of training must not change what training draws next."""
    from gradzoo.engine import backend

    for _ in ("trained", "read from the cache"):
        state = backend.get_rng_state()
        small_shapes().judge()
        assert backend.get_rng_state() == state


def test_a_damaged_cache_file_is_trained_again_not_trusted(cache):
    path = judging.judge_for(small_shapes(), FEW_STEPS).path
    weights = {name: t.numpy() for name, t in io.load(path).items()}
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])                  # cut off, as by a full disk
    again = judging.judge_for(small_shapes(), FEW_STEPS)
    assert again.trained and not judging.judge_for(small_shapes(), FEW_STEPS).trained
    for name, tensor in io.load(path).items():                  # the same judge, retrained
        np.testing.assert_array_equal(tensor.numpy(), weights[name])
    io.save({"weight": Tensor(np.zeros(3, dtype=np.float32))}, path,
            metadata={"format": "something else"})              # someone else's file
    assert judging.judge_for(small_shapes(), FEW_STEPS).trained


def test_a_cache_that_cannot_be_written_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv("GRADZOO_CACHE", str(tmp_path / "a-file"))
    with pytest.raises(judging.JudgeCacheError, match="GRADZOO_CACHE to a directory"):
        judging.judge_for(small_shapes(), FEW_STEPS)


def test_a_task_without_labels_has_no_judge_and_no_judged_scores(tmp_path, cache):
    from gradzoo.zoo.tasks.images import ImageFileTask

    pictures = np.random.default_rng(0).random((60, 6, 6)).astype(np.float32)
    task = ImageFileTask(pictures, seed=0)
    scores = task.score(PictureModel(pictures.reshape(60, -1)), batches=1)
    assert task.judge() is None and "frechet_distance" not in scores
    assert {"grey_share", "grey_share_gaussian", "grey_share_data"} <= set(scores)
    assert not cache.exists() or not any(cache.rglob("*.safetensors"))


TWO_AT_ONCE = """
import sys
from gradzoo.zoo.tasks import judge
from gradzoo.zoo.tasks.images import ShapesTask
judge.judge_for(ShapesTask(8, 0), int(sys.argv[1]))
"""


def test_two_processes_training_one_judge_leave_one_whole_file(cache):
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    root = Path(__file__).resolve().parents[2]
    workers = [subprocess.Popen([sys.executable, "-c", TWO_AT_ONCE, "60"], cwd=root,
                                env=environment, stderr=subprocess.PIPE) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stderr.read().decode()
    assert [p.name for p in (cache / "judges").iterdir()] == [
        "judge-shapes-8x8-seed0-60steps.safetensors"]           # no temporary file left over
    assert not judging.judge_for(ShapesTask(8, 0), 60).trained


# ---------------------------------------------------------------------- scores of whole tasks


class PictureModel(nn.Module):
    """A 'model' whose samples are the pictures it was given."""

    def __init__(self, pictures):
        super().__init__()
        self.pictures = pictures

    def sample(self, n):
        return Tensor(np.asarray(self.pictures[:n], dtype=np.float32))


def test_real_pictures_score_near_fresh_data_and_a_gaussian_near_the_baseline(cache):
    task = small_shapes()
    unseen = np.concatenate([task.draw(128, 500 + i, "valid")[0] for i in range(4)])
    real = task.score(PictureModel(unseen), batches=4)
    assert {name + suffix for name in PICTURE_SCORES for suffix in ("", "_gaussian", "_data")} \
        <= set(real)
    assert real["frechet_distance"] < 3 * real["frechet_distance_data"] + 0.05
    assert real["class_mix_gap"] < 10 and real["grey_share"] == real["grey_share_data"] == 0.0
    assert real["frechet_distance_gaussian"] > 20 * real["frechet_distance_data"]
    assert abs(sum(real[f"class_share_{name}"] for name in task.label_names) - 1.0) < 1e-9

    mean, covariance = sample_scores.fit_gaussian(task.draw(4096, 77, "train")[0])
    gaussian = sample_scores.sample_gaussian(mean, covariance, 512, seed=123)
    fitted = task.score(PictureModel(gaussian), batches=4)
    baseline = fitted["frechet_distance_gaussian"]  # another draw: FD varies ~10-30% on 512
    assert 0.5 * baseline < fitted["frechet_distance"] < 2 * baseline
    assert fitted["grey_share"] == pytest.approx(fitted["grey_share_gaussian"], abs=0.02)
    assert fitted["nn_accuracy"] == pytest.approx(fitted["gaussian_baseline"], abs=0.05)
    assert fitted["frechet_distance"] > 10 * real["frechet_distance"]


def test_scores_are_of_the_samples_as_made_no_clipping(cache):
    """A sample pushed outside [0, 1] changes the scores: nothing clips or thresholds it."""
    task = small_shapes()
    unseen = np.concatenate([task.draw(128, 500 + i, "valid")[0] for i in range(2)])
    greyed = task.score(PictureModel(0.2 + 0.6 * unseen), batches=2)  # 0.2 and 0.8: all grey
    assert greyed["grey_share"] == 1.0
    pushed = task.score(PictureModel(unseen * 3.0 - 1.0), batches=2)  # -1 and 2: out of range
    assert pushed["grey_share"] == 0.0
    assert pushed["frechet_distance"] > 5 * task.score(PictureModel(unseen),
                                                       batches=2)["frechet_distance"] + 0.1
