"""The cloze task hides characters by BERT's recipe, and bert fills them from both sides."""

import numpy as np
import pytest

from gradzoo.engine import Tensor, no_grad
from gradzoo.lab.errors import UsageError
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.lab.training.loop import Trainer
from gradzoo.plugins.manager import get_registry
from gradzoo.zoo.tasks.cloze import MASK_SYMBOL, hidden_logits
from gradzoo.zoo.tasks.sequence import IGNORE


def cloze(**options):
    spec = get_registry().tasks["cloze"]
    return spec.make(spec.resolve(options), 0)


@pytest.fixture(scope="module")
def task():
    return cloze(context=41)   # 40 positions after the first: 6 hidden per window


def test_each_window_hides_fifteen_percent_never_the_first(task):
    batch = task.batch(200, 0)
    chosen = batch.labels.numpy() != IGNORE
    assert task.hidden_per_window() == 6
    assert (chosen.sum(axis=1) == 6).all()
    assert not chosen[:, 0].any()
    assert chosen[:, 1:].mean(axis=0).min() > 0.05   # every other position is chosen sometimes


def test_chosen_characters_are_masked_80_random_10_kept_10(task):
    batches = [task.batch(256, step) for step in range(8)]
    tokens = np.concatenate([b.tokens.numpy() for b in batches])
    original = np.concatenate([b.original.numpy() for b in batches])
    chosen = np.concatenate([b.labels.numpy() for b in batches]) != IGNORE
    masked = (tokens == task.mask_token)[chosen].mean()
    changed = ((tokens != task.mask_token) & (tokens != original))[chosen].mean()
    kept = (tokens == original)[chosen].mean()
    # a random character equals the original with probability about 1/vocab, which
    # moves a little of the 10% from "changed" to "kept"
    assert masked == pytest.approx(0.8, abs=0.02)
    assert changed == pytest.approx(0.1 * (1 - 1 / len(task.chars)), abs=0.015)
    assert kept == pytest.approx(0.1, abs=0.02)
    assert (tokens == original)[~chosen].all()      # nothing else is touched
    assert (tokens != task.mask_token)[~chosen].all()


def test_held_out_windows_show_every_gap_as_the_mask(task):
    batch = task.batch(64, 0, split="valid")
    chosen = batch.labels.numpy() != IGNORE
    assert (batch.tokens.numpy()[chosen] == task.mask_token).all()
    assert MASK_SYMBOL in task.decode(batch.tokens.numpy()[0])


def test_labels_are_the_original_characters_and_batches_repeat(task):
    first, again = task.batch(8, 3), task.batch(8, 3)
    np.testing.assert_array_equal(first.tokens.numpy(), again.tokens.numpy())
    labels, original = first.labels.numpy(), first.original.numpy()
    chosen = labels != IGNORE
    np.testing.assert_array_equal(labels[chosen], original[chosen])
    # the left-to-right view: gapped text in, the next original character out
    np.testing.assert_array_equal(first.inputs.numpy(), first.tokens.numpy()[:, :-1])
    np.testing.assert_array_equal(first.targets.numpy(), original[:, 1:])


def test_a_left_to_right_model_guesses_each_gap_from_the_left_only():
    """hidden_logits for gpt at position p never change when text after p - 1 changes."""
    exp = build_experiment(get_registry(), "gpt", "cloze",
                           {"width": 16, "layers": 1, "heads": 2, "context": 12}, seed=0)
    batch = exp.task.batch(2, 0, split="valid")
    with no_grad():
        before = hidden_logits(exp.model, batch).numpy()
        batch.tokens.data[:, 6:] = 0
        after = hidden_logits(exp.model, batch).numpy()
    np.testing.assert_allclose(after[:, :6], before[:, :6], atol=1e-6)  # positions 1..6
    assert not np.allclose(after[:, 6:], before[:, 6:])


def test_bert_reads_both_sides():
    exp = build_experiment(get_registry(), "bert", "cloze",
                           {"width": 16, "layers": 1, "heads": 2, "context": 12}, seed=0)
    tokens = exp.task.batch(2, 0).tokens
    with no_grad():
        before = exp.model(tokens).numpy()
        tokens.data[:, -1] = exp.task.mask_token
        after = exp.model(tokens).numpy()
    assert not np.allclose(after[:, 0], before[:, 0])  # the first position saw the last change


def test_bert_refuses_next_character_prediction():
    with pytest.raises(UsageError, match="reads both sides.*--task cloze"):
        build_experiment(get_registry(), "bert", "chars", {}, seed=0)


def test_bert_generates_by_filling_a_gap_at_the_end():
    exp = build_experiment(get_registry(), "bert", "cloze",
                           {"width": 16, "layers": 1, "heads": 2, "context": 12}, seed=0)
    prompt = Tensor(np.array([exp.task.encode("def f(x):")]))
    out = exp.model.generate(prompt, 20, temperature=1.0).numpy()
    assert out.shape == (1, 29)
    assert (out[:, :9] == prompt.numpy()).all()
    assert (out < len(exp.task.chars)).all()           # never the mask token itself


def twins_text(path) -> str:
    """Random letters, each written twice: "kk aa pp ..."; a hidden letter's twin sits beside it.

    From the left alone the first letter of a pair is a guess (1 in 26); from
    both sides it is a copy of its right neighbour.
    """
    rng = np.random.default_rng(0)
    letters = rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=3000)
    path.write_text(" ".join(c + c for c in letters), encoding="utf-8")
    return str(path)


def train(model, text, steps, tmp_path):
    options = {"width": 32, "layers": 2, "heads": 2, "context": 16, "path": text}
    training = {"steps": steps, "lr": 3e-3, "warmup": 20, "eval_every": 10_000, "batch_size": 32}
    exp = build_experiment(get_registry(), model, "cloze", options, seed=0, training=training)
    trainer = Trainer(exp, tmp_path / model, progress=False)
    trainer.start()
    trainer.train()
    return exp.task.score(exp.model, batches=4)


@pytest.mark.slow
def test_bert_fills_gaps_better_than_gpt(tmp_path):
    """The lesson at a small size and a fixed seed: after the same 1,000 steps, reading both
    sides of a gap fills far more of them than reading the left side only."""
    text = twins_text(tmp_path / "twins.txt")
    bert = train("bert", text, 1000, tmp_path)
    gpt = train("gpt", text, 1000, tmp_path)
    assert gpt["hidden_accuracy"] > gpt["constant_accuracy"] + 0.1   # gpt learned its half
    assert gpt["hidden_accuracy"] < 0.8                   # but cannot see a first letter's twin
    assert bert["hidden_accuracy"] > gpt["hidden_accuracy"] + 0.15, (bert, gpt)
