"""``tcn``: a temporal convolutional network (Bai, Kolter & Koltun, 2018) as a gradzoo plugin.

    x_0     = E[token]                                        token embedding
    h_l     = GELU(CausalConv_l(LN(x_l)))     dilation 2^l    what block l sees
    x_l+1   = x_l + W_l h_l                                   residual connection
    logits  = W_head LN(x_L)

Block l reads ``kernel`` steps spaced 2^l apart, so with kernel k and L
blocks the last output sees R = 1 + (k - 1)(2^L - 1) steps back: the window
doubles with each block. Like a transformer, every position is computed at
once (no recurrence, sequential depth grows with L, not with the length);
unlike one, nothing beyond the window is seen, at any depth of training.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.decoding import DecoderOnly

from gradzoo_tcn.conv import CausalConv1d


class ResidualBlock(nn.Module):
    """x + W GELU(CausalConv(LN(x))): one dilated convolution, added to what came in."""

    def __init__(self, width: int, kernel: int, dilation: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.conv = CausalConv1d(width, width, kernel, dilation)
        self.proj = nn.Linear(width, width)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.proj(F.gelu(self.conv(self.norm(x))))


class TCN(DecoderOnly):
    """Embedding, ``layers`` residual blocks with dilations 1, 2, 4, ..., a final LN and head.

    DecoderOnly (from gradzoo) supplies ``loss``, ``predict`` and ``generate`` for
    any model whose ``forward`` maps token ids (B, L) to next-token logits (B, L, V).
    """

    def __init__(self, vocab_size: int, width: int, layers: int, kernel: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, width)
        self.blocks = nn.ModuleList([ResidualBlock(width, kernel, 2 ** layer)
                                     for layer in range(layers)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size)

    @property
    def receptive_field(self) -> int:
        """R = 1 + sum over blocks of (k - 1) d_l: how many tokens an output can see."""
        return 1 + sum(block.conv.receptive_field - 1 for block in self.blocks)

    def forward(self, tokens: Tensor) -> Tensor:
        """Next-token logits (B, L, V) for token ids (B, L), every position at once."""
        x = self.embedding(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def build(task, options) -> TCN:
    """A TCN sized for ``task``; for a sequence task it also learns where answers start."""
    model = TCN(task.vocab_size, options["width"], options["layers"], options["kernel"])
    if task.kind == "sequence":
        model.target_length, model.sep_token = task.target_length, task.sep_token
    return model


SPEC = ModelSpec(
    name="tcn", kinds=("sequence", "language"), build=build,
    summary="temporal convolutional network: dilated causal convolutions, no recurrence",
    options=(
        Option("width", 64, "channels of every convolution (and of the embedding)",
               min=1, max=4096),
        Option("layers", 4, "residual blocks; block l has dilation 2^l", min=1, max=16),
        Option("kernel", 2, "taps of each convolution", min=2, max=16),
    ),
    training={"steps": 1000, "lr": 3e-3, "batch_size": 32},
)


@hookimpl
def register_models(register):
    register(SPEC)
