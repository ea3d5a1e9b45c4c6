"""``gradzoo export RUN --format torch``: a run's weights under the names ``torch.nn`` gives them.

Most gradzoo layers already keep PyTorch's parameter names and layouts, so
their tensors are written as they are: ``nn.Linear`` (weight (out, in), bias),
``nn.Embedding``, ``nn.LayerNorm``, ``nn.Conv2d`` (weight (out, in, kH, kW)),
the norms' buffers, and the recurrent cells (``weight_ih``, ``weight_hh``,
``bias_ih``, ``bias_hh``, gates in PyTorch's order). Two things differ:

    gradzoo                                    torch.nn
    attn.q_proj.weight, k_proj, v_proj         attn.in_proj_weight = [W_q; W_k; W_v]  (3d, d)
    attn.q_proj.bias,   k_proj, v_proj         attn.in_proj_bias   = [b_q; b_k; b_v]  (3d,)
    cells.0.weight_ih, cells.1.weight_ih ...   cells.weight_ih_l0, cells.weight_ih_l1 ...
    (a ModuleList of LSTMCell / GRUCell /      (one nn.LSTM / nn.GRU / nn.RNN with
     RNNCell, one per layer)                    num_layers, batch_first=True)

``attn.out_proj.*`` keeps its name in both. The file's metadata says
``{"format": "pt"}`` (what PyTorch tooling looks for) and carries gradzoo's own
keys: the model, the task and its vocabulary, so ``--init-from FILE`` can match
the embedding rows by token.
"""

from __future__ import annotations

import json
from pathlib import Path

from gradzoo.engine import Tensor, io, nn
from gradzoo.engine import functional as F
from gradzoo.lab.errors import UsageError
from gradzoo.lab.training.opening import open_run
from gradzoo.plugins.manager import Registry

FORMATS = ("torch",)
_RECURRENT_CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)
_CELL_TENSORS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def torch_layout(model) -> dict[str, tuple[str, ...]]:
    """The tensors whose PyTorch name differs: torch name -> the gradzoo names it is made of.

    One gradzoo name is a rename; several are stacked along the rows, in order.
    Every tensor of ``model.state_dict()`` not named here keeps its name.
    """
    layout = {}
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(module, nn.MultiheadAttention):
            for kind in ("weight", "bias"):
                parts = tuple(f"{prefix}{p}_proj.{kind}" for p in "qkv")
                if getattr(module.q_proj, kind) is not None:
                    layout[f"{prefix}in_proj_{kind}"] = parts
        elif _is_stack_of_cells(module):
            for layer, cell in enumerate(module):
                for tensor in _CELL_TENSORS:
                    if getattr(cell, tensor) is not None:
                        layout[f"{prefix}{tensor}_l{layer}"] = (f"{prefix}{layer}.{tensor}",)
    return layout


def _is_stack_of_cells(module) -> bool:
    """A ModuleList of recurrent cells of one kind: what one multi-layer nn.LSTM/GRU/RNN is."""
    cells = list(module) if isinstance(module, nn.ModuleList) else []
    return bool(cells) and all(type(c) is type(cells[0]) for c in cells) \
        and isinstance(cells[0], _RECURRENT_CELLS)


def to_torch(state: dict, model) -> dict:
    """A gradzoo state dict under PyTorch's names (q, k, v stacked into ``in_proj_*``)."""
    result = dict(state)
    for torch_name, parts in torch_layout(model).items():
        tensors = [result.pop(part) for part in parts]
        result[torch_name] = tensors[0] if len(tensors) == 1 else F.cat(tensors, dim=0)
    return result


def from_torch(tensors: dict, model) -> dict:
    """Tensors under PyTorch's names back under the model's own (``in_proj_*`` split by rows).

    Names that are gradzoo's already are kept, so this reads either kind of file.
    A stacked tensor whose shape does not fit the model is a UsageError naming it.
    """
    result = dict(tensors)
    own = model.state_dict()
    for torch_name, parts in torch_layout(model).items():
        if torch_name not in result or any(part in result for part in parts):
            continue
        packed = result.pop(torch_name)
        shapes = [own[part].shape for part in parts]
        expected = (sum(s[0] for s in shapes), *shapes[0][1:])
        if tuple(packed.shape) != expected:
            raise UsageError(f"'{torch_name}' has shape {tuple(packed.shape)} in the source, but "
                             f"this model's is {expected}: the models differ in width")
        start = 0
        for part, shape in zip(parts, shapes):
            result[part] = Tensor(packed.data[start:start + shape[0]])
            start += shape[0]
    return result


def export_run(registry: Registry, run_dir, fmt: str, out) -> dict:
    """Write the weights of ``run_dir`` to ``out`` in format ``fmt``; return what was written."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}'; formats: {', '.join(FORMATS)}")
    out = Path(out)
    if out.suffix != ".safetensors":
        raise UsageError(f"--out {out}: the file name must end in .safetensors")
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file name ending in .safetensors")
    from gradzoo.lab.training.initialise import task_vocabulary

    experiment = open_run(run_dir, registry)  # a RunError if it has no weights yet
    model = experiment.model
    tensors = to_torch(model.state_dict(), model)
    metadata = {"format": "pt", "gradzoo_model": experiment.model_spec.name,
                "gradzoo_task": experiment.task_spec.name,
                "gradzoo_model_options": json.dumps(experiment.model_options, sort_keys=True)}
    vocabulary = task_vocabulary(experiment.task)
    if vocabulary is not None:
        metadata["gradzoo_vocabulary"] = json.dumps(vocabulary, ensure_ascii=False)
    if not out.parent.exists():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
    io.save(tensors, out, metadata=metadata)
    renamed = {name: parts for name, parts in torch_layout(model).items()}
    return {"path": out, "tensors": len(tensors), "renamed": renamed,
            "model": experiment.model_spec.name}
