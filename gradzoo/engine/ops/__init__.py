"""Every op of the engine, one family per file, each a ``Function`` with forward and backward.

A fused op (several small ops' worth of work, its backward written out by hand)
keeps its composed twin beside it in its file, built from the small ops only, as
the class attribute ``composed``; the tests compare the two on every device.
"""

from gradzoo.engine.ops.arithmetic import Add, Div, Mul, Neg, Pow, Sub
from gradzoo.engine.ops.attention import ScaledDotProductAttention, attention_composed
from gradzoo.engine.ops.cross_entropy import CrossEntropy, cross_entropy_composed
from gradzoo.engine.ops.dropout import Dropout
from gradzoo.engine.ops.embedding import Embedding
from gradzoo.engine.ops.gelu import GELU, gelu_composed
from gradzoo.engine.ops.gru_cell import GRUCell, gru_cell_composed
from gradzoo.engine.ops.layer_norm import LayerNorm, layer_norm_composed
from gradzoo.engine.ops.linear import Linear, linear_composed
from gradzoo.engine.ops.lstm_cell import LSTMCell, lstm_cell_composed
from gradzoo.engine.ops.matmul import MatMul
from gradzoo.engine.ops.mse_loss import MSELoss, mse_loss_composed
from gradzoo.engine.ops.reduce import Max, Mean, Sum
from gradzoo.engine.ops.shape import Concat, GetItem, Permute, Reshape, Stack, Transpose, Where
from gradzoo.engine.ops.softmax import LogSoftmax, Softmax, log_softmax_composed, softmax_composed
from gradzoo.engine.ops.unary import Exp, Log, ReLU, Sigmoid, Tanh

__all__ = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow",
    "Exp", "Log", "Tanh", "Sigmoid", "ReLU", "GELU",
    "Sum", "Mean", "Max",
    "Reshape", "Transpose", "Permute", "GetItem", "Concat", "Stack", "Where",
    "MatMul", "Linear", "Softmax", "LogSoftmax", "LayerNorm", "CrossEntropy", "MSELoss",
    "Embedding", "Dropout", "ScaledDotProductAttention", "LSTMCell", "GRUCell",
    # the composed twins of the fused ops, built from the small ones
    "linear_composed", "softmax_composed", "log_softmax_composed", "layer_norm_composed",
    "cross_entropy_composed", "mse_loss_composed", "attention_composed", "gelu_composed",
    "lstm_cell_composed", "gru_cell_composed",
]
