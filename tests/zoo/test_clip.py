"""clip: the symmetric contrastive loss by hand, unit-length embeddings, the clamped
temperature, the conformance kit, and retrieval far above chance after a short training."""

import math

import numpy as np
import pytest

from gradzoo.engine import Tensor, backend, nn, optim
from gradzoo.engine import functional as F
from gradzoo.plugins.testing import check_model
from gradzoo.zoo.models import clip
from gradzoo.zoo.tasks.captions import TASKS as CAPTION_TASKS

TINY = {"hidden": 32, "width": 16, "layers": 1, "heads": 2, "embedding": 8}


def make_task(size=8, seed=0):
    spec = CAPTION_TASKS[0]
    return spec.make(spec.resolve({"size": size}), seed)


def make_model(task, seed=0, **options):
    backend.manual_seed(seed)
    return clip.build(task, clip.SPEC.resolve({**TINY, **options}))


def log_softmax(values):
    """log softmax of a list of numbers, by hand."""
    total = sum(math.exp(v) for v in values)
    return [v - math.log(total) for v in values]


def test_the_loss_equals_the_hand_computed_value_on_a_2_by_2_batch():
    similarity = [[0.9, 0.1],
                  [0.2, 0.8]]
    scale = 2.0
    logits = [[scale * s for s in row] for row in similarity]
    rows = [-log_softmax(logits[i])[i] for i in range(2)]             # image i picks caption i
    columns = [-log_softmax([logits[0][j], logits[1][j]])[j] for j in range(2)]
    by_hand = (sum(rows) / 2 + sum(columns) / 2) / 2
    # the same numbers written out: row 0 sees 1.8 against 0.2, column 0 sees 1.8 against 0.4
    assert rows[0] == pytest.approx(math.log(1 + math.exp(0.2 - 1.8)))
    assert columns[0] == pytest.approx(math.log(1 + math.exp(0.4 - 1.8)))
    loss = clip.contrastive_loss(Tensor(np.array(logits, np.float32)),
                                 Tensor(np.eye(2, dtype=np.float32)))
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)


def test_captions_that_read_the_same_share_the_target():
    logits = np.array([[2.0, 1.0, -1.0],
                       [0.5, 1.5, 0.0],
                       [-0.5, 0.3, 1.2]], np.float32)
    captions = Tensor(np.array([[1, 2, 0], [1, 2, 0], [3, 4, 5]]))  # pairs 0 and 1: one text
    positives = clip.positives_of(captions)
    np.testing.assert_array_equal(positives.numpy(), [[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    rows = [-(0.5 * log_softmax(logits[i])[0] + 0.5 * log_softmax(logits[i])[1])
            for i in (0, 1)] + [-log_softmax(logits[2])[2]]
    columns = [-(0.5 * log_softmax(logits[:, j])[0] + 0.5 * log_softmax(logits[:, j])[1])
               for j in (0, 1)] + [-log_softmax(logits[:, 2])[2]]
    by_hand = (sum(rows) / 3 + sum(columns) / 3) / 2
    assert clip.contrastive_loss(Tensor(logits), positives).item() == pytest.approx(by_hand,
                                                                                    rel=1e-6)


def test_the_loss_is_symmetric_in_images_and_captions():
    """Swapping the roles of images and captions transposes everything: the loss stays."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 6)).astype(np.float32) * 3
    captions = rng.integers(1, 3, size=(6, 2))  # few texts: many repeats
    positives = clip.positives_of(Tensor(captions)).numpy()
    forward = clip.contrastive_loss(Tensor(logits), Tensor(positives)).item()
    swapped = clip.contrastive_loss(Tensor(logits.T.copy()), Tensor(positives.T.copy())).item()
    assert swapped == pytest.approx(forward, rel=1e-6)


def test_with_distinct_captions_it_is_the_papers_cross_entropy_both_ways():
    rng = np.random.default_rng(1)
    logits = Tensor(rng.standard_normal((5, 5)).astype(np.float32))
    labels = Tensor(np.arange(5))
    paper = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    ours = clip.contrastive_loss(logits, Tensor(np.eye(5, dtype=np.float32)))
    assert ours.item() == pytest.approx(paper.item(), rel=1e-6)


def test_embeddings_have_unit_length_and_similarities_are_cosines():
    task = make_task()
    model = make_model(task)
    batch = task.batch(6, 0)
    images, texts = model.embed_images(batch.images), model.embed_texts(batch.captions)
    assert images.shape == (6, 8) and texts.shape == (6, 8)
    np.testing.assert_allclose(np.linalg.norm(images.numpy(), axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts.numpy(), axis=1), 1.0, rtol=1e-5)
    similarity = model.similarity(batch.images, batch.captions[:4])
    assert similarity.shape == (6, 4) and similarity.dtype == np.float32
    np.testing.assert_allclose(similarity.numpy(), images.numpy() @ texts.numpy()[:4].T,
                               rtol=1e-5, atol=1e-6)


def test_padding_is_hidden_from_attention_and_from_the_mean():
    task = make_task()
    model = make_model(task)
    words = task.encode("a small disc in the middle")[:-1]  # 6 words, then one pad
    line = task.encode("line")[0]                          # a word not in that caption
    padded = model.embed_texts(Tensor(np.array([words + [task.pad_token]]))).numpy()
    with_a_word = model.embed_texts(Tensor(np.array([words + [line]]))).numpy()
    assert not np.allclose(padded, with_a_word, atol=1e-4)
    model.text_encoder.pad_token = line  # now 'line' pads: whatever stands there is ignored
    hidden = model.embed_texts(Tensor(np.array([words + [line]]))).numpy()
    np.testing.assert_allclose(hidden, padded, atol=1e-6)


def test_the_temperature_starts_at_007_and_the_scale_stops_at_100():
    task = make_task()
    model = make_model(task)
    assert model.scale().item() == pytest.approx(1 / 0.07, rel=1e-5)
    model.logit_scale.data[...] = 7.0  # e^7 > 100
    scale = model.scale()
    assert scale.item() == pytest.approx(100.0, rel=1e-5)
    loss = model.loss(task.batch(8, 0))
    loss.backward()
    assert model.logit_scale.grad is None or float(model.logit_scale.grad.numpy()) == 0.0
    assert model.last_metrics["logit_scale"] == pytest.approx(100.0, rel=1e-5)


def test_bad_inputs_are_refused_with_the_shapes_expected():
    task = make_task()
    model = make_model(task)
    batch = task.batch(2, 0)
    with pytest.raises(ValueError, match=r"images must be \(N, 64\)"):
        model.similarity(Tensor(np.zeros((2, 10), np.float32)), batch.captions)
    with pytest.raises(ValueError, match=r"captions must be \(M, 7\) integer"):
        model.similarity(batch.images, Tensor(np.zeros((2, 7), np.float32)))
    with pytest.raises(ValueError, match="divisible by heads"):
        make_model(task, width=10, heads=4)


def test_clip_passes_the_conformance_kit():
    check_model("clip")


def test_retrieval_is_far_above_chance_after_a_short_training():
    task = make_task(size=16, seed=0)
    model = make_model(task, hidden=64, width=32, embedding=16)
    before = task.score(model, batches=4)
    optimizer = optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(1, 41):
        loss = model.loss(task.batch(64, step))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    after = task.score(model, batches=4)
    assert before["recall_at_1"] < 5 * before["chance_recall_at_1"]
    assert after["recall_at_1"] > 0.5 > 10 * after["chance_recall_at_1"]
    assert after["recall_at_5"] > 0.7
    for name in ("shape", "size", "place"):
        assert after[f"{name}_accuracy"] > 1.5 * after[f"chance_{name}"], name


def test_clip_trains_scores_and_samples_on_each_device(device, tmp_path):
    """The GPU code path (a CuPy stand-in without a GPU): no host array meets a device one."""
    from gradzoo.lab.pictures.paired import draw_paired_run

    task = make_task()
    model = make_model(task)
    assert model.logit_scale.device == device
    optimizer = optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(2):
        loss = model.loss(task.batch(8, step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scores = task.score(model, batches=1, batch_size=16)
    assert 0.0 <= scores["recall_at_1"] <= 1.0
    lines = draw_paired_run(model, task, 3, tmp_path)
    assert (tmp_path / "captions.png").exists() and len(lines) == 7
