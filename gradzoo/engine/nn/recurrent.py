"""Recurrent cells: one time step of an RNN, an LSTM and a GRU.

A cell reads the input ``x`` of one step and the hidden state ``h`` of the step
before, and returns the new hidden state. Running a sequence is a Python loop
over the steps, so each step waits for the previous one (why recurrent
networks cannot run in parallel over time).

All three cells keep PyTorch's parameters: ``weight_ih`` (gates * hidden,
input), ``weight_hh`` (gates * hidden, hidden), ``bias_ih`` and ``bias_hh``
(gates * hidden), the gates stacked in PyTorch's order, so weights can be
copied from PyTorch one to one. Every gate is computed by ONE matrix product
for the input and one for the hidden state, then sliced apart.

LSTMCell and GRUCell run a whole step as one fused op (``ops.LSTMCell``,
``ops.GRUCell``: forward and backward written out, one graph node per step).
Their ``forward_composed`` runs the op's composed twin instead
(``ops.lstm_cell_composed``, ``ops.gru_cell_composed``, beside the op in its
file): the same step built from the small ops, line by line as the equations
read; it is the version to study, and the tests check that both give the same
values and gradients.
"""

from __future__ import annotations

import math

from gradzoo.engine import backend, ops
from gradzoo.engine import functional as F
from gradzoo.engine.nn import init
from gradzoo.engine.nn.module import Module
from gradzoo.engine.tensor import Tensor


class _RecurrentCell(Module):
    """What the three cells share: the stacked gate weights and their two matrix products."""

    gates = 1  # how many blocks of ``hidden_size`` rows the weights stack

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: str | None = None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        rows = self.gates * hidden_size
        # PyTorch's init: every weight and bias ~ U(-1/sqrt(hidden), 1/sqrt(hidden)).
        bound = 1.0 / math.sqrt(hidden_size)
        self.weight_ih = init.uniform_(init.new_parameter(rows, input_size, device=device),
                                       -bound, bound)
        self.weight_hh = init.uniform_(init.new_parameter(rows, hidden_size, device=device),
                                       -bound, bound)
        self.bias_ih = self.bias_hh = None
        if bias:
            self.bias_ih = init.uniform_(init.new_parameter(rows, device=device), -bound, bound)
            self.bias_hh = init.uniform_(init.new_parameter(rows, device=device), -bound, bound)

    def _check_input(self, x: Tensor) -> None:
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{type(self).__name__}: input has {x.shape[-1]} features "
                               f"(shape {x.shape}), expected input_size={self.input_size}")

    def _weights(self) -> list[Tensor]:
        """weight_ih, weight_hh and, when the cell has them, bias_ih and bias_hh (fused ops)."""
        biases = [] if self.bias_ih is None else [self.bias_ih, self.bias_hh]
        return [self.weight_ih, self.weight_hh, *biases]

    def _input_part(self, x: Tensor) -> Tensor:
        """x W_ih^T + b_ih: every gate's share from the input, in one matrix product."""
        self._check_input(x)
        return F.linear(x, self.weight_ih, self.bias_ih)

    def _hidden_part(self, h: Tensor) -> Tensor:
        """h W_hh^T + b_hh: every gate's share from the previous hidden state."""
        return F.linear(h, self.weight_hh, self.bias_hh)

    def _zeros(self, x: Tensor) -> Tensor:
        """The initial state when none is given: zeros of shape (batch, hidden_size)."""
        xp = backend.array_module(x.device)
        return Tensor._make(xp.zeros(x.shape[:-1] + (self.hidden_size,), dtype=x.dtype),
                            False, None)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(_RecurrentCell):
    """Elman RNN step:  h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh).

    ``cell(x, h=None) -> h'``; x is (batch, input_size), h and h' are
    (batch, hidden_size); a missing h means zeros.
    """

    gates = 1

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        h = self._zeros(x) if h is None else h
        return F.tanh(self._input_part(x) + self._hidden_part(h))


class LSTMCell(_RecurrentCell):
    """Long short-term memory step (Hochreiter & Schmidhuber, 1997), gates in order i, f, g, o.

    ``cell(x, (h, c)=None) -> (h', c')``. The cell state c is a conveyor belt:
    the forget gate f keeps part of it, the input gate i adds new content g.
    """

    gates = 4

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None):
        h, c = (self._zeros(x), self._zeros(x)) if state is None else state
        self._check_input(x)
        both = ops.LSTMCell.apply(x, h, c, *self._weights(), has_bias=self.bias_ih is not None)
        size = self.hidden_size
        return both[..., :size], both[..., size:]       # h', c'

    def forward_composed(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None):
        """The same step with the small ops (``ops.lstm_cell_composed``, the teaching version)."""
        h, c = (self._zeros(x), self._zeros(x)) if state is None else state
        self._check_input(x)
        both = ops.lstm_cell_composed(x, h, c, *self._weights())
        size = self.hidden_size
        return both[..., :size], both[..., size:]       # h', c'


class GRUCell(_RecurrentCell):
    """Gated recurrent unit step (Cho et al., 2014), gates in order r, z, n, as in PyTorch.

    ``cell(x, h=None) -> h'``. The update gate z chooses between keeping the old
    state and taking the new candidate n; the reset gate r decides how much of
    the old state the candidate may see.
    """

    gates = 3

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        h = self._zeros(x) if h is None else h
        self._check_input(x)
        return ops.GRUCell.apply(x, h, *self._weights(), has_bias=self.bias_ih is not None)

    def forward_composed(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        """The same step with the small ops (``ops.gru_cell_composed``, the teaching version)."""
        h = self._zeros(x) if h is None else h
        self._check_input(x)
        return ops.gru_cell_composed(x, h, *self._weights())
