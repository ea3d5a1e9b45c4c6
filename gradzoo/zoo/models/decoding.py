"""What every decoder-only model shares: loss, greedy prediction and sampling.

A decoder-only model (rnn, lstm, gru, gpt) maps token ids (B, L) to next-token
logits (B, L, V). For a sequence task it reads one stream ``source SEP
target`` and is scored on the target positions; for a language task on every
position. Subclasses define only ``forward``.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, backend, nn, no_grad
from gradzoo.engine import functional as F
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
