"""A run directory: what ``gradzoo train`` writes, and how it is read back.

    config.json          what was trained, on what, with which options and seed
    metrics.jsonl        one JSON object per logged step (loss, learning rate, speed, scores)
    model.safetensors    the weights of the last checkpoint
    optimizer.safetensors  the optimizer's moments of the same checkpoint
    state.json           the step and random-generator state of that checkpoint

Every file is written to a temporary file and then renamed (``io.write_atomically``),
so an interrupted run leaves its last checkpoint whole, and every file gets the
user's usual permissions. Weights are safetensors, never pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

from gradzoo.engine import io
from gradzoo.engine.nn import StateDictError
from gradzoo.lab.errors import RunError

CONFIG = "config.json"
METRICS = "metrics.jsonl"
MODEL = "model.safetensors"
OPTIMIZER = "optimizer.safetensors"
STATE = "state.json"


def write_json(path: Path, data) -> None:
    """``data`` as indented JSON with sorted keys, written atomically."""
    io.write_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path):
    """The JSON in ``path``, or a RunError saying it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{path} is not valid JSON ({error})") from None


def append_metrics(run_dir: Path, record: dict) -> None:
    """Add one line to metrics.jsonl (a line is written whole or not at all, then flushed)."""
    with open(Path(run_dir) / METRICS, "a", encoding="utf-8") as file:
        file.write(json.dumps(record, sort_keys=True) + "\n")
        file.flush()


def read_metrics(run_dir: Path) -> list[dict]:
    """Every complete line of metrics.jsonl (a torn last line from a crash is skipped)."""
    path = Path(run_dir) / METRICS
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def truncate_metrics(run_dir: Path, after_step: int) -> None:
    """Drop metric lines logged after ``after_step`` (a resumed run logs them again)."""
    kept = [r for r in read_metrics(run_dir) if r.get("step", 0) <= after_step]
    lines = "".join(json.dumps(record, sort_keys=True) + "\n" for record in kept)
    io.write_atomically(Path(run_dir) / METRICS, lines)


def free_run_dir(model: str, task: str, root: str = "runs") -> Path:
    """runs/MODEL-TASK, or runs/MODEL-TASK-2, -3... if taken (an old run is never overwritten)."""
    base = Path(root) / f"{model}-{task}"
    candidate, number = base, 1
    while candidate.exists() and any(candidate.iterdir()):
        number += 1
        candidate = Path(f"{base}-{number}")
    return candidate


def check_run_dir(run_dir) -> Path:
    """The path of an existing run directory written by gradzoo, or a RunError saying why not."""
    path = Path(run_dir)
    if not path.is_dir():
        raise RunError(f"no run directory at {path}")
    if not (path / CONFIG).exists():
        raise RunError(f"{path} is not a gradzoo run directory (it has no {CONFIG})")
    config = read_json(path / CONFIG)
    if not isinstance(config, dict) or config.get("format") != "gradzoo-run":
        raise RunError(f"{path / CONFIG} was not written by gradzoo train")
    return path


def save_checkpoint(run_dir: Path, model, optimizer, state: dict) -> None:
    """Write weights, optimizer state and ``state`` (step, random state), each atomically.

    state.json goes last and names the step, so a checkpoint is only taken as
    complete when all three files agree on it.
    """
    run_dir = Path(run_dir)
    step = str(state["step"])
    tensors, numbers = _split_optimizer_state(optimizer.state_dict())
    io.save(tensors, run_dir / OPTIMIZER, metadata={"step": step, "numbers": json.dumps(numbers)})
    io.save(model.state_dict(), run_dir / MODEL, metadata={"step": step})
    write_json(run_dir / STATE, state)


def read_state(run_dir: Path) -> dict:
    """state.json of the last checkpoint: a dict naming its ``step`` (a RunError if damaged)."""
    path = Path(run_dir) / STATE
    state = read_json(path)
    step = state.get("step") if isinstance(state, dict) else None
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise RunError(f"{path} is damaged: it does not name the step of a checkpoint")
    return state


def load_checkpoint(run_dir: Path, model, optimizer=None) -> dict:
    """Load the last checkpoint into ``model`` (and ``optimizer``); return its state.

    Any file that is missing, damaged or does not fit is a RunError of one line.
    """
    run_dir = Path(run_dir)
    state = read_state(run_dir)
    weights = _load_weights(run_dir / MODEL, state["step"])
    try:
        model.load_state_dict(weights)
    except StateDictError as error:
        raise RunError(f"{run_dir / MODEL} does not fit the model: {one_line(error)}") from None
    if optimizer is not None:
        tensors = _load_weights(run_dir / OPTIMIZER, state["step"])
        try:
            metadata = io.read_metadata(run_dir / OPTIMIZER)
            optimizer.load_state_dict({**tensors, **json.loads(metadata.get("numbers", "{}"))})
        except (ValueError, TypeError) as error:  # CheckpointError and JSONDecodeError too
            raise RunError(f"{run_dir / OPTIMIZER} does not fit the optimizer: "
                           f"{one_line(error)}") from None
    return state


def one_line(error) -> str:
    """A multi-line message (one line per mismatched weight) as one line: the first detail."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if len(lines) <= 2:
        return " ".join(lines)
    return f"{lines[0]} {lines[1]} (and {len(lines) - 2} more)"


def _load_weights(path: Path, step: int) -> dict:
    try:
        tensors = io.load(path)
        metadata = io.read_metadata(path)
    except io.CheckpointError as error:
        raise RunError(str(error)) from None
    if metadata.get("step") != str(step):
        raise RunError(f"{path} is from step {metadata.get('step')}, but state.json says step "
                       f"{step}: the checkpoint was cut off while being written")
    return tensors


def _split_optimizer_state(state: dict):
    """Tensors go into safetensors; plain numbers (step counts, hyperparameters) into metadata."""
    tensors = {k: v for k, v in state.items() if hasattr(v, "data") and hasattr(v, "shape")}
    numbers = {k: v for k, v in state.items() if k not in tensors}
    return tensors, numbers
