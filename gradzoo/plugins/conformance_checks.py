"""The checks of the conformance kit, one function each, in the order they run.

Each takes a ``Subject`` and returns a line of what it saw; it raises
``CheckFailed`` with what to change, or ``CheckSkipped`` when it does not apply.
"""

from __future__ import annotations

import math
import os
import tempfile
from types import SimpleNamespace

from gradzoo import graph
from gradzoo.engine import Tensor, backend, io, nn, no_grad, optim
from gradzoo.plugins.conformance import (
    CheckFailed,
    CheckSkipped,
    Subject,
    all_finite,
    call,
    evaluating,
    host,
    host_values,
    kind_output,
    seeded,
    seeded_loss,
)
from gradzoo.plugins.protocols import MODEL_METHODS, kind_method, offers

LEARN_STEPS = 40          # "the loss falls within a few dozen steps"
LEARN_BATCH = 16
GRADCHECK_EPS = 1e-6      # float64 central differences, as gradzoo.engine.gradcheck
GRADCHECK_ATOL, GRADCHECK_RTOL = 1e-5, 1e-3


def check_spec(subject: Subject) -> str:
    """The spec's fields and options: a short summary, help for every option, valid defaults."""
    spec, problems = subject.spec, []
    if len(spec.summary) > 100:
        problems.append(f"the summary has {len(spec.summary)} characters; keep it to one short "
                        f"line (at most 100): `gradzoo list` shows it in a table")
    for option in spec.options:
        if not option.help.strip():
            problems.append(f"option '{option.name}' has no help text: write "
                            f"Option({option.name!r}, {option.default!r}, \"what it does\"), "
                            f"which `gradzoo info {spec.name}` shows")
        if not option.name.isidentifier() or option.name != option.name.lower():
            problems.append(f"option name {option.name!r} must be a lowercase identifier "
                            f"(users type --set {option.name}=VALUE)")
    if problems:
        raise CheckFailed("; ".join(problems))
    return f"{len(spec.options)} options, kinds {', '.join(spec.kinds)}"


def check_build(subject: Subject) -> str:
    """build(task, options) gives a float32 nn.Module with parameters, the same for one seed."""
    model = call("build(task, options)", subject.build)
    if not isinstance(model, nn.Module):
        raise CheckFailed(f"build(task, options) returned a {type(model).__name__}; it must "
                          f"return an nn.Module (subclass gradzoo.engine.nn.Module)")
    params = dict(model.named_parameters())
    if not params:
        raise CheckFailed("the model has no parameters: assign layers (nn.Linear, ...) or "
                          "nn.Parameter tensors as attributes, after super().__init__()")
    missing = [name for name in MODEL_METHODS[subject.kind]
               if not callable(getattr(model, name, None))]
    if missing:
        raise CheckFailed(f"a model for {subject.kind} tasks needs the method(s) "
                          f"{', '.join(missing)} (see gradzoo/plugins/protocols.py)")
    wide = [name for name, p in params.items() if p.dtype != backend.float32]
    if wide:
        raise CheckFailed(f"parameters {', '.join(wide)} are not float32: gradzoo models are "
                          f"float32 (create them without dtype, or with dtype='float32')")
    again = dict(call("a second build(task, options)", subject.build).named_parameters())
    differ = [name for name in params if not host.array_equal(host_values(params[name]),
                                                              host_values(again[name]))]
    if differ:
        raise CheckFailed(f"two builds with the same seed gave different weights for "
                          f"{', '.join(differ)}: draw random numbers from gradzoo's seeded "
                          f"generator (nn.init.*, backend.host_rng()), not numpy.random or random")
    return f"{sum(p.size for p in params.values()):,} parameters in {len(params)} tensors"


def check_shapes(subject: Subject) -> str:
    """loss(batch) is a finite float scalar that needs gradients; the kind's method gives shapes."""
    model, batch = subject.build(), subject.batch(4)
    loss = call("loss(batch)", seeded_loss, model, batch, subject.seed)
    if not isinstance(loss, Tensor):
        raise CheckFailed(f"loss(batch) returned a {type(loss).__name__}; return a Tensor")
    if loss.shape != ():
        raise CheckFailed(f"loss(batch) has shape {loss.shape}; it must be a scalar (shape ()): "
                          f"average over the batch, e.g. .mean()")
    if loss.dtype != backend.float32:
        raise CheckFailed(f"loss(batch) is {loss.dtype}; a float32 model gives a float32 loss")
    if not all_finite(loss):
        raise CheckFailed(f"loss(batch) is {loss.item()} at the initial weights: look for log(0), "
                          f"division by zero or exp of large numbers")
    if not loss.requires_grad:
        raise CheckFailed("loss(batch) needs no gradient: it does not depend on the parameters "
                          "(computed under no_grad, or through .data / .numpy()?)")
    output = host_values(kind_output(model, subject, batch))
    _check_kind_output(subject, output)
    return f"loss {loss.item():.4g}; {kind_method(subject.kind)} gives {tuple(output.shape)}"


def _check_kind_output(subject: Subject, output) -> None:
    task = subject.task
    if subject.kind == "sequence":
        expected = (4, task.target_length)
        _expect_tokens("predict(source)", output, expected, task.vocab_size)
    elif subject.kind == "language":
        _expect_tokens("generate(prompt of 4 tokens, 3)", output, (2, 7), task.vocab_size)
    elif subject.kind == "paired":
        _expect_similarities(output)
    elif subject.kind == "classification":
        _expect_logits(output, task.num_classes)
    else:
        expected = (5, task.data_dim)
        if tuple(output.shape) != expected or not backend.is_floating(output.dtype):
            raise CheckFailed(f"sample(5) gave {output.dtype} of shape {tuple(output.shape)}; "
                              f"expected floats of shape {expected} (n, task.data_dim)")
        if not all_finite(output):
            raise CheckFailed("sample(5) gave values that are not finite")


def _expect_similarities(output) -> None:
    """similarity of 4 images and their 4 captions: a (4, 4) float matrix of cosines."""
    if tuple(output.shape) != (4, 4) or not backend.is_floating(output.dtype):
        raise CheckFailed(f"similarity(4 images, 4 captions) gave {output.dtype} of shape "
                          f"{tuple(output.shape)}; expected floats of shape (4, 4)")
    if not all_finite(output) or float(abs(output).max()) > 1 + 1e-4:
        raise CheckFailed("similarity gave values outside -1..1: it should compare unit-length "
                          "embeddings (cosine similarity), before any temperature")


def _expect_logits(output, num_classes: int) -> None:
    """classify of 4 inputs (images or passages): finite float logits (4, num_classes)."""
    expected = (4, num_classes)
    if tuple(output.shape) != expected or not backend.is_floating(output.dtype):
        raise CheckFailed(f"classify(4 inputs) gave {output.dtype} of shape "
                          f"{tuple(output.shape)}; expected float logits of shape {expected} "
                          f"(inputs, task.num_classes)")
    if not all_finite(output):
        raise CheckFailed("classify(4 inputs) gave logits that are not finite")


def _expect_tokens(what: str, output, shape, vocab_size: int) -> None:
    if tuple(output.shape) != shape or not backend.is_integer(output.dtype):
        raise CheckFailed(f"{what} gave {output.dtype} of shape {tuple(output.shape)}; expected "
                          f"integer token ids of shape {shape}")
    if output.size and (output.min() < 0 or output.max() >= vocab_size):
        raise CheckFailed(f"{what} gave token ids outside 0..{vocab_size - 1}")


def check_gradients(subject: Subject) -> str:
    """Every parameter receives a finite gradient from loss(batch).backward()."""
    model = subject.build()
    call("loss(batch).backward()", lambda: seeded_loss(model, subject.batch(4), subject.seed)
         .backward())
    params = dict(model.named_parameters())
    missing = [name for name, p in params.items() if p.grad is None]
    if missing:
        raise CheckFailed(f"no gradient reached {', '.join(missing)} ({len(missing)} of "
                          f"{len(params)} parameters): each parameter must take part in "
                          f"loss(batch) through gradzoo ops; a layer that is created but never "
                          f"called, or a value taken through .data, .numpy() or no_grad, gets none")
    bad = [name for name, p in params.items()
           if p.grad.shape != p.shape or not all_finite(p.grad)]
    if bad:
        raise CheckFailed(f"the gradients of {', '.join(bad)} are not finite or have the wrong "
                          f"shape")
    return f"all {len(params)} parameters got finite gradients"


def check_gradcheck(subject: Subject) -> str:
    """Backward agrees with finite differences, in float64, along a random direction per parameter.

    For each parameter p and a random direction d: (L(p + eps d) - L(p - eps d)) / (2 eps)
    must equal the analytic <dL/dp, d> (a random projection of the gradient, as in
    PyTorch's fast gradcheck).
    """
    model = call("model.to('float64')", lambda: subject.build().to("float64"))
    batch = subject.batch(2)
    loss = call("loss(batch) in float64", seeded_loss, model, batch, subject.seed)
    if loss.dtype != backend.float64:
        raise CheckFailed(f"with float64 weights the loss came out {loss.dtype}: something "
                          f"casts to float32 (an .astype('float32') of a computed value?)")
    call("loss(batch).backward() in float64", loss.backward)
    rng = backend.new_rng(subject.seed)
    mismatches, worst = [], 0.0
    for name, p in model.named_parameters():
        if p.grad is None:
            continue  # check_gradients reports it
        analytic, numerical = _directional_derivatives(model, batch, subject.seed, p, rng)
        error = abs(analytic - numerical)
        if abs(numerical) > GRADCHECK_ATOL:  # a relative error means little near zero
            worst = max(worst, error / abs(numerical))
        if error > GRADCHECK_ATOL + GRADCHECK_RTOL * max(abs(analytic), abs(numerical)):
            mismatches.append(f"{name} (backward says {analytic:.6g}, finite differences "
                              f"{numerical:.6g})")
    if mismatches:
        raise CheckFailed("the gradient disagrees with finite differences for "
                          + "; ".join(mismatches) + ". A backward formula on the way from the "
                          "loss to these parameters is wrong (a custom Function's backward?), or "
                          "the loss is not a smooth function of them")
    return f"gradients match finite differences (float64; worst relative error {worst:.1e})"


def _directional_derivatives(model, batch, seed: int, param, rng):
    """(analytic, numerical) derivative of the loss along a random unit-scale direction."""
    direction = rng.standard_normal(param.shape) / math.sqrt(max(param.size, 1))
    direction = backend.make_array(direction, backend.float64, param.device)
    analytic = float(host_values((param.grad.data * direction).sum()))
    saved = param.data.copy()
    with no_grad():
        param.data[...] = saved + GRADCHECK_EPS * direction
        above = seeded_loss(model, batch, seed).item()
        param.data[...] = saved - GRADCHECK_EPS * direction
        below = seeded_loss(model, batch, seed).item()
        param.data[...] = saved
    return analytic, (above - below) / (2 * GRADCHECK_EPS)


def check_causal(subject: Subject) -> str:
    """A decoder-only model does not look ahead: later tokens never change earlier outputs."""
    if subject.kind in ("generative", "paired", "classification"):
        raise CheckSkipped(f"{subject.kind} models are not read left to right")
    task = subject.task
    length = (task.source_length + task.target_length if subject.kind == "sequence"
              else task.context)
    model = subject.build()
    if offers(model, "bidirectional"):
        raise CheckSkipped("the model says bidirectional = True: it reads both sides by design")
    rng = backend.new_rng(subject.seed)
    tokens = rng.integers(0, task.vocab_size, size=(3, length))
    before = _next_token_logits(model, tokens, task.vocab_size)
    for t in sorted({0, length // 2, length - 2}):
        changed = tokens.copy()
        changed[:, t + 1:] = rng.integers(0, task.vocab_size, size=changed[:, t + 1:].shape)
        after = _next_token_logits(model, changed, task.vocab_size)
        moved = float(abs(after[:, :t + 1] - before[:, :t + 1]).max())
        if moved > 1e-5:
            raise CheckFailed(f"changing only the tokens after position {t} changed the outputs "
                              f"at positions 0..{t} (by up to {moved:.3g}): the model looks "
                              f"ahead. Position t may read tokens 0..t only: attention needs "
                              f"is_causal=True, a convolution pads on the left only")
    return f"outputs at each position ignore later tokens (length {length})"


def _next_token_logits(model, tokens, vocab_size: int):
    """forward(tokens) as a host array, when it gives next-token logits (B, L, V); else skip."""
    with evaluating(model):
        try:
            output = model(Tensor(tokens))
        except Exception as error:
            raise CheckSkipped(f"forward(tokens) is not a decoder-only forward "
                               f"({type(error).__name__}); the look-ahead check reads "
                               f"next-token logits (B, L, V)") from None
    values = host_values(output) if isinstance(output, Tensor) else None
    if values is None or tuple(values.shape) != (*tokens.shape, vocab_size):
        raise CheckSkipped("forward(tokens) does not give next-token logits (B, L, V), so "
                           "look-ahead is not checked")
    return values


def check_learns(subject: Subject) -> str:
    """The loss on one batch falls within a few dozen steps of AdamW on that batch."""
    model, batch = subject.build(), subject.batch(LEARN_BATCH)
    lr = subject.spec.training.get("lr", 3e-3)
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    settings = SimpleNamespace(lr=lr, clip=1.0, steps=LEARN_STEPS, batch_size=LEARN_BATCH,
                               weight_decay=0.0, warmup=0)
    start = seeded_loss(model, batch, subject.seed).item()
    before = {name: host_values(p).copy() for name, p in model.named_parameters()}
    for step in range(LEARN_STEPS):
        with seeded(subject.seed + 1 + step):
            value = call(f"training step {step + 1}", _train_step, model, batch, optimizer,
                         settings)
        if not math.isfinite(value):
            raise CheckFailed(f"the loss became {value} at training step {step + 1} (lr {lr}): "
                              f"look for log(0), division by zero or exp of large numbers")
    end = seeded_loss(model, batch, subject.seed).item()
    if offers(model, "train_step"):
        return _check_players_moved(model, before, start, end)
    if not end < start - 0.01 * max(abs(start), 1.0):
        raise CheckFailed(f"the loss did not fall: {start:.4g} before and {end:.4g} after "
                          f"{LEARN_STEPS} steps of AdamW (lr {lr}) on one batch. Check that the "
                          f"loss compares the model's output with the batch's targets, and the "
                          f"lr in the spec's training settings")
    return f"loss on one batch {start:.4g} -> {end:.4g} in {LEARN_STEPS} steps"


def _check_players_moved(model, before: dict, start: float, end: float) -> str:
    """A model with its own ``train_step`` (a GAN's contest) need not lower its loss: every
    parameter must move instead."""
    still = [name for name, p in model.named_parameters()
             if host.array_equal(before[name], host_values(p))]
    if still:
        raise CheckFailed(f"after {LEARN_STEPS} calls of train_step, {', '.join(still)} never "
                          f"changed: train_step must update every part of the model")
    return (f"train_step moved every parameter in {LEARN_STEPS} steps (loss {start:.4g} -> "
            f"{end:.4g}; a contest's loss need not fall)")


def _train_step(model, batch, optimizer, settings) -> float:
    """One step as the lab's Trainer takes it (a model's own ``train_step`` when it offers one)."""
    if offers(model, "train_step"):
        return float(model.train_step(batch, optimizer, settings))
    loss = model.loss(batch)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
    optimizer.step()
    return loss.item()


def check_save_load(subject: Subject) -> str:
    """Weights saved to safetensors and loaded into a freshly built model give identical outputs."""
    model, batch = subject.build(), subject.batch(4)
    optimizer = optim.AdamW(model.parameters(), lr=1e-2)
    settings = SimpleNamespace(clip=1.0, lr=1e-2)
    with seeded(subject.seed):
        call("a training step", _train_step, model, batch, optimizer, settings)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.safetensors")
        call("io.save(model.state_dict())", io.save, model.state_dict(), path)
        copy = subject.build(seed=subject.seed + 1)
        call("load_state_dict(saved weights) on a new model", copy.load_state_dict, io.load(path))
    pairs = [("loss(batch)", _eval_loss(model, batch, subject), _eval_loss(copy, batch, subject)),
             (kind_method(subject.kind), host_values(kind_output(model, subject, batch)),
              host_values(kind_output(copy, subject, batch)))]
    for what, original, loaded in pairs:
        if original.shape != loaded.shape or not host.array_equal(original, loaded):
            raise CheckFailed(f"after saving and loading, {what} differs from the original "
                              f"model's: some state is not in state_dict(). Keep learned tensors "
                              f"as nn.Parameter and fixed ones with register_buffer, not as plain "
                              f"attributes")
    return "a loaded copy gives identical loss and outputs"


def _eval_loss(model, batch, subject: Subject):
    with evaluating(model):
        return host_values(seeded_loss(model, batch, subject.seed))


def check_graph(subject: Subject) -> str:
    """``gradzoo graph`` can draw the loss: the graph is captured and folded by module."""
    model = subject.build()
    with graph.record():
        loss = call("loss(batch) while recording the graph", seeded_loss, model,
                    subject.batch(2), subject.seed)
    picture = call("graph.draw(loss, depth=1)", graph.draw, loss, depth=1, model=model)
    captured = graph.capture(loss, model)
    if "->" not in picture.source or not captured.ops:
        raise CheckFailed("the drawn graph has no ops: the loss was not computed from the "
                          "model's parameters with gradzoo ops")
    return f"{len(captured.ops)} ops, sequential depth {captured.sequential_depth}"


CHECKS = {
    "spec": check_spec,
    "build": check_build,
    "shapes": check_shapes,
    "gradients": check_gradients,
    "gradcheck": check_gradcheck,
    "causal": check_causal,
    "learns": check_learns,
    "save_load": check_save_load,
    "graph": check_graph,
}
PREREQUISITES = ("spec", "build")  # when one fails, the other checks cannot say anything useful
