"""What ``gradzoo inspect RUN`` does: open the run, look inside for one example, write it all.

Attention models get a heat-map grid per attention module and the per-head
numbers (printed and in attention.json, bertviz's layout); recurrent models
get their states and gates over time (states.png) and the gradient norm per
earlier step (gradients.png), with the numbers in recurrent.json.
"""

from __future__ import annotations

from pathlib import Path

from gradzoo.engine import Tensor, no_grad
from gradzoo.lab.errors import UsageError
from gradzoo.lab.inspect import attention, examples, export, pictures, recurrent, summary
from gradzoo.lab.training.opening import open_run

INSPECTED = ("gpt, transformer, bert, clip's text tower (attention); "
             "rnn, lstm, gru (recurrence)")


def inspect_run(registry, run_dir, example: int | None = None, text: str | None = None,
                out=None) -> dict:
    """Inspect ``run_dir``; returns {"lines": to print, "written": [paths]}."""
    experiment = open_run(run_dir, registry)
    model, task, name = experiment.model, experiment.task, experiment.model_spec.name
    if not (attention.has_attention(model) or recurrent.has_recurrence(model)):
        raise UsageError(f"{name} has no attention and no recurrence to inspect; inspect "
                         f"reads {INSPECTED}")
    if example is not None and text is not None:
        raise UsageError("choose --example or --input, not both")
    chosen = examples.from_text(task, text) if text is not None else \
        examples.held_out(task, example or 0)
    out = Path(out) if out is not None else Path(run_dir) / "inspect"
    title = f"{name} on {experiment.task_spec.name}, {chosen.label}"
    try:
        if attention.has_attention(model):
            return inspect_attention(model, chosen, out, title)
        return inspect_recurrent(model, chosen, out, title)
    except ValueError as error:  # input the model cannot take (longer than its positions)
        raise UsageError(f"--input: {error}") from None


def inspect_attention(model, chosen, out: Path, title: str) -> dict:
    """Heat maps per module x head, the per-head table, attention.json."""
    collected = attention.collect(model, lambda: _run(model, chosen))
    maps = attention.attention_maps(collected, chosen.tokens)
    rows = summary.summarise(maps)
    written = pictures.save_both(pictures.attention_grid(maps, title), out, "attention")
    path = out / "attention.json"
    export.write_json(path, export.bertviz_layout(maps, rows))
    lines = [title, "", summary.table(rows), ""]
    return {"lines": lines, "written": [*written, path], "maps": maps, "summary": rows}


def inspect_recurrent(model, chosen, out: Path, title: str) -> dict:
    """States and gates over time, gradient norms per earlier step, recurrent.json."""
    tokens, labels = _stream(chosen)
    layers, position = recurrent.trace(model, tokens, labels)
    names = chosen.tokens.get("stream", [str(i) for i in range(tokens.shape[1])])
    written = pictures.save_both(pictures.recurrent_grid(layers, names, title), out, "states")
    written += pictures.save_both(pictures.gradient_plot(layers, names, position), out,
                                  "gradients")
    data = {"tokens": names, "loss_position": position,
            "layers": [{"name": layer.name, "cell": layer.cell,
                        "gradient_norms": layer.gradient_norms,
                        "cell_gradient_norms": layer.cell_gradient_norms,
                        **{key: values.tolist() for key, values in layer.arrays().items()}}
                       for layer in layers]}
    path = out / "recurrent.json"
    export.write_json(path, data)
    lines = [title, "", f"gradient norm |d loss / d h_t| (loss at step {position}):"]
    for layer in layers:
        shown = "  ".join(f"{n:.1e}" for n in layer.gradient_norms[:position + 1])
        lines.append(f"  {layer.name}: {shown}")
        if layer.cell_gradient_norms:
            shown = "  ".join(f"{n:.1e}" for n in layer.cell_gradient_norms[:position + 1])
            lines.append(f"  {layer.name} (cell state c): {shown}")
        for gate in ("f", "z"):   # the gate that keeps the old state: LSTM's f, GRU's z
            if gate in layer.gates:
                means = "  ".join(f"{float(v.mean()):.2f}" for v in layer.gates[gate])
                lines.append(f"  {layer.name} mean {gate} per step: {means}")
    return {"lines": lines + [""], "written": [*written, path], "layers": layers}


def _run(model, chosen) -> None:
    """One forward pass on the example: the task's own loss, or greedy decoding for --input."""
    if chosen.batch is not None:
        model.loss(chosen.batch)
    elif hasattr(model, "encode"):      # encoder-decoder: encode, then decode greedily
        model.predict(chosen.ids)
    else:
        model(chosen.ids)


def _stream(chosen) -> tuple[Tensor, object]:
    """The ids a decoder-only model reads and their labels (None for --input)."""
    batch = chosen.batch
    if batch is None:
        return chosen.ids, None
    if hasattr(batch, "stream"):
        return batch.stream()
    with no_grad():
        return batch.inputs, getattr(batch, "targets", None)
