"""The captions task: every caption is true of its picture; batches are reproducible; the
scores (retrieval, zero-shot, chance) mean what they say."""

import math

import numpy as np
import pytest

from gradzoo.engine import Tensor, nn
from gradzoo.zoo.tasks import paired_scores
from gradzoo.zoo.tasks.captions import (
    ALL_CAPTIONS,
    ALL_LABELS,
    TASKS,
    caption_index,
    caption_text,
)


def make(seed=0, **options):
    spec = TASKS[0]
    return spec.make(spec.resolve(options), seed)


def test_a_batch_pairs_float32_images_with_padded_token_ids():
    task = make(size=12)
    batch = task.batch(32, 0)
    assert task.kind == "paired" and task.image_shape == (12, 12) and task.data_dim == 144
    assert batch.images.shape == (32, 144) and batch.images.dtype == np.float32
    assert batch.captions.shape == (32, task.caption_length) == (32, 7)
    assert batch.captions.dtype == np.int64 and len(batch) == 32
    assert set(np.unique(batch.images.numpy())) <= {0.0, 1.0}
    ids = batch.captions.numpy()
    assert ids.min() >= 0 and ids.max() < task.vocab_size == 17
    for row, labels in zip(ids, batch.labels):
        assert task.decode(row) == caption_text(*labels)
        words = int((row != task.pad_token).sum())
        assert (row[:words] != task.pad_token).all() and (row[words:] == task.pad_token).all()


def test_batches_are_reproducible_per_seed_split_and_step():
    batch = make(seed=3).batch(16, 5)
    again = make(seed=3).batch(16, 5)
    np.testing.assert_array_equal(batch.images.numpy(), again.images.numpy())
    np.testing.assert_array_equal(batch.captions.numpy(), again.captions.numpy())
    for other in (make(seed=3).batch(16, 6), make(seed=3).batch(16, 5, "valid"),
                  make(seed=4).batch(16, 5)):
        assert not np.array_equal(batch.images.numpy(), other.images.numpy())
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        make().batch(4, 0, "dev")


def test_there_are_72_captions_from_16_words_and_each_round_trips():
    task = make()
    assert len(set(ALL_CAPTIONS)) == 72 == 4 * 2 * 9
    assert len(task.vocabulary) == 17 and task.vocabulary[task.pad_token] == "<pad>"
    for text in ALL_CAPTIONS:
        ids = task.encode(text)
        assert len(ids) == task.caption_length and task.decode(ids) == text
    assert caption_text(1, 1, 0) == "a large disc at the top left"
    assert caption_text(2, 0, 4) == "a small cross in the middle"
    assert caption_text(3, 0, 5) == "a small line on the right"
    assert caption_text(0, 1, 7) == "a large square at the bottom"
    np.testing.assert_array_equal(caption_index(np.array(ALL_LABELS)), np.arange(72))


def test_bad_captions_are_refused_with_the_words_allowed():
    task = make()
    with pytest.raises(ValueError, match=r"\['triangle'\] are not in the vocabulary.*square"):
        task.encode("a large triangle in the middle")
    with pytest.raises(ValueError, match="1 to 7 words"):
        task.encode("a small disc at the top left left")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        task.encode("a <pad> disc")


def test_the_layout_matches_the_labels():
    """Half-sizes lie in the range of their size word, centres near their edge or middle."""
    size = 16
    task = make(size=size)
    labels, r, cx, cy = task.layout(np.random.default_rng(0), 2000)
    small, large = labels[:, 1] == 0, labels[:, 1] == 1
    assert (r[small] >= size / 8).all() and (r[small] <= size / 6).all()
    assert (r[large] >= 7 * size / 32).all() and (r[large] <= 9 * size / 32).all()
    middle = (size - 1) / 2
    for centre, third in ((cy, labels[:, 2] // 3), (cx, labels[:, 2] % 3)):
        low, mid, high = (third == 0), (third == 1), (third == 2)
        assert (centre[low] - r[low] >= 0).all() and (centre[low] - r[low] <= size / 16).all()
        assert (abs(centre[mid] - middle) <= size / 32).all()
        edge = size - 1 - centre[high] - r[high]
        assert (edge >= 0).all() and (edge <= size / 16).all()


@pytest.mark.parametrize("size", [16, 32])
def test_every_picture_shows_what_its_caption_says(size):
    """Read back from the pixels: where the shape is, how large, and that squares fill boxes."""
    images, labels = make(size=size).draw(600, 0)
    images = images.reshape(-1, size, size)
    middle, margin = (size - 1) / 2, size / 10
    spans = {}
    for image, (shape, big, place) in zip(images, labels):
        rows, cols = np.nonzero(image)
        for centre, third in ((rows.mean(), place // 3), (cols.mean(), place % 3)):
            offset = centre - middle
            assert offset < -margin if third == 0 else offset > margin if third == 2 \
                else abs(offset) < margin
        points = np.stack([rows, cols], axis=1)
        span = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1)).max()
        spans.setdefault((shape, big), []).append(span)
        if shape == 0:  # a square fills its bounding box
            assert len(rows) == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    for shape in range(4):  # every large shape spans more pixels than every small one
        assert max(spans[(shape, 0)]) < min(spans[(shape, 1)])


# ---------------------------------------------------------------------- scores


def test_recall_counts_a_caption_right_by_its_text():
    similarity = np.array([[0.1, 0.9, 0.3],
                           [0.8, 0.2, 0.1],
                           [0.2, 0.1, 0.3]])
    ids = np.array([7, 7, 5])  # pairs 0 and 1 have the same caption text
    same = ids[:, None] == ids[None, :]
    assert paired_scores.recall_at_k(similarity, same, 1) == pytest.approx(1.0)
    ids = np.array([7, 6, 5])  # now picking caption 1 for image 0 is wrong
    same = ids[:, None] == ids[None, :]
    assert paired_scores.recall_at_k(similarity, same, 1) == pytest.approx(1 / 3)
    assert paired_scores.recall_at_k(similarity, same, 2) == pytest.approx(2 / 3)
    assert paired_scores.recall_at_k(similarity, same, 3) == pytest.approx(1.0)


def test_image_to_text_ranks_each_sentence_once():
    """Five copies of a wrong sentence must not push the right one out of the top 5."""
    ids = np.array([0, 1, 1, 1, 1, 1, 2])
    similarity = (ids[:, None] == ids[None, :]).astype(float)
    similarity[0] = [0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1]  # image 0 prefers sentence 1
    scores = paired_scores.retrieval_scores(similarity, ids)
    assert scores["image_to_text_r1"] == pytest.approx(6 / 7)
    assert scores["image_to_text_r5"] == 1.0
    assert scores["text_to_image_r1"] == 1.0
    assert scores["chance_recall_at_5"] == pytest.approx(
        (1.0 + paired_scores.chance_recall(ids[:, None] == ids[None, :], 5)) / 2)


def test_chance_recall_is_what_random_rankings_get():
    ids = np.array([0, 0, 1, 2, 2, 2, 3, 4])
    same = ids[:, None] == ids[None, :]
    exact = paired_scores.chance_recall(same, 2)
    by_hand = np.mean([1 - math.comb(8 - n, 2) / math.comb(8, 2) for n in same.sum(axis=1)])
    assert exact == pytest.approx(by_hand)
    rng = np.random.default_rng(0)
    trials = [paired_scores.recall_at_k(rng.standard_normal((8, 8)), same, 2)
              for _ in range(4000)]
    assert np.mean(trials) == pytest.approx(exact, abs=0.01)
    assert paired_scores.chance_recall(np.eye(4, dtype=bool), 1) == pytest.approx(0.25)


def test_zero_shot_picks_the_class_whose_captions_are_most_similar_on_average():
    candidate_labels = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])  # two properties, 2 classes
    similarity = np.array([[0.9, -0.5, 0.3, 0.2],
                           [0.0, 0.1, 0.5, 0.6]])
    scores = paired_scores.zero_shot_scores(similarity, candidate_labels,
                                            np.array([[1, 0], [1, 1]]), ("first", "second"))
    # image 0: first 0 -> (0.9 - 0.5) / 2 = 0.2, first 1 -> 0.25: guesses 1 (right, where
    #          the single best caption, 0.9, would have said 0); second 0 -> 0.6 beats -0.15.
    # image 1: first 1 -> 0.55 beats 0.05; second 1 -> 0.35 beats 0.25.
    assert scores == {"first_accuracy": 1.0, "chance_first": 0.5,
                      "second_accuracy": 1.0, "chance_second": 0.5}


class Oracle(nn.Module):
    """Knows each caption's index and reads the picture's from a lookup: a perfect model."""

    def __init__(self, task, images, labels):
        super().__init__()
        self.task = task
        self.index = {image.tobytes(): i for image, i in zip(images, caption_index(labels))}

    def similarity(self, images, captions):
        rows = [self.index[image.tobytes()] for image in images.numpy()]
        texts = [ALL_CAPTIONS.index(self.task.decode(c)) for c in captions.numpy()]
        return Tensor((np.array(rows)[:, None] == np.array(texts)[None, :]).astype(np.float32))


def test_a_perfect_model_scores_one_and_chance_is_far_below():
    task = make(size=16)
    images, labels = zip(*(task.draw(64, step, "valid") for step in range(2)))
    model = Oracle(task, np.concatenate(images), np.concatenate(labels))
    scores = task.score(model, batches=2)
    for name in ("recall_at_1", "recall_at_5", "image_to_text_r1", "text_to_image_r5",
                 "shape_accuracy", "size_accuracy", "place_accuracy"):
        assert scores[name] == 1.0, name
    assert scores["chance_shape"] == 0.25 and scores["chance_size"] == 0.5
    assert scores["chance_place"] == pytest.approx(1 / 9)
    assert 1 / 72 < scores["chance_recall_at_1"] < 0.05 < scores["chance_recall_at_5"] < 0.15
    assert task.main_metric in scores and task.higher_is_better
    assert model.training  # scoring puts the model back in training mode
