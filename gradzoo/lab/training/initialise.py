"""Starting a model from other weights (``--init-from``), and freezing some of them (``--freeze``).

The model is built as usual (its own initialisation, its own seed); then every
tensor the source has under the same name is copied in:

    loaded    same name, same shape: copied as it is
    resized   an embedding or output matrix over another vocabulary: row v of the new
              matrix is the source's row of the same TOKEN (not the same index), so
              'e' keeps what it learnt wherever 'e' sits; tokens the source never had
              keep the new model's initial rows. A position table of another length
              keeps its first rows (position p is position p in both).
    new       the source has no such tensor (a classifier head): the model's initial values
    ignored   a source tensor the model has no place for (a next-token head): listed, unused

Any other difference of shape (another width, another number of heads' worth
of rows) cannot be copied, and neither can a source of another model family:
both are a UsageError naming the first mismatch.

A frozen parameter gets ``requires_grad = False``: backward computes no
gradient for it and the optimizer, built over the trainable parameters only,
keeps no state for it, so it stays exactly as loaded.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from gradzoo.engine import backend, io, nn
from gradzoo.lab.errors import RunError, UsageError
from gradzoo.lab.tables import format_table
from gradzoo.lab.training import runs


@dataclass
class WeightSource:
    """Weights to start from: the tensors, and what is known of the model that learnt them."""

    given: str                     # the path as the user wrote it
    weights: Path                  # the .safetensors file read
    tensors: dict = field(repr=False)
    model: str | None = None       # the model family, when the source says
    vocabulary: list | None = None  # token of each embedding row, when the source says
    sha256: str = ""               # of the weight file's bytes

    def record(self) -> dict:
        """What config.json keeps of it: the path as given, resolved, and the content hash."""
        return {"path": self.given, "resolved": str(self.weights.resolve()),
                "sha256": self.sha256, "model": self.model}


@dataclass
class InitReport:
    """What happened to each tensor: loaded, resized (rows kept, total), new, ignored."""

    loaded: list = field(default_factory=list)
    resized: dict = field(default_factory=dict)    # name -> (rows kept, rows in all)
    new: list = field(default_factory=list)
    ignored: list = field(default_factory=list)


def start_from(experiment, registry, init_from: str | None = None, patterns=(),
               source: WeightSource | None = None) -> str | None:
    """Load ``init_from`` into a new experiment's model, then freeze ``patterns``.

    Records both on the experiment (so config.json says where the run started)
    and returns the table to print before training, or None when neither was asked.
    ``source`` is the already read ``init_from`` (a comparison reads it once).
    """
    if init_from is None and not patterns:
        return None
    report = None
    if init_from is not None:
        source = source or read_source(init_from, registry)
        report = initialise(experiment.model, experiment.model_spec.name, source,
                            task_vocabulary(experiment.task))
        experiment.init_from = source.record()
    experiment.freeze = tuple(patterns)
    frozen = freeze(experiment.model, patterns)
    return summary_table(report, frozen, experiment.model)


# ---------------------------------------------------------------------- the source


def read_source(given: str, registry) -> WeightSource:
    """A run directory (its model.safetensors, config.json) or a .safetensors file, read."""
    path = Path(given)
    if not path.exists():
        raise UsageError(f"--init-from {given}: no such run directory or .safetensors file")
    if path.is_file() and path.name == runs.MODEL and (path.parent / runs.CONFIG).exists():
        path = path.parent                      # a run's own weight file: read the run
    if path.is_dir():
        return _read_run(given, path, registry)
    if path.suffix != ".safetensors":
        raise UsageError(f"--init-from {given}: expected a run directory or a .safetensors "
                         f"file, not a {path.suffix or 'file without extension'}")
    tensors, metadata = _read_weights(given, path)
    vocabulary = metadata.get("gradzoo_vocabulary")
    return WeightSource(given, path, tensors, metadata.get("gradzoo_model"),
                        json.loads(vocabulary) if vocabulary else None, _sha256(path))


def _read_run(given: str, path: Path, registry) -> WeightSource:
    """A run directory: its last checkpoint's weights; its task rebuilt to learn the tokens."""
    try:
        runs.check_run_dir(path)
    except RunError as error:
        raise UsageError(f"--init-from {given}: {error}") from None
    config = runs.read_json(path / runs.CONFIG)
    if not (path / runs.MODEL).exists():
        raise UsageError(f"--init-from {given}: the run has no weights yet ({runs.MODEL} is "
                         f"missing)")
    tensors, _ = _read_weights(given, path / runs.MODEL)
    return WeightSource(given, path / runs.MODEL, tensors, config.get("model"),
                        _run_vocabulary(config, registry), _sha256(path / runs.MODEL))


def _read_weights(given: str, path: Path):
    try:
        return io.load(path), io.read_metadata(path)
    except io.CheckpointError as error:
        raise UsageError(f"--init-from {given}: {error}") from None


def _run_vocabulary(config: dict, registry) -> list | None:
    """The vocabulary of a run's task, rebuilt from its config (None if it has none)."""
    try:
        spec = registry.task(config["task"])
        with _random_state_kept():       # building a task must not move this run's seed
            task = spec.make(spec.resolve(config.get("task_options", {})), config.get("seed", 0))
    except (KeyError, ValueError):
        return None
    return task_vocabulary(task)


@contextlib.contextmanager
def _random_state_kept():
    state = backend.get_rng_state()
    try:
        yield
    finally:
        backend.set_rng_state(state)


def task_vocabulary(task) -> list | None:
    """The token of each id, as text (``task.decode([id])``); None for a task without tokens.

    A name that comes twice (two ids printed alike) gets its id appended, so each is unique.
    """
    size = getattr(task, "vocab_size", None)
    if not isinstance(size, int) or not hasattr(task, "decode"):
        return None
    try:
        names = [str(task.decode([i])) for i in range(size)]
    except (IndexError, KeyError, TypeError, ValueError):  # ids it cannot print: no tokens
        return None
    repeated = {n for n in names if names.count(n) > 1}
    return [f"{n}#{i}" if n in repeated else n for i, n in enumerate(names)]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------- matching


def initialise(model, model_name: str, source: WeightSource, vocabulary) -> InitReport:
    """Copy into ``model`` every tensor of ``source`` that fits it; report what happened."""
    if source.model is not None and source.model != model_name:
        raise UsageError(f"--init-from {source.given} holds weights of a {source.model}, and a "
                         f"{model_name} cannot start from them: the model families differ")
    from gradzoo.lab.export import from_torch

    tensors = from_torch(source.tensors, model)      # a file in torch.nn's names reads too
    own = model.state_dict()
    report = InitReport(ignored=[name for name in tensors if name not in own])
    vocabulary_rows = _vocabulary_tensors(model, len(vocabulary) if vocabulary else None)
    values = {}
    for name, initial in own.items():
        if name not in tensors:
            report.new.append(name)
            continue
        value = tensors[name]
        if name in vocabulary_rows and _vocabularies_differ(source.vocabulary, vocabulary):
            values[name], kept = _rows_by_token(name, value, initial, source, vocabulary)
            report.resized[name] = (kept, initial.shape[0])
        elif tuple(value.shape) == tuple(initial.shape):
            values[name] = value
            report.loaded.append(name)
        elif _is_position_table(name, value, initial):
            values[name], kept = _rows_by_position(value, initial)
            report.resized[name] = (kept, initial.shape[0])
        else:
            raise UsageError(_mismatch(name, value, initial, source, name in vocabulary_rows))
    if not values:
        raise UsageError(f"--init-from {source.given}: none of its tensors has a name of this "
                         f"model's ({_few(tensors)} against {_few(own)})")
    model.load_state_dict(values, strict=False)
    return report


def _vocabulary_tensors(model, vocab_size: int | None) -> set[str]:
    """Names of the tensors with one row per token: embeddings, output layers, output biases."""
    if vocab_size is None:
        return set()
    names = set()
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(module, nn.Embedding) and module.num_embeddings == vocab_size \
                and "position" not in name:
            names.add(f"{prefix}weight")
        elif isinstance(module, nn.Linear) and module.out_features == vocab_size:
            names.update({f"{prefix}weight", f"{prefix}bias"} if module.bias is not None
                         else {f"{prefix}weight"})
    names.update(n for n, p in model.named_parameters()     # a bias of the model's own (bert)
                 if "." not in n and p.shape == (vocab_size,))
    return names


def _vocabularies_differ(source_vocabulary, vocabulary) -> bool:
    return source_vocabulary is not None and vocabulary is not None \
        and list(source_vocabulary) != list(vocabulary)


def _rows_by_token(name, value, initial, source: WeightSource, vocabulary):
    """Row i <- the source's row of token vocabulary[i], where the source has that token."""
    if value.shape[0] != len(source.vocabulary) or tuple(value.shape[1:]) != initial.shape[1:]:
        raise UsageError(_mismatch(name, value, initial, source, True))
    source_row = {token: row for row, token in enumerate(source.vocabulary)}
    rows = initial.data.copy()
    pairs = [(i, source_row[t]) for i, t in enumerate(vocabulary) if t in source_row]
    if pairs:
        new_ids, old_ids = (list(ids) for ids in zip(*pairs))
        rows[new_ids] = backend.to_device(value.data, backend.device_of(rows))[old_ids]
    return rows, len(pairs)


def _is_position_table(name, value, initial) -> bool:
    return "position" in name and value.ndim == 2 and value.shape[1] == initial.shape[1]


def _rows_by_position(value, initial):
    """The first rows of the source's position table (the new model may be longer or shorter)."""
    kept = min(value.shape[0], initial.shape[0])
    rows = initial.data.copy()
    rows[:kept] = backend.to_device(value.data[:kept], backend.device_of(rows))
    return rows, kept


def _mismatch(name, value, initial, source: WeightSource, by_token: bool) -> str:
    hint = ("" if not by_token or source.vocabulary is not None else
            "; the source does not say its vocabulary, so its rows cannot be matched by token")
    return (f"--init-from {source.given}: '{name}' has shape {tuple(value.shape)} in the "
            f"source and {tuple(initial.shape)} in this model{hint}; only the rows of a "
            f"vocabulary or a position table may differ (same width, layers and heads needed)")


def _few(names, count: int = 4, total: bool = True) -> str:
    """The first ``count`` names, then '…' (and how many there are, with ``total``)."""
    names = list(names)
    more = "" if len(names) <= count else f", … ({len(names)} in all)" if total else ", …"
    return ", ".join(names[:count]) + more


# ---------------------------------------------------------------------- freezing


def freeze(model, patterns) -> list[str]:
    """Set ``requires_grad = False`` on the parameters matching any glob; return their names.

    ``blocks.0.*`` matches every tensor of the first block, and so does plain
    ``blocks.0`` (a pattern also matches what lies below it). A pattern that
    matches nothing is a UsageError listing some real names.
    """
    named = dict(model.named_parameters())
    frozen = []
    for pattern in patterns:
        matched = [n for n in named if fnmatch.fnmatchcase(n, pattern)
                   or fnmatch.fnmatchcase(n, f"{pattern}.*")]
        if not matched:
            raise UsageError(f"--freeze {pattern!r} matches no parameter; the model has "
                             f"{_few(named, 6)} (e.g. --freeze 'blocks.0.*')")
        frozen.extend(n for n in matched if n not in frozen)
    if named and len(frozen) == len(named):
        raise UsageError(f"--freeze {' '.join(patterns)} matches every parameter: nothing "
                         f"would be trained")
    for name in frozen:
        named[name].requires_grad = False
    return frozen


def trainable(model) -> list:
    """The parameters the optimizer updates (the ones not frozen)."""
    return [p for p in model.parameters() if p.requires_grad]


# ---------------------------------------------------------------------- the table


def summary_table(report: InitReport | None, frozen: list[str], model) -> str:
    """Loaded / resized / new / frozen / ignored, each with a count and some names."""
    rows = []
    if report is not None:
        resized = [f"{n} ({kept}/{total} rows kept)" for n, (kept, total)
                   in report.resized.items()]
        rows += [["loaded", len(report.loaded), _few(report.loaded, 3, False)],
                 ["resized", len(resized), ", ".join(resized)],
                 ["new", len(report.new), _few(report.new, 3, False)]]
    rows.append(["frozen", len(frozen), _few(frozen, 3, False)])
    if report is not None:
        rows.append(["ignored", len(report.ignored), _few(report.ignored, 3, False)])
    count = sum(p.size for p in trainable(model))
    total = sum(p.size for p in model.parameters())
    return (format_table(["tensors", "count", "names"], rows, max_width=90)
            + f"\ntrainable parameters: {count:,} of {total:,}")
