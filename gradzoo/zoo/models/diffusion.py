"""``diffusion``: a denoising diffusion probabilistic model (DDPM; Ho, Jain & Abbeel, 2020).

    forward   q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I),  t = 1..T
    any t     q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),  abar_t = prod_{s<=t} (1 - beta_s)
    train     L = E_{x_0, t, eps} |eps - eps_theta(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t)|^2
    sample    x_T ~ N(0, I);  x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps_theta(x_t, t))
                                        / sqrt(alpha_t) + sigma_t z,   z ~ N(0, I)

Noise is added step by step until the data is indistinguishable from N(0, I);
a network learns to predict the noise in x_t, which is what it takes to undo
one step; sampling runs the T steps backwards from pure noise. Training never
runs the chain: the closed form of q(x_t | x_0) jumps straight to any t.

Two noise schedules: ``linear`` (Ho et al.: beta from 1e-4 to 0.02 over 1000
steps, rescaled by 1000/T for other T, as Nichol & Dhariwal do) and
``cosine`` (Nichol & Dhariwal, 2021), which destroys information more evenly.

The noise predictor is an MLP on [x_t, emb(t)] for points, and a U-Net
(``unet.py``: convolutions, skip connections, the time embedding in every block,
self-attention at the lowest resolution) for pictures: ``network=auto`` picks by
the task's shape. Two samplers: ``ddpm``, the ancestral chain above through all T
steps, and ``ddim`` (Song, Meng & Ermon, 2021), deterministic, on a subsequence of
``sample_steps`` of them:

    ddim      x_{t'} = sqrt(abar_{t'}) x0_hat + sqrt(1 - abar_{t'}) eps_theta(x_t, t),   t' < t
              x0_hat = (x_t - sqrt(1 - abar_t) eps_theta(x_t, t)) / sqrt(abar_t)

the same trained network, read as a map from x_t to its clean picture x0_hat,
which is then noised back down to the smaller level abar_{t'} (eta = 0: no fresh noise).
"""

from __future__ import annotations

import math

from gradzoo.engine import Tensor, backend, nn
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, hookimpl
from gradzoo.zoo.models.generative_parts import MLP, hidden_sizes, standard_normal, width_options
from gradzoo.zoo.models.unet import UNet

host = backend.array_module("cpu")  # the schedule is worked out on the host in float64
NETWORKS = ("auto", "mlp", "unet")
SAMPLERS = ("ddpm", "ddim")
SAMPLE_CHUNK = 128  # pictures denoised at a time: a U-Net on 1024 at once runs 4x slower


def linear_betas(timesteps: int):
    """beta_t rising linearly from 1e-4 to 0.02 when T = 1000 (Ho et al.), scaled by 1000 / T."""
    scale = 1000.0 / timesteps
    return host.linspace(scale * 1e-4, scale * 0.02, timesteps)


def cosine_betas(timesteps: int, s: float = 0.008, max_beta: float = 0.999):
    """Nichol & Dhariwal (2021): abar_t = f(t) / f(0), f(t) = cos^2(pi/2 (t/T + s) / (1 + s)).

    beta_t = 1 - abar_t / abar_{t-1}, clipped at 0.999 so the last steps stay finite.
    """
    t = host.arange(timesteps + 1) / timesteps
    f = host.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return host.minimum(1.0 - alpha_bar[1:] / alpha_bar[:-1], max_beta)


SCHEDULES = {"linear": linear_betas, "cosine": cosine_betas}


class NoiseSchedule:
    """beta_t, alpha_t = 1 - beta_t and abar_t = prod alpha_s for t = 1..T (index t - 1)."""

    def __init__(self, name: str, timesteps: int):
        self.timesteps = timesteps
        self.betas = SCHEDULES[name](timesteps)
        self.alphas = 1.0 - self.betas
        self.alpha_bars = host.cumprod(self.alphas)
        previous = host.concatenate([[1.0], self.alpha_bars[:-1]])     # abar_{t-1}, abar_0 = 1
        # variance of q(x_{t-1} | x_t, x_0): beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t
        self.posterior_variances = (1.0 - previous) / (1.0 - self.alpha_bars) * self.betas
        # its mean: mu~_t = c_0 x_0 + c_t x_t (Ho et al., eq. 7)
        self.posterior_x0_coefficients = host.sqrt(previous) * self.betas / (1.0 - self.alpha_bars)
        self.posterior_xt_coefficients = (host.sqrt(self.alphas) * (1.0 - previous)
                                          / (1.0 - self.alpha_bars))


def time_embedding(t, dim: int, device: str) -> Tensor:
    """Sines and cosines of t at ``dim / 2`` frequencies, as a transformer encodes positions.

    emb(t) = [sin(t w_0), ..., sin(t w_{k-1}), cos(t w_0), ..., cos(t w_{k-1})],
    w_i = 10000^(-i / k), k = dim / 2. ``t`` is an integer array (B,) of steps 1..T.
    """
    xp = backend.array_module(device)
    half = dim // 2
    frequencies = xp.exp(-math.log(10000.0) * xp.arange(half) / half)
    angles = xp.asarray(t, dtype="float32")[:, None] * frequencies[None, :]
    return Tensor(xp.concatenate([xp.sin(angles), xp.cos(angles)], axis=1).astype("float32"))


class Diffusion(nn.Module):
    """DDPM with a noise predictor eps_theta(x_t, t): an MLP on [x_t, emb(t)], or a U-Net.

    ``network`` is a built module: an ``MLP`` (points) or a ``UNet`` (pictures of
    ``image_shape``). ``sampler`` is "ddpm" or "ddim" (then ``sample_steps`` of the T).
    """

    def __init__(self, data_dim: int, timesteps: int, schedule: str, network: nn.Module,
                 embedding: int, value_range=None, image_shape=None, sampler: str = "ddpm",
                 sample_steps: int = 0):
        super().__init__()
        self.data_dim, self.embedding, self.value_range = data_dim, embedding, value_range
        self.image_shape, self.sampler = image_shape, sampler
        self.sample_steps = sample_steps or timesteps
        self.schedule = NoiseSchedule(schedule, timesteps)
        self.noise_predictor = network

    def predict_noise(self, x_t: Tensor, t) -> Tensor:
        """eps_theta(x_t, t): the noise the network sees in x_t at step t (an array of 1..T)."""
        e = time_embedding(t, self.embedding, x_t.device)
        if not isinstance(self.noise_predictor, UNet):
            return self.noise_predictor(F.concat([x_t, e], dim=1))
        pictures = x_t.reshape(x_t.shape[0], 1, *self.image_shape)   # (B, H W) -> (B, 1, H, W)
        return self.noise_predictor(pictures, e).reshape(x_t.shape[0], -1)

    def _column(self, values, t, device: str) -> Tensor:
        """values[t - 1] for each example, as a float32 (B, 1) column on ``device``."""
        return Tensor(values[host.asarray(t) - 1][:, None].astype("float32"), device=device)

    def add_noise(self, x_0: Tensor, t, eps: Tensor) -> Tensor:
        """A draw of q(x_t | x_0): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps."""
        alpha_bar = self.schedule.alpha_bars
        return (self._column(host.sqrt(alpha_bar), t, x_0.device) * x_0
                + self._column(host.sqrt(1.0 - alpha_bar), t, x_0.device) * eps)

    def to_unit_range(self, x: Tensor) -> Tensor:
        """Images: grey levels rescaled to [-1, 1], as Ho et al. do; points pass unchanged.

        The noise has variance 1; data squeezed into [0, 1] would be drowned by it early.
        """
        if self.value_range is None:
            return x
        low, high = self.value_range
        return (x - low) * (2.0 / (high - low)) - 1.0

    def from_unit_range(self, x: Tensor) -> Tensor:
        """The inverse of ``to_unit_range``."""
        if self.value_range is None:
            return x
        low, high = self.value_range
        return (x + 1.0) * ((high - low) / 2.0) + low

    def loss(self, batch) -> Tensor:
        """L_simple = mean |eps - eps_theta(x_t, t)|^2, a uniformly drawn step t per example."""
        x_0 = self.to_unit_range(batch.flat)
        count = x_0.shape[0]
        uniform = backend.random_uniform((count,), "cpu")                    # u ~ U[0, 1)
        t = (uniform * self.schedule.timesteps).astype("int64") + 1          # t ~ U{1, ..., T}
        eps = standard_normal(count, self.data_dim, x_0.device)              # eps ~ N(0, I)
        return F.mse_loss(self.predict_noise(self.add_noise(x_0, t, eps), t), eps)

    def denoise_step(self, x_t: Tensor, step: int) -> Tensor:
        """One ancestral step x_t -> x_{t-1}; no noise is added at the last step (t = 1).

        x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps_theta(x_t, t)) / sqrt(alpha_t) + sigma_t z
        with sigma_t^2 = beta~_t, the variance of q(x_{t-1} | x_t, x_0).
        """
        s, i = self.schedule, step - 1
        eps = self.predict_noise(x_t, host.full(x_t.shape[0], step))
        if self.value_range is None:
            noise_share = s.betas[i] / math.sqrt(1.0 - s.alpha_bars[i])  # beta_t / sqrt(1 - abar_t)
            mean = (x_t - noise_share * eps) / math.sqrt(s.alphas[i])
        else:
            mean = self.posterior_mean(x_t, self.predicted_x0(x_t, eps, i), i)
        if step == 1:
            return mean
        z = standard_normal(x_t.shape[0], self.data_dim, x_t.device)         # z ~ N(0, I)
        return mean + math.sqrt(s.posterior_variances[i]) * z                 # + sigma_t z

    def predicted_x0(self, x_t: Tensor, eps: Tensor, i: int) -> Tensor:
        """x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), clipped to [-1, 1] (images).

        Without the clip this route gives exactly the step above; with it (Ho et al.'s
        code does this for images) one bad prediction at a noisy step cannot blow up.
        """
        abar = self.schedule.alpha_bars[i]
        x_0 = (x_t - math.sqrt(1.0 - abar) * eps) / math.sqrt(abar)
        return Tensor(backend.xp_of(x_0.data).clip(x_0.data, -1.0, 1.0))

    def posterior_mean(self, x_t: Tensor, x_0: Tensor, i: int) -> Tensor:
        """The mean of q(x_{t-1} | x_t, x_0): mu~_t = c_0 x_0 + c_t x_t."""
        s = self.schedule
        c_0, c_t = float(s.posterior_x0_coefficients[i]), float(s.posterior_xt_coefficients[i])
        return c_0 * x_0 + c_t * x_t

    def ddim_step(self, x_t: Tensor, step: int, previous: int) -> Tensor:
        """One deterministic DDIM step x_t -> x_{t'} (eta = 0), t' = ``previous`` < t.

        x_{t'} = sqrt(abar_{t'}) x0_hat + sqrt(1 - abar_{t'}) eps, with abar_0 = 1; for
        pictures x0_hat is clipped to [-1, 1] and eps recomputed to match it.
        """
        s, i = self.schedule, step - 1
        eps = self.predict_noise(x_t, host.full(x_t.shape[0], step))
        abar = s.alpha_bars[i]
        x_0 = (x_t - math.sqrt(1.0 - abar) * eps) / math.sqrt(abar)
        if self.value_range is not None:
            x_0 = Tensor(backend.xp_of(x_0.data).clip(x_0.data, -1.0, 1.0))
            eps = (x_t - math.sqrt(abar) * x_0) / math.sqrt(1.0 - abar)
        if previous == 0:
            return x_0
        abar_previous = s.alpha_bars[previous - 1]
        return math.sqrt(abar_previous) * x_0 + math.sqrt(1.0 - abar_previous) * eps

    def reverse_steps(self) -> list[tuple[int, int]]:
        """The (t, t') pairs the sampler walks, from t = T down to t' = 0.

        ddpm: every step (T, T-1), ..., (1, 0); ddim: ``sample_steps`` evenly spaced ones.
        """
        timesteps = self.schedule.timesteps
        if self.sampler == "ddpm":
            return [(t, t - 1) for t in range(timesteps, 0, -1)]
        count = min(self.sample_steps, timesteps)
        kept = sorted({round(timesteps * (k + 1) / count) for k in range(count)})
        return list(zip(reversed(kept), reversed([0] + kept[:-1])))

    def reverse_step(self, x: Tensor, step: int, previous: int) -> Tensor:
        """x_t -> x_{t'} with the chosen sampler."""
        if self.sampler == "ddpm":
            return self.denoise_step(x, step)
        return self.ddim_step(x, step, previous)

    def sample_trajectory(self, n: int, snapshots: int = 6) -> list[tuple[int, Tensor]]:
        """Run the chain from x_T ~ N(0, I) down to x_0, keeping (t, x_t) at ``snapshots`` steps.

        The steps kept are evenly spaced along the sampler's walk, from pure noise
        (t = T) to the sample (t = 0).
        """
        steps = self.reverse_steps()
        wanted = max(snapshots, 2) - 1
        keep = {round(len(steps) * k / wanted) for k in range(wanted + 1)}
        x = standard_normal(n, self.data_dim, self._device())                 # x_T ~ N(0, I)
        trajectory = [(self.schedule.timesteps, self.from_unit_range(x))]
        for done, (step, previous) in enumerate(steps, start=1):
            x = self.reverse_step(x, step, previous)
            if done in keep:
                trajectory.append((previous, self.from_unit_range(x)))
        return trajectory

    def sample(self, n: int) -> Tensor:
        """x_0: the end of the reverse chain from x_T ~ N(0, I).

        Pictures are denoised SAMPLE_CHUNK at a time (the arrays of a U-Net on a
        thousand pictures at once no longer fit in the processor's caches).
        """
        if isinstance(self.noise_predictor, UNet) and n > SAMPLE_CHUNK:
            chunks = [self.sample(min(SAMPLE_CHUNK, n - start))
                      for start in range(0, n, SAMPLE_CHUNK)]
            return F.concat(chunks, dim=0)
        x = standard_normal(n, self.data_dim, self._device())
        for step, previous in self.reverse_steps():
            x = self.reverse_step(x, step, previous)
        return self.from_unit_range(x)

    def _device(self) -> str:
        """The device the weights are on (noise is drawn there)."""
        return next(self.parameters()).device


def build(task, options) -> Diffusion:
    """A DDPM sized for ``task``: an MLP for points, a U-Net for pictures (``network=auto``)."""
    if options["embedding"] % 2:
        raise ValueError(f"embedding must be even (sines and cosines in pairs), got "
                         f"{options['embedding']}")
    image_shape = getattr(task, "image_shape", None)
    network = options["network"]
    if network == "auto":
        network = "mlp" if image_shape is None else "unet"
    if network == "unet":
        if image_shape is None:
            raise ValueError(f"network=unet needs pictures; task '{task.name}' has none "
                             f"(use network=mlp)")
        predictor = UNet(image_shape, options["channels"], options["embedding"],
                         options["attention"])
    else:
        predictor = MLP([task.data_dim + options["embedding"],
                         *hidden_sizes(options["width"], options["layers"]), task.data_dim],
                        activation="gelu")
    if options["sampler"] == "ddim" and options["sample_steps"] > options["timesteps"]:
        raise ValueError(f"sample_steps={options['sample_steps']} is more than timesteps="
                         f"{options['timesteps']}; DDIM walks a subsequence of the T steps")
    return Diffusion(task.data_dim, options["timesteps"], options["schedule"], predictor,
                     options["embedding"], getattr(task, "value_range", None), image_shape,
                     options["sampler"], options["sample_steps"])


SPEC = ModelSpec(
    name="diffusion", kinds=("generative",), build=build,
    summary="DDPM: learns to undo added noise, samples by denoising (U-Net on pictures)",
    options=(
        Option("timesteps", 100, "diffusion steps T", min=2, max=10_000),
        Option("schedule", "cosine", "noise schedule beta_t", choices=tuple(SCHEDULES)),
        Option("embedding", 32, "size of the sinusoidal time embedding (even)", min=2, max=1024),
        Option("network", "auto", "noise predictor: auto (U-Net for pictures, MLP for points), "
               "mlp or unet", choices=NETWORKS),
        Option("channels", 16, "U-Net: channels at full size (twice as many below)", min=1,
               max=1024),
        Option("attention", True, "U-Net: self-attention at the lowest resolution"),
        Option("sampler", "ddpm", "ddpm (all T steps, with noise) or ddim (deterministic)",
               choices=SAMPLERS),
        Option("sample_steps", 0, "DDIM: steps to sample with (0: all T)", min=0, max=10_000),
        *width_options(128, 3),
    ),
    training={"steps": 4000, "lr": 2e-3, "batch_size": 256, "eval_every": 1000},
    picture_training={"steps": 2000, "lr": 2e-3, "batch_size": 64, "eval_every": 2000,
                      "warmup": 100},
)


@hookimpl
def register_models(register):
    """Register ``diffusion``."""
    register(SPEC)
