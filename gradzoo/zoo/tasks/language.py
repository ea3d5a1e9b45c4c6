"""Built-in language task: predict the next character of a text.

The default text is the Python documentation that ships with CPython
(``pydoc_data.topics``, about 465 000 characters), so nothing is downloaded;
``path`` takes any UTF-8 file instead. The first 90% trains, the rest validates.
``domain`` keeps one part of the documentation only (``DOMAINS``), read with the
characters of the whole of it, so a model pre-trained on all of it can go on
learning one part: fine-tuning a language model on a small domain.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from gradzoo.engine import Tensor, backend, no_grad
from gradzoo.plugins import Option, SpecError, TaskSpec, hookimpl
from gradzoo.plugins.specs import did_you_mean

host = backend.array_module("cpu")
_SPLIT_OFFSET = {"train": 0, "valid": 1, "test": 2}

# Parts of CPython's documentation, as lists of pydoc topic names. ``sequences`` lies
# wholly in the tenth of the joined text that ``chars`` holds out (topics are joined in
# alphabetical order), so a model pre-trained on ``chars`` has never trained on it.
DOMAINS = {
    "sequences": ("typesseq", "typesseq-mutable"),       # lists, tuples, ranges and their methods
}


@dataclass
class LanguageBatch:
    """``inputs`` (B, L) character ids and ``targets`` (B, L): the same text shifted by one."""

    inputs: Tensor
    targets: Tensor

    def __len__(self) -> int:
        return self.inputs.shape[0]


def default_text() -> str:
    """CPython's own documentation topics, joined in a fixed order."""
    from pydoc_data.topics import topics

    return "".join(topics[name] for name in sorted(topics))


def default_chars() -> list[str]:
    """The characters of ``default_text``: the vocabulary of ``chars`` and ``cloze`` by default."""
    return sorted(set(default_text()))


def topics_text(names, task: str = "chars") -> str:
    """The pydoc topics ``names``, joined in the order given; an unknown name is a SpecError."""
    from pydoc_data.topics import topics

    unknown = [name for name in names if name not in topics]
    if unknown:
        raise SpecError(f"task '{task}': no pydoc topic {unknown[0]!r}"
                        f"{did_you_mean(unknown[0], topics)}")
    return "".join(topics[name] for name in names)


def read_text(path: str, task: str = "chars") -> str:
    """A UTF-8 text file, with errors a student can act on."""
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"option 'path' of task '{task}': no such file: {path}")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"option 'path' of task '{task}': {path} is not UTF-8 text "
                        f"({error.reason} at byte {error.start})") from None
    return text


class CharTask:
    """Character-level language modelling: scored by validation loss (nats per character)."""

    kind = "language"
    main_metric = "valid_loss"
    higher_is_better = False

    def __init__(self, text: str, context: int, seed: int, name: str = "chars", chars=None):
        """``chars``: the vocabulary (default: the characters of ``text``, sorted)."""
        if len(text) < 2 * (context + 1) * 10:
            raise SpecError(f"task '{name}': the text has {len(text)} characters; it needs at "
                            f"least {20 * (context + 1)} for context {context}")
        self.name = name
        self.context = context
        self.seed = seed
        self.chars = sorted(set(text)) if chars is None else list(chars)
        self.vocab_size = len(self.chars)
        self._index = {c: i for i, c in enumerate(self.chars)}
        ids = host.array([self._index[c] for c in text], dtype="int64")
        cut = int(len(ids) * 0.9)
        self.splits = {"train": ids[:cut], "valid": ids[cut:], "test": ids[cut:]}

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - set(self._index))
        if unknown:
            raise ValueError(f"characters not in this text's vocabulary: {''.join(unknown)!r}")
        return [self._index[c] for c in text]

    def decode(self, tokens) -> str:
        return "".join(self.chars[int(t)] for t in tokens)

    def batch(self, batch_size: int, step: int, split: str = "train") -> LanguageBatch:
        """``batch_size`` random windows of ``context`` + 1 characters from one split."""
        data = self.splits[split]
        rng = backend.new_rng([self.seed, _SPLIT_OFFSET[split], step])
        starts = rng.integers(0, len(data) - self.context - 1, size=batch_size)
        windows = data[starts[:, None] + host.arange(self.context + 1)]
        return LanguageBatch(Tensor(windows[:, :-1]), Tensor(windows[:, 1:]))

    def score(self, model, batches: int = 8, batch_size: int = 64,
              split: str = "valid") -> dict[str, float]:
        """Mean loss in nats per character (lower is better), and the unigram baseline."""
        was_training = model.training
        model.eval()
        with no_grad():
            losses = [model.loss(self.batch(batch_size, step, split)).item()
                      for step in range(batches)]
        model.train(was_training)
        return {"valid_loss": sum(losses) / len(losses), "unigram_loss": self.unigram_loss()}

    def unigram_loss(self) -> float:
        """Loss of the best context-free model: the training text's character frequencies."""
        counts = Counter(self.splits["train"].tolist())
        total = sum(counts.values())
        valid = self.splits["valid"].tolist()
        floor = 0.5 / total  # a character never seen in training still gets a little probability
        return -sum(math.log(counts.get(c, 0) / total or floor) for c in valid) / len(valid)


def make_chars(options, seed):
    if options.get("domain"):
        if options["path"]:
            raise SpecError("task 'chars': domain is a part of CPython's docs; it cannot be "
                            "combined with path (leave one of them empty)")
        text = topics_text(DOMAINS[options["domain"]])
        return CharTask(text, options["context"], seed, chars=default_chars())
    text = read_text(options["path"]) if options["path"] else default_text()
    return CharTask(text, options["context"], seed)


TASKS = [
    TaskSpec(name="chars", kind="language", make=make_chars,
             summary="predict the next character of a text (default: CPython's docs)",
             options=(Option("path", "", "a UTF-8 text file (default: CPython's pydoc topics)"),
                      Option("context", 64, "characters the model sees at once", min=1,
                             max=4096),
                      Option("domain", "", "one part of CPython's docs only, in the whole "
                             "docs' characters (empty: all of it)", choices=("", *DOMAINS)))),
]


@hookimpl
def register_tasks(register):
    for spec in TASKS:
        register(spec)
