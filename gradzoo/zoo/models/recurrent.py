"""What rnn, lstm and gru share: embedding -> stacked recurrent layers -> linear head.

The sequence is read one token at a time; each step of each layer waits for
the hidden state of the step before. That chain is what makes recurrent
networks slow on long sequences and what makes them forget: everything the
model knows about the past must fit through ``h``.

On a text classification task (``doc_topics``) ``classifier`` replaces the head
and reads the last hidden state, h_L^(L), all the model kept of the passage
(``RecurrentClassifier``).
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option
from gradzoo.zoo.models.decoding import DecoderOnly, TextClassifier, check_text_task


class RecurrentLM(DecoderOnly):
    """Token embedding, ``layers`` recurrent cells stacked, a linear head on the last layer.

        x_t = E[token_t]
        h_t^(1) = cell_1(x_t, h_{t-1}^(1)),  h_t^(l) = cell_l(h_t^(l-1), h_{t-1}^(l))
        logits_t = W h_t^(L) + b
    """

    def __init__(self, cell_type, vocab_size: int, hidden: int, layers: int):
        super().__init__()
        self.cell_type = cell_type
        self.embedding = nn.Embedding(vocab_size, hidden)
        self.cells = nn.ModuleList([cell_type(hidden, hidden) for _ in range(layers)])
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        """Logits (B, L, V) for token ids (B, L), one time step after another."""
        return self.head(self.hidden_states(tokens))

    def hidden_states(self, tokens: Tensor) -> Tensor:
        """The last layer's hidden states h_t^(L) (B, L, hidden), one time step after another."""
        states = [None] * len(self.cells)
        outputs = []
        for t in range(tokens.shape[1]):
            x = self.embedding(Tensor(tokens.data[:, t]))
            for layer, cell in enumerate(self.cells):
                states[layer] = cell(x, states[layer])
                x = states[layer][0] if isinstance(states[layer], tuple) else states[layer]
            outputs.append(x)
        return F.stack(outputs, dim=1)


class RecurrentClassifier(TextClassifier, RecurrentLM):
    """The recurrent body with ``classifier`` in place of the head, on the last hidden state."""

    def __init__(self, cell_type, vocab_size: int, hidden: int, layers: int, num_classes: int):
        super().__init__(cell_type, vocab_size, hidden, layers)
        del self.head                                      # next-token logits: not needed
        self.classifier = nn.Linear(hidden, num_classes)   # W_c, b_c: new, learnt in fine-tuning
        self.last_metrics = {}


RECURRENT_OPTIONS = (
    Option("hidden", 128, "size of the hidden state (and of the embedding)", min=1, max=8192),
    Option("layers", 1, "recurrent layers stacked", min=1, max=16),
)


def build_recurrent(cell_type, task, options, name: str = "a recurrent model") -> RecurrentLM:
    """A recurrent model sized for ``task`` (its vocabulary; for sequence tasks its target)."""
    if task.kind == "classification":
        check_text_task(task, name)
        return RecurrentClassifier(cell_type, task.vocab_size, options["hidden"],
                                   options["layers"], task.num_classes)
    model = RecurrentLM(cell_type, task.vocab_size, options["hidden"], options["layers"])
    if task.kind == "sequence":
        model.target_length, model.sep_token = task.target_length, task.sep_token
    return model


def recurrent_spec(name: str, cell_type, summary: str, steps: int) -> ModelSpec:
    """The ModelSpec of a recurrent model: the same options for all three cells.

    ``steps`` is what the cell needs (or, for the plain RNN, what fits in the
    same two minutes) to learn ``reverse`` at its default length.
    """
    return ModelSpec(name=name, kinds=("sequence", "language", "classification"), summary=summary,
                     example_task={"classification": "doc_topics"},
                     build=lambda task, options: build_recurrent(cell_type, task, options, name),
                     options=RECURRENT_OPTIONS,
                     training={"steps": steps, "lr": 5e-3, "batch_size": 128})
