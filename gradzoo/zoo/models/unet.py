"""The U-Net noise predictor eps_theta(x_t, t) of ``diffusion`` on pictures (Ho et al., 2020).

    x (B, 1, H, W) -> conv_in -> down.0 (H) -> down.1 (H/2) -> middle (H/4) -> up.1 -> up.0 -> out
                                      |______________ skip (concatenate) ______________|

A U-Net is an encoder that halves the picture twice and a decoder that doubles it
back, with a *skip connection* from each encoder level to the decoder level of the
same size: the decoder gets the fine detail back from the skip, and the coarse
levels see the picture as a whole (a 3x3 conv at H/4 covers 12x12 pixels).

Each level is a residual block (He et al., 2016) with GroupNorm (one sample's
statistics, so batch size does not matter), SiLU and two 3x3 convolutions:

    h = conv_1(silu(norm_1(x))) + W_t silu(e)        e: the time embedding
    y = skip(x) + conv_2(silu(norm_2(h)))            skip: 1x1 conv when channels change

The step t reaches every block: its sinusoidal embedding (``diffusion.time_embedding``)
goes through a small MLP once, and each block adds its own projection W_t e of it,
one number per channel, so every level knows how noisy x_t is. At the lowest
resolution the (H/4)(W/4) pixels attend to each other (self-attention, one token per
pixel): a shape's far side is one step away there.
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn
from gradzoo.engine import functional as F

LEVELS = 2            # two halvings: 16x16 -> 8x8 -> 4x4
GROUPS = 8            # GroupNorm groups (fewer when a block has fewer channels)
ATTENTION_HEADS = 4


def norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to GROUPS groups that divide ``channels``."""
    groups = next(g for g in range(min(GROUPS, channels), 0, -1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


class ResidualBlock(nn.Module):
    """y = skip(x) + conv_2(silu(norm_2(conv_1(silu(norm_1(x))) + W_t silu(e)))."""

    def __init__(self, in_channels: int, out_channels: int, time_width: int):
        super().__init__()
        self.norm_1 = norm(in_channels)
        self.conv_1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time = nn.Linear(time_width, out_channels)
        self.norm_2 = norm(out_channels)
        self.conv_2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels \
            else None                                        # the same size: x itself

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        h = self.conv_1(F.silu(self.norm_1(x)))
        h = h + self.time(F.silu(e)).reshape(e.shape[0], -1, 1, 1)  # one shift per channel
        shortcut = x if self.skip is None else self.skip(x)
        return shortcut + self.conv_2(F.silu(self.norm_2(h)))


class SelfAttention2d(nn.Module):
    """x + attention over the pixels: each of the H W positions is a token of C numbers."""

    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.norm = norm(channels)
        self.attention = nn.MultiheadAttention(channels, heads)

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        tokens = self.norm(x).reshape(batch, channels, height * width).transpose(1, 2)
        mixed = self.attention(tokens, tokens, tokens)                 # (B, H W, C)
        return x + mixed.transpose(1, 2).reshape(batch, channels, height, width)


class Middle(nn.Module):
    """The lowest resolution: a residual block, self-attention (optional), a residual block."""

    def __init__(self, channels: int, time_width: int, attention: bool):
        super().__init__()
        self.block_1 = ResidualBlock(channels, channels, time_width)
        self.attention = SelfAttention2d(channels, ATTENTION_HEADS) if attention else None
        self.block_2 = ResidualBlock(channels, channels, time_width)

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        x = self.block_1(x, e)
        if self.attention is not None:
            x = self.attention(x)
        return self.block_2(x, e)


class UNet(nn.Module):
    """eps_theta(x_t, t) for (B, 1, H, W) pictures; H and W divisible by 4.

    ``channels`` c at full size, 2c at H/2 and H/4; the time embedding of ``embedding``
    numbers goes through an MLP to 4c numbers that every block reads.
    """

    def __init__(self, image_shape, channels: int = 32, embedding: int = 32,
                 attention: bool = True):
        super().__init__()
        height, width = image_shape
        if height % 2 ** LEVELS or width % 2 ** LEVELS:
            raise ValueError(f"unet: the picture's height and width must be divisible by "
                             f"{2 ** LEVELS} (two halvings); got {height} x {width}")
        c, time_width = channels, 4 * channels
        self.image_shape = (height, width)
        self.time_mlp = nn.Sequential(nn.Linear(embedding, time_width), nn.SiLU(),
                                      nn.Linear(time_width, time_width))
        self.conv_in = nn.Conv2d(1, c, 3, padding=1)
        self.down = nn.ModuleList([ResidualBlock(c, c, time_width),
                                   ResidualBlock(c, 2 * c, time_width)])
        self.downsample = nn.ModuleList([nn.Conv2d(c, c, 3, stride=2, padding=1),
                                         nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)])
        self.middle = Middle(2 * c, time_width, attention)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        # each up block reads the level below, doubled, beside the skip of its own size
        self.up = nn.ModuleList([ResidualBlock(2 * c + c, c, time_width),
                                 ResidualBlock(2 * c + 2 * c, 2 * c, time_width)])
        self.norm_out = norm(c)
        self.conv_out = nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, x: Tensor, time_embedding: Tensor) -> Tensor:
        e = self.time_mlp(time_embedding)
        h = self.conv_in(x)
        skips = []
        for block, downsample in zip(self.down, self.downsample):
            h = block(h, e)
            skips.append(h)                     # H, then H/2
            h = downsample(h)                   # H/2, then H/4
        h = self.middle(h, e)
        for block, skip in zip(reversed(self.up), reversed(skips)):
            h = block(F.concat([self.upsample(h), skip], dim=1), e)
        return self.conv_out(F.silu(self.norm_out(h)))
