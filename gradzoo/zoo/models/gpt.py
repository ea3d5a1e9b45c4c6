"""``gpt``: a decoder-only transformer (Radford et al., 2018/2019), read top to bottom.

    x_0   = E_token[t] + E_position[p]                    token + learned position embeddings
    x'_l  = x_l + Attention(LN_1(x_l))   (causal)          pre-LayerNorm blocks (GPT-2)
    x_l+1 = x'_l + W_2 GELU(W_1 LN_2(x'_l))                position-wise feed-forward, 4x wide
    logits = W_head LN_f(x_L)

Token n+1 is predicted from tokens 1..n only: the causal mask sets the scores
of future positions to -inf before the softmax, so their weights are exactly 0,
while training still processes every position at once.

On a text classification task (``doc_topics``) the same body reads a passage
and ``classifier`` replaces the head: z = W_c LN_f(x_L)[last] + b_c, from the
last position, the only one that has read the whole passage (``GPTClassifier``).
"""

from __future__ import annotations

from gradzoo.engine import Tensor, backend, nn
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.blocks import Block
from gradzoo.zoo.models.decoding import DecoderOnly, TextClassifier, check_text_task


class GPT(DecoderOnly):
    """Token and position embeddings, ``layers`` blocks, a final LayerNorm and the head."""

    def __init__(self, vocab_size: int, max_length: int, width: int, layers: int, heads: int,
                 dropout: float = 0.0):
        super().__init__()
        self.max_length = max_length
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.position_embedding = nn.Embedding(max_length, width)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(width, heads, dropout, causal=True)
                                     for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size, bias=False)

    def forward(self, tokens: Tensor) -> Tensor:
        """Next-token logits (B, L, V) for token ids (B, L), every position in parallel."""
        return self.head(self.hidden_states(tokens))

    def hidden_states(self, tokens: Tensor) -> Tensor:
        """The final vectors LN_f(x_L) (B, L, width) for token ids (B, L): what the head reads."""
        length = tokens.shape[1]
        if length > self.max_length:
            raise ValueError(f"gpt: input of {length} tokens is longer than the {self.max_length} "
                             f"positions this model has")
        positions = backend.array_module(tokens.device).arange(length)
        x = self.token_embedding(tokens) + self.position_embedding(Tensor(positions))
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)


class GPTClassifier(TextClassifier, GPT):
    """GPT's body with ``classifier`` in place of the next-token head, on the last position."""

    def __init__(self, vocab_size: int, max_length: int, width: int, layers: int, heads: int,
                 num_classes: int, dropout: float = 0.0):
        super().__init__(vocab_size, max_length, width, layers, heads, dropout)
        del self.head                                      # next-token logits: not needed
        self.classifier = nn.Linear(width, num_classes)    # W_c, b_c: new, learnt in fine-tuning
        self.last_metrics = {}


def build(task, options) -> GPT:
    """A GPT sized for ``task``: its vocabulary and its longest input."""
    if task.kind == "classification":
        check_text_task(task, "gpt")
        return GPTClassifier(task.vocab_size, task.context, options["width"], options["layers"],
                             options["heads"], task.num_classes, options["dropout"])
    if task.kind == "sequence":
        length = task.source_length + task.target_length  # source SEP target, minus the last
    else:
        length = task.context
    model = GPT(task.vocab_size, length, options["width"], options["layers"], options["heads"],
                options["dropout"])
    if task.kind == "sequence":
        model.target_length, model.sep_token = task.target_length, task.sep_token
    return model


SPEC = ModelSpec(
    name="gpt", kinds=("sequence", "language", "classification"), build=build,
    example_task={"classification": "doc_topics"},
    summary="decoder-only transformer: causal self-attention, predicts the next token",
    options=(
        Option("layers", 2, "transformer blocks", min=1, max=64),
        Option("heads", 4, "attention heads per block (must divide width)", min=1, max=64),
        Option("width", 64, "embedding width d_model", min=1, max=8192),
        Option("dropout", 0.0, "dropout probability", min=0.0, max=0.9),
    ),
    training={"steps": 1000, "lr": 3e-3, "batch_size": 32},
)


@hookimpl
def register_models(register):
    register(SPEC)
