"""``--init-from`` and ``--freeze``: starting a model from other weights, and not training some.

One tiny GPT is trained for 5 steps on ``chars`` (the source, shared by the
module); each test starts a new model from it and checks what was loaded,
resized by token, new, frozen and ignored, that freezing really stops
learning, that bad input is one clear error (exit 2), that resuming a
fine-tuning run is bit-identical, and that an export reads back exactly.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gradzoo.cli import forget_plugins, main
from gradzoo.engine import io
from gradzoo.lab.errors import UsageError
from gradzoo.lab.training import runs
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.lab.training.initialise import read_source, start_from, task_vocabulary
from gradzoo.lab.training.loop import Trainer, TrainingStopped
from gradzoo.lab.training.session import TrainRequest, train_run
from gradzoo.plugins.manager import get_registry

TINY = {"width": 16, "layers": 1, "heads": 2, "context": 16}
TINY_SET = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]

pytestmark = pytest.mark.usefixtures("fresh_plugins")  # see tests/conftest.py


def gradzoo(*args):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="gradzoo")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A 5-step run of a tiny GPT on ``chars`` (shared; never modified)."""
    out = tmp_path_factory.mktemp("source") / "gpt-chars"
    forget_plugins()
    try:
        result = gradzoo("train", "gpt", "--task", "chars", *TINY_SET, "--steps", 5,
                         "--out", out, "--quiet")
    finally:
        forget_plugins()
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def small_text(tmp_path) -> Path:
    """A text of other characters: some the docs have ('a'..'h', ' '), some they lack ('§', 'ж')."""
    path = tmp_path / "other.txt"
    path.write_text("abc defgh §ж " * 40, encoding="utf-8")
    return path


def source_weights(run: Path) -> dict:
    return {name: t.numpy() for name, t in io.load(run / runs.MODEL).items()}


def experiment_on(task, seed=3, **options):
    return build_experiment(get_registry(), "gpt", task, {**TINY, **options}, seed=seed)


# ---------------------------------------------------------------------- loading and resizing


def test_a_new_vocabulary_keeps_the_rows_of_shared_tokens_matched_by_token(source, small_text):
    experiment = experiment_on("chars", path=str(small_text))
    fresh = experiment_on("chars", path=str(small_text))            # same seed, not loaded
    table = start_from(experiment, get_registry(), str(source))
    old = source_weights(source)
    old_tokens = task_vocabulary(experiment_on("chars").task)
    new_tokens = task_vocabulary(experiment.task)
    assert new_tokens == sorted(set("abc defgh §ж"))
    embedding = experiment.model.token_embedding.weight.numpy()
    head = experiment.model.head.weight.numpy()
    for row, token in enumerate(new_tokens):
        if token in old_tokens:     # by token: 'a' is row 0 here, not row 0 of the source
            np.testing.assert_array_equal(embedding[row], old["token_embedding.weight"]
                                          [old_tokens.index(token)], err_msg=token)
            np.testing.assert_array_equal(head[row], old["head.weight"][old_tokens.index(token)])
        else:                       # '§' and 'ж': the new model's own initial rows
            np.testing.assert_array_equal(embedding[row],
                                          fresh.model.token_embedding.weight.numpy()[row])
    np.testing.assert_array_equal(experiment.model.blocks[0].attn.q_proj.weight.numpy(),
                                  old["blocks.0.attn.q_proj.weight"])
    shared = sum(token in old_tokens for token in new_tokens)
    assert shared == len(new_tokens) - 2
    assert f"token_embedding.weight ({shared}/{len(new_tokens)} rows kept)" in table
    assert "head.weight" in table.split("resized")[1].split("\n")[0]
    assert experiment.init_from["sha256"] == read_source(str(source), get_registry()).sha256


def test_counts_loaded_resized_new_and_ignored_for_a_classifier(source):
    experiment = experiment_on("doc_topics", context=32)
    table = start_from(experiment, get_registry(), str(source))
    rows = {line.split()[0]: int(line.split()[1]) for line in table.splitlines()[2:7]}
    # 16 block tensors + ln_f (2) + token_embedding; positions 16 -> 32 rows; a new classifier
    assert rows == {"loaded": 19, "resized": 1, "new": 2, "frozen": 0, "ignored": 1}
    assert "position_embedding.weight (16/32 rows kept)" in table
    assert "ignored  1      head.weight" in table
    assert table.splitlines()[-1] == "trainable parameters: 5,540 of 5,540"


# ---------------------------------------------------------------------- freezing


def test_frozen_parameters_get_no_gradient_no_optimizer_state_and_do_not_change(source, tmp_path):
    out = tmp_path / "frozen"
    result = gradzoo("train", "gpt", "--task", "chars", *TINY_SET, "--steps", 4, "--out", out,
                     "--quiet", "--init-from", source, "--freeze", "blocks.0.*",
                     "--freeze", "token_embedding")
    assert result.exit_code == 0, result.output
    assert "trainable parameters: 1,936 of 6,864" in result.output
    before, after = source_weights(source), source_weights(out)
    for name in after:
        frozen = name.startswith(("blocks.0.", "token_embedding."))
        assert np.array_equal(after[name], before[name]) == frozen, name
    trainable = len(after) - 17                    # 16 tensors of the block, 1 embedding
    moments = [k for k in io.load(out / runs.OPTIMIZER) if k.startswith("exp_avg.")]
    assert len(moments) == trainable
    config = json.loads((out / runs.CONFIG).read_text())
    assert config["freeze"] == ["blocks.0.*", "token_embedding"]
    assert config["init_from"]["path"] == str(source)

    experiment = experiment_on("chars")
    start_from(experiment, get_registry(), None, ["blocks.0.*"])
    trainer = Trainer(experiment, tmp_path / "step", progress=False)
    trainer._train_step(experiment.task.batch(4, 1), 1e-3)
    assert experiment.model.blocks[0].mlp.fc.weight.grad is None
    assert experiment.model.head.weight.grad is not None


# ---------------------------------------------------------------------- bad input: exit 2


@pytest.mark.parametrize("extra, message", [
    (["--init-from", "no/such/run"], "no such run directory or .safetensors file"),
    (["--freeze", "blocks.9.*"], "--freeze 'blocks.9.*' matches no parameter; the model has "
                                 "token_embedding.weight, position_embedding.weight"),
])
def test_a_missing_source_or_a_pattern_matching_nothing_is_exit_2(tmp_path, extra, message):
    result = gradzoo("train", "gpt", "--task", "chars", *TINY_SET, "--steps", 1,
                     "--out", tmp_path / "run", *extra)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "run").exists()


def test_another_family_or_width_is_exit_2_naming_the_first_mismatch(source, tmp_path):
    family = gradzoo("train", "lstm", "--task", "chars", "--init-from", source, "--out",
                     tmp_path / "a")
    assert family.exit_code == 2
    assert "holds weights of a gpt, and a lstm cannot start from them" in family.output
    wider = gradzoo("train", "gpt", "--task", "chars", *TINY_SET, "--set", "width=32",
                    "--init-from", source, "--out", tmp_path / "b")
    assert wider.exit_code == 2, wider.output
    assert "'token_embedding.weight' has shape (103, 16) in the source and (103, 32)" in \
        wider.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ---------------------------------------------------------------------- resume


def test_resuming_a_fine_tuning_run_is_bit_identical(source, tmp_path, monkeypatch):
    """6 steps in one go == 3 steps, Ctrl-C, --resume; the source is not read again."""
    copy = tmp_path / "source"
    copy.mkdir()
    for name in (runs.CONFIG, runs.MODEL):
        (copy / name).write_bytes((source / name).read_bytes())
    options = tuple(f"{k}={v}" for k, v in {**TINY, "dropout": 0.1}.items())
    training = {"steps": 6, "eval_every": 2, "log_every": 1, "warmup": 2}

    def request(out, resume=False):
        return TrainRequest("gpt", "chars", () if resume else options, 1, dict(training),
                            str(out), resume, str(copy), ("blocks.0.ln_*",))

    train_run(get_registry(), request(tmp_path / "straight"), progress=False, echo=lambda s: 0)
    original = Trainer._train_step

    def interrupted_at_3(self, batch, lr):
        loss = original(self, batch, lr)
        if self.step + 1 == 3:
            signal.raise_signal(signal.SIGINT)
        return loss

    monkeypatch.setattr(Trainer, "_train_step", interrupted_at_3)
    with pytest.raises(TrainingStopped):
        train_run(get_registry(), request(tmp_path / "cut"), progress=False, echo=lambda s: 0)
    monkeypatch.setattr(Trainer, "_train_step", original)
    (copy / runs.MODEL).unlink()                    # resuming must not need the source
    train_run(get_registry(), request(tmp_path / "cut", resume=True), progress=False,
              echo=lambda s: 0)
    straight, cut = source_weights(tmp_path / "straight"), source_weights(tmp_path / "cut")
    for name, value in straight.items():
        np.testing.assert_array_equal(cut[name], value, err_msg=name)
    losses = [[m["loss"] for m in runs.read_metrics(tmp_path / run) if "loss" in m]
              for run in ("straight", "cut")]
    assert losses[0] == losses[1] and len(losses[0]) == 6
    config = json.loads((tmp_path / "cut" / runs.CONFIG).read_text())
    assert config["init_from"]["path"] == str(copy) and config["freeze"] == ["blocks.0.ln_*"]


def test_resume_with_another_source_is_refused(source, tmp_path):
    out = tmp_path / "run"
    assert gradzoo("train", "gpt", "--task", "chars", *TINY_SET, "--steps", 2, "--out", out,
                   "--quiet").exit_code == 0
    result = gradzoo("train", "gpt", "--task", "chars", "--steps", 3, "--out", out, "--resume",
                     "--init-from", source)
    assert result.exit_code == 2 and "started from fresh weights" in result.output


def test_evaluate_says_where_a_run_started(source, tmp_path):
    out = tmp_path / "run"
    assert gradzoo("train", "gpt", "--task", "chars", *TINY_SET, "--steps", 2, "--out", out,
                   "--quiet", "--init-from", source).exit_code == 0
    result = gradzoo("evaluate", out, "--batches", 1)
    assert result.exit_code == 0, result.output
    assert f"started from {source} (sha256 " in result.output


def test_a_source_without_a_vocabulary_cannot_be_resized_by_token(source, tmp_path, small_text):
    bare = tmp_path / "bare.safetensors"
    bare.write_bytes((source / runs.MODEL).read_bytes())        # weights only, no tokens
    experiment = experiment_on("chars", path=str(small_text))
    with pytest.raises(UsageError, match="does not say its vocabulary"):
        start_from(experiment, get_registry(), str(bare))


# ---------------------------------------------------------------------- compare with variants


def test_compare_trains_labelled_variants_each_from_its_own_start(source, tmp_path):
    out = tmp_path / "compare"
    result = gradzoo("compare", "gpt", "gpt@pre", "--task", "chars", *TINY_SET, "--steps", 2,
                     "--init-from", f"gpt@pre={source}", "--freeze", "gpt@pre=blocks.*",
                     "--out", out)
    assert result.exit_code == 0, result.output
    assert "\ngpt@pre " in result.output                      # the table names the variant
    jobs = {job["model"]: job for job in json.loads((out / "results.json").read_text())["jobs"]}
    assert jobs["gpt@pre"]["init_from"] == str(source) and jobs["gpt"]["init_from"] is None
    assert jobs["gpt"]["seed"] == jobs["gpt@pre"]["seed"] == 0
    assert jobs["gpt@pre"]["trainable_parameters"] < jobs["gpt"]["trainable_parameters"]
    before = source_weights(source)
    scratch, variant = (source_weights(out / "all" / f"{m}-seed0") for m in ("gpt", "gpt@pre"))
    block = "blocks.0.mlp.fc.weight"
    assert np.array_equal(variant[block], before[block])       # loaded, then frozen
    assert not np.array_equal(scratch[block], before[block])


def test_compare_refuses_a_start_for_a_model_it_does_not_compare(source, tmp_path):
    result = gradzoo("compare", "gpt", "gpt@pre", "--task", "chars", "--init-from",
                     f"gpt@other={source}", "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert "LABEL one of the models compared (gpt, gpt@pre)" in result.output


# ---------------------------------------------------------------------- export


def test_an_export_read_back_gives_the_same_weights(source, tmp_path):
    exported = tmp_path / "gpt.safetensors"
    result = gradzoo("export", source, "--format", "torch", "--out", exported)
    assert result.exit_code == 0, result.output
    names = set(io.load(exported))
    assert "blocks.0.attn.in_proj_weight" in names and "blocks.0.attn.q_proj.weight" not in names
    metadata = io.read_metadata(exported)
    assert metadata["format"] == "pt" and metadata["gradzoo_model"] == "gpt"
    from_run, from_file = experiment_on("chars"), experiment_on("chars", seed=4)
    start_from(from_run, get_registry(), str(source))
    start_from(from_file, get_registry(), str(exported))
    for name, value in from_run.model.state_dict().items():
        np.testing.assert_array_equal(from_file.model.state_dict()[name].numpy(), value.numpy(),
                                      err_msg=name)


def test_a_stack_of_recurrent_cells_exports_as_one_torch_lstm(tmp_path):
    from gradzoo.lab.export import from_torch, to_torch

    model = build_experiment(get_registry(), "lstm", "chars", {"hidden": 8, "layers": 2}).model
    state = model.state_dict()
    packed = to_torch(state, model)
    assert {"cells.weight_ih_l0", "cells.bias_hh_l1", "embedding.weight", "head.bias"} \
        <= set(packed)
    assert not any(name.startswith("cells.0.") for name in packed)
    unpacked = from_torch(packed, model)
    assert set(unpacked) == set(state)
    for name, value in state.items():
        np.testing.assert_array_equal(unpacked[name].numpy(), value.numpy())


def test_export_refuses_a_run_without_weights_and_a_wrong_file_name(source, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / runs.CONFIG).write_bytes((source / runs.CONFIG).read_bytes())
    result = gradzoo("export", empty, "--out", tmp_path / "w.safetensors")
    assert result.exit_code == 2 and "has no checkpoint yet" in result.output
    result = gradzoo("export", source, "--out", tmp_path / "w.pt")
    assert result.exit_code == 2 and "must end in .safetensors" in result.output


def test_an_exported_gpt_gives_pytorch_the_same_logits(source, tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    exported = tmp_path / "gpt.safetensors"
    assert gradzoo("export", source, "--out", exported).exit_code == 0

    class Block(torch.nn.Module):
        def __init__(self, width, heads):
            super().__init__()
            self.ln_1, self.ln_2 = torch.nn.LayerNorm(width), torch.nn.LayerNorm(width)
            self.attn = torch.nn.MultiheadAttention(width, heads, batch_first=True)
            self.mlp = torch.nn.Module()
            self.mlp.fc, self.mlp.proj = (torch.nn.Linear(width, 4 * width),
                                          torch.nn.Linear(4 * width, width))

        def forward(self, x):
            future = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), 1)
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, attn_mask=future, need_weights=False)[0]
            return x + self.mlp.proj(torch.nn.functional.gelu(self.mlp.fc(self.ln_2(x))))

    class TorchGPT(torch.nn.Module):
        def __init__(self, vocab, length, width, layers, heads):
            super().__init__()
            self.token_embedding = torch.nn.Embedding(vocab, width)
            self.position_embedding = torch.nn.Embedding(length, width)
            self.blocks = torch.nn.ModuleList([Block(width, heads) for _ in range(layers)])
            self.ln_f = torch.nn.LayerNorm(width)
            self.head = torch.nn.Linear(width, vocab, bias=False)

        def forward(self, tokens):
            x = self.token_embedding(tokens) + self.position_embedding(
                torch.arange(tokens.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    ours = experiment_on("chars")
    ours.model.load_state_dict(io.load(source / runs.MODEL))
    ours.model.eval()
    theirs = TorchGPT(ours.task.vocab_size, 16, 16, 1, 2)
    theirs.load_state_dict(load_file(exported))           # strict: every name and shape fits
    theirs.eval()
    tokens = ours.task.batch(3, 0).inputs
    expected = ours.model(tokens).numpy()
    with torch.no_grad():
        got = theirs(torch.from_numpy(tokens.numpy())).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
