"""Programming Q2: Real NVP with fully-connected scale and translation networks on MNIST.

Data: a uint8 image x in {0..255}^D, D = 784, dequantized to v = x + u with u ~ U[0, 1)^D. The flow maps
v -> y = v / 256 in [0, 1)^D (`Scale`) -> logit space (`Logit`) -> affine couplings -> z ~ N(0, I), so

    log p(v) = log N(f(v); 0, I) + log|det df/dv|

is a density over pixel units. Each integer pixel owns a unit-width bin, so -log p(v) is (an upper bound on, in
expectation over u) the code length of the discrete image, and bits/dim = -log p(v) / (D ln 2).

One subtlety, checked in the tests: the logit's domain is y in (-c, 1 + c) with c = lam / (1 - 2 lam), a little
wider than [0, 1], so the model's density of v integrates to 1 over 256 * (-c, 1 + c) and puts slightly less than
all of its mass on [0, 256)^D. The reported bits/dim are therefore a valid, slightly conservative bound (negligibly
so for lam = LAM = 1e-6).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .cache import train_or_load
from .data import IMAGE_SHAPE, check_uint8_images, label_frequencies
from .flows import Composite, DiagonalGaussianMixture, Logit, Scale, Transform, standard_normal_log_prob
from .metrics import bits_per_dim
from .randomness import generator as stream
from .training import History, TrainConfig

D = 784
LAM = 1e-6  # of the logit transform, as in the MAF paper's MNIST set-up


def checkerboard(height: int = 28, width: int = 28, parity: int = 0) -> torch.Tensor:
    """Bool mask (height * width,), True on the pixels with (row + col) % 2 == parity."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return ((rows + cols) % 2 == parity).flatten()


class AffineCoupling(Transform):
    """z = x on the conditioning half; z = x * exp(s(x_cond)) + t(x_cond) on the rest (Dinh et al. 2017).

    s and t come from one fully-connected network of the conditioning half, selected by index (D/2 inputs, D outputs:
    s and t for the D/2 transformed dimensions). The Jacobian is triangular with diagonal exp(s) on the transformed
    half, so log|det dz/dx| = sum(s). The scale is bounded, s = a * tanh(s_raw) with a learned per-dimension a
    (init 1), so exp(s) cannot blow up early in training; the last layer starts at zero, so the coupling starts as
    the identity.

    mask: bool (D,), True = passed through (conditioning). x: (N, D).
    """

    def __init__(self, mask: torch.Tensor, hidden: int = 1024, n_hidden: int = 1) -> None:
        super().__init__()
        self.register_buffer("cond", mask.nonzero().flatten())
        self.register_buffer("free", (~mask).nonzero().flatten())
        n_cond, n_free = self.cond.numel(), self.free.numel()
        layers: list[nn.Module] = [nn.Linear(n_cond, hidden), nn.ReLU()]
        for _ in range(n_hidden - 1):
            layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        layers.append(nn.Linear(hidden, 2 * n_free))
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
        self.net = nn.Sequential(*layers)
        self.scale_bound = nn.Parameter(torch.ones(n_free))

    def scale_and_shift(self, x_cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, t), each (N, D/2): the log-scale and shift of the transformed half."""
        s_raw, t = self.net(x_cond).chunk(2, dim=1)
        return self.scale_bound * torch.tanh(s_raw), t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.scale_and_shift(x[:, self.cond])
        z = x.clone()
        z[:, self.free] = x[:, self.free] * torch.exp(s) + t
        return z, s.sum(1)

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.scale_and_shift(z[:, self.cond])  # the conditioning half passed through unchanged
        x = z.clone()
        x[:, self.free] = (z[:, self.free] - t) * torch.exp(-s)
        return x, -s.sum(1)


@dataclass(frozen=True)
class RealNVPConfig:
    """The flow; the defaults are the default profile's."""

    n_couplings: int = 12
    hidden: int = 256
    n_hidden: int = 1  # hidden layers of each s/t network


class RealNVP(Transform):
    """v (N, 1, 28, 28) or (N, 784) dequantized pixels in [0, 256) <-> z (N, 784), base N(0, I).

    Scale to [0, 1), logit, then `n_couplings` affine couplings whose checkerboard masks alternate, so every pixel
    is transformed by every other coupling and conditions the ones between.
    """

    def __init__(self, config: RealNVPConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or RealNVPConfig()
        self.preprocess = Composite([Scale(1 / 256), Logit(LAM)])
        couplings = [
            AffineCoupling(checkerboard(parity=k % 2), config.hidden, config.n_hidden)
            for k in range(config.n_couplings)
        ]
        self.flow = Composite(couplings)

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, log_det_pre = self.preprocess(check_pixels(v).flatten(1))
        z, log_det_flow = self.flow(y)
        return z, log_det_pre + log_det_flow

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, log_det_flow = self.flow.inverse(z)
        v, log_det_pre = self.preprocess.inverse(y)
        return v, log_det_flow + log_det_pre

    def log_prob(self, v: torch.Tensor) -> torch.Tensor:
        """log p(v) in nats, (N,), for dequantized pixels v in [0, 256)."""
        z, log_det = self.forward(v)
        return standard_normal_log_prob(z) + log_det

    @torch.no_grad()
    def sample(
        self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None, as_uint8: bool = True
    ) -> torch.Tensor:
        """n images (n, 1, 28, 28): z ~ N(0, T^2 I) mapped back; uint8 (floor of v) or float v/256 in [0, 1]."""
        check_temperature(temperature)
        z = temperature * torch.randn(n, D, generator=generator).to(next(self.parameters()).device)
        return self.images(z, as_uint8)

    @torch.no_grad()
    def images(self, z: torch.Tensor, as_uint8: bool = True) -> torch.Tensor:
        """Latents z (n, 784) mapped back to images (n, 1, 28, 28): uint8 (floor of v) or float v/256 in [0, 1]."""
        v = self.inverse(z)[0].view(z.shape[0], *IMAGE_SHAPE).clamp(0, 256 - 1e-3)
        return v.floor().to(torch.uint8) if as_uint8 else v / 256


def check_temperature(temperature: float) -> None:
    """Raise ValueError unless the temperature (the latent's standard deviation factor) is finite and >= 0."""
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be finite and >= 0 (the latent's standard deviation), got {temperature}")


def check_pixels(v: torch.Tensor) -> torch.Tensor:
    """Raise ValueError unless v is float (N, 1, 28, 28) or (N, 784), finite, with values in [0, 256)."""
    if not isinstance(v, torch.Tensor) or not v.is_floating_point() or v.shape[1:] not in ((D,), IMAGE_SHAPE):
        got = f"{v.dtype} {tuple(v.shape)}" if isinstance(v, torch.Tensor) else type(v).__name__
        raise ValueError(
            f"expected dequantized pixels: float (N, 1, 28, 28) or (N, 784) in [0, 256) (use dequantize), got {got}"
        )
    if not torch.isfinite(v).all():
        raise ValueError("expected finite pixel values in [0, 256), got NaN or infinite entries")
    if v.numel() and (v.min() < 0 or v.max() >= 256):
        raise ValueError(
            f"pixel values must lie in [0, 256) (x + u, u in [0, 1)), got [{v.min().item():.6g}, {v.max().item():.6g}]"
        )
    return v


def dequantize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> v = x + u, u ~ U[0, 1): float32 in [x, x + 1), so in [0, 256).

    In float32, x + u rounds up to x + 1 when u is within half a spacing of 1 (e.g. 255 + (1 - 2^-24) == 256.0);
    such a v is moved to the largest float below x + 1, so that every v stays in its own pixel's bin."""
    check_uint8_images(images)
    x = images.float()
    v = x + torch.rand(images.shape, generator=generator).to(images.device)
    top = torch.nextafter(x + 1, x)
    return torch.where(v < x + 1, v, top)


# ------------------------------------------------------------------------------------ a base that knows the digits


class DigitBaseFlow(nn.Module):
    """A trained Real NVP f with a base that knows the digits, one Gaussian per digit y (as Glow's class-conditional
    prior):

        log p(v) = log sum over y of pi(y) N(f(v); mu_y, diag sigma_y^2) + log|det df/dv|,

    exact, so its bits/dim compare with the plain flow's; p(v | y) is component y alone, so a sample of digit y
    draws its latent from N(mu_y, T^2 sigma_y^2). The flow is unchanged; with `DiagonalGaussianMixture.standard`
    as the base this is the plain flow.
    """

    def __init__(self, flow: RealNVP, base: DiagonalGaussianMixture) -> None:
        super().__init__()
        self.flow, self.base = flow, base

    def log_prob(self, v: torch.Tensor) -> torch.Tensor:
        """log p(v) in nats, (N,), for dequantized pixels v in [0, 256)."""
        z, log_det = self.flow(v)
        return self.base.log_prob(z) + log_det

    def log_prob_given(self, v: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """log p(v | y) in nats, (N,), for the digits `labels` (N,)."""
        z, log_det = self.flow(v)
        return self.base.component_log_prob(z).gather(1, labels.view(-1, 1).to(z.device))[:, 0] + log_det

    @torch.no_grad()
    def sample_labelled(
        self, labels: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """One uint8 image (n, 1, 28, 28) of each digit in `labels` (n,): z ~ N(mu_y, T^2 sigma_y^2), v = f^-1(z)."""
        check_temperature(temperature)
        return self.flow.images(self.base.sample(labels, temperature, generator))

    @torch.no_grad()
    def sample_with_labels(
        self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """n uint8 images (n, 1, 28, 28) of the mixture, y ~ pi then `sample_labelled`, and their digits y (n,)."""
        labels = torch.multinomial(self.base.log_weights.exp().cpu(), n, replacement=True, generator=generator)
        return self.sample_labelled(labels, temperature, generator), labels

    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """n uint8 images (n, 1, 28, 28) of the mixture (`sample_with_labels` without the labels)."""
        return self.sample_with_labels(n, temperature, generator)[0]


@torch.no_grad()
def fit_digit_base(
    flow: RealNVP, images: torch.Tensor, labels: torch.Tensor, *, seed: int = 0, batch_size: int = 1000
) -> DiagonalGaussianMixture:
    """The maximum-likelihood per-digit base of a trained flow, in closed form. With f fixed,

        sum over training digits of log pi(y) + log N(f(v); mu_y, diag sigma_y^2) + log|det df/dv|

    is maximised by pi the label frequencies and mu_y, sigma_y^2 the mean and variance of the latents z = f(v) of
    digit y's training images, each dequantized once ("base-fit" stream, `seed`). images uint8 (N, 1, 28, 28),
    labels (N,)."""
    flow.eval()
    device = next(flow.parameters()).device
    noise = stream("base-fit", seed)
    sums, squares = torch.zeros(10, D, dtype=torch.float64), torch.zeros(10, D, dtype=torch.float64)
    for chunk, chunk_labels in zip(images.split(batch_size), labels.split(batch_size), strict=True):
        z = flow(dequantize(chunk, noise).to(device))[0].double().cpu()
        sums.index_add_(0, chunk_labels, z)
        squares.index_add_(0, chunk_labels, z**2)
    counts = torch.bincount(labels, minlength=10).double()[:, None]
    if bool((counts < 2).any()):
        raise ValueError("every digit 0-9 needs at least two training images to fit its Gaussian")
    means = sums / counts
    variances = (squares / counts - means**2).clamp_min(1e-6)
    return DiagonalGaussianMixture(means.float(), 0.5 * variances.log().float(), label_frequencies(labels)).to(device)


# ------------------------------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class RealNVPSpec:
    """Everything that makes a trained Real NVP: the flow, the training run and the data choices."""

    name: str  # names the checkpoint file: realnvp-<name>.pt
    model: RealNVPConfig
    train: TrainConfig
    eval_images: int = 2000  # test images for the evaluations during training (the reported figure uses all 10000)


def realnvp_loss(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Mean bits/dim of a freshly dequantized batch (the noise comes from the training stream: the global RNG that
    the loop seeds and checkpoints)."""
    return bits_per_dim(-model.log_prob(dequantize(images))).mean()


@torch.no_grad()
def test_bits_per_dim(model: RealNVP, images: torch.Tensor, seed: int = 0, batch_size: int = 1000) -> float:
    """Mean bits/dim over uint8 images (N, 1, 28, 28), dequantized with evaluation seed `seed` of the
    "eval-dequantization" stream (disjoint from the noise training draws)."""
    model.eval()
    device = next(model.parameters()).device
    noise = stream("eval-dequantization", seed)
    total = 0.0
    for chunk in images.split(batch_size):
        total += bits_per_dim(-model.log_prob(dequantize(chunk, noise).to(device))).sum().item()
    return total / images.shape[0]


def train_realnvp(
    spec: RealNVPSpec,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    device: torch.device | str = "cpu",
    *,
    retrain: bool = False,
) -> tuple[RealNVP, History]:
    """Train (or load the finished run cached for this spec) a Real NVP on uint8 training digits (N, 1, 28, 28);
    evaluations during training use the first `spec.eval_images` test digits."""
    eval_images = test_images[: spec.eval_images]
    eval_fn = lambda m: {"test_bpd": test_bits_per_dim(m, eval_images)}  # noqa: E731
    return train_or_load(RealNVP(spec.model), "realnvp", spec, realnvp_loss, train_images, eval_fn, device, retrain)


# -------------------------------------------------------------------------------------------------------- figures


@torch.no_grad()
def interpolate(model: RealNVP, a: torch.Tensor, b: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """Images (steps, 1, 28, 28) in [0, 1] along the straight line between the latents of uint8 images a and b
    (each (1, 28, 28)), dequantized at the bin centres (x + 0.5) so the end points are the images themselves."""
    model.eval()
    device = next(model.parameters()).device
    z = model(torch.stack([a, b]).float().add(0.5).to(device))[0]
    weights = torch.linspace(0, 1, steps, device=device)[:, None]
    v = model.inverse((1 - weights) * z[0] + weights * z[1])[0]
    return (v.clamp(0, 255.999).floor() / 255).view(steps, *IMAGE_SHAPE).cpu()


def nearest_neighbours(samples: torch.Tensor, train_images: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Indices (n, k) of the k training images closest in Euclidean pixel distance to each uint8 sample."""
    a = samples.flatten(1).float()
    out = []
    for chunk in train_images.split(10000):
        out.append(torch.cdist(a, chunk.flatten(1).float()))
    return torch.cat(out, 1).topk(k, largest=False).indices


def sample_quality(
    model: RealNVP | DigitBaseFlow,
    judge: nn.Module,
    real_images: torch.Tensor,
    temperatures: list[float],
    n: int = 1000,
    seed: int = 0,
    confident: float = 0.9,
) -> list[dict[str, float]]:
    """Per temperature T: `sample_scores.score_samples` of n samples against n real uint8 images
    (`real_images[:n]`): FID, the fraction labelled with probability >= `confident` and its half-width. Each
    temperature draws its own latents (sampling stream, seed + its index)."""
    return _quality_rows(
        lambda t, g: (model.sample(n, t, g), None), judge, real_images[:n], temperatures, seed, confident
    )


def told_sample_quality(
    model: DigitBaseFlow,
    judge: nn.Module,
    real_images: torch.Tensor,
    temperatures: list[float],
    n: int = 1000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """`sample_quality` of a flow with a per-digit base, each sample told a digit drawn from the label frequencies
    pi: per temperature, FID, the confident fraction and how often the classifier names the told digit (overall with
    its half-width, and per digit)."""
    return _quality_rows(lambda t, g: model.sample_with_labels(n, t, g), judge, real_images[:n], temperatures, seed)


@torch.no_grad()
def _quality_rows(
    draw: Callable[[float, torch.Generator], tuple[torch.Tensor, torch.Tensor | None]],
    judge: nn.Module,
    real: torch.Tensor,
    temperatures: list[float],
    seed: int,
    confident: float = 0.9,
) -> list[dict[str, Any]]:
    """One row of `sample_scores.score_samples` per temperature T of the samples (and told digits) `draw(T, g)`
    makes, g the sampling stream of seed + T's index."""
    from .sample_scores import score_samples

    rows = []
    for k, t in enumerate(temperatures):
        images, labels = draw(t, stream("sampling", seed + k))
        rows.append({"temperature": t, **score_samples(judge, images.cpu(), real, labels, threshold=confident)})
    return rows


def plot_samples(model: RealNVP, temperatures: list[float], n: int = 64, seed: int = 0, nrow: int = 8):
    """Figure: one panel of n samples per temperature, each panel from its own latent draws (sampling stream,
    seed + panel index), so panels differ by more than their temperature."""
    import matplotlib.pyplot as plt

    from .display import show_grid

    fig, axes = plt.subplots(1, len(temperatures), figsize=(3.2 * len(temperatures), 3.6), squeeze=False)
    for k, (ax, t) in enumerate(zip(axes[0], temperatures, strict=True)):
        show_grid(model.sample(n, t, stream("sampling", seed + k)), f"T = {t}", nrow=nrow, ax=ax)
    fig.tight_layout()
    return fig
