"""``transformer``: the encoder-decoder of "Attention Is All You Need" (Vaswani et al., 2017).

    encoder:  z_0 = sqrt(d) E[source] + PE;   z = LN(z + SelfAttn(z));  z = LN(z + FFN(z))
    decoder:  y_0 = sqrt(d) E[BOS target] + PE
              y = LN(y + MaskedSelfAttn(y));  y = LN(y + CrossAttn(y, z));  y = LN(y + FFN(y))
    output:   softmax(W y)  over the vocabulary

with the sinusoidal positional encoding of the paper,
    PE(pos, 2i) = sin(pos / 10000^(2i/d)),   PE(pos, 2i+1) = cos(pos / 10000^(2i/d)),
and residual + LayerNorm after each sub-layer (post-LN, as in the paper).
The decoder's self-attention is causal; cross-attention lets every target
position look at every source position.
"""

from __future__ import annotations

import math

from gradzoo.engine import Tensor, backend, nn, no_grad
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.blocks import FeedForward
from gradzoo.zoo.tasks.sequence import SequenceBatch


def sinusoidal_encoding(length: int, width: int, device: str) -> Tensor:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).

    The exponent is 2i/d (i counts sine-cosine pairs), so the wavelengths grow
    geometrically from 2 pi to 10000 * 2 pi across the dimensions.
    """
    xp = backend.array_module("cpu")
    position = xp.arange(length)[:, None]
    pair = xp.arange(0, width, 2)[None, :]              # 2i
    angle = position / 10000.0 ** (pair / width)         # pos / 10000^(2i/d)
    encoding = xp.zeros((length, width))
    encoding[:, 0::2] = xp.sin(angle)
    encoding[:, 1::2] = xp.cos(angle[:, : width // 2])
    return Tensor(encoding, device=device)


class EncoderLayer(nn.Module):
    """Self-attention over the source, then the feed-forward network; residual + LayerNorm each."""

    def __init__(self, width: int, heads: int, hidden: int, dropout: float):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(width, heads, dropout=dropout)
        self.norm1 = nn.LayerNorm(width)
        self.feed_forward = FeedForward(width, hidden, activation="relu", dropout=dropout)
        self.norm2 = nn.LayerNorm(width)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm1(x + self.self_attn(x, x, x))
        return self.norm2(x + self.feed_forward(x))


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder output, feed-forward."""

    def __init__(self, width: int, heads: int, hidden: int, dropout: float):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(width, heads, dropout=dropout)
        self.norm1 = nn.LayerNorm(width)
        self.cross_attn = nn.MultiheadAttention(width, heads, dropout=dropout)
        self.norm2 = nn.LayerNorm(width)
        self.feed_forward = FeedForward(width, hidden, activation="relu", dropout=dropout)
        self.norm3 = nn.LayerNorm(width)

    def forward(self, y: Tensor, memory: Tensor) -> Tensor:
        y = self.norm1(y + self.self_attn(y, y, y, is_causal=True))
        y = self.norm2(y + self.cross_attn(y, memory, memory))
        return self.norm3(y + self.feed_forward(y))


class Transformer(nn.Module):
    """Encoder-decoder transformer for (source, target) sequence tasks; greedy decoding."""

    def __init__(self, vocab_size: int, bos_token: int, max_length: int, width: int,
                 layers: int, heads: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.width = width
        self.bos_token = bos_token
        self.max_length = max_length
        self.embedding = nn.Embedding(vocab_size, width)  # shared by encoder and decoder
        # E ~ N(0, 1/d), so that sqrt(d) E has unit scale, like the encoding added to it
        nn.init.normal_(self.embedding.weight, 0.0, width ** -0.5)
        self._encodings = {}  # (length, device) -> the positional encoding, computed once
        self.encoder = nn.ModuleList([EncoderLayer(width, heads, hidden, dropout)
                                      for _ in range(layers)])
        self.decoder = nn.ModuleList([DecoderLayer(width, heads, hidden, dropout)
                                      for _ in range(layers)])
        self.head = nn.Linear(width, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def embed(self, tokens: Tensor) -> Tensor:
        """sqrt(d) E[tokens] + PE: embeddings scaled up so the encoding does not drown them."""
        length = tokens.shape[1]
        if length > self.max_length:
            raise ValueError(f"transformer: {length} tokens exceed its {self.max_length} positions")
        key = (length, tokens.device)
        if key not in self._encodings:
            self._encodings[key] = sinusoidal_encoding(length, self.width, tokens.device)
        scaled = self.embedding(tokens) * math.sqrt(self.width)
        return self.dropout(scaled + self._encodings[key])

    def encode(self, source: Tensor) -> Tensor:
        z = self.embed(source)
        for layer in self.encoder:
            z = layer(z)
        return z

    def decode(self, target_in: Tensor, memory: Tensor) -> Tensor:
        """Logits (B, T, V) for the decoder input ``BOS target[:-1]`` given the encoder output."""
        y = self.embed(target_in)
        for layer in self.decoder:
            y = layer(y, memory)
        return self.head(y)

    def forward(self, source: Tensor, target_in: Tensor) -> Tensor:
        return self.decode(target_in, self.encode(source))

    def _shift_right(self, target):
        """BOS target[:-1]: the decoder sees the answer so far, never the token it predicts."""
        xp = backend.xp_of(target)
        bos = xp.full((target.shape[0], 1), self.bos_token, dtype=target.dtype)
        return Tensor(xp.concatenate([bos, target[:, :-1]], axis=1))

    def loss(self, batch: SequenceBatch) -> Tensor:
        logits = self(batch.source, self._shift_right(batch.target.data))
        return F.cross_entropy(logits, batch.target)

    def predict(self, source: Tensor, target_length: int | None = None) -> Tensor:
        """Greedy decoding: encode once, then add the most likely token T times."""
        target_length = target_length or self.target_length
        xp = backend.xp_of(source.data)
        tokens = xp.full((source.shape[0], 1), self.bos_token, dtype=source.dtype)
        with no_grad():
            memory = self.encode(source)
            for _ in range(target_length):
                logits = self.decode(Tensor(tokens), memory).data[:, -1, :]
                next_token = logits.argmax(axis=-1).astype(tokens.dtype)
                tokens = xp.concatenate([tokens, next_token[:, None]], axis=1)
        return Tensor(tokens[:, 1:])


def build(task, options) -> Transformer:
    """A transformer sized for a sequence task; the task's SEP token starts every answer."""
    model = Transformer(task.vocab_size, task.sep_token,
                        max(task.source_length, task.target_length), options["width"],
                        options["layers"], options["heads"], options["ff"], options["dropout"])
    model.target_length = task.target_length
    return model


SPEC = ModelSpec(
    name="transformer", kinds=("sequence",), build=build,
    summary="encoder-decoder transformer of 'Attention Is All You Need'",
    options=(
        Option("layers", 2, "encoder layers (and as many decoder layers)", min=1, max=64),
        Option("heads", 4, "attention heads (must divide width)", min=1, max=64),
        Option("width", 64, "model width d_model", min=2, max=8192),
        Option("ff", 256, "hidden width of the feed-forward networks", min=1, max=32768),
        Option("dropout", 0.0, "dropout probability", min=0.0, max=0.9),
    ),
    training={"steps": 1000, "lr": 2e-3, "batch_size": 32},
)


@hookimpl
def register_models(register):
    register(SPEC)
