"""``bert``: an encoder-only transformer trained to fill in gaps (Devlin et al., 2018).

    x_0   = E_token[t] + E_position[p]                    token + learned position embeddings
    x'_l  = x_l + Attention(LN_1(x_l))   (no mask)         every position sees every other
    x_l+1 = x'_l + W_2 GELU(W_1 LN_2(x'_l))                the same feed-forward as gpt
    logits = LN_f(x_L) E_token^T + b                       the head reuses the token embedding

GPT and BERT share almost every line; the difference is the mask. GPT hides
the future so that it can write text one token at a time; BERT hides nothing,
so the output at a gap mixes what comes before and after it. It is trained on
the ``cloze`` task: some characters are hidden and it predicts them (the
masked language model). It cannot be trained on next-character prediction,
where reading both sides would mean reading the answer.

The head is tied to the token embedding: the logit of token v is the dot
product of the final vector with E_token[v], so a token is read in and
written out through the same vector.

On a text classification task (``doc_topics``) the same body reads a passage
and ``classifier`` replaces the head: z = W_c mean_p LN_f(x_L)[p] + b_c, from the
mean of the final vectors over the positions (``BERTClassifier``). The original
BERT reads a [CLS] token put first; this one was pre-trained without one.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, backend, nn, no_grad
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.blocks import Block
from gradzoo.zoo.models.decoding import TextClassifier, check_text_task, sample_token
from gradzoo.zoo.tasks.sequence import IGNORE


class BERT(nn.Module):
    """Token and position embeddings, ``layers`` encoder blocks, a final LayerNorm, a tied head."""

    bidirectional = True  # reads both sides: the conformance kit and cloze scoring ask

    def __init__(self, vocab_size: int, max_length: int, width: int, layers: int, heads: int,
                 mask_token: int, dropout: float = 0.0):
        super().__init__()
        self.max_length = max_length
        self.mask_token = mask_token
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.position_embedding = nn.Embedding(max_length, width)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(width, heads, dropout) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        self.head_bias = nn.init.new_parameter(vocab_size)   # b, starts at 0
        for embedding in (self.token_embedding, self.position_embedding):
            nn.init.normal_(embedding.weight, std=0.02)  # BERT's init; with N(0, 1) the tied
            # head would start with logits of spread sqrt(width), far too sure of itself

    def forward(self, tokens: Tensor) -> Tensor:
        """Logits (B, L, V) of the token at every position, each read from the whole input."""
        return self.hidden_states(tokens) @ self.token_embedding.weight.T + self.head_bias  # tied

    def hidden_states(self, tokens: Tensor) -> Tensor:
        """The final vectors LN_f(x_L) (B, L, width) for token ids (B, L): what the head reads."""
        length = tokens.shape[1]
        if length > self.max_length:
            raise ValueError(f"bert: input of {length} tokens is longer than the "
                             f"{self.max_length} positions this model has")
        positions = backend.array_module(tokens.device).arange(length)
        x = self.token_embedding(tokens) + self.position_embedding(Tensor(positions))
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def loss(self, batch):
        """Cross-entropy at the chosen positions only (the others are labelled IGNORE)."""
        return F.cross_entropy(self(batch.tokens), batch.labels, ignore_index=IGNORE)

    def generate(self, prompt, tokens: int, temperature: float = 1.0, top_k: int | None = None):
        """Write on by filling a gap at the end, ``tokens`` times: ``prompt □`` -> ``prompt c``.

        BERT was trained to fill gaps inside text, not to write; this works, and
        poorly, since a gap at the end has nothing to its right.
        """
        xp = backend.xp_of(prompt.data)
        ids = prompt.data
        gap = xp.full((ids.shape[0], 1), self.mask_token, dtype=ids.dtype)
        rng = backend.host_rng()
        with no_grad():
            for _ in range(tokens):
                window = xp.concatenate([ids, gap], axis=1)[:, -self.max_length:]
                logits = backend.to_host(self(Tensor(window)).data[:, -1, :]).astype("float64")
                logits[:, self.mask_token] = -float("inf")   # never write the mask itself
                next_ids = [sample_token(row, temperature, top_k, rng) for row in logits]
                column = backend.make_array([[i] for i in next_ids], ids.dtype,
                                            backend.device_of(ids))
                ids = xp.concatenate([ids, column], axis=1)
        return Tensor(ids)


class BERTClassifier(TextClassifier, BERT):
    """BERT's body with ``classifier`` in place of the tied head, on the mean of the positions."""

    def __init__(self, vocab_size: int, max_length: int, width: int, layers: int, heads: int,
                 num_classes: int, dropout: float = 0.0):
        super().__init__(vocab_size, max_length, width, layers, heads, None, dropout)
        del self.head_bias                                 # the tied head's bias: not needed
        self.classifier = nn.Linear(width, num_classes)    # W_c, b_c: new, learnt in fine-tuning
        self.last_metrics = {}

    def summary(self, states: Tensor) -> Tensor:
        return states.mean(dim=1)                          # every position has read them all


def build(task, options) -> BERT:
    """A BERT for a task that hides characters (it needs the task's mask token), or a
    classifier of passages."""
    if task.kind == "classification":
        check_text_task(task, "bert")
        return BERTClassifier(task.vocab_size, task.context, options["width"],
                              options["layers"], options["heads"], task.num_classes,
                              options["dropout"])
    mask_token = getattr(task, "mask_token", None)
    if mask_token is None:
        raise ValueError(f"bert reads both sides of every position, so on task "
                         f"'{getattr(task, 'name', task)}' it would read each answer; train it "
                         f"on a task that hides characters: --task cloze")
    return BERT(task.vocab_size, task.context, options["width"], options["layers"],
                options["heads"], mask_token, options["dropout"])


SPEC = ModelSpec(
    name="bert", kinds=("language", "classification"), build=build,
    example_task={"language": "cloze", "classification": "doc_topics"},
    summary="encoder-only transformer: reads both sides, fills in hidden characters",
    options=(
        Option("layers", 2, "transformer blocks", min=1, max=64),
        Option("heads", 4, "attention heads per block (must divide width)", min=1, max=64),
        Option("width", 64, "embedding width d_model", min=1, max=8192),
        Option("dropout", 0.0, "dropout probability", min=0.0, max=0.9),
    ),
    training={"steps": 3000, "lr": 3e-3, "batch_size": 32},  # only 15% of positions teach it
)


@hookimpl
def register_models(register):
    register(SPEC)
