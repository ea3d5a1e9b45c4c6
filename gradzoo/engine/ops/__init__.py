"""Every op of the engine, one family per file, each a ``Function`` with forward and backward.

A fused op (several small ops' worth of work, its backward written out by hand)
keeps its composed twin beside it in its file, built from the small ops only, as
the class attribute ``composed``; the tests compare the two on every device.
"""

from gradzoo.engine.ops.activations import ELU, Hardtanh, LeakyReLU, LogSigmoid, SiLU, Softplus
from gradzoo.engine.ops.arithmetic import Add, Div, FloorDivide, Mul, Neg, Pow, Remainder, Sub
from gradzoo.engine.ops.attention import ScaledDotProductAttention, attention_composed
from gradzoo.engine.ops.batch_norm import BatchNorm, batch_norm_composed
from gradzoo.engine.ops.cast import Cast, Clone
from gradzoo.engine.ops.clamp import Clamp, Maximum, Minimum
from gradzoo.engine.ops.conv import (
    Conv2d,
    ConvTranspose2d,
    conv2d_composed,
    conv_transpose2d_composed,
)
from gradzoo.engine.ops.cross_entropy import CrossEntropy, cross_entropy_composed
from gradzoo.engine.ops.cumulative import CumProd, CumSum
from gradzoo.engine.ops.dropout import Dropout
from gradzoo.engine.ops.embedding import Embedding
from gradzoo.engine.ops.gelu import GELU, gelu_composed
from gradzoo.engine.ops.group_norm import GroupNorm, group_norm_composed
from gradzoo.engine.ops.gru_cell import GRUCell, gru_cell_composed
from gradzoo.engine.ops.indexing import Gather, IndexSelect, MaskedSelect, Scatter, ScatterAdd
from gradzoo.engine.ops.layer_norm import LayerNorm, layer_norm_composed
from gradzoo.engine.ops.layout import Expand, Flip, Repeat
from gradzoo.engine.ops.linear import Linear, linear_composed
from gradzoo.engine.ops.losses import BinaryCrossEntropy, BinaryCrossEntropyWithLogits
from gradzoo.engine.ops.lstm_cell import LSTMCell, lstm_cell_composed
from gradzoo.engine.ops.matmul import MatMul
from gradzoo.engine.ops.mse_loss import MSELoss, mse_loss_composed
from gradzoo.engine.ops.pad import Pad
from gradzoo.engine.ops.pooling import (
    AvgPool2d,
    MaxPool2d,
    avg_pool2d_composed,
    max_pool2d_composed,
)
from gradzoo.engine.ops.reduce import (
    LogSumExp,
    Max,
    Mean,
    Min,
    Norm,
    Prod,
    Std,
    Sum,
    Var,
    logsumexp_composed,
    std_composed,
    var_composed,
)
from gradzoo.engine.ops.rounded_division import RoundedDivide
from gradzoo.engine.ops.shape import Concat, GetItem, Permute, Reshape, Stack, Transpose, Where
from gradzoo.engine.ops.softmax import LogSoftmax, Softmax, log_softmax_composed, softmax_composed
from gradzoo.engine.ops.sort import TakeAlong
from gradzoo.engine.ops.unary import (
    Abs,
    Ceil,
    Cos,
    Erf,
    Exp,
    Expm1,
    Floor,
    Log,
    Log1p,
    ReLU,
    Round,
    Rsqrt,
    Sigmoid,
    Sign,
    Sin,
    Sqrt,
    Tanh,
)
from gradzoo.engine.ops.upsample import UpsampleNearest, upsample_nearest_composed

__all__ = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow",
    "Exp", "Log", "Tanh", "Sigmoid", "ReLU", "GELU",
    "Sum", "Mean", "Max",
    # reductions, running totals and ordering (issue 14)
    "Min", "Prod", "Var", "Std", "LogSumExp", "Norm", "CumSum", "CumProd", "TakeAlong",
    "Reshape", "Transpose", "Permute", "GetItem", "Concat", "Stack", "Where",
    "MatMul", "Linear", "Softmax", "LogSoftmax", "LayerNorm", "CrossEntropy", "MSELoss",
    "Embedding", "Dropout", "ScaledDotProductAttention", "LSTMCell", "GRUCell",
    "Cast", "Clone", "Expand", "Repeat", "Flip", "RoundedDivide",
    # indexing, masks and padding (issue 14)
    "Gather", "Scatter", "ScatterAdd", "IndexSelect", "MaskedSelect", "Pad",
    # elementwise functions and activations (issue 14)
    "Abs", "Sqrt", "Rsqrt", "Sin", "Cos", "Log1p", "Expm1", "Erf", "Sign", "Floor", "Ceil",
    "Round", "Clamp", "Minimum", "Maximum", "FloorDivide", "Remainder",
    "Softplus", "LeakyReLU", "ELU", "SiLU", "Hardtanh", "LogSigmoid",
    # losses (issue 14)
    "BinaryCrossEntropy", "BinaryCrossEntropyWithLogits",
    # the composed twins of the fused ops, built from the small ones
    "linear_composed", "softmax_composed", "log_softmax_composed", "layer_norm_composed",
    "cross_entropy_composed", "mse_loss_composed", "attention_composed", "gelu_composed",
    "lstm_cell_composed", "gru_cell_composed", "var_composed", "std_composed",
    "logsumexp_composed",
    # convolution (issue 15)
    "Conv2d", "ConvTranspose2d", "conv2d_composed", "conv_transpose2d_composed",
    # normalisation for images (issue 15)
    "GroupNorm", "BatchNorm", "group_norm_composed", "batch_norm_composed",
    # pooling and upsampling (issue 15)
    "MaxPool2d", "AvgPool2d", "UpsampleNearest", "max_pool2d_composed", "avg_pool2d_composed",
    "upsample_nearest_composed",
]
