"""Every op of the engine, one family per file, each a ``Function`` with forward and backward."""

from gradzoo.engine.ops.arithmetic import Add, Div, Mul, Neg, Pow, Sub
from gradzoo.engine.ops.attention import ScaledDotProductAttention, attention_composed
from gradzoo.engine.ops.dropout import Dropout
from gradzoo.engine.ops.embedding import Embedding
from gradzoo.engine.ops.gru_cell import GRUCell
from gradzoo.engine.ops.layer_norm import LayerNorm, layer_norm_composed
from gradzoo.engine.ops.linear import Linear, linear_composed
from gradzoo.engine.ops.losses import CrossEntropy, MSELoss, cross_entropy_composed
from gradzoo.engine.ops.lstm_cell import LSTMCell
from gradzoo.engine.ops.matmul import MatMul
from gradzoo.engine.ops.reduce import Max, Mean, Sum
from gradzoo.engine.ops.shape import Concat, GetItem, Permute, Reshape, Stack, Transpose, Where
from gradzoo.engine.ops.softmax import LogSoftmax, Softmax, log_softmax_composed, softmax_composed
from gradzoo.engine.ops.unary import GELU, Exp, Log, ReLU, Sigmoid, Tanh

__all__ = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow",
    "Exp", "Log", "Tanh", "Sigmoid", "ReLU", "GELU",
    "Sum", "Mean", "Max",
    "Reshape", "Transpose", "Permute", "GetItem", "Concat", "Stack", "Where",
    "MatMul", "Linear", "Softmax", "LogSoftmax", "LayerNorm", "CrossEntropy", "MSELoss",
    "Embedding", "Dropout", "ScaledDotProductAttention", "LSTMCell", "GRUCell",
    # the teaching versions of the fused ops, composed of the small ones
    "linear_composed", "softmax_composed", "log_softmax_composed", "layer_norm_composed",
    "cross_entropy_composed", "attention_composed",
]
