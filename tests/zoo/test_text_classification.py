"""Text classification: ``doc_topics`` labels passages of CPython's docs with their subject,
its splits are fixed and disjoint; bert, gpt and the recurrent models grow a ``classifier``
head on their language body; ``chars --set domain=...`` reads one part of the docs."""

from pydoc_data.topics import topics

import numpy as np
import pytest

from gradzoo.engine import Tensor, backend, optim
from gradzoo.plugins import SpecError
from gradzoo.plugins.manager import get_registry
from gradzoo.plugins.protocols import TASK_PROTOCOLS, classification_inputs, reads_text
from gradzoo.plugins.testing import check_model
from gradzoo.zoo.tasks import classes, doc_topics, language

(DOC_TOPICS,) = doc_topics.TASKS
(CHARS,) = language.TASKS
TEXT_MODELS = ("bert", "gpt", "rnn", "lstm", "gru")
TINY = {"width": 16, "layers": 1, "heads": 2, "hidden": 16}


def make(seed=0, **options):
    return DOC_TOPICS.make(DOC_TOPICS.resolve(options), seed)


def build(name, task, **options):
    spec = get_registry().model(name)
    backend.manual_seed(0)
    known = {k: v for k, v in {**TINY, **options}.items() if k in spec.defaults()}
    return spec.build(task, spec.resolve(known))


def rows(tokens):
    return {tuple(row) for row in tokens.tolist()}


# ---------------------------------------------------------------------- the task


def test_a_batch_holds_passages_as_int64_tokens_and_their_subjects():
    task = make(context=32)
    batch = task.batch(16, 0)
    assert task.kind == "classification" and reads_text(task) and task.image_shape is None
    assert isinstance(task, TASK_PROTOCOLS["classification"])
    assert task.class_names == ("strings", "numbers", "control_flow", "classes")
    assert batch.images is None and batch.inputs is batch.tokens
    assert classification_inputs(batch) is batch.tokens and len(batch) == 16
    assert batch.tokens.shape == (16, 32) and batch.tokens.dtype == np.int64
    assert batch.labels.shape == (16,) and set(batch.labels.numpy()) <= {0, 1, 2, 3}


def test_the_vocabulary_is_that_of_chars_so_ids_match():
    task, chars = make(), CHARS.make(CHARS.defaults(), 0)
    assert task.chars == chars.chars and task.vocab_size == chars.vocab_size
    assert task.encode("str.format") == chars.encode("str.format")


def test_each_passage_is_text_of_the_subject_it_is_labelled_with():
    task = make()
    for label, names in enumerate(doc_topics.TOPICS.values()):
        own = "".join(topics[name] for name in names)
        tokens, labels = task.splits["test"]
        for row in tokens[labels == label][:10]:
            assert task.decode(row) in own
    strings_text = "".join(topics[n] for n in doc_topics.TOPICS["strings"])
    tokens, labels = task.splits["train"]
    assert not any(task.decode(row) in strings_text for row in tokens[labels == 1][:20])


def test_splits_are_disjoint_balanced_and_the_same_for_every_seed():
    task, other = make(per_class=20), make(seed=7, per_class=20)
    train, valid, test = (rows(task.splits[s][0]) for s in ("train", "valid", "test"))
    assert len(train) == len(valid) == len(test) == 80       # 4 subjects x 20, no repeats
    assert not train & valid and not train & test and not valid & test
    for split in ("train", "valid", "test"):
        assert np.bincount(task.splits[split][1]).tolist() == [20] * 4
        assert np.array_equal(task.splits[split][0], other.splits[split][0])
    a, b = task.batch(8, 3), make(per_class=20).batch(8, 3)
    assert np.array_equal(a.tokens.numpy(), b.tokens.numpy())
    assert not np.array_equal(a.tokens.numpy(), other.batch(8, 3).tokens.numpy())


def test_too_many_passages_per_subject_is_a_clear_error():
    with pytest.raises(SpecError, match="subject 'numbers' has .* per_class 500"):
        make(per_class=500)


class Always:
    """A 'classifier' that always answers ``answer``."""

    training = False

    def __init__(self, answer):
        self.answer = answer

    def eval(self):
        pass

    def train(self, mode=True):
        pass

    def classify(self, tokens):
        logits = np.zeros((tokens.shape[0], 4), dtype=np.float32)
        logits[:, self.answer] = 1.0
        return Tensor(logits)


def test_the_score_is_accuracy_beside_the_majority_baseline():
    task = make()
    scores = task.score(Always(2), split="test")
    assert scores == {"accuracy": 0.25, "majority_baseline": 0.25}  # balanced: 1 in 4


# ---------------------------------------------------------------------- the heads


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_a_text_model_grows_a_classifier_and_keeps_its_language_body_names(name):
    task = make(context=16)
    pretraining = get_registry().task("cloze" if name == "bert" else "chars")
    language_task = pretraining.make(pretraining.resolve({"context": 16}), 0)
    classifier, body = build(name, task), build(name, language_task)
    assert classifier.classify(task.batch(5, 0).tokens).shape == (5, 4)
    own = dict(classifier.named_parameters())
    assert own["classifier.weight"].shape == (4, 16)
    shared = {k: p.shape for k, p in body.named_parameters()}
    vocabulary = ("token_embedding.weight", "embedding.weight")  # cloze adds its mask token
    assert {k: p.shape for k, p in own.items() if k in shared and k not in vocabulary} == {
        k: s for k, s in shared.items() if k in own and k not in vocabulary}
    assert set(own) - set(shared) == {"classifier.weight", "classifier.bias"}
    assert set(shared) - set(own) <= {"head.weight", "head.bias", "head_bias"}
    with pytest.raises(ValueError, match="token ids"):
        classifier.classify(Tensor(np.zeros((5, 16), dtype=np.float32)))


def test_the_first_character_of_a_passage_reaches_its_class():
    task = make(context=16)
    tokens = task.batch(2, 0).tokens.numpy()
    changed = tokens.copy()
    changed[:, 0] = (changed[:, 0] + 1) % task.vocab_size
    for name in ("gpt", "bert", "lstm"):
        model = build(name, task)
        model.eval()
        before, after = (model.classify(Tensor(t)).numpy() for t in (tokens, changed))
        assert not np.allclose(before, after)       # the first character reaches the class


def test_a_language_model_on_a_picture_task_is_a_clear_error():
    shapes = get_registry().task("shape_classes")
    task = shapes.make(shapes.defaults(), 0)
    with pytest.raises(ValueError, match="poses pictures.*--task doc_topics"):
        build("gpt", task)


def learn(name, steps):
    task = make()
    model = build(name, task, width=32, hidden=32)
    optimizer = optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(steps):
        loss = model.loss(task.batch(32, step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert 0.0 <= model.last_metrics["batch_accuracy"] <= 1.0
    return task.score(model)


@pytest.mark.parametrize("name", ["bert", "gpt"])
def test_a_tiny_model_learns_the_subjects_above_the_baseline(name):
    scores = learn(name, 100)
    assert scores["accuracy"] > 0.33 > 0.26 > scores["majority_baseline"]


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_text_classifiers_pass_the_conformance_kit(name):
    check_model(name, task="doc_topics")


def test_text_models_are_shown_on_doc_topics_and_picture_models_on_pictures():
    registry = get_registry()
    for name in TEXT_MODELS:
        assert registry.example_task(registry.model(name), "classification") == "doc_topics"
    assert registry.example_task(registry.model("bert")) == "cloze"
    assert registry.example_task(registry.model("cnn"), "classification") == "shape_classes"


# ---------------------------------------------------------------------- the domain


def test_a_domain_is_its_part_of_the_docs_only_in_the_whole_docs_characters():
    task = CHARS.make(CHARS.resolve({"domain": "sequences"}), 0)
    whole = CHARS.make(CHARS.defaults(), 0)
    text = "".join(topics[name] for name in language.DOMAINS["sequences"])
    assert task.chars == whole.chars and task.vocab_size == whole.vocab_size
    assert task.decode(np.concatenate([task.splits["train"], task.splits["valid"]])) == text
    assert text not in whole.decode(whole.splits["train"])   # held out of pre-training on chars


def test_a_domain_cannot_be_combined_with_a_path_and_must_be_known(tmp_path):
    file = tmp_path / "text.txt"
    file.write_text("some text " * 200, encoding="utf-8")
    with pytest.raises(SpecError, match="cannot be combined with path"):
        CHARS.make(CHARS.resolve({"domain": "sequences", "path": str(file)}), 0)
    with pytest.raises(SpecError, match="must be one of"):
        CHARS.resolve({"domain": "nonesuch"})


def test_picture_batches_still_carry_images():
    batch = classes.TASKS[0].make(classes.TASKS[0].defaults(), 0).batch(4, 0)
    assert batch.tokens is None and batch.inputs is batch.images and len(batch) == 4
