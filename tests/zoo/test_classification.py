"""The classification zoo: ``shape_classes`` and ``labelled_images`` give labelled pictures
and score accuracy beside the majority baseline; ``cnn`` and ``mlp`` learn to name shapes."""

import numpy as np
import pytest

from gradzoo.engine import Tensor, nn, optim
from gradzoo.plugins import SpecError
from gradzoo.plugins.testing import check_model
from gradzoo.zoo.models import cnn, mlp
from gradzoo.zoo.tasks.classes import TASKS
from gradzoo.zoo.tasks.images import SHAPE_NAMES

SHAPE_CLASSES, LABELLED_IMAGES = TASKS


def make(spec=SHAPE_CLASSES, seed=0, **options):
    return spec.make(spec.resolve(options), seed)


class Constant(nn.Module):
    """A 'classifier' that gives every picture the same logits: it always answers ``answer``."""

    def __init__(self, num_classes, answer):
        super().__init__()
        self.logits = np.full((1, num_classes), -1.0, dtype=np.float32)
        self.logits[0, answer] = 1.0

    def classify(self, images):
        return Tensor(np.repeat(self.logits, images.shape[0], axis=0))


# ---------------------------------------------------------------------- shape_classes


def test_a_batch_holds_flat_float32_pictures_and_int64_shape_labels():
    task = make(size=12)
    batch = task.batch(64, 0)
    assert task.kind == "classification" and task.main_metric == "accuracy"
    assert task.higher_is_better and task.image_shape == (12, 12) and task.data_dim == 144
    assert task.num_classes == 4 and task.class_names == SHAPE_NAMES
    assert batch.images.shape == (64, 144) and batch.images.dtype == np.float32
    assert batch.labels.shape == (64,) and batch.labels.dtype == np.int64 and len(batch) == 64
    assert set(np.unique(batch.images.numpy())) <= {0.0, 1.0}
    assert (batch.images.numpy().sum(axis=1) > 0).all()  # every picture shows something
    assert set(batch.labels.numpy()) <= set(range(4))


def test_labels_are_true_of_their_pictures():
    images, labels = make().draw(256, 3)
    for picture, label in zip(images.reshape(-1, 16, 16), labels):
        rows, cols = np.nonzero(picture)
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        if label == 0:
            assert picture.sum() == box  # a square lights every pixel of its box
        if label == 2:
            assert picture.sum() < box   # a cross leaves the corners of its box dark


def test_batches_are_reproducible_and_differ_by_step_split_and_seed():
    task = make()
    first, again = task.draw(32, 5), task.draw(32, 5)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    for other in (task.draw(32, 6), task.draw(32, 5, "valid"), make(seed=1).draw(32, 5)):
        assert not np.array_equal(first[0], other[0])
    with pytest.raises(ValueError, match="unknown split"):
        task.draw(4, 0, "holdout")


def test_the_four_classes_come_about_equally_often():
    counts = np.bincount(make().draw(4000, 0)[1], minlength=4) / 4000
    assert np.allclose(counts, 0.25, atol=0.03)


def test_score_reports_accuracy_beside_the_majority_baseline():
    task = make(size=8)
    held_out = np.concatenate([task.draw(128, step, "valid")[1] for step in range(4)])
    common = np.bincount(task.training_labels(), minlength=4).argmax()
    scores = task.score(Constant(4, common), batches=4)
    assert set(scores) == {"accuracy", "majority_baseline"}
    assert scores["accuracy"] == scores["majority_baseline"] == pytest.approx(
        (held_out == common).mean())
    assert 0.15 < scores["majority_baseline"] < 0.35
    other = (common + 1) % 4
    assert task.score(Constant(4, other), batches=4)["accuracy"] == pytest.approx(
        (held_out == other).mean())


# ---------------------------------------------------------------------- labelled_images


def labelled_file(tmp_path, count=40, name="data.npz", **arrays):
    rng = np.random.default_rng(0)
    arrays = {"images": rng.integers(0, 256, size=(count, 6, 5), dtype=np.uint8),
              "labels": np.arange(count) % 3, **arrays}
    path = tmp_path / name
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return str(path)


def test_labelled_images_reads_pictures_and_labels_from_an_npz(tmp_path):
    path = labelled_file(tmp_path, class_names=np.array(["cat", "dog", "owl"]))
    task = make(LABELLED_IMAGES, path=path)
    assert task.image_shape == (6, 5) and task.data_dim == 30
    assert task.num_classes == 3 and task.class_names == ("cat", "dog", "owl")
    batch = task.batch(16, 0)
    assert batch.images.shape == (16, 30) and batch.images.dtype == np.float32
    assert batch.labels.dtype == np.int64 and 0.0 <= batch.images.numpy().min()
    assert batch.images.numpy().max() <= 1.0
    train, valid = task.splits["train"], task.splits["valid"]
    assert len(valid[1]) == 4 and len(train[1]) == 36
    stored = np.load(path)
    for image, label in zip(*valid):  # each pair keeps its own label
        distance = abs(stored["images"].reshape(40, -1) / 255.0 - image).sum(axis=1)
        assert stored["labels"][distance.argmin()] == label and distance.min() < 1e-4
    scores = task.score(Constant(3, 0))
    assert 0.0 <= scores["accuracy"] <= 1.0 and scores["accuracy"] == scores["majority_baseline"]
    assert make(LABELLED_IMAGES, path=labelled_file(tmp_path, name="b.npz")).class_names == (
        "0", "1", "2")


@pytest.mark.parametrize("arrays, message", [
    ({"labels": None}, "not 'labels'"),
    ({"images": None}, "not 'images'"),
    ({"labels": np.arange(39) % 3}, "one label per image"),
    ({"labels": (np.arange(40) % 3) + 0.5}, "integer class indices"),
    ({"labels": np.arange(40) % 3 - 1}, "negative label"),
    ({"labels": np.zeros(40, dtype=int)}, "at least two"),
    ({"images": np.full((40, 6, 5), 300.0)}, "expected grayscale images"),
    ({"class_names": np.array(["cat"])}, "class_names"),
])
def test_labelled_images_refuses_bad_files_saying_what_it_expected(tmp_path, arrays, message):
    with pytest.raises(SpecError, match=message):
        make(LABELLED_IMAGES, path=labelled_file(tmp_path, **arrays))


def test_labelled_images_refuses_a_missing_path_or_another_kind_of_file(tmp_path):
    with pytest.raises(SpecError, match="needs a file"):
        make(LABELLED_IMAGES)
    with pytest.raises(SpecError, match="no such file"):
        make(LABELLED_IMAGES, path=str(tmp_path / "nothing.npz"))
    np.save(tmp_path / "plain.npy", np.zeros((40, 6, 5)))
    with pytest.raises(SpecError, match="not an .npz file"):
        make(LABELLED_IMAGES, path=str(tmp_path / "plain.npy"))
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 and nothing more")
    with pytest.raises(SpecError, match="cannot be read"):
        make(LABELLED_IMAGES, path=str(tmp_path / "broken.npz"))


# ---------------------------------------------------------------------- cnn and mlp


def test_classifiers_answer_one_logit_per_class_and_check_their_input():
    task = make(size=8)
    for module in (cnn, mlp):
        model = module.build(task, module.SPEC.defaults())
        assert model.classify(task.batch(5, 0).images).shape == (5, 4)
        with pytest.raises(ValueError, match=r"\(B, 64\)"):
            model.classify(Tensor(np.zeros((5, 8, 8), dtype=np.float32)))


def test_the_cnn_shares_its_filters_so_it_has_fewer_weights_than_an_mlp_of_its_accuracy():
    task = make()
    model = cnn.build(task, {"channels": 8, "hidden": 64})
    convs = [p.data.size for name, p in model.named_parameters() if name.startswith("features")]
    assert convs == [8 * 1 * 25, 8, 16 * 8 * 25, 16]  # independent of the picture's size
    assert sum(convs) == sum(p.data.size for name, p in cnn.build(
        make(size=32), {"channels": 8, "hidden": 64}).named_parameters()
        if name.startswith("features"))


def train(module, steps, lr, seed=0, **options):
    task = make(seed=seed)
    model = module.build(task, {**module.SPEC.defaults(), **options})
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for step in range(1, steps + 1):
        loss = model.loss(task.batch(64, step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert 0.0 <= model.last_metrics["batch_accuracy"] <= 1.0
    return task.score(model, batches=4)


def test_a_cnn_learns_to_name_the_shapes():
    scores = train(cnn, 150, 3e-3)
    assert scores["accuracy"] > 0.7 > 0.35 > scores["majority_baseline"]


def test_an_mlp_learns_to_name_the_shapes():
    scores = train(mlp, 300, 1e-3)
    assert scores["accuracy"] > 0.6 > 0.35 > scores["majority_baseline"]


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_classifiers_pass_the_conformance_kit(name):
    check_model(name)
