"""``gradzoo inspect``: attention maps, per-head numbers, bertviz JSON, recurrent gradients,
and the ``mqar`` task the induction-head lesson trains on.

Models are tiny and untrained (or trained for a few steps): these tests check what is
measured and written, not what a trained model learns (docs/inspect.md has that).
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from gradzoo.cli import forget_plugins, main
from gradzoo.engine import Tensor, backend, manual_seed, nn
from gradzoo.lab.inspect import attention, export, recurrent, summary
from gradzoo.zoo.models.gpt import GPT
from gradzoo.zoo.models.recurrent import RecurrentLM
from gradzoo.zoo.tasks.sequence import IGNORE, make_mqar
from tests.plugins.helpers import PLUGIN_ENV

host = backend.array_module("cpu")
TINY_GPT = ["gpt", "--task", "mqar", "--set", "pairs=2", "--set", "queries=2",
            "--set", "width=8", "--set", "heads=2", "--set", "layers=2"]

pytestmark = pytest.mark.usefixtures("fresh_plugins")  # see tests/conftest.py


def gradzoo(*args):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="gradzoo")


def train(tmp_path_factory, *arguments) -> str:
    out = tmp_path_factory.mktemp("run") / "run"
    with pytest.MonkeyPatch.context() as patch:
        for name in PLUGIN_ENV:
            patch.delenv(name, raising=False)
        forget_plugins()
        result = gradzoo("train", *arguments, "--steps", 2, "--quiet", "--out", out)
        forget_plugins()
    assert result.exit_code == 0, result.output
    return str(out)


@pytest.fixture(scope="module")
def gpt_run(tmp_path_factory) -> str:
    return train(tmp_path_factory, *TINY_GPT)


# ---------------------------------------------------------------------- attention maps


def test_maps_rows_sum_to_one_and_the_causal_triangle_is_exactly_zero():
    manual_seed(0)
    model = GPT(vocab_size=5, max_length=6, width=8, layers=2, heads=2)
    tokens = Tensor(host.asarray([[0, 1, 2, 3, 4, 0]]))
    collected = attention.collect(model, lambda: model(tokens))
    assert [name for name, _, _ in collected] == ["blocks.0.attn", "blocks.1.attn"]
    for _, weights, causal in collected:
        assert causal and weights.shape == (2, 6, 6)
        assert host.allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
        future = host.triu(host.ones((6, 6), dtype=bool), k=1)
        assert (weights[:, future] == 0.0).all()
        assert (weights[:, ~future] > 0.0).all()


def test_head_numbers_of_a_previous_token_head():
    # row 0 sees itself only; every later row puts all its weight on the token before
    length = 5
    a = host.zeros((length, length))
    a[0, 0] = 1.0
    a[host.arange(1, length), host.arange(length - 1)] = 1.0
    numbers = summary.head_numbers(a)
    assert numbers["previous"] == pytest.approx(1.0)
    assert numbers["distance"] == pytest.approx((length - 1) / length)
    assert numbers["entropy"] == pytest.approx(0.0)
    assert numbers["same"] == pytest.approx(1 / length)
    assert numbers["first"] == pytest.approx(2 / length)   # rows 0 and 1


def test_head_numbers_of_uniform_causal_attention():
    length = 4
    a = host.tril(host.ones((length, length)))
    a /= a.sum(axis=1, keepdims=True)
    numbers = summary.head_numbers(a)
    # row i spreads 1/(i+1) over i+1 keys: entropy log(i+1), mean distance i/2
    assert numbers["entropy"] == pytest.approx(sum(math.log(i + 1) for i in range(length)) / length)
    assert numbers["distance"] == pytest.approx(sum(i / 2 for i in range(length)) / length)
    assert numbers["same"] == pytest.approx(sum(1 / (i + 1) for i in range(length)) / length)


def test_induction_share_reads_the_token_after_the_earlier_copy():
    tokens = ["K", "v", "x", "K"]            # the last K should look at v, after the first K
    a = host.tril(host.ones((4, 4))) * 0.0
    a[:, 0] = 1.0
    a[3] = [0.0, 0.75, 0.0, 0.25]
    assert summary.induction_share(a, tokens) == pytest.approx(0.75)
    assert summary.head_numbers(a)["induction"] == 0.0   # no tokens: not computed


def test_bertviz_layout_reads_back_as_its_head_view_expects(tmp_path):
    manual_seed(0)
    model = GPT(vocab_size=3, max_length=4, width=8, layers=3, heads=2)
    collected = attention.collect(model, lambda: model(Tensor(host.asarray([[0, 1, 2, 1]]))))
    maps = attention.attention_maps(collected, {"stream": ["a", "b", "c", "b"]})
    path = tmp_path / "attention.json"
    export.write_json(path, export.bertviz_layout(maps, summary.summarise(maps)))
    params = json.loads(path.read_text())
    # what bertviz's head view reads: views of layers x heads x query x key, with the texts
    assert set(params) >= {"attention", "default_filter", "layer", "heads", "include_layers"}
    (view,) = params["attention"]
    assert view["name"] is None and view["left_text"] == ["a", "b", "c", "b"]
    attn = host.asarray(view["attn"])
    assert attn.shape == (3, 2, 4, 4)
    assert len(attn[0][0]) == len(view["left_text"]) and len(attn[0][0][0]) == len(
        view["right_text"])
    assert host.allclose(attn, host.stack([w for _, w, _ in collected]), atol=1e-6)
    assert params["include_layers"] == [0, 1, 2] and len(params["summary"]) == 6


# ---------------------------------------------------------------------- recurrent


@pytest.mark.parametrize("cell", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_recurrent_gradient_norms_one_per_step_finite_and_exact_at_the_loss(cell):
    manual_seed(0)
    model = RecurrentLM(cell, vocab_size=4, hidden=6, layers=2)
    tokens = Tensor(host.asarray([[0, 1, 2, 3, 1, 2, 0]]))
    layers, position = recurrent.trace(model, tokens)
    assert position == 6 and [layer.name for layer in layers] == ["cells.0", "cells.1"]
    top = layers[-1]
    assert len(top.gradient_norms) == 7 and all(math.isfinite(n) for n in top.gradient_norms)
    assert all(n > 0 for n in top.gradient_norms)
    # at the loss's own step only the head reads h_t: dL/dh = W^T (softmax(z) - onehot(y))
    logits = model(tokens).numpy()[0, position].astype("float64")
    p = host.exp(logits - logits.max())
    p /= p.sum()
    p[p.argmax()] -= 1.0
    direct = model.head.weight.numpy().astype("float64").T @ p
    assert top.gradient_norms[-1] == pytest.approx(float(host.sqrt((direct ** 2).sum())),
                                                   rel=1e-4)
    arrays = top.arrays()
    expected = {nn.RNNCell: {"h"}, nn.LSTMCell: {"h", "c", "i", "f", "g", "o"},
                nn.GRUCell: {"h", "r", "z"}}[cell]
    assert set(arrays) == expected and all(a.shape == (7, 6) for a in arrays.values())


def test_recurrent_gates_match_the_cell():
    manual_seed(1)
    model = RecurrentLM(nn.LSTMCell, vocab_size=3, hidden=4, layers=1)
    (layer,), _ = recurrent.trace(model, Tensor(host.asarray([[0, 1, 2]])))
    gates = layer.arrays()
    # c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t): the noted gates rebuild the states
    c_before = host.zeros(4)
    for t in range(3):
        c = gates["f"][t] * c_before + gates["i"][t] * gates["g"][t]
        assert host.allclose(c, gates["c"][t], atol=1e-5)
        assert host.allclose(gates["o"][t] * host.tanh(c), gates["h"][t], atol=1e-5)
        c_before = c


# ---------------------------------------------------------------------- the command


def test_inspect_writes_pictures_json_and_the_table(gpt_run, tmp_path):
    result = gradzoo("inspect", gpt_run, "--example", 3, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "blocks.1.attn" in result.output and "induction" in result.output
    for name in ("attention.png", "attention.svg", "attention.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    params = json.loads((tmp_path / "out" / "attention.json").read_text())
    assert len(params["attention"][0]["left_text"]) == 2 * 2 + 1 + 2 * 2 - 1


def test_inspect_takes_the_users_tokens(gpt_run, tmp_path):
    result = gradzoo("inspect", gpt_run, "--input", "A a B b | A", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    view = json.loads((tmp_path / "attention.json").read_text())["attention"][0]
    assert view["left_text"] == ["A", "a", "B", "b", "|", "A"]


@pytest.mark.parametrize("arguments, fragments", [
    (["--example", 64], ["--example 64", "0 to 63"]),
    (["--example", -1], ["--example -1"]),
    (["--input", "A a Z ?"], ["'Z'", "'?'", "knows"]),
    (["--example", 1, "--input", "A"], ["not both"]),
])
def test_bad_requests_exit_2_with_a_clear_message(gpt_run, tmp_path, arguments, fragments):
    result = gradzoo("inspect", gpt_run, *arguments, "--out", tmp_path)
    assert result.exit_code == 2, result.output
    assert all(f in result.output for f in fragments), result.output


def test_a_model_without_attention_or_recurrence_exits_2(tmp_path_factory, tmp_path):
    run = train(tmp_path_factory, "vae", "--task", "moons")
    result = gradzoo("inspect", run, "--out", tmp_path)
    assert result.exit_code == 2, result.output
    assert "no attention and no recurrence" in result.output


# ---------------------------------------------------------------------- the mqar task


def test_mqar_pairs_then_queries_each_answered_by_its_value():
    task = make_mqar({"pairs": 4, "queries": 6}, seed=0)
    batch = task.batch(32, 0)
    source, target = batch.source.numpy(), batch.target.numpy()
    assert source.shape == (32, 8) and target.shape == (32, 12)
    keys, values = source[:, 0::2], source[:, 1::2]
    assert (keys < 16).all() and (values >= 16).all()
    assert all(len(set(row)) == 4 for row in keys)           # distinct keys per example
    for key_row, value_row, target_row in zip(keys, values, target):
        table = dict(zip(key_row, value_row))
        for query, answer in zip(target_row[0::2], target_row[1::2]):
            assert table[query] == answer                     # each query's value follows it
    inputs, labels = batch.stream()
    assert inputs.shape == (32, 8 + 1 + 12 - 1)
    scored = labels.numpy() != IGNORE
    expected = host.zeros(20, dtype=bool)
    expected[9::2] = True                                     # the answers only, not the queries
    assert (scored == expected).all()
    assert (labels.numpy()[:, 9::2] == target[:, 1::2]).all()


def test_mqar_scores_each_query_teacher_forced():
    task = make_mqar({"pairs": 2, "queries": 3}, seed=0)

    class Oracle(nn.Module):
        """Puts all its weight on the right next token (the answers), a wrong one elsewhere."""

        def forward(self, tokens):
            batch = task.batch(128, self.step, split="valid")
            _, labels = batch.stream()
            logits = host.zeros((*tokens.shape, task.vocab_size), dtype="float32")
            right = labels.numpy()
            rows, cols = host.nonzero(right != IGNORE)
            logits[rows, cols, right[rows, cols]] = 1.0
            self.step += 1
            return Tensor(logits)

    oracle = Oracle()
    oracle.step = 0
    assert task.score(oracle, batches=2) == {"accuracy": 1.0, "exact_match": 1.0}


def test_input_longer_than_the_model_exits_2(gpt_run, tmp_path):
    result = gradzoo("inspect", gpt_run, "--input", " ".join(["A"] * 20), "--out", tmp_path)
    assert result.exit_code == 2, result.output
    assert "longer than" in result.output
