"""Every built-in model learns, and the causal ones never look ahead."""

import numpy as np
import pytest

from gradzoo.engine import Tensor, no_grad
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.lab.training.loop import Trainer
from gradzoo.plugins.manager import get_registry

SMALL = {
    "rnn": {"hidden": 32},
    "lstm": {"hidden": 32},
    "gru": {"hidden": 32},
    "gpt": {"width": 32, "layers": 1, "heads": 2},
    "transformer": {"width": 32, "layers": 1, "heads": 2, "ff": 64},
}
CAUSAL = ["rnn", "lstm", "gru", "gpt"]


def experiment(model, task, steps, lr=1e-2, **options):
    training = {"steps": steps, "lr": lr, "warmup": 20, "eval_every": 10_000, "batch_size": 32}
    return build_experiment(get_registry(), model, task, {**SMALL[model], **options}, seed=0,
                            training=training)


@pytest.mark.parametrize("model", sorted(SMALL))
def test_learns_reverse(model, tmp_path):
    """Loss on reverse (length 4) falls below a third of where it started within 400 steps."""
    exp = experiment(model, "reverse", steps=400, lr=3e-3 if model == "transformer" else 1e-2,
                     length=4)
    start = exp.model.loss(exp.task.batch(256, 0, split="valid")).item()
    trainer = Trainer(exp, tmp_path / "run", progress=False)
    trainer.start()
    trainer.train()
    end = exp.model.loss(exp.task.batch(256, 0, split="valid")).item()
    assert end < start / 3, f"{model}: loss {start:.3f} -> {end:.3f}"


@pytest.mark.parametrize("model", CAUSAL)
def test_never_looks_ahead(model):
    """Changing the tokens after position t leaves the outputs at positions <= t unchanged."""
    exp = experiment(model, "reverse", steps=1, length=6)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 10, size=(3, 12))
    with no_grad():
        before = exp.model(Tensor(tokens)).numpy()
        for t in (0, 5, 10):
            changed = tokens.copy()
            changed[:, t + 1:] = rng.integers(0, 10, size=changed[:, t + 1:].shape)
            after = exp.model(Tensor(changed)).numpy()
            np.testing.assert_allclose(after[:, :t + 1], before[:, :t + 1], atol=1e-6)
            assert not np.allclose(after[:, t + 1:], before[:, t + 1:])  # the future did change


def test_gpt_on_chars_beats_the_unigram_baseline(tmp_path):
    """A tiny GPT trained 150 steps on CPython's docs predicts better than character counts."""
    exp = experiment("gpt", "chars", steps=150, context=32)
    exp.settings.batch_size = 16
    trainer = Trainer(exp, tmp_path / "run", progress=False)
    trainer.start()
    scores = trainer.train().scores
    assert scores["valid_loss"] < scores["unigram_loss"] - 0.5, scores


@pytest.mark.parametrize("model", ["gpt", "lstm"])
def test_generate_continues_the_prompt(model):
    exp = experiment(model, "chars", steps=1, context=16)
    prompt = Tensor([exp.task.encode("def ")])
    out = exp.model.generate(prompt, tokens=20, temperature=1.0, top_k=5)
    assert out.shape == (1, 24)
    assert np.array_equal(out.numpy()[0, :4], prompt.numpy()[0])
    greedy = [exp.model.generate(prompt, tokens=5, temperature=0).numpy() for _ in range(2)]
    assert np.array_equal(*greedy)


def test_transformer_positional_encoding_follows_the_paper():
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d))."""
    from gradzoo.zoo.models.transformer import sinusoidal_encoding

    pe = sinusoidal_encoding(50, 16, "cpu").numpy()
    pos, i, d = 7, 3, 16
    assert pe[pos, 2 * i] == pytest.approx(np.sin(pos / 10000 ** (2 * i / d)), abs=1e-6)
    assert pe[pos, 2 * i + 1] == pytest.approx(np.cos(pos / 10000 ** (2 * i / d)), abs=1e-6)
