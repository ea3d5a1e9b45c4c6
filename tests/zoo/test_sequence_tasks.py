"""The built-in sequence and language tasks pose the puzzles they claim, reproducibly."""

import numpy as np
import pytest

from gradzoo.plugins import SpecError
from gradzoo.zoo.tasks import language, sequence


def make(name, seed=0, **options):
    spec = next(s for s in sequence.TASKS if s.name == name)
    return spec.make(spec.resolve(options), seed)


def test_same_seed_and_step_give_the_same_batch():
    a, b = make("reverse", seed=3), make("reverse", seed=3)
    assert np.array_equal(a.batch(8, 5).source.numpy(), b.batch(8, 5).source.numpy())
    assert not np.array_equal(a.batch(8, 5).source.numpy(), a.batch(8, 6).source.numpy())
    train, valid = a.batch(8, 5).source.numpy(), a.batch(8, 5, split="valid").source.numpy()
    assert not np.array_equal(train, valid)


def test_remember_asks_for_the_first_token():
    task = make("remember", distance=5)
    batch = task.batch(16, 0)
    source, target = batch.source.numpy(), batch.target.numpy()
    assert source.shape == (16, 6) and target.shape == (16, 1)
    assert np.array_equal(target[:, 0], source[:, 0])
    assert source.max() < 8 and task.vocab_size == 9


def test_recall_answers_the_value_of_the_query_key():
    task = make("recall", pairs=3)
    source = task.batch(32, 1).source.numpy()
    target = task.batch(32, 1).target.numpy()[:, 0]
    for row, answer in zip(source, target):
        keys, values, query = row[0:6:2], row[1:6:2], row[6]
        assert len(set(keys)) == 3                    # the keys of one example are distinct
        assert (keys < 16).all() and (values >= 16).all()  # separate vocabularies
        assert answer == values[list(keys).index(query)]


@pytest.mark.parametrize("name, expected", [
    ("copy", lambda s: s), ("reverse", lambda s: s[:, ::-1]), ("sort", lambda s: np.sort(s, 1))])
def test_digit_tasks(name, expected):
    batch = make(name, length=5).batch(10, 2)
    assert np.array_equal(batch.target.numpy(), expected(batch.source.numpy()))


def test_add_writes_the_sum_digit_by_digit():
    batch = make("add", digits=2).batch(20, 0)
    for source, target in zip(batch.source.numpy(), batch.target.numpy()):
        a, b = int("".join(map(str, source[:2]))), int("".join(map(str, source[3:])))
        assert source[2] == sequence.PLUS
        assert int("".join(map(str, target))) == a + b


def test_stream_puts_sep_between_source_and_target_and_scores_only_the_target():
    batch = make("reverse", length=3).batch(2, 0)
    inputs, labels = batch.stream()
    source, target = batch.source.numpy(), batch.target.numpy()
    assert np.array_equal(inputs.numpy()[:, :3], source)
    assert (inputs.numpy()[:, 3] == batch.sep_token).all()
    assert np.array_equal(inputs.numpy()[:, 4:], target[:, :-1])
    assert (labels.numpy()[:, :3] == sequence.IGNORE).all()
    assert np.array_equal(labels.numpy()[:, 3:], target)


@pytest.mark.parametrize("name, options, words", [
    ("remember", {"distance": "-1"}, "integer from 0"),
    ("reverse", {"length": "abc"}, "integer"),
    ("recall", {"pairs": 17}, "from 1 to 16"),
])
def test_options_are_validated(name, options, words):
    spec = next(s for s in sequence.TASKS if s.name == name)
    with pytest.raises(SpecError, match=words):
        spec.resolve(options)


def test_chars_reads_cpython_docs_by_default_and_any_utf8_file(tmp_path):
    spec = language.TASKS[0]
    task = spec.make(spec.resolve({"context": 16}), 0)
    assert task.vocab_size > 50
    batch = task.batch(4, 0)
    assert np.array_equal(batch.inputs.numpy()[:, 1:], batch.targets.numpy()[:, :-1])
    assert task.decode(task.encode("def f():")) == "def f():"
    text = tmp_path / "poem.txt"
    text.write_text("the cat sat on the mat. " * 200, encoding="utf-8")
    small = spec.make(spec.resolve({"path": str(text), "context": 8}), 0)
    assert small.vocab_size == len(set("the cat sat on the mat. "))
    assert small.unigram_loss() > 0


def test_chars_rejects_a_missing_or_binary_file(tmp_path):
    spec = language.TASKS[0]
    with pytest.raises(SpecError, match="no such file"):
        spec.make(spec.resolve({"path": str(tmp_path / "nope.txt")}), 0)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00" * 1000)
    with pytest.raises(SpecError, match="not UTF-8"):
        spec.make(spec.resolve({"path": str(binary)}), 0)
