"""How good are the inpaintings? Every method and baseline on the same test digits and holes, with 95% intervals.

For each hole family, on `digits` random test digits (stochastically binarized with an evaluation seed: the domain
the PixelCNN is trained on), each method draws S completions per digit (`inpainting`), and per digit:

- agree: the fraction of its completions that the MNIST classifier labels with the digit's true label;
- vote: whether the majority label of its S completions is the true label (the label the method's posterior
  favours: the fair comparison with the nearest-neighbour baseline, which picks one mode);
- pixels: the fraction of hole pixels equal to the true ones;
- nll: -log of the true hole under the method's distribution, in nats, exact: for raster (its raster-order
  proposal) and conditional (its label mixture, ten passes);
- nll_estimate, for sir only: -log p(x) + log p^(x_obs), with log p^(x_obs) the importance-sampling estimate from
  its K candidates (an estimate; it errs low, in sir's favour, so it is not comparable with the exact ones);
- diversity: the mean Hamming distance between two of its S completions, over the hole;

then the mean over digits and the half-width of its normal 95% interval. Context rows: the classifier on the
original digits, and per family a row "10-NN vote / floor": a k-nearest-neighbour vote (k = 10) on the observed
pixels alone (how much label information they carry) and, in the nll column, the binarization-noise floor, the sum
over hole pixels of H(v_i), the entropy in nats of a Bernoulli with the digit's grey level v_i: the expected NLL of
a model that knew the grey image. No model of the hole can expect less.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from . import inpainting
from .classifier import predict
from .conditional import ConditionalPixelCNN, mixture_hole_log_prob
from .data import binarize, eval_binarization
from .holes import HOLE_KINDS, UNSEEN, hole_mask
from .intervals import mean_and_interval
from .pixelcnn import PixelCNN, pixel_log_probs
from .randomness import generator

Row = dict[str, Any]
KNN = 10
CONTEXT = f"{KNN}-NN vote / floor"  # the context row of a family: the k-NN vote, the noise floor
ORIGINAL = "original digits (binarized)"  # the classifier on the evaluation's digits themselves, no hole


@dataclass(frozen=True)
class InpaintingEvalSpec:
    """The size of an inpainting evaluation."""

    digits: int  # random test digits
    samples: int = 8  # S, completions per digit and method (>= 8 for a majority vote)
    candidates: int = 8  # K, raster completions per digit that sir weighs (raster's S are the first S of them)
    kinds: tuple[str, ...] = HOLE_KINDS
    seed: int = 0  # of the digits, their binarization, the hole masks and the sampling

    def __post_init__(self) -> None:
        if self.candidates < self.samples:
            raise ValueError(f"candidates (K = {self.candidates}) must be at least samples (S = {self.samples})")


def majority(labels: torch.Tensor) -> torch.Tensor:
    """The most frequent label of each row of labels (N, S), the smallest on ties: (N,)."""
    counts = torch.nn.functional.one_hot(labels, 10).sum(1)
    return counts.argmax(1)


def diversity(completions: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Mean Hamming distance over hole pixels between two of the S completions of each image, (N,).

    With c ones among S draws at a pixel, S - c zeros: c (S - c) of the S (S - 1) / 2 pairs differ there."""
    s = completions.shape[1]
    ones = completions.flatten(2).sum(1) * (~known).flatten(1)  # (N, P), hole pixels only
    return (ones * (s - ones)).sum(1) / (s * (s - 1) / 2)


def noise_floor(grey: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """sum over hole pixels of the Bernoulli entropy H(v_i) in nats, (N,), for uint8 grey digits (N, 1, H, W): the
    expected -log p of a stochastic binarization's hole under the binarization itself."""
    v = grey.double() / 255.0
    entropy = -(torch.special.xlogy(v, v) + torch.special.xlogy(1 - v, 1 - v))
    return (entropy * ~known.to(entropy.device)).flatten(1).sum(1)


def in_chunks(
    fn: Callable[..., torch.Tensor], model: PixelCNN, *tensors: torch.Tensor, size: int = 100
) -> torch.Tensor:
    """fn(model, *tensors) computed on `size` images at a time and concatenated: a whole-network pass over a
    thousand digits at once is slower on a CPU than in batches (its activations no longer fit in the caches)."""
    return torch.cat([fn(model, *chunk) for chunk in zip(*(t.split(size) for t in tensors), strict=True)])


def _row(kind: str, method: str, **values: Any) -> Row:
    """A table row: each per-digit tensor as [mean, 95% half-width]; the per-digit votes (0 or 1) kept as "votes", so
    that two methods on the same digits compare by their paired difference (`paired_difference`)."""
    row: Row = {"holes": kind, "seen": kind not in UNSEEN, "method": method}
    for name, value in values.items():
        row[name] = list(mean_and_interval(value)) if isinstance(value, torch.Tensor) else value
    if isinstance(values.get("vote"), torch.Tensor):
        row["votes"] = values["vote"].int().tolist()
    return row


def paired_difference(a: Row, b: Row) -> tuple[float, float]:
    """The mean of a's per-digit votes minus b's on the same digits, and its 95% half-width."""
    if len(a["votes"]) != len(b["votes"]):
        raise ValueError(f"not the same digits: {len(a['votes'])} votes against {len(b['votes'])}")
    return mean_and_interval(torch.tensor(a["votes"]) - torch.tensor(b["votes"]))


def _scores(judge, completions: torch.Tensor, truth: torch.Tensor, known: torch.Tensor, labels: torch.Tensor):
    """agree, vote, pixels (each (N,)) and diversity (N,) or None of completions (N, S, 1, H, W)."""
    n, s = completions.shape[:2]
    predicted = predict(judge, completions.flatten(0, 1)).view(n, s).cpu()
    labels = labels.cpu()
    hole = (~known).flatten(1).cpu()
    same = (completions.flatten(2).cpu() == truth.flatten(1).cpu()[:, None]) & hole[:, None]
    return {
        "agree": (predicted == labels[:, None]).float().mean(1),
        "vote": (majority(predicted) == labels).float(),
        "pixels": same.float().sum(2).mean(1) / hole.sum(1).clamp_min(1),
        "diversity": diversity(completions.cpu(), known.cpu()) if s > 1 else None,
    }


def nearest_baselines(
    truth: torch.Tensor, known: torch.Tensor, train_binary: torch.Tensor, train_labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two baselines that read the training set, for binary digits truth (N, 1, 28, 28) with observed pixels
    `known`: each digit with its hole copied from the training digit nearest on the observed pixels (N, 1, 28, 28),
    and the majority label of the KNN nearest (N,)."""
    neighbours = inpainting.nearest_training_digits(truth, known, train_binary, k=KNN).cpu()
    donors = train_binary[neighbours[:, 0]].to(truth)
    return torch.where(known, truth, donors), majority(train_labels[neighbours])


@torch.no_grad()
def evaluate_family(
    model: PixelCNN,
    judge,
    truth: torch.Tensor,
    labels: torch.Tensor,
    train_binary: torch.Tensor,
    train_labels: torch.Tensor,
    kind: str,
    spec: InpaintingEvalSpec,
    grey: torch.Tensor,
) -> list[Row]:
    """The rows of one hole family; truth: binary test digits (N, 1, 28, 28) on the model's device, labels (N,),
    grey: the uint8 digits (N, 1, 28, 28) they were binarized from."""
    known = hole_mask(kind, truth.shape[0], seed=spec.seed).to(truth.device)
    rows = []

    def add(method: str, completions: torch.Tensor, seconds: float, **extra: Any) -> None:
        scores = {k: v for k, v in _scores(judge, completions, truth, known, labels).items() if v is not None}
        rows.append(_row(kind, method, **scores, seconds=seconds, **extra))

    start = time.perf_counter()
    add("black", inpainting.black(truth, known), time.perf_counter() - start)
    start = time.perf_counter()
    nearest, knn_label = nearest_baselines(truth, known, train_binary, train_labels)
    add("nearest", nearest.unsqueeze(1), time.perf_counter() - start)
    knn = (knn_label == labels.cpu()).float()
    rows.append(_row(kind, CONTEXT, vote=knn, nll=noise_floor(grey, known.cpu())))

    start = time.perf_counter()
    sampling = generator("sampling", spec.seed)
    drawn = inpainting.sir(model, truth, known, samples=spec.samples, candidates=spec.candidates, generator=sampling)
    seconds = time.perf_counter() - start
    log_p = in_chunks(pixel_log_probs, model, truth).flatten(1).cpu()  # the model as a plain PixelCNN, one pass
    raster_nll = -(log_p * (~known).flatten(1).cpu()).sum(1)  # exact: raster draws the hole from these terms
    add("raster", drawn.candidates[:, : spec.samples], seconds, nll=list(mean_and_interval(raster_nll)))
    joint_nll = -(log_p.sum(1) - drawn.log_evidence())  # -log p(x) + log p^(x_obs): an estimate that errs low
    ess = list(mean_and_interval(drawn.effective_sample_size()))
    add("sir", drawn.completions, seconds, nll_estimate=list(mean_and_interval(joint_nll)), ess=ess)

    if isinstance(model, ConditionalPixelCNN):
        rows += conditional_rows(model, judge, truth, labels, known, kind, spec)
    return rows


@torch.no_grad()
def conditional_rows(
    model: ConditionalPixelCNN,
    judge,
    truth: torch.Tensor,
    labels: torch.Tensor,
    known: torch.Tensor,
    kind: str,
    spec: InpaintingEvalSpec,
) -> list[Row]:
    """The row of the conditional model's label mixture in one hole family, `known` its holes (the sampling seed of
    `evaluate_family`)."""
    start = time.perf_counter()
    sampling = generator("sampling", spec.seed)
    completions = inpainting.conditional(model, truth, known, samples=spec.samples, generator=sampling)
    seconds = time.perf_counter() - start
    nll = -in_chunks(mixture_hole_log_prob, model, truth, known).cpu()
    scores = {k: v for k, v in _scores(judge, completions, truth, known, labels).items() if v is not None}
    return [_row(kind, "conditional", **scores, seconds=seconds, nll=list(mean_and_interval(nll)))]


def evaluation_digits(
    test_images: torch.Tensor, test_labels: torch.Tensor, digits: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The evaluation's `digits` random test digits: (grey uint8 images (N, 1, 28, 28), labels (N,), their binarization
    with evaluation seed `seed` (N, 1, 28, 28)). The first n of a larger draw are the draw of n."""
    order = torch.randperm(len(test_images), generator=generator("subsets", seed))[:digits]
    grey = test_images[order]
    return grey, test_labels[order], eval_binarization(grey, seed)


@torch.no_grad()
def evaluate(
    model: PixelCNN,
    judge,
    test_images: torch.Tensor,
    test_labels: torch.Tensor,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    spec: InpaintingEvalSpec,
) -> list[Row]:
    """Every family of `spec` on `spec.digits` random test digits (uint8 images, labels); see the module docstring.
    The first row is the classifier on the original (binarized) digits."""
    device = next(model.parameters()).device
    grey, labels, truth = evaluation_digits(test_images, test_labels, spec.digits, spec.seed)
    truth = truth.to(device)
    train_binary = binarize(train_images, generator("baselines", spec.seed))
    original = (predict(judge, truth).cpu() == labels).float()
    rows = [_row("none", ORIGINAL, agree=original, vote=original)]
    for kind in spec.kinds:
        rows += evaluate_family(model, judge, truth, labels, train_binary, train_labels, kind, spec, grey)
    return rows


@torch.no_grad()
def evaluate_conditional(
    model: ConditionalPixelCNN, judge, test_images: torch.Tensor, test_labels: torch.Tensor, spec: InpaintingEvalSpec
) -> list[Row]:
    """The conditional model's row of every family of `spec`, on the digits, holes and sampling seed of `evaluate`
    (so its rows and `evaluate`'s of another model compare digit by digit)."""
    device = next(model.parameters()).device
    _, labels, truth = evaluation_digits(test_images, test_labels, spec.digits, spec.seed)
    truth = truth.to(device)
    rows = []
    for kind in spec.kinds:
        known = hole_mask(kind, truth.shape[0], seed=spec.seed).to(device)
        rows += conditional_rows(model, judge, truth, labels, known, kind, spec)
    return rows


def merge(rows: list[Row], more: list[Row]) -> list[Row]:
    """`rows` with the rows of `more` added after the last row of their hole family (families in `rows`' order)."""
    families = list(dict.fromkeys(r["holes"] for r in rows + more))
    return [r for family in families for r in rows + more if r["holes"] == family]


# ------------------------------------------------------------------------------------------------------ the table


def _cell(row: Row, key: str, scale: float = 100.0, digits: int = 1) -> str:
    if key not in row:
        return ""
    mean, half = row[key]
    return f"{scale * mean:.{digits}f} ± {scale * half:.{digits}f}"


# column key -> (header, scale, width of its separator dashes); percentages scaled by 100, nats and pixels not
COLUMNS = {
    "agree": ("agree %", 100.0, 11),
    "vote": ("vote %", 100.0, 11),
    "pixels": ("pixels %", 100.0, 10),
    "nll": ("hole NLL", 1.0, 10),
    "nll_estimate": ("SIR's NLL estimate", 1.0, 10),
    "diversity": ("diversity", 1.0, 10),
}


def table(
    rows: list[Row],
    candidates: int,
    columns: tuple[str, ...] = ("agree", "vote", "nll"),
    methods: tuple[str, ...] | None = None,
) -> str:
    """Markdown: one line per (family, method), the family named on its first line; the `columns` (keys of
    `COLUMNS`) with their 95% intervals; only the rows of `methods` (and the families' context rows) if given.
    Separator dashes in proportion to the column widths: pandoc sizes a wide table's columns by its dashes, so the
    table fits a printed page."""
    if methods is not None:
        rows = [r for r in rows if r["method"] in methods or r["method"] in (CONTEXT, ORIGINAL)]
    header = ["holes", "method"] + [COLUMNS[c][0] for c in columns]
    widths = [12, 18] + [COLUMNS[c][2] for c in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("-" * w for w in widths) + "|"]
    previous = None
    for r in rows:
        holes = r["holes"] + ("" if r["seen"] or r["holes"] == "none" else " (unseen)")
        method = r["method"] + (f" (K = {candidates}, ESS {r['ess'][0]:.1f})" if "ess" in r else "")
        cells = [_cell(r, c, COLUMNS[c][1]) for c in columns]
        lines.append(f"| {holes if holes != previous else ''} | {method} | " + " | ".join(cells) + " |")
        previous = holes
    return "\n".join(lines)


def paired_table(rows: list[Row], pairs: list[tuple[str, str]]) -> str:
    """Markdown: per hole family, each (method, against) pair's vote difference in points with its 95% interval,
    paired on the same digits (`paired_difference`); pairs missing from a family are skipped."""
    lines = ["| holes | method | against | vote difference (points, paired) |", "|---|---|---|---|"]
    for family in dict.fromkeys(r["holes"] for r in rows if r["holes"] != "none"):
        methods = {r["method"]: r for r in rows if r["holes"] == family}
        for a, b in pairs:
            if a in methods and b in methods:
                difference, half = paired_difference(methods[a], methods[b])
                lines.append(f"| {family} | {a} | {b} | {100 * difference:+.1f} ± {100 * half:.1f} |")
    return "\n".join(lines)
