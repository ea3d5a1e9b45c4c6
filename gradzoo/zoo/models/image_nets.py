"""The convolutional networks ``gan`` and ``vae`` use on small pictures (H and W divisible by 4).

Each halves (or doubles) the picture twice with stride-2 convolutions, so a
16 x 16 picture becomes a 4 x 4 map of ``2c`` channels in the middle:

    DCGAN generator      z -> Linear -> (2c, H/4, W/4) -> BN, ReLU
                           -> ConvT 4x4 /2 -> (c, H/2, W/2) -> BN, ReLU
                           -> ConvT 4x4 /2 -> (1, H, W) logits (``gan`` squashes them)
    DCGAN discriminator  x (1, H, W) -> Conv 4x4 /2 -> (c, H/2, W/2) -> LeakyReLU 0.2
                           -> Conv 4x4 /2 -> (2c, H/4, W/4) -> BN, LeakyReLU 0.2
                           -> Flatten -> Linear -> one logit d(x)
    VAE encoder          x -> Conv /2 -> ReLU -> Conv /2 -> ReLU -> Flatten -> Linear
                           -> (mu, log var)
    VAE decoder          z -> Linear -> ReLU -> (2c, H/4, W/4) -> ConvT /2 -> ReLU -> ConvT /2
                           -> (1, H, W) logits

The stabilisers of Radford et al. (2016), "DCGAN", which made GANs on pictures
train reliably, and where each one is here:

* strided convolutions instead of pooling, in D (down) and in G (transposed, up):
  each network learns its own re-sampling;
* BatchNorm in G and in D, except G's output layer and D's input layer (normalising
  those made samples oscillate in the paper); in D real and fake batches are
  normalised separately, as the paper's code does;
* no dense hidden layers: G's only Linear is the projection of z, D's the read-out;
* ReLU in G, with a bounded output (their tanh; here ``gan``'s sigmoid into [0, 1]), and
  LeakyReLU with slope 0.2 in D, so gradients pass even where a unit is off;
* weights drawn from N(0, 0.02) (BatchNorm's scale from N(1, 0.02), its shift 0);
* Adam with learning rate 2e-4 and beta1 = 0.5 (training settings, not the networks).
"""

from __future__ import annotations

from gradzoo.engine import Tensor, nn

KERNEL, STRIDE, PADDING = 4, 2, 1   # a 4x4 kernel, stride 2, padding 1: exactly halves (doubles)
INIT_STD = 0.02                     # DCGAN's N(0, 0.02)


def check_image_shape(image_shape, model: str) -> tuple[int, int]:
    """(H, W) if both are divisible by 4 (two halvings); a ValueError saying so otherwise."""
    height, width = image_shape
    if height % 4 or width % 4 or height < 4 or width < 4:
        raise ValueError(f"{model}: the convolutional network halves the picture twice, so its "
                         f"height and width must be multiples of 4; this task's pictures are "
                         f"{height} x {width}. Use a size divisible by 4, or --set network=mlp")
    return height, width


def as_pictures(flat: Tensor, image_shape) -> Tensor:
    """(B, H*W) rows -> (B, 1, H, W) one-channel pictures, row by row."""
    return flat.reshape(flat.shape[0], 1, *image_shape)


def dcgan_init_(module: nn.Module) -> nn.Module:
    """DCGAN's initialisation: conv and linear weights ~ N(0, 0.02); BatchNorm's scale
    ~ N(1, 0.02) and shift 0. Biases keep PyTorch's small uniform start: at 0, every black
    patch of a picture would sit exactly on LeakyReLU's kink in D's first layer."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, INIT_STD)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, INIT_STD)
            nn.init.zeros_(layer.bias)
    return module


def down(in_channels: int, out_channels: int, bias: bool = True) -> nn.Conv2d:
    """A 4x4 convolution with stride 2: (C, H, W) -> (out_channels, H/2, W/2)."""
    return nn.Conv2d(in_channels, out_channels, KERNEL, STRIDE, PADDING, bias=bias)


def up(in_channels: int, out_channels: int, bias: bool = True) -> nn.ConvTranspose2d:
    """A 4x4 transposed convolution with stride 2: (C, H, W) -> (out_channels, 2H, 2W)."""
    return nn.ConvTranspose2d(in_channels, out_channels, KERNEL, STRIDE, PADDING, bias=bias)


class Unflatten(nn.Module):
    """(B, C*h*w) -> (B, C, h, w): a projected vector read as a small stack of maps."""

    def __init__(self, channels: int, height: int, width: int):
        super().__init__()
        self.shape = (channels, height, width)

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], *self.shape)


class DCGANGenerator(nn.Module):
    """z (B, noise) -> (B, H*W) pixel logits; BatchNorm after every layer but the output.

    ``gan`` squashes the logits into the task's range of values (a sigmoid), as it
    does the MLP's. A layer followed by BatchNorm has no bias: BatchNorm's shift
    would cancel it.
    """

    def __init__(self, noise: int, image_shape, channels: int):
        super().__init__()
        height, width = check_image_shape(image_shape, "gan")
        wide = 2 * channels
        self.project = nn.Sequential(
            nn.Linear(noise, wide * (height // 4) * (width // 4), bias=False),
            Unflatten(wide, height // 4, width // 4), nn.BatchNorm2d(wide), nn.ReLU())
        self.upsample = nn.Sequential(
            up(wide, channels, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            up(channels, 1))                                   # the output: no BatchNorm
        dcgan_init_(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.project(z)).reshape(z.shape[0], -1)


class DCGANDiscriminator(nn.Module):
    """pictures (B, H*W) -> logits d(x) (B, 1); no BatchNorm on the input layer, no pooling."""

    def __init__(self, image_shape, channels: int, slope: float = 0.2):
        super().__init__()
        height, width = check_image_shape(image_shape, "gan")
        self.image_shape = (height, width)
        wide = 2 * channels
        self.features = nn.Sequential(
            down(1, channels), nn.LeakyReLU(slope),              # the input layer: no BatchNorm
            down(channels, wide, bias=False), nn.BatchNorm2d(wide), nn.LeakyReLU(slope),
            nn.Flatten())
        self.read_out = nn.Linear(wide * (height // 4) * (width // 4), 1)
        dcgan_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.read_out(self.features(as_pictures(x, self.image_shape)))


class ConvEncoder(nn.Module):
    """pictures (B, H*W) -> (B, outputs): two stride-2 convolutions, then a linear read-out."""

    def __init__(self, image_shape, channels: int, outputs: int):
        super().__init__()
        height, width = check_image_shape(image_shape, "vae")
        self.image_shape = (height, width)
        wide = 2 * channels
        self.features = nn.Sequential(down(1, channels), nn.ReLU(), down(channels, wide),
                                      nn.ReLU(), nn.Flatten())
        self.read_out = nn.Linear(wide * (height // 4) * (width // 4), outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.read_out(self.features(as_pictures(x, self.image_shape)))


class ConvDecoder(nn.Module):
    """codes (B, latent) -> (B, H*W) pixel logits: a linear map to small maps, two ConvT up."""

    def __init__(self, latent: int, image_shape, channels: int):
        super().__init__()
        height, width = check_image_shape(image_shape, "vae")
        wide = 2 * channels
        self.project = nn.Sequential(nn.Linear(latent, wide * (height // 4) * (width // 4)),
                                     nn.ReLU(), Unflatten(wide, height // 4, width // 4))
        self.upsample = nn.Sequential(up(wide, channels), nn.ReLU(), up(channels, 1))

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.project(z)).reshape(z.shape[0], -1)
