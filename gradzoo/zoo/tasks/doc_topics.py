"""Built-in task ``doc_topics``: name the subject of a passage of Python's documentation.

A small labelled text task, the downstream task of pre-training then fine-tuning.
The passages are windows of ``context`` characters of the documentation that
ships with CPython (``pydoc_data.topics``), each labelled with the part of the
docs it comes from (``TOPICS``, lists of pydoc topic names):

    strings        str methods, format strings, string and bytes literals
    numbers        numeric literals, arithmetic, bitwise and shift operators, emulating numbers
    control_flow   if, while, for, try, with, break, continue, return, raise, assert
    classes        class definitions, special methods, attribute access, objects

Each subject's text is cut into windows that do not overlap, and a fixed draw
(the same for every seed) deals ``per_class`` of them to each split: train,
valid and test. No character of a held-out passage is ever trained on. The
training split is small on purpose (4 x 64 = 256 passages at the defaults): so
few examples teach a model from scratch little about text, and what a model
learnt in pre-training is what makes the difference.

The vocabulary is that of ``chars`` (all the characters of the whole docs, with
the same ids; ``cloze`` adds its mask token after them), so a model pre-trained
on either reads these passages with the embeddings it learnt. The score is the
``accuracy`` on held-out passages beside the ``majority_baseline`` (1/4 here:
every subject has as many passages).
"""

from __future__ import annotations

from gradzoo.engine import backend
from gradzoo.plugins import Option, SpecError, TaskSpec, hookimpl
from gradzoo.zoo.tasks.classes import ClassificationTask
from gradzoo.zoo.tasks.language import default_chars, topics_text

host = backend.array_module("cpu")
SPLITS = ("train", "valid", "test")
TOPICS = {
    "strings": ("formatstrings", "string-methods", "strings"),
    "numbers": ("binary", "bitwise", "floating", "imaginary", "integers", "numbers",
                "numeric-types", "power", "shifting", "unary"),
    "control_flow": ("assert", "break", "continue", "exceptions", "for", "if", "pass", "raise",
                     "return", "try", "while", "with"),
    "classes": ("attribute-access", "class", "customization", "objects", "specialattrs"),
}


class DocTopicsTask(ClassificationTask):
    """Passages of CPython's docs labelled with their subject: ``tokens`` (B, context) ids."""

    inputs = "tokens"

    def __init__(self, context: int, per_class: int, seed: int):
        # the fields a picture task's __init__ sets, for passages of ``context`` characters
        self.name, self.seed = "doc_topics", seed
        self.context = self.data_dim = context
        self.image_shape = None                              # not a picture
        self.class_names = tuple(TOPICS)
        self.num_classes = len(TOPICS)
        self.chars = default_chars()
        self.vocab_size = len(self.chars)
        self._index = {c: i for i, c in enumerate(self.chars)}
        self.splits = self.deal(per_class)

    def deal(self, per_class: int) -> dict:
        """split -> (tokens (N, context), labels (N,)): ``per_class`` windows of each subject."""
        texts = [topics_text(topic_names, self.name) for topic_names in TOPICS.values()]
        smallest = min(range(self.num_classes), key=lambda label: len(texts[label]))
        count = len(texts[smallest]) // self.context
        if count < len(SPLITS) * per_class:
            raise SpecError(f"task 'doc_topics': subject '{self.class_names[smallest]}' has "
                            f"{count} passages of {self.context} characters; per_class "
                            f"{per_class} needs {len(SPLITS) * per_class} (lower per_class "
                            f"or context)")
        dealt = {split: ([], []) for split in SPLITS}
        for label, text in enumerate(texts):
            ids = host.array(self.encode(text), dtype="int64")
            count = len(ids) // self.context
            windows = ids[:count * self.context].reshape(count, self.context)
            order = backend.new_rng([0, label]).permutation(count)  # the same for every seed
            for k, split in enumerate(SPLITS):
                dealt[split][0].append(windows[order[k * per_class:(k + 1) * per_class]])
                dealt[split][1].append(host.full(per_class, label, dtype="int64"))
        splits = {}
        for k, (split, (tokens, labels)) in enumerate(dealt.items()):
            mixed = backend.new_rng([1, k]).permutation(per_class * self.num_classes)
            splits[split] = (host.concatenate(tokens)[mixed], host.concatenate(labels)[mixed])
        return splits                           # subjects mixed, so any prefix holds them all

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - set(self._index))
        if unknown:
            raise ValueError(f"characters not in the docs' vocabulary: {''.join(unknown)!r}")
        return [self._index[c] for c in text]

    def decode(self, tokens) -> str:
        return "".join(self.chars[int(t)] for t in tokens)

    def examples(self, n: int, rng, split: str):
        """``n`` passages of the split with their labels, picked at random (with replacement)."""
        tokens, labels = self.splits[split]
        pick = rng.integers(0, len(labels), size=n)
        return tokens[pick], labels[pick]

    def held_out(self, split: str, batches: int, batch_size: int):
        """The split's passages themselves, each once (at most ``batches * batch_size``)."""
        tokens, labels = self.splits[split]
        return tokens[:batches * batch_size], labels[:batches * batch_size]

    def training_labels(self):
        return self.splits["train"][1]


def make_doc_topics(options, seed):
    """The ``doc_topics`` task: ``per_class`` passages of ``context`` characters per subject."""
    return DocTopicsTask(options["context"], options["per_class"], seed)


TASKS = [
    TaskSpec(name="doc_topics", kind="classification", make=make_doc_topics,
             summary="passages of CPython's docs labelled strings, numbers, control flow, classes",
             options=(Option("context", 64, "characters in each passage", min=2, max=512),
                      Option("per_class", 64, "passages of each subject in each split (train, "
                             "valid, test)", min=1, max=1000))),
]


@hookimpl
def register_tasks(register):
    """Register ``doc_topics``."""
    for spec in TASKS:
        register(spec)
