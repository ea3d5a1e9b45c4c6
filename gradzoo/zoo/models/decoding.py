"""What every decoder-only model shares: loss, greedy prediction and sampling.

A decoder-only model (rnn, lstm, gru, gpt) maps token ids (B, L) to next-token
logits (B, L, V). For a sequence task it reads one stream ``source SEP
target`` and is scored on the target positions; for a language task on every
position. Subclasses define only ``forward``.

``TextClassifier`` is what a language model (these and bert) becomes on a text
classification task: the same body, a new head that names the passage's class.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, backend, nn, no_grad
from gradzoo.engine import functional as F
from gradzoo.plugins.protocols import reads_text
from gradzoo.zoo.tasks.sequence import IGNORE, SequenceBatch


class DecoderOnly(nn.Module):
    """Base class: ``forward(tokens) -> logits``; adds ``loss``, ``predict`` and ``generate``."""

    max_length: int | None = None  # longest input the model accepts (None: any)

    def loss(self, batch):
        """Cross-entropy of the next token, on target positions (sequence) or all (language)."""
        if isinstance(batch, SequenceBatch):
            inputs, labels = batch.stream()
        else:
            inputs, labels = batch.inputs, batch.targets
        return F.cross_entropy(self(inputs), labels, ignore_index=IGNORE)

    def predict(self, source, target_length: int | None = None, sep_token: int | None = None):
        """Greedy answer: read ``source SEP``, then pick the most likely token, T times."""
        target_length = target_length or self.target_length
        sep_token = self.sep_token if sep_token is None else sep_token
        xp = backend.xp_of(source.data)
        sep = xp.full((source.shape[0], 1), sep_token, dtype=source.dtype)
        tokens = xp.concatenate([source.data, sep], axis=1)
        with no_grad():
            for _ in range(target_length):
                logits = self(Tensor(tokens)).data[:, -1, :]
                next_token = logits.argmax(axis=-1).astype(tokens.dtype)
                tokens = xp.concatenate([tokens, next_token[:, None]], axis=1)
        return Tensor(tokens[:, -target_length:])

    def generate(self, prompt, tokens: int, temperature: float = 1.0, top_k: int | None = None):
        """Continue ``prompt`` (B, L) by ``tokens`` ids sampled from softmax(logits / temperature).

        ``top_k`` keeps only the k most likely tokens at each step; temperature 0 is greedy.
        """
        xp = backend.xp_of(prompt.data)
        ids = prompt.data
        rng = backend.host_rng()
        with no_grad():
            for _ in range(tokens):
                window = ids if self.max_length is None else ids[:, -self.max_length:]
                logits = backend.to_host(self(Tensor(window)).data[:, -1, :]).astype("float64")
                next_ids = [sample_token(row, temperature, top_k, rng) for row in logits]
                next_column = backend.make_array([[i] for i in next_ids], ids.dtype,
                                                 backend.device_of(ids))
                ids = xp.concatenate([ids, next_column], axis=1)
        return Tensor(ids)


def sample_token(logits, temperature: float, top_k: int | None, rng) -> int:
    """One token id from a row of host logits (temperature 0: the most likely)."""
    if temperature <= 0:
        return int(logits.argmax())
    scaled = logits / temperature
    if top_k is not None and top_k < len(scaled):
        threshold = sorted(scaled)[-top_k]
        scaled = [s if s >= threshold else -float("inf") for s in scaled]
        scaled = backend.array_module("cpu").asarray(scaled)
    probabilities = backend.array_module("cpu").exp(scaled - scaled.max())
    probabilities /= probabilities.sum()
    return int(rng.choice(len(probabilities), p=probabilities))


# ---------------------------------------------------------------------- text classification


class TextClassifier:
    """Mixed into a language model: its body read by a new head, one score per class.

    The subclass keeps the language model's body under the same parameter names,
    so ``--init-from`` a pre-trained language run loads it, drops the next-token
    head and adds ``classifier``, a Linear from the final hidden state to K logits:

        H = hidden_states(tokens)        (B, L, width): the body's final vectors
        h = summary(H)                   (B, width): one vector for the passage
        z = W_c h + b_c                  (B, K) class logits

    ``summary`` reads the last position, the only one a left-to-right model has
    read the whole passage at (gpt, rnn, lstm, gru); bert overrides it.
    """

    def summary(self, states: Tensor) -> Tensor:
        return states[:, -1]

    def classify(self, tokens: Tensor) -> Tensor:
        """Class logits (B, K) for a batch of passages, token ids (B, L)."""
        if tokens.ndim != 2 or not backend.is_integer(tokens.dtype):
            raise ValueError(f"{type(self).__name__}: classify reads token ids (B, L), one "
                             f"passage per row; got {tokens.dtype} of shape {tuple(tokens.shape)}")
        return self.classifier(self.summary(self.hidden_states(tokens)))

    def loss(self, batch) -> Tensor:
        """Cross-entropy -(1/B) sum_i log p_{y_i}; logs the batch's accuracy beside it."""
        logits = self.classify(batch.tokens)
        right = logits.data.argmax(axis=-1) == batch.labels.data
        self.last_metrics = {"batch_accuracy": float(right.mean())}
        return F.cross_entropy(logits, batch.labels)


def check_text_task(task, model: str) -> None:
    """A ValueError unless ``task`` poses text: a language model cannot read pictures."""
    if not reads_text(task):
        raise ValueError(f"{model} reads text, and task '{getattr(task, 'name', task)}' "
                         f"poses pictures: classify them with cnn or mlp, or give {model} a "
                         f"text task: --task doc_topics")
