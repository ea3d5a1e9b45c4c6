"""Tests of the tcn plugin: gradzoo's conformance kit, the convolution, and the window it sees."""

import numpy as np
import pytest
from gradzoo.engine import Tensor, manual_seed, nn, optim
from gradzoo.plugins.manager import get_registry
from gradzoo.plugins.testing import conformance_cases

from gradzoo_tcn import model as tcn
from gradzoo_tcn.conv import CausalConv1d


@pytest.mark.parametrize("case", conformance_cases(tcn.SPEC), ids=str)
def test_conforms(case):
    case.run()


def test_the_convolution_follows_its_formula():
    """y_t = b + sum_m W[:, :, m] x_{t - (k-1-m) d}, with zeros before the start."""
    manual_seed(0)
    conv = CausalConv1d(3, 2, kernel_size=3, dilation=2)
    x = np.random.default_rng(0).standard_normal((1, 9, 3)).astype("float32")
    weight, bias = conv.weight.numpy(), conv.bias.numpy()
    expected = np.zeros((1, 9, 2), dtype="float32")
    for t in range(9):
        expected[0, t] = bias
        for m in range(3):
            source = t - (3 - 1 - m) * 2
            if source >= 0:
                expected[0, t] += weight[:, :, m] @ x[0, source]
    np.testing.assert_allclose(conv(Tensor(x)).numpy(), expected, atol=1e-5)


def test_an_output_sees_exactly_its_receptive_field():
    """kernel 2 and 3 blocks: R = 1 + 1 + 2 + 4 = 8 tokens, the current one included."""
    task = get_registry().task("chars").make({"path": "", "context": 16}, 0)
    model = tcn.build(task, {"width": 8, "layers": 3, "kernel": 2})
    assert model.receptive_field == 8
    tokens = np.random.default_rng(0).integers(0, task.vocab_size, size=(1, 16))
    before = model(Tensor(tokens)).numpy()[0, 15]
    for position, seen in ((15 - 7, True), (15 - 8, False)):
        changed = tokens.copy()
        changed[0, position] = (changed[0, position] + 1) % task.vocab_size
        after = model(Tensor(changed)).numpy()[0, 15]
        assert (abs(after - before).max() > 1e-6) == seen, position


def exact_match_after_training(length: int, steps: int = 60) -> float:
    """Train a tcn with R = 8 on ``copy`` strings of ``length`` digits; score exact matches."""
    manual_seed(0)
    task = get_registry().task("copy").make({"length": length}, 0)
    model = tcn.build(task, {"width": 32, "layers": 3, "kernel": 2})
    optimizer = optim.AdamW(model.parameters(), lr=1e-2)
    for step in range(1, steps + 1):
        loss = model.loss(task.batch(32, step))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return task.score(model, batches=2)["exact_match"]


def test_it_copies_what_its_window_can_see():
    """Copying digit i means looking back length + 1 tokens: R = 8 covers length 4..."""
    assert exact_match_after_training(length=4) > 0.95


def test_it_cannot_copy_beyond_its_window():
    """...but not length 12: the first digits are out of sight when their copy is due."""
    assert exact_match_after_training(length=12) < 0.05
