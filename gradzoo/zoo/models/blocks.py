"""The parts the transformers of the zoo share: the feed-forward network and the block.

Every transformer block has two sub-layers: attention, which mixes positions,
and this network, which transforms each position on its own:

    FFN(x) = dropout(W_2 act(W_1 x + b_1) + b_2)

``act`` is GELU in the GPT family (gpt, bert, clip's text tower) and ReLU in
the original transformer. The hidden layer is wider than the model (4x by
default, as in all four papers), so each position is lifted into a larger
space, bent by the activation, and projected back.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn
from gradzoo.engine import functional as F

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


class FeedForward(nn.Module):
    """FFN(x) = dropout(proj(act(fc(x)))): Linear width->hidden, activation, Linear hidden->width.

    ``hidden`` defaults to 4 * width; ``activation`` is ``"gelu"`` or ``"relu"``.
    """

    def __init__(self, width: int, hidden: int | None = None, activation: str = "gelu",
                 dropout: float = 0.0):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"FeedForward: unknown activation {activation!r}; "
                             f"choose one of {', '.join(ACTIVATIONS)}")
        hidden = 4 * width if hidden is None else hidden
        self.fc = nn.Linear(width, hidden)                # W_1, b_1
        self.activation = ACTIVATIONS[activation]
        self.proj = nn.Linear(hidden, width)              # W_2, b_2
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.proj(self.activation(self.fc(x))))


class Block(nn.Module):
    """One pre-LayerNorm transformer block: self-attention, then the feed-forward, each residual.

    GPT and BERT differ in one flag: ``causal=True`` lets position i attend to
    positions 0..i only (gpt); without it every position sees every other (bert,
    clip's text tower). ``attn_mask`` hides further keys (clip: the padding).
    """

    def __init__(self, width: int, heads: int, dropout: float = 0.0, causal: bool = False):
        super().__init__()
        self.causal = causal
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, dropout=dropout)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = FeedForward(width, activation="gelu", dropout=dropout)

    def forward(self, x: Tensor, attn_mask=None) -> Tensor:
        h = self.ln_1(x)
        # x' = x + Attention(LN_1(x)), future positions hidden when causal
        x = x + self.attn(h, h, h, attn_mask=attn_mask, is_causal=self.causal)
        return x + self.mlp(self.ln_2(x))            # x'' = x' + FFN(LN_2(x'))
