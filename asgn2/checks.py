"""Checks that any implementation of the assignment can be put through, each with a verdict in plain words.

The interfaces are the assignment's, nothing of this package's classes is assumed:

- a PixelCNN *network*: binary images x (N, 1, 28, 28), float {0, 1} -> logits (N, 1, 28, 28), with
  p(x_i = 1 | x_<i) = sigmoid(logit_i);
- a *masked convolution* layer: (N, C_in, H, W) -> (N, C_out, H, W);
- an NLL function `nll(network, x) -> float`, nats per image, of binary images x;
- a sampler `sample(network, n) -> (n, 1, 28, 28)` and an inpainting function `inpaint(network, x, known) -> x`
  with known a bool mask of x's shape, True where a pixel is observed;
- a flow *transform*: `forward(x) -> (z, log_det)`, `inverse(z) -> (x, log_det)`, log_det = log|det dz/dx| of
  shape (N,) (the inverse's is log|det dx/dz|); for Real NVP, x is dequantized pixels v in [0, 256), (N, 784) or
  (N, 1, 28, 28);
- a bits/dim function `bits_per_dim(flow, images) -> float` and a training loss `loss(flow, images)` of uint8 images
  (N, 1, 28, 28), where `flow.log_prob(v)` is log p(v) in nats, (N,) (a `flows.Flow`: transform plus base).

Every check returns a `Verdict` (passed or not, and what was found); `report` prints a list of them, `require`
raises if one failed. From a notebook, on a student's classes:

    from asgn2 import checks
    print(checks.report(checks.pixelcnn_checks(MyPixelCNN(), nll=my_test_nll, sample=my_sample,
                                               inpaint=my_inpaint)))
    print(checks.report(checks.realnvp_checks(MyRealNVP(), bits_per_dim=my_bpd, loss=my_loss)))

The checks work on copies: the student's model is never changed. Gradients are exact (autograd over the whole
network), so a verdict does not depend on training; only the sampler's is statistical, at a fixed seed.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .data import IMAGE_SHAPE, PIXELS
from .flows import Flow, Scale

H, W = IMAGE_SHAPE[1:]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: passed (True, False, or None where it could not be applied) and what was found."""

    check: str
    passed: bool | None
    message: str
    evidence: Any = field(default=None, repr=False, compare=False)  # what was measured, for tests and figures

    def __str__(self) -> str:
        status = {True: "PASS", False: "FAIL", None: "N/A "}[self.passed]
        return f"{status} {self.check}: {self.message}"


class CheckFailed(AssertionError):
    """One or more checks failed; the message lists them."""


def report(verdicts: Sequence[Verdict]) -> str:
    """One line per verdict: PASS / FAIL / N/A, the check, what was found."""
    return "\n".join(str(v) for v in verdicts)


def require(*verdicts: Verdict | Sequence[Verdict]) -> None:
    """Raise CheckFailed, listing the failures, unless every verdict passed (or could not be applied)."""
    flat = [v for item in verdicts for v in ([item] if isinstance(item, Verdict) else item)]
    failed = [v for v in flat if v.passed is False]
    if failed:
        raise CheckFailed("\n".join(str(v) for v in failed))


def first_failure(verdicts: Sequence[Verdict]) -> Verdict | None:
    """The first failed verdict, or None."""
    return next((v for v in verdicts if v.passed is False), None)


# ------------------------------------------------------------------------------------------------------ helpers


def _frozen_copy(module: nn.Module) -> nn.Module:
    """A copy in eval mode (dropout off, batch norm on its running statistics: batch elements do not interact),
    without parameter gradients: the student's module is left as it was."""
    clone = copy.deepcopy(module).eval()
    for p in clone.parameters():
        p.requires_grad_(False)
    return clone


def _device(module: nn.Module) -> torch.device:
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def jacobian(fn: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, chunk: int = 196) -> torch.Tensor:
    """d fn(x)_k / d x_j at one input x0 (any shape, no batch dimension), for fn with as many outputs as inputs:
    (n, n), both flattened.

    fn must treat the batch's rows independently: the input is repeated once per output k, and row k of the batch
    gradient is d out_k / d x. `chunk` outputs per backward pass bound the memory."""
    n = x0.numel()
    rows = []
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        x = x0.unsqueeze(0).repeat(size, *([1] * x0.dim())).requires_grad_(True)
        with torch.enable_grad():
            out = fn(x).reshape(size, -1)
            if out.shape[1] != n:
                raise ValueError(f"the output has {out.shape[1]} entries per sample, the input {n}")
            picked = out[torch.arange(size), torch.arange(start, start + size)]
            if picked.requires_grad:  # an output that ignores its input has no graph: a zero row
                (grad,) = torch.autograd.grad(picked.sum(), x, allow_unused=True)
            else:
                grad = None
        rows.append(torch.zeros_like(x).reshape(size, n) if grad is None else grad.reshape(size, n))
    return torch.cat(rows)


def _pixel(index: int, width: int = W) -> tuple[int, int]:
    return divmod(index, width)


def _where(i: int, j: int, width: int = W) -> str:
    """Where input pixel j lies from output pixel i, in words."""
    (ri, ci), (rj, cj) = _pixel(i, width), _pixel(j, width)
    if i == j:
        return "the pixel itself"
    if rj == ri:
        return "to its right in the same row" if cj > ci else "to its left in the same row"
    side = "" if cj == ci else (" and to the left" if cj < ci else " and to the right")
    return f"{'below' if rj > ri else 'above'} it{side}"


def _random_binary(shape: tuple[int, ...], density: float, seed: int) -> torch.Tensor:
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < density).float()


# ------------------------------------------------------------------------------------------ PixelCNN: causality


def causality(network: nn.Module, *, centre_allowed: bool = False, trials: int = 2) -> Verdict:
    """logit_i must depend on no input pixel j >= i (raster order); with centre_allowed (a mask-B layer or block),
    on none j > i. Autograd over the whole network at `trials` random binary images: the 784 x 784 Jacobian
    |d logit_i / d x_j| summed over the trials (a ReLU can hide a dependence at one input, never at all).

    network: (N, 1, 28, 28) -> (N, 1, 28, 28). On failure: the first output pixel (raster order) that sees what it
    must not, the pixel it sees, and the likely cause."""
    model = _frozen_copy(network)
    device = _device(model)
    n = H * W
    sees = torch.zeros(n, n, dtype=torch.bool)
    for t in range(trials):
        x0 = _random_binary((1, H, W), 0.3, seed=t).to(device)
        sees |= (jacobian(model, x0).cpu() != 0).reshape(n, n)
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    forbidden = (j > i) | ((j == i) & (not centre_allowed))
    bad = sees & forbidden
    if not bad.any():
        blind = [k for k in range(1, n) if k % W and not sees[k, k - 1]]
        extent = sees.sum(1).max().item()
        message = (
            f"no logit depends on {'a later pixel' if centre_allowed else 'its own pixel or a later one'} "
            f"(784 x 784 Jacobian, {trials} random binary images); the widest sees {extent} earlier pixels"
        )
        if blind:
            r, c = _pixel(blind[0])
            message += f"; but {len(blind)} pixels do not see the pixel just left of them, first ({r}, {c})"
        return Verdict("causality", True, message, evidence=sees)
    first = int(bad.any(1).nonzero()[0])
    seen = bad[first].nonzero().flatten()
    j_first = int(first) if bool(bad[first, first]) else int(seen[0])
    (ri, ci), (rj, cj) = _pixel(first), _pixel(j_first)
    message = (
        f"the logit of pixel ({ri}, {ci}) depends on input pixel ({rj}, {cj}), {_where(first, j_first)}; "
        f"{int(bad.any(1).sum())} of 784 logits see a pixel they must not. "
    )
    column_order = (i % W > j % W) | ((i % W == j % W) & (i // W > j // W))  # j before i, reading column by column
    if centre_allowed:
        column_order |= i == j
    if not (sees & ~column_order).any():
        message += (
            "The dependences follow column order (each pixel sees the columns to its left and the pixels above it "
            "in its own column): the mask is transposed, rows and columns swapped."
        )
    elif bool(sees.diagonal().all()) and not (sees & (j > i)).any():
        message += "Every logit sees its own pixel: the first layer's mask shows the centre (mask A must hide it)."
    else:
        message += "A mask lets through pixels below or to the right (or a layer is unmasked, or padded wrongly)."
    return Verdict("causality", False, message, evidence=sees)


# --------------------------------------------------------------------------------------- PixelCNN: mask types


def _taps(layer: nn.Module, in_channels: int, size: int) -> set[tuple[int, int]] | None:
    """The kernel offsets (row, column) from the output pixel that a convolution layer reads: the impulse
    response, as the input pixels the centre output depends on. None if the layer changes the image's size."""
    device = _device(layer)
    x = torch.rand(1, in_channels, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    x.requires_grad_(True)
    with torch.enable_grad():
        out = layer(x)
        if out.shape[-2:] != x.shape[-2:]:
            return None
        (grad,) = torch.autograd.grad(out[0, :, size // 2, size // 2].sum(), x)
    hit = grad.abs().sum(1)[0].cpu().nonzero().tolist()
    return {(r - size // 2, c - size // 2) for r, c in hit}


def _mask_kind(taps: set[tuple[int, int]]) -> str:
    """'A' (rows above, the centre row left of the centre), 'B' (the same and the centre), their transposes,
    '1x1' (the centre alone), or 'not causal' (reads pixels below or to the right)."""
    if taps <= {(0, 0)}:
        return "1x1"
    centre = "B" if (0, 0) in taps else "A"
    if all(dr < 0 or (dr == 0 and dc <= 0) for dr, dc in taps):
        return centre
    if all(dc < 0 or (dc == 0 and dr <= 0) for dr, dc in taps):
        return f"{centre} transposed"
    return "not causal"


def _full_set(kind: str, k: int) -> set[tuple[int, int]]:
    """The taps of a complete k x k mask of type 'A' or 'B'."""
    c = k // 2
    taps = {(dr, dc) for dr in range(-c, 0) for dc in range(-c, c + 1)} | {(0, dc) for dc in range(-c, 0)}
    return taps | ({(0, 0)} if kind == "B" else set())


def mask_picture(taps: set[tuple[int, int]], k: int) -> str:
    """The taps of a k x k kernel in words: rows top to bottom, 'x' read, '.' not, the centre 'o' if not read."""
    c = k // 2
    rows = []
    for dr in range(-c, c + 1):
        cells = ["x" if (dr, dc) in taps else ("o" if (dr, dc) == (0, 0) else ".") for dc in range(-c, c + 1)]
        rows.append("".join(cells))
    return " / ".join(rows)


def _describe_kind(kind: str) -> str:
    return {
        "A": "mask A (hides the centre)",
        "B": "mask B (shows the centre)",
        "A transposed": "a transposed mask A (reads the columns to the left: rows and columns swapped)",
        "B transposed": "a transposed mask B (reads the columns to the left: rows and columns swapped)",
        "not causal": "no causal mask (reads pixels below or to the right of the centre)",
        "resizes": "a layer that changes the image's size (pad it to keep H x W)",
    }[kind]


def masked_conv(layer: nn.Module, mask_type: str, in_channels: int | None = None) -> Verdict:
    """A masked convolution's impulse response is that of a complete mask `mask_type` ('A' or 'B') for its kernel
    width: the rows above, the centre row left of the centre, and the centre for B only."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    in_channels = in_channels or getattr(layer, "in_channels", 1)
    k = max(getattr(layer, "kernel_size", (7, 7)))
    taps = _taps(_frozen_copy(layer), in_channels, 2 * k + 3)
    if taps is None:
        return Verdict("masked convolution", False, "the layer changes the image's size (pad it to keep H x W)")
    kind, picture = _mask_kind(taps), mask_picture(taps, k)
    if kind == mask_type and taps == _full_set(mask_type, k):
        return Verdict("masked convolution", True, f"mask {mask_type}, {k} x {k}: {picture}", evidence=taps)
    if kind == mask_type:
        missing = len(_full_set(mask_type, k) - taps)
        return Verdict(
            "masked convolution",
            False,
            f"mask {mask_type} but {missing} of its taps are hidden too: {picture}",
            evidence=taps,
        )
    asked = f"asked for mask {mask_type}, the layer reads {picture}: {_describe_kind(kind)}"
    if {kind, mask_type} == {"A", "B"}:
        asked += " (A hides the centre, B shows it: are they swapped?)"
    return Verdict("masked convolution", False, asked, evidence=taps)


def mask_types(network: nn.Module) -> Verdict:
    """Every k x k convolution the network runs (nn.Conv2d or a subclass), in the order it runs them, classified
    from its impulse response: the first must be mask A, every later one mask B (1 x 1 layers are ignored)."""
    model = _frozen_copy(network)
    ran: list[tuple[str, nn.Module, int]] = []
    handles = [
        module.register_forward_hook(lambda m, inputs, out, name=name: ran.append((name, m, inputs[0].shape[1])))
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d)
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *IMAGE_SHAPE, device=_device(model)))
    finally:
        for handle in handles:
            handle.remove()
    layers = []
    for name, module, channels in ran:
        k = max(module.kernel_size)
        if k > 1 and all(name != seen for seen, *_ in layers):
            taps = _taps(module, channels, 2 * k + 3)
            layers.append((name, k, taps or set(), "resizes" if taps is None else _mask_kind(taps)))
    if not layers:
        return Verdict("mask types", None, "found no k x k nn.Conv2d run by forward: check layers with masked_conv")
    kinds = [kind for *_, kind in layers]
    name, k, taps, kind = layers[0]
    if kind != "A":
        what = "shows the centre pixel (mask B): each logit sees the pixel it predicts; the first layer needs mask A"
        if kind != "B":
            what = f"is {_describe_kind(kind)}; the first layer needs mask A"
        return Verdict("mask types", False, f"the first layer ({name}) {what}: {mask_picture(taps, k)}", kinds)
    for position, (name, k, taps, kind) in enumerate(layers[1:], start=2):
        if kind == "B":
            continue
        if kind == "A":
            what = (
                "hides the centre (mask A); only the first layer should: a later layer's centre feature never saw "
                "its pixel, so hiding it only throws information away (mask A in every layer)"
            )
        else:
            what = f"is {_describe_kind(kind)}; layers after the first need mask B"
        message = f"layer {position} of {len(layers)} ({name}) {what}: {mask_picture(taps, k)}"
        return Verdict("mask types", False, message, kinds)
    return Verdict(
        "mask types",
        True,
        f"the first layer ({layers[0][0]}) is mask A, the {len(layers) - 1} later ones mask B",
        kinds,
    )


# ----------------------------------------------------------------------------------- PixelCNN: normalisation


def normalisation(network: nn.Module, rows: tuple[int, int] = (13, 15), cols: tuple[int, int] = (12, 16)) -> Verdict:
    """p(block | the pixels before it), the product of the model's conditionals over a block of pixels (default
    2 x 4 in the middle), summed over all 2^8 values of the block with every other pixel fixed, is exactly 1 for
    an autoregressive model: it is a distribution. A logit that sees its own pixel breaks it, as do two pixels
    that see each other; a model autoregressive in another order (a transposed mask) is still normalised, so
    `causality` is the check of the raster order."""
    model = _frozen_copy(network)
    block = [(r, c) for r in range(*rows) for c in range(*cols)]
    n_values = 2 ** len(block)
    background = _random_binary((1, *IMAGE_SHAPE), 0.2, seed=3)
    x = background.repeat(n_values, 1, 1, 1)
    bits = (torch.arange(n_values)[:, None] >> torch.arange(len(block))) & 1
    for b, (r, c) in enumerate(block):
        x[:, 0, r, c] = bits[:, b].float()
    device = _device(model)
    with torch.no_grad():
        logits = torch.cat([model(chunk.to(device)).cpu() for chunk in x.split(256)])
    log_p = -F.binary_cross_entropy_with_logits(logits.double(), x.double(), reduction="none")
    log_block = sum(log_p[:, 0, r, c] for r, c in block)
    total = torch.logsumexp(log_block, 0).exp().item()
    size = f"{rows[1] - rows[0]} x {cols[1] - cols[0]}"
    where = f"a {size} block (rows {rows[0]}-{rows[1] - 1}, columns {cols[0]}-{cols[1] - 1})"
    if abs(total - 1) < 1e-4:
        return Verdict(
            "normalisation", True, f"p(block | before) sums to {total:.6f} over all {n_values} values of {where}", total
        )
    return Verdict(
        "normalisation",
        False,
        f"p(block | before) sums to {total:.4g}, not 1, over all {n_values} values of {where}, the rest fixed: the "
        "model is not a distribution, so its NLL means nothing (a logit sees its own pixel, or two pixels see "
        "each other)",
        total,
    )


# ---------------------------------------------------------------------------------- models with known answers


class ConstantBernoulli(nn.Module):
    """Every pixel 1 with probability sigmoid(logit), independently: log p(x) is known in closed form."""

    def __init__(self, logit: float = -1.0) -> None:
        super().__init__()
        self.logit = nn.Parameter(torch.tensor(float(logit)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit.expand_as(x) + 0 * x

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return -F.binary_cross_entropy_with_logits(self(x), x, reduction="none").flatten(1).sum(1)


class MarkovChainPixels(nn.Module):
    """A tiny autoregressive model with exact marginals: logit_i = a_i + w x_(i-1), pixels in raster order.

    Each pixel leans on the one before it, so a sampler that does not feed its draws back (or draws all pixels at
    once) gets the marginals wrong, as does one that thresholds or draws with 1 - p."""

    def __init__(self, w: float = 2.5, seed: int = 0) -> None:
        super().__init__()
        a = -2.0 + 2.0 * torch.rand(IMAGE_SHAPE, generator=torch.Generator().manual_seed(seed))
        self.a = nn.Parameter(a.unsqueeze(0))
        self.w = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        before = torch.cat([torch.zeros_like(flat[:, :1]), flat[:, :-1]], 1).view_as(x)
        return self.a + self.w * before

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return -F.binary_cross_entropy_with_logits(self(x), x, reduction="none").flatten(1).sum(1)

    @torch.no_grad()
    def marginals(self, flipped: bool = False, fed_back: bool = True) -> torch.Tensor:
        """p(x_i = 1) of every pixel, (1, 28, 28), by the chain's recursion. For the diagnoses: `flipped`, of a
        sampler that draws 1 with probability 1 - p; not `fed_back`, of one that draws every pixel from the logits
        of an empty image."""
        a = self.a.detach().flatten().double()
        p, previous = torch.empty_like(a), 0.0
        for i in range(a.numel()):
            one, zero = torch.sigmoid(a[i] + self.w), torch.sigmoid(a[i])
            if flipped:
                one, zero = 1 - one, 1 - zero
            previous = previous * one + (1 - previous) * zero if fed_back else zero
            p[i] = previous
        return p.view(IMAGE_SHAPE)


class _UniformUnitCube(nn.Module):
    """The base density 1 on [0, 1)^D: log q(z) = 0."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))  # so that `next(model.parameters())` finds a device

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return 0 * z.flatten(1).sum(1)

    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.rand(n, PIXELS, generator=generator)


class _RecordingScale(Scale):
    """Scale(1/256) that keeps the inputs it was given."""

    def __init__(self) -> None:
        super().__init__(1 / 256)
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.seen.append(x.detach().flatten(1).cpu())
        return super().forward(x.flatten(1))


def uniform_pixel_flow() -> Flow:
    """The uniform density on [0, 256)^784 as a `flows.Flow`: log p(v) = -784 ln 256, exactly 8 bits/dim."""
    return Flow(_RecordingScale(), _UniformUnitCube())


# ---------------------------------------------------------------------------------------------------- units


def _name_the_number(value: float, candidates: dict[str, float]) -> str | None:
    for name, expected in candidates.items():
        if math.isclose(value, expected, rel_tol=2e-3):
            return name
    return None


def nll_units(nll: Callable[[nn.Module, torch.Tensor], float]) -> Verdict:
    """nll(network, x) must be the mean NLL in nats per image. Given a model whose likelihood is known (every
    pixel independent, p = sigmoid(-1)) and 20 binary images, the number it returns is compared with the usual
    unit mix-ups: nats per pixel, bits/dim, bits per image, a sum over images, a log-likelihood's sign."""
    model = ConstantBernoulli(-1.0)
    x = _random_binary((20, *IMAGE_SHAPE), 0.3, seed=1)
    with torch.no_grad():
        per_image = -model.log_prob(x).double().mean().item()
        value = float(nll(model, x))
    candidates = {
        "nats per image": per_image,
        "nats per pixel (the loss averaged over pixels; times 784 is per image)": per_image / PIXELS,
        "bits/dim": per_image / (PIXELS * math.log(2)),
        "bits per image (divided by ln 2)": per_image / math.log(2),
        "nats summed over the images, not averaged": per_image * x.shape[0],
        "a log-likelihood (the sign): the NLL is positive": -per_image,
    }
    found = _name_the_number(value, candidates)
    known = f"a model whose NLL is {per_image:.2f} nats per image ({per_image / PIXELS:.4f} per pixel)"
    if found == "nats per image":
        return Verdict("NLL units", True, f"returns {value:.2f} for {known}: nats per image", value)
    what = f"that is {found}" if found else "none of the usual unit mix-ups gives it"
    return Verdict("NLL units", False, f"returns {value:.4g} for {known}: {what}", value)


def bits_per_dim_units(bits_per_dim: Callable[[nn.Module, torch.Tensor], float]) -> Verdict:
    """bits_per_dim(flow, images) must be -log2 p per dimension. Given the uniform density on [0, 256)^784
    (exactly 8 bits/dim, whatever the dequantization noise), the number it returns is compared with the usual
    mix-ups: nats per dimension (no ln 2), times ln 2, per image, a mean of batch means."""
    images = torch.randint(0, 256, (20, *IMAGE_SHAPE), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        value = float(bits_per_dim(uniform_pixel_flow(), images))
    ln2 = math.log(2)
    candidates = {
        "bits/dim": 8.0,
        "nats per dimension: divided by D but not by ln 2": 8 * ln2,
        "multiplied by ln 2 instead of divided": 8 * ln2 * ln2,
        "nats per image": 8 * ln2 * PIXELS,
        "bits per image, not per dimension": 8.0 * PIXELS,
        "divided by the number of images twice (a sum of batch means over N)": 8.0 / images.shape[0],
        "a log-likelihood (the sign)": -8.0,
    }
    found = _name_the_number(value, candidates)
    known = "the uniform density on [0, 256)^784, exactly 8 bits/dim"
    if found == "bits/dim":
        return Verdict("bits/dim units", True, f"returns {value:.4f} for {known}", value)
    what = f"that is {found}" if found else "none of the usual unit mix-ups gives it"
    return Verdict("bits/dim units", False, f"returns {value:.4g} for {known}: {what}", value)


def dequantization(fn: Callable[[nn.Module, torch.Tensor], Any], what: str = "the function") -> Verdict:
    """fn(flow, images) (a training loss or a bits/dim function) must hand the flow dequantized pixels
    v = x + u, u in [0, 1) for uint8 x: real values inside each pixel's own bin, not the integers themselves."""
    flow = uniform_pixel_flow()
    images = torch.randint(0, 256, (8, *IMAGE_SHAPE), dtype=torch.uint8, generator=torch.Generator().manual_seed(4))
    images[:, :, 0, 0], images[:, :, 0, 1] = 0, 255
    with torch.no_grad():
        fn(flow, images)
    seen = flow.transform.seen
    if not seen:
        return Verdict("dequantization", None, f"{what} never called the flow's transform with the images")
    v = torch.cat(seen).double()
    x = images.flatten(1).double()
    if v.shape != x.shape:
        return Verdict("dequantization", None, f"the flow saw {tuple(v.shape)}, not one row per image {tuple(x.shape)}")
    u = v - x
    if (u == 0).all():
        return Verdict(
            "dequantization",
            False,
            f"{what} hands the flow the integer pixel values themselves: no dequantization. A density on "
            "[0, 256)^784 can then pile up on the integers without limit, so the loss falls without bound and "
            "the bits/dim mean nothing (add u ~ U[0, 1) to each pixel)",
            u,
        )
    if u.min() < 0 or u.max() >= 1:
        return Verdict(
            "dequantization",
            False,
            f"{what} hands the flow v - x in [{u.min():.3g}, {u.max():.3g}]: not x + u with u in [0, 1), the "
            "pixel's own bin (is the noise Gaussian, or the scale 0..1 instead of 0..256?)",
            u,
        )
    return Verdict("dequantization", True, f"{what} hands the flow x + u, u in [{u.min():.3f}, {u.max():.3f}]", u)


# --------------------------------------------------------------------------------- sampling and inpainting


def sampler(sample: Callable[[nn.Module, int], torch.Tensor], n: int = 400, seed: int = 0) -> Verdict:
    """sample(network, n) must draw from the model: on `MarkovChainPixels` (exact marginals, each pixel leaning on
    the one before), the frequency of 1 at each pixel over n samples against its probability, as a chi-square over
    the 784 pixels (expected 784 +- 40; the check fails above 784 + 6 sd). Fixed seed: reproducible."""
    model = MarkovChainPixels()
    p = model.marginals()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        x = sample(model, n).detach().cpu().double().reshape(n, *IMAGE_SHAPE)
    if not ((x == 0) | (x == 1)).all():
        return Verdict("sampler", False, "the samples are not binary: a sample draws each pixel as 0 or 1")
    frequency = x.mean(0)

    def chi2_against(q: torch.Tensor) -> float:
        return ((frequency - q) ** 2 / (q * (1 - q) / n)).sum().item()

    chi2, limit = chi2_against(p), PIXELS + 6 * math.sqrt(2 * PIXELS)
    worst = int((frequency - p).abs().flatten().argmax())
    r, c = _pixel(worst)
    detail = (
        f"pixel ({r}, {c}) is 1 in {100 * frequency.flatten()[worst]:.0f}% of the samples, the model says "
        f"{100 * p.flatten()[worst]:.0f}%"
    )
    if chi2 <= limit:
        return Verdict(
            "sampler",
            True,
            f"pixel frequencies match the model's marginals (chi-square {chi2:.0f} on 784 pixels)",
            chi2,
        )
    if (x == x[:1]).all():
        cause = "every sample is the same image: the pixels are thresholded (p > 0.5), not drawn"
    elif chi2_against(model.marginals(flipped=True)) <= limit:
        cause = "a pixel is drawn 1 with probability 1 - p (the comparison u < p reversed)"
    elif chi2_against(model.marginals(fed_back=False)) <= limit:
        cause = "every pixel is drawn from the logits of an empty image: the draws are not fed back pixel by pixel"
    else:
        cause = "the samples are not drawn from the model (is each draw fed back before the next pixel?)"
    return Verdict(
        "sampler", False, f"{cause}; chi-square {chi2:.0f} on 784 pixels (expected 784 +- 40); {detail}", chi2
    )


def hole_masks(n: int = 4) -> torch.Tensor:
    """Four different holes, one per image (bool (n, 1, 28, 28), True = observed): the bottom half hidden, the top
    half, the right half, and half of the pixels at random. A batch with different holes is what catches an
    inpainting loop that redraws a pixel in every image when any image has a hole there."""
    known = torch.ones(4, *IMAGE_SHAPE, dtype=torch.bool)
    known[0, :, H // 2 :] = False
    known[1, :, : H // 2] = False
    known[2, :, :, W // 2 :] = False
    known[3] = torch.rand(IMAGE_SHAPE, generator=torch.Generator().manual_seed(5)) < 0.5
    return known[torch.arange(n) % 4]


def inpainting(
    inpaint: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor], network: nn.Module | None = None
) -> Verdict:
    """inpaint(network, x, known) must keep every observed pixel (known True) exactly and draw the hole pixels at
    random: four images with four different holes, twice with different seeds (by default on `MarkovChainPixels`,
    where every pixel is uncertain)."""
    model = network if network is not None else MarkovChainPixels()
    device = _device(model)
    x = _random_binary((4, *IMAGE_SHAPE), 0.3, seed=6).to(device)
    known = hole_masks(4).to(device)
    outs = []
    for seed in (0, 1):
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            outs.append(inpaint(model, x.clone(), known).detach().reshape(x.shape))
    out = outs[0]
    changed = (out != x) & known
    if changed.any():
        n, _, r, c = changed.nonzero()[0].tolist()
        return Verdict(
            "inpainting",
            False,
            f"changes {int(changed.sum())} of {int(known.sum())} observed pixels (first: image {n}, pixel ({r}, {c})): "
            "observed pixels must be kept exactly, only hole pixels drawn (does the loop redraw a pixel in every "
            "image when any image of the batch has a hole there?)",
            int(changed.sum()),
        )
    if not ((out == 0) | (out == 1)).all():
        return Verdict("inpainting", False, "the completions are not binary: each hole pixel is drawn as 0 or 1")
    if torch.equal(outs[0][~known], outs[1][~known]):
        return Verdict(
            "inpainting",
            False,
            "two runs with different seeds give the same completions: the hole pixels are thresholded or set to "
            "their most likely value, not drawn from p(x_i | x_<i)",
            0,
        )
    return Verdict(
        "inpainting",
        True,
        f"keeps all {int(known.sum())} observed pixels of 4 images with 4 different holes "
        "exactly, and draws the hole pixels at random",
        0,
    )


# ---------------------------------------------------------------------------------------------------- flows


def _transform_copy(transform: nn.Module, perturb: float, seed: int) -> nn.Module:
    """An eval-mode copy with every parameter moved by perturb * N(0, 1): couplings often start as the identity,
    where a wrong log-det and a right one agree."""
    clone = _frozen_copy(transform)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in clone.parameters():
            p.add_(perturb * torch.randn(p.shape, generator=generator).to(p))
    return clone


def _in_float64(transform: nn.Module, x: torch.Tensor) -> tuple[nn.Module, torch.Tensor, float]:
    """The transform and inputs in float64 if the transform runs in it (then tolerances are about the algebra),
    else float32; and the relative tolerance that goes with the precision."""
    try:
        double = copy.deepcopy(transform).double()
        with torch.no_grad():
            double(x[:1].double())
            double.inverse(double(x[:1].double())[0])
        return double, x.double(), 1e-8
    except (RuntimeError, TypeError):
        return transform, x.float(), 1e-4


def _sub_transforms(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The parts of a transform that are transforms themselves (they have `inverse`), with their paths; the
    transform itself excluded."""
    return [(name, m) for name, m in model.named_modules() if name and callable(getattr(m, "inverse", None))]


def _leaves(parts: list[tuple[str, nn.Module]]) -> list[tuple[str, nn.Module]]:
    """The parts that hold no other part: a coupling, the logit, not the composite of them."""
    return [(n, m) for n, m in parts if not any(o.startswith(n + ".") for o, _ in parts)]


def _calls(model: nn.Module, parts: list[tuple[str, nn.Module]], x: torch.Tensor) -> list[tuple[str, nn.Module, Any]]:
    """Run model(x) and record, in the order they ran, each part's input and the log-det it returned."""
    calls: list[tuple[str, nn.Module, Any]] = []

    def hook(module, inputs, output, name):
        log_det = output[1] if isinstance(output, tuple) and len(output) == 2 else None
        calls.append((name, module, (inputs[0].detach(), log_det.detach() if torch.is_tensor(log_det) else None)))

    handles = [m.register_forward_hook(lambda mod, i, o, name=n: hook(mod, i, o, name)) for n, m in parts]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return calls


def _log_det_error(log_det: float, log_abs_det: float, tolerance: float) -> str | None:
    """None if they agree; else the kind of disagreement in words."""
    if abs(log_det - log_abs_det) <= tolerance:
        return None
    if abs(log_det) <= tolerance:
        return f"is 0, but log|det J| is {log_abs_det:.6g}: the log-det is left out"
    if abs(log_det + log_abs_det) <= tolerance:
        return f"is {log_det:.6g} = -log|det J|: the wrong sign (the inverse's)"
    return f"is {log_det:.6g}, but log|det J| is {log_abs_det:.6g} (off by {log_det - log_abs_det:.6g})"


def flow_contract(
    transform: nn.Module, x: torch.Tensor, *, perturb: float = 0.05, seed: int = 0, samples: int = 2
) -> list[Verdict]:
    """The flow contract on inputs x (N, ...) from the transform's domain, with every parameter perturbed (so
    that couplings are not the identity), in float64 where the transform runs in it:

    - shapes: log_det (N,), z with as many entries per sample as x;
    - round trip: inverse(forward(x)) = x;
    - log-det against autograd: log_det = log|det dz/dx| from the full Jacobian's slogdet, for `samples` inputs;
      where it is wrong, each part that is a transform itself is checked alone, to name the culprit;
    - inverse log-det = -forward log-det."""
    model = _transform_copy(transform, perturb, seed)
    model, x, rtol = _in_float64(model, x)
    with torch.no_grad():
        z, log_det = model(x)
        x_back, log_det_back = model.inverse(z)
    n = x.shape[0]
    verdicts = []
    if tuple(log_det.shape) != (n,) or tuple(log_det_back.shape) != (n,):
        shapes = f"forward {tuple(log_det.shape)}, inverse {tuple(log_det_back.shape)}"
        return [Verdict("flow shapes", False, f"log_det must have shape (N,) = ({n},), got {shapes} (sum over dims)")]
    if z[0].numel() != x[0].numel():
        return [Verdict("flow shapes", False, f"z has {z[0].numel()} entries per sample, x {x[0].numel()}")]
    verdicts.append(Verdict("flow shapes", True, f"z {tuple(z.shape)}, log_det ({n},) both ways"))

    if not (torch.isfinite(z).all() and torch.isfinite(log_det).all()):
        bad = int((~torch.isfinite(z.reshape(n, -1)).all(1) | ~torch.isfinite(log_det)).sum())
        message = f"forward gives inf or NaN for {bad} of {n} inputs (exp(s) overflowing? an unbounded scale)"
        return [*verdicts, Verdict("round trip", False, message)]
    scale = x.abs().max().clamp_min(1).item()
    error = (x_back.reshape(x.shape) - x).abs().max().item() / scale
    round_trip_tol = 1e3 * rtol
    if error <= round_trip_tol:
        verdicts.append(Verdict("round trip", True, f"inverse(forward(x)) = x within {error:.1e} of x's range"))
    else:
        verdicts.append(
            Verdict("round trip", False, f"inverse(forward(x)) differs from x by {error:.3g} of x's range", error)
        )

    dims = x[0].numel()
    failures = []
    for k in range(min(samples, n)):
        jac = jacobian(lambda v: model(v)[0], x[k])
        sign, log_abs_det = torch.linalg.slogdet(jac)
        wrong = _log_det_error(log_det[k].item(), log_abs_det.item(), rtol * (dims + abs(log_abs_det.item())))
        if wrong:
            failures.append((k, wrong, log_abs_det.item()))
    if not failures:
        verdicts.append(
            Verdict(
                "log-det", True, f"log_det = log|det dz/dx| from autograd for {min(samples, n)} inputs ({dims} dims)"
            )
        )
    else:
        verdicts.append(Verdict("log-det", False, _blame(model, x[:1], failures[0], rtol)))

    gap = (log_det + log_det_back).abs()
    limit = rtol * (dims + log_det.abs())
    if (gap <= limit).all():
        verdicts.append(Verdict("inverse log-det", True, "inverse's log_det = -forward's"))
    else:
        k = int((gap - limit).argmax())
        verdicts.append(
            Verdict(
                "inverse log-det",
                False,
                f"forward's log_det {log_det[k].item():.6g}, inverse's {log_det_back[k].item():.6g}: they must cancel "
                "(the inverse's is log|det dx/dz| = -log|det dz/dx|)",
            )
        )
    return verdicts


def _blame(model: nn.Module, x: torch.Tensor, failure: tuple[int, str, float], rtol: float) -> str:
    """The whole transform's log-det is wrong: which part's is (each checked alone against autograd at the input
    it receives), or, if every part is right, which part's log-det the total leaves out."""
    k, wrong, log_abs_det = failure
    parts = _sub_transforms(model)
    message = f"the whole transform's log_det {wrong}."
    if not parts:
        return message
    calls = _calls(model, parts, x)
    leaves = {n for n, _ in _leaves(parts)}
    for name, module, (inputs, log_det) in calls:
        if name not in leaves or not torch.is_tensor(log_det) or log_det.numel() != inputs.shape[0]:
            continue
        jac = jacobian(lambda v, m=module: m(v)[0], inputs[0])
        part_log_abs_det = torch.linalg.slogdet(jac)[1].item()
        tolerance = rtol * (inputs[0].numel() + abs(part_log_abs_det))
        part_wrong = _log_det_error(log_det[0].item(), part_log_abs_det, tolerance)
        if part_wrong:
            return (
                f"{message} The first part that is wrong: {type(module).__name__} ({name}), whose log_det {part_wrong}"
            )
    with torch.no_grad():
        total = model(x)[1][0].item()
    missing = log_abs_det - total
    for name, module, (_, log_det) in calls:
        if torch.is_tensor(log_det) and abs(log_det.flatten()[0].item() - missing) <= rtol * (x.numel() + abs(missing)):
            part = f"{type(module).__name__} ({name})"
            return f"{message} Every part's log-det is right alone; the total leaves out {part}'s"
    return f"{message} Every part's log-det is right alone: the total does not add them up"


def every_dimension_transformed(transform: nn.Module, x: torch.Tensor, *, perturb: float = 0.05) -> Verdict:
    """In a stack of couplings every dimension must be transformed by some coupling: z_i depends on other inputs
    than x_i. A dimension whose z_i depends on x_i alone passed through every coupling unchanged (masks that do not
    alternate). For the whole transform; one coupling alone leaves half of the dimensions unchanged by design."""
    model, x, _ = _in_float64(_transform_copy(transform, perturb, 0), x)
    jac = jacobian(lambda v: model(v)[0], x[0])
    others = (jac != 0).sum(1) - (jac.diagonal() != 0).long()
    untouched = (others == 0).nonzero().flatten()
    dims = jac.shape[0]
    if untouched.numel() == 0:
        return Verdict("every dimension transformed", True, f"each of the {dims} outputs depends on other inputs too")
    pattern = ""
    if dims == PIXELS:
        rows, cols = untouched // W, untouched % W
        parity = (rows + cols) % 2
        if untouched.numel() == PIXELS // 2 and (parity == parity[0]).all():
            pattern = f" (the checkerboard squares with (row + col) % 2 == {int(parity[0])})"
    return Verdict(
        "every dimension transformed",
        False,
        f"{untouched.numel()} of {dims} dimensions{pattern} pass through every coupling unchanged: z_i depends on "
        "x_i alone. The couplings' masks do not alternate, so half of the pixels are never modelled",
        untouched,
    )


def scale_bounded(transform: nn.Module, x: torch.Tensor, *, size: float = 1e3, perturb: float = 0.05) -> Verdict:
    """Each part with parameters (a coupling), fed inputs of size `size` and ten times that where it sits in the
    transform: a bounded log-scale (e.g. s = a tanh(s_raw)) saturates, so its log-det levels off; an unbounded one
    grows with the input (a ReLU network is close to linear far out), and exp(s) overflows: training can then
    diverge to NaN or inf once the network's outputs grow."""
    model = _transform_copy(transform, perturb, 0)
    parts = [(n, m) for n, m in _leaves(_sub_transforms(model)) if any(True for _ in m.parameters())]
    if parts:
        calls = _calls(model, parts, x[:1])
    elif any(True for _ in model.parameters()):  # a coupling on its own
        calls = [("", model, (x[:1], None))]
    else:
        return Verdict("bounded scale", None, "found no part with parameters to feed large inputs")
    generator = torch.Generator().manual_seed(7)
    largest = 0.0
    for name, module, (inputs, _) in calls:
        direction = torch.randn((2, *inputs.shape[1:]), generator=generator).to(inputs)
        dims = inputs[0].numel()
        with torch.no_grad():
            near, far = (module(factor * direction)[1].abs().max().item() / dims for factor in (size, 10 * size))
        label = f"{type(module).__name__} ({name or 'the transform'})"
        unbounded = not math.isfinite(far) or (far > 3 * max(near, 0.1) and far > 1)
        if unbounded:
            growth = f"{near:.3g} at inputs of size {size:g}, {far:.3g} at {10 * size:g}"
            return Verdict(
                "bounded scale",
                False,
                f"{label}: |log_det| per dimension grows with the input ({growth}): the scale is unbounded, exp(s) "
                "can overflow; bound it (s = a tanh(s_raw)) or training can diverge to NaN",
                (near, far),
            )
        largest = max(largest, near, far)
    return Verdict(
        "bounded scale",
        True,
        f"|log_det| levels off at {largest:.2g} per dimension or less for inputs of size {size:g} and {10 * size:g}",
    )


def pixel_inputs(n: int = 4, seed: int = 0) -> torch.Tensor:
    """Dequantized pixels for a Real NVP transform, (n, 784) in [0, 256): random images, the last two all 0 and all
    255 (the log-det against autograd is checked on the first ones: at the ends of the range the logit's Jacobian
    is so ill-conditioned that slogdet itself loses digits)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, PIXELS), generator=generator).float()
    if n >= 4:
        x[-2], x[-1] = 0.0, 255.0
    return x + torch.rand(n, PIXELS, generator=generator) * (1 - 2**-10)


# ------------------------------------------------------------------------------------------------- bundles


def pixelcnn_checks(
    network: nn.Module,
    *,
    nll: Callable[[nn.Module, torch.Tensor], float] | None = None,
    sample: Callable[[nn.Module, int], torch.Tensor] | None = None,
    inpaint: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> list[Verdict]:
    """Every PixelCNN check that the arguments allow: causality, mask types and normalisation of the network; the
    NLL function's units; the sampler's marginals; inpainting."""
    verdicts = [causality(network), mask_types(network), normalisation(network)]
    if nll is not None:
        verdicts.append(nll_units(nll))
    if sample is not None:
        verdicts.append(sampler(sample))
    if inpaint is not None:
        verdicts.append(inpainting(inpaint))
    return verdicts


def realnvp_checks(
    transform: nn.Module,
    x: torch.Tensor | None = None,
    *,
    bits_per_dim: Callable[[nn.Module, torch.Tensor], float] | None = None,
    loss: Callable[[nn.Module, torch.Tensor], Any] | None = None,
) -> list[Verdict]:
    """Every Real NVP check that the arguments allow: the flow contract, every dimension transformed and a bounded
    scale for the transform (on dequantized pixels by default); the bits/dim function's units and dequantization;
    the training loss's dequantization."""
    x = pixel_inputs() if x is None else x
    verdicts = flow_contract(transform, x)
    verdicts += [every_dimension_transformed(transform, x), scale_bounded(transform, x)]
    if bits_per_dim is not None:
        verdicts += [bits_per_dim_units(bits_per_dim), dequantization(bits_per_dim, "the bits/dim function")]
    if loss is not None:
        verdicts.append(dequantization(loss, "the training loss"))
    return verdicts
