"""Built-in sequence tasks: (source, target) token puzzles made on the fly, no download.

Each puzzle isolates one ability: ``remember`` a token over a distance,
``recall`` the value of a key (an induction head), recall it for several queries
at once (``mqar``), ``copy``, ``reverse`` and
``sort`` a string of digits, ``add`` two numbers. Batches are reproducible:
batch ``step`` of a split is drawn from a generator seeded with (seed, split, step).
"""

from __future__ import annotations

from dataclasses import dataclass

from gradzoo.engine import Tensor, backend, no_grad
from gradzoo.plugins import Option, TaskSpec, hookimpl

host = backend.array_module("cpu")  # puzzles are made on the host, then moved to the device
IGNORE = -100  # cross_entropy's ignore_index: positions that are not scored
_SPLIT_OFFSET = {"train": 0, "valid": 1, "test": 2}


@dataclass
class SequenceBatch:
    """``source`` (B, S) and ``target`` (B, T) token ids, as integer tensors."""

    source: Tensor
    target: Tensor
    sep_token: int
    scored: object = None  # (T,) booleans: the target positions scored (None: all of them)

    def stream(self):
        """Inputs and labels of the decoder-only view ``source SEP target``.

        inputs = source SEP target[:-1], labels = (ignored...) target: the model
        reads the whole stream and is scored on predicting the target only.
        """
        xp = backend.xp_of(self.source.data)
        source, target = self.source.data, self.target.data
        batch, source_len = source.shape
        sep = xp.full((batch, 1), self.sep_token, dtype=source.dtype)
        inputs = xp.concatenate([source, sep, target[:, :-1]], axis=1)
        ignored = xp.full((batch, source_len), IGNORE, dtype=source.dtype)
        if self.scored is not None:  # positions the model cannot know (mqar's queries): ignored
            target = xp.where(xp.asarray(self.scored)[None, :], target, IGNORE)
        labels = xp.concatenate([ignored, target.astype(source.dtype)], axis=1)
        return Tensor(inputs), Tensor(labels)

    def __len__(self) -> int:
        return self.source.shape[0]


class SequenceTask:
    """A puzzle of (source, target) pairs drawn by ``generate(rng, n) -> (source, target)``."""

    kind = "sequence"
    main_metric = "exact_match"
    higher_is_better = True

    def __init__(self, name, generate, content_tokens, source_length, target_length, seed,
                 token_names=None):
        self.name = name
        self._generate = generate
        self.sep_token = content_tokens
        self.vocab_size = content_tokens + 1
        self.source_length = source_length
        self.target_length = target_length
        self.seed = seed
        self.token_names = list(token_names or [str(i) for i in range(content_tokens)]) + ["|"]

    def batch(self, batch_size: int, step: int, split: str = "train") -> SequenceBatch:
        rng = backend.new_rng([self.seed, _SPLIT_OFFSET[split], step])
        source, target = self._generate(rng, batch_size)
        return SequenceBatch(Tensor(source), Tensor(target), self.sep_token)

    def score(self, model, batches: int = 8, batch_size: int = 128,
              split: str = "valid") -> dict[str, float]:
        """Token accuracy and exact match (every target token right) on validation batches."""
        correct_tokens = exact = total = 0
        was_training = model.training
        model.eval()
        with no_grad():
            for step in range(batches):
                batch = self.batch(batch_size, step, split=split)
                predicted = backend.to_host(_data(model.predict(batch.source)))
                target = batch.target.numpy()
                right = predicted == target
                correct_tokens += int(right.sum())
                exact += int(right.all(axis=1).sum())
                total += len(target)
        model.train(was_training)
        return {"accuracy": correct_tokens / (total * self.target_length),
                "exact_match": exact / total}

    def decode(self, tokens) -> str:
        """Token ids as text: digits and letters as they are, SEP as '|'."""
        return " ".join(self.token_names[int(t)] for t in tokens)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


# ---------------------------------------------------------------------- the puzzles

REMEMBER_VOCAB = 8


def make_remember(options, seed):
    """A token, then ``distance`` random distractors; the answer is the first token."""
    distance = options["distance"]

    def generate(rng, n):
        source = rng.integers(0, REMEMBER_VOCAB, size=(n, distance + 1))
        return source, source[:, :1].copy()

    return SequenceTask("remember", generate, REMEMBER_VOCAB, distance + 1, 1, seed)


RECALL_KEYS = 16
RECALL_VALUES = 16


def make_recall(options, seed):
    """``pairs`` key-value pairs, then a query key; the answer is that key's value.

    Keys (``a``..``p``) and values (``0``..``f``) come from separate vocabularies,
    and the keys of one example are distinct.
    """
    pairs = options["pairs"]

    def generate(rng, n):
        keys = rng.permuted(host.tile(host.arange(RECALL_KEYS), (n, 1)), axis=1)[:, :pairs]
        values = rng.integers(0, RECALL_VALUES, size=(n, pairs)) + RECALL_KEYS
        which = rng.integers(0, pairs, size=n)
        rows = host.arange(n)
        query, answer = keys[rows, which], values[rows, which]
        interleaved = host.stack([keys, values], axis=2).reshape(n, 2 * pairs)
        return host.concatenate([interleaved, query[:, None]], axis=1), answer[:, None]

    names = [chr(ord("a") + i) for i in range(RECALL_KEYS)]
    names += [f"{i:x}" for i in range(RECALL_VALUES)]
    return SequenceTask("recall", generate, RECALL_KEYS + RECALL_VALUES, 2 * pairs + 1, 1, seed,
                        token_names=names)


class MQARTask(SequenceTask):
    """Multi-query associative recall: the target interleaves queries and answers.

    The stream is ``k1 v1 ... kN vN SEP q1 a1 q2 a2 ...``; only the answers are
    scored (a query is a random key: nothing to predict), each on its own, and
    with the true tokens before it (teacher forcing), as in Zoology's MQAR.
    """

    main_metric = "accuracy"

    def __init__(self, generate, content_tokens, pairs, queries, seed, token_names):
        super().__init__("mqar", generate, content_tokens, 2 * pairs, 2 * queries, seed,
                         token_names=token_names)
        self.pairs, self.queries = pairs, queries
        self.scored = host.arange(2 * queries) % 2 == 1  # q1 a1 q2 a2 ...: the a's

    def batch(self, batch_size: int, step: int, split: str = "train") -> SequenceBatch:
        batch = super().batch(batch_size, step, split)
        batch.scored = self.scored
        return batch

    def score(self, model, batches: int = 8, batch_size: int = 128,
              split: str = "valid") -> dict[str, float]:
        """Query accuracy (each answer right) and exact match (all answers of an example right)."""
        right_answers = exact = total = 0
        was_training = model.training
        model.eval()
        with no_grad():
            for step in range(batches):
                batch = self.batch(batch_size, step, split=split)
                right = answers_right(model, batch)[:, self.scored]
                right_answers += int(right.sum())
                exact += int(right.all(axis=1).sum())
                total += len(right)
        model.train(was_training)
        return {"accuracy": right_answers / (total * self.queries), "exact_match": exact / total}


def answers_right(model, batch) -> object:
    """(B, T) booleans: the teacher-forced guess of each target token is right.

    A decoder-only model reads ``source SEP target[:-1]``; an encoder-decoder
    (it has ``encode``) reads the source, its decoder ``SEP target[:-1]``.
    """
    target = backend.to_host(batch.target.data)
    if hasattr(model, "encode"):
        xp = backend.xp_of(batch.target.data)
        sep = xp.full((len(target), 1), batch.sep_token, dtype=batch.target.data.dtype)
        shifted = Tensor(xp.concatenate([sep, batch.target.data[:, :-1]], axis=1))
        logits = model(batch.source, shifted).data
    else:
        inputs, _ = batch.stream()
        logits = model(inputs).data[:, -target.shape[1]:]
    return backend.to_host(logits.argmax(axis=-1)) == target


def make_mqar(options, seed):
    """``pairs`` key-value pairs, then ``queries`` of their keys, each followed by its value.

    Keys (``A``..``P``) and values (``a``..``p``) come from separate vocabularies;
    the keys of one example are distinct. Queries are drawn with replacement: were
    every key asked once, the last answer would be the one value not yet given, and a
    1-layer model would score by elimination without recalling anything.
    """
    pairs, queries = options["pairs"], options["queries"]

    def generate(rng, n):
        keys = rng.permuted(host.tile(host.arange(RECALL_KEYS), (n, 1)), axis=1)[:, :pairs]
        values = rng.integers(0, RECALL_VALUES, size=(n, pairs)) + RECALL_KEYS
        order = rng.integers(0, pairs, size=(n, queries))
        rows = host.arange(n)[:, None]
        asked, answers = keys[rows, order], values[rows, order]
        source = host.stack([keys, values], axis=2).reshape(n, 2 * pairs)
        target = host.stack([asked, answers], axis=2).reshape(n, 2 * queries)
        return source, target

    names = [chr(ord("A") + i) for i in range(RECALL_KEYS)]
    names += [chr(ord("a") + i) for i in range(RECALL_VALUES)]
    return MQARTask(generate, RECALL_KEYS + RECALL_VALUES, pairs, queries, seed, names)


def _digit_task(name, transform):
    def make(options, seed):
        length = options["length"]

        def generate(rng, n):
            source = rng.integers(0, 10, size=(n, length))
            return source, transform(source)

        return SequenceTask(name, generate, 10, length, length, seed)
    return make


make_copy = _digit_task("copy", lambda s: s.copy())
make_reverse = _digit_task("reverse", lambda s: s[:, ::-1].copy())
make_sort = _digit_task("sort", lambda s: host.sort(s, axis=1))

PLUS = 10


def make_add(options, seed):
    """Two ``digits``-digit numbers and their sum: '1 2 3 + 4 5 6' -> '0 5 7 9'."""
    digits = options["digits"]
    xp = host
    powers = 10 ** xp.arange(digits - 1, -1, -1)
    sum_powers = 10 ** xp.arange(digits, -1, -1)

    def generate(rng, n):
        a = rng.integers(0, 10, size=(n, digits))
        b = rng.integers(0, 10, size=(n, digits))
        total = (a * powers).sum(axis=1) + (b * powers).sum(axis=1)
        answer = (total[:, None] // sum_powers) % 10
        source = xp.concatenate([a, xp.full((n, 1), PLUS), b], axis=1)
        return source, answer

    names = [str(i) for i in range(10)] + ["+"]
    return SequenceTask("add", generate, 11, 2 * digits + 1, digits + 1, seed, token_names=names)


def _length_option(default=8):
    return Option("length", default, "number of digits in the string", min=1, max=256)


TASKS = [
    TaskSpec(name="remember", kind="sequence", make=make_remember,
             summary="a token, then `distance` distractors; answer the first token",
             options=(Option("distance", 16, "distractor tokens between the fact and the question",
                             min=0, max=4096),)),
    TaskSpec(name="recall", kind="sequence", make=make_recall,
             summary="key-value pairs, then a key; answer its value (needs an induction head)",
             options=(Option("pairs", 4, "key-value pairs before the query", min=1,
                             max=RECALL_KEYS),)),
    TaskSpec(name="mqar", kind="sequence", make=make_mqar,
             summary="key-value pairs, then several keys, each answered by its value "
                     "(multi-query recall: 2 attention layers)",
             options=(Option("pairs", 4, "key-value pairs", min=1, max=RECALL_KEYS),
                      Option("queries", 8, "keys asked after the pairs (with replacement)",
                             min=1, max=64))),
    TaskSpec(name="copy", kind="sequence", make=make_copy,
             summary="copy a string of digits", options=(_length_option(),)),
    TaskSpec(name="reverse", kind="sequence", make=make_reverse,
             summary="reverse a string of digits", options=(_length_option(),)),
    TaskSpec(name="sort", kind="sequence", make=make_sort,
             summary="sort a string of digits", options=(_length_option(),)),
    TaskSpec(name="add", kind="sequence", make=make_add,
             summary="add two numbers digit by digit",
             options=(Option("digits", 3, "digits in each number", min=1, max=32),)),
]


@hookimpl
def register_tasks(register):
    for spec in TASKS:
        register(spec)
