"""Built-in task ``cloze``: text with hidden characters, to be filled in.

The text is the one ``chars`` reads (CPython's docs, or any UTF-8 file). In
every window some characters are hidden, BERT's masked-language-model recipe
(Devlin et al., 2018):

    choose 15% of the positions;  of those,  80% -> the mask token  □
                                             10% -> a random character
                                             10% -> left as they are
    loss on the chosen positions only

In held-out windows (valid, test) every chosen character is replaced by □, so
a gap is always visible; the score is the share of hidden characters a model
gets right. A model that reads both sides of a gap (``bert``) sees the text
after it too; a left-to-right model (``gpt``, ``lstm``, ...) predicts each
hidden character from what comes before it alone. That difference is the lesson.

A batch serves both: ``tokens`` and ``labels`` for a model that reads the whole
window, ``inputs`` and ``targets`` (the shifted pair of every language task)
for a left-to-right one, which learns to predict every next original character
of the gapped text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gradzoo.engine import Tensor, backend, no_grad
from gradzoo.plugins import Option, TaskSpec, hookimpl
from gradzoo.plugins.protocols import offers
from gradzoo.zoo.tasks.language import CharTask, default_text, read_text
from gradzoo.zoo.tasks.sequence import IGNORE

host = backend.array_module("cpu")
_SPLIT_OFFSET = {"train": 0, "valid": 1, "test": 2}
MASK_SYMBOL = "□"   # how the mask token is printed
MASKED, RANDOM, KEPT = 0.8, 0.1, 0.1  # what becomes of a chosen position


@dataclass
class ClozeBatch:
    """A batch of gapped windows (B, L).

    ``tokens``: the text with its chosen characters corrupted (what a model reads);
    ``original``: the text as written; ``labels``: the original character at the
    chosen positions and ``IGNORE`` elsewhere. Position 0 is never chosen, so
    that a left-to-right model has something before every gap.
    """

    tokens: Tensor
    original: Tensor
    labels: Tensor

    @property
    def inputs(self) -> Tensor:
        """What a left-to-right model reads: the gapped text without its last character."""
        return Tensor(self.tokens.data[:, :-1])

    @property
    def targets(self) -> Tensor:
        """The next original character at every position (a language task's targets)."""
        return Tensor(self.original.data[:, 1:])

    def __len__(self) -> int:
        return self.tokens.shape[0]


class ClozeTask(CharTask):
    """Fill in hidden characters: scored by the share of them a model gets right."""

    main_metric = "hidden_accuracy"
    higher_is_better = True

    def __init__(self, text: str, context: int, rate: float, seed: int):
        super().__init__(text, context, seed, name="cloze")
        self.rate = rate
        self.mask_token = len(self.chars)   # one id past the characters
        self.vocab_size = len(self.chars) + 1

    def decode(self, tokens) -> str:
        return "".join(MASK_SYMBOL if int(t) == self.mask_token else self.chars[int(t)]
                       for t in tokens)

    def hidden_per_window(self) -> int:
        """How many characters each window hides: ``rate`` of the positions after the first."""
        return max(1, round(self.rate * (self.context - 1)))

    def batch(self, batch_size: int, step: int, split: str = "train") -> ClozeBatch:
        """``batch_size`` random windows of ``context`` characters, some of them hidden."""
        data = self.splits[split]
        rng = backend.new_rng([self.seed, _SPLIT_OFFSET[split], step])
        starts = rng.integers(0, len(data) - self.context, size=batch_size)
        original = data[starts[:, None] + host.arange(self.context)]
        chosen = self.choose(rng, batch_size)
        tokens = self.corrupt(rng, original, chosen, training=split == "train")
        labels = host.where(chosen, original, IGNORE)
        return ClozeBatch(Tensor(tokens), Tensor(original), Tensor(labels))

    def choose(self, rng, batch_size: int):
        """A boolean (B, L) mask: ``hidden_per_window`` positions per row, never the first."""
        noise = rng.random((batch_size, self.context - 1))
        picked = noise.argsort(axis=1)[:, :self.hidden_per_window()] + 1  # random, from 1..L-1
        chosen = host.zeros((batch_size, self.context), dtype=bool)
        chosen[host.arange(batch_size)[:, None], picked] = True
        return chosen

    def corrupt(self, rng, original, chosen, training: bool):
        """What a model reads: the chosen positions 80/10/10 in training, all masked held out."""
        tokens = original.copy()
        if not training:
            tokens[chosen] = self.mask_token
            return tokens
        fate = rng.random(original.shape)
        random_chars = rng.integers(0, len(self.chars), size=original.shape)
        masked = chosen & (fate < MASKED)
        replaced = chosen & (fate >= MASKED) & (fate < MASKED + RANDOM)
        tokens[masked] = self.mask_token
        tokens[replaced] = random_chars[replaced]
        return tokens                               # the rest of the chosen stay as they are

    def score(self, model, batches: int = 8, batch_size: int = 64,
              split: str = "valid") -> dict[str, float]:
        """The share of hidden characters right, and the share a constant guess gets right."""
        was_training = model.training
        model.eval()
        right = total = 0
        for step in range(batches):
            batch = self.batch(batch_size, step, split)
            filled, gaps = self.fill_in(model, batch)
            right += int((filled[gaps] == batch.original.numpy()[gaps]).sum())
            total += int(gaps.sum())
        model.train(was_training)
        return {"hidden_accuracy": right / total, "constant_accuracy": self.constant_accuracy()}

    def fill_in(self, model, batch: ClozeBatch):
        """(the gapped text with the model's guess in each gap, where the gaps are), on the host."""
        with no_grad():
            guesses = backend.to_host(hidden_logits(model, batch).data.argmax(axis=-1))
        filled = batch.tokens.numpy().copy()
        gaps = batch.labels.numpy() != IGNORE
        after_first = filled[:, 1:]        # a view: the guesses cover positions 1..L-1
        after_first[gaps[:, 1:]] = guesses[gaps[:, 1:]]
        return filled, gaps

    def constant_accuracy(self) -> float:
        """The score of always guessing the training text's most common character (the space)."""
        counts = Counter(self.splits["train"].tolist())
        most_common = counts.most_common(1)[0][0]
        return float((self.splits["valid"] == most_common).mean())


def hidden_logits(model, batch: ClozeBatch) -> Tensor:
    """Logits (B, L-1, V) for positions 1..L-1, from what each kind of model may read.

    A model with ``bidirectional = True`` reads the whole gapped window; any other
    language model gives next-token logits, so the guess for position p comes
    from its output at p-1, which has read positions 0..p-1 only.
    """
    if offers(model, "bidirectional"):
        logits = model(batch.tokens)
        return Tensor(logits.data[:, 1:])
    return model(batch.inputs)


def make_cloze(options, seed):
    text = read_text(options["path"], "cloze") if options["path"] else default_text()
    return ClozeTask(text, options["context"], options["rate"], seed)


TASKS = [
    TaskSpec(name="cloze", kind="language", make=make_cloze,
             summary="fill in hidden characters of a text (BERT's masked-language-model task)",
             options=(Option("path", "", "a UTF-8 text file (default: CPython's pydoc topics)"),
                      Option("context", 64, "characters in each window", min=2, max=4096),
                      Option("rate", 0.15, "share of the characters hidden", min=0.01,
                             max=0.5))),
]


@hookimpl
def register_tasks(register):
    for spec in TASKS:
        register(spec)
