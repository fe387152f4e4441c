"""Beyond programming Q1: a PixelCNN that also sees every observed pixel and is told a digit.

`ConditionalPixelCNN` is `pixelcnn.PixelCNN` (the same layers, same names) plus `ConditionNet`, an unmasked network
of the observed image (x * known, known) and a digit y, whose features enter as a bias after the input layer and
after the last block. logit_i is then a function of x_<i, of every observed pixel wherever it is, and of y:

    p(x_hole | x_observed, y) = prod over hole pixels i, in raster order, of p(x_i | x_<i, x_observed, y).

With nothing observed and no digit told, the bias depends on the position only and the model is an ordinary PixelCNN
of p(x) (`log_prob`, and every function of `pixelcnn` that calls `model(x)`). Two label mixtures build on it, both
exact in ten passes: inpainting, p(x_hole | x_obs) = sum_y r(y | x_obs) p(x_hole | x_obs, y) with r the recogniser
(`mixture_hole_log_prob`), and generation, p(x) = sum_y pi(y) p(x | y) (`label_mixture_log_prob`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from . import pixelcnn
from .data import eval_binarization, fresh_binarization
from .holes import training_holes
from .pixelcnn import (
    PixelCNN,
    PixelCNNConfig,
    PixelCNNSpec,
    check_binary_images,
    check_known_mask,
    test_nll,
    train_pixelcnn,
)
from .randomness import seeded
from .recogniser import Recogniser, RecogniserSpec, train_recogniser
from .runs import train_or_load
from .training import History, TrainConfig


class ConditionNet(nn.Module):
    """What is observed, seen without a mask: (x * known, known) (N, 2, 28, 28) -> features (N, C, 28, 28).

    A full-resolution 3 x 3 layer for local detail, plus a path that halves the resolution twice (to 7 x 7), mixes
    there with two 3 x 3 layers and a summary of the whole grid (its mean, through a linear layer), and comes back
    up: every output position depends on every observed pixel. Beside it, the recogniser (`recogniser.Recogniser`,
    pretrained and frozen) names the digit that the observed pixels suggest. The digit enters twice: as a learned
    7 x 7 map per digit (`digit_map`, where that digit's strokes lie), added before the 7 x 7 layers so that they mix
    it with what is observed, and embedded in the summary. The map is what lets a network told y with nothing
    observed draw a y from the first pixel on: a bias that is the same at every position cannot say where the ink
    goes. Hole pixels enter as 0 with known = 0, so nothing here depends on a hole pixel's value.

    `labels` (N,) int: where labels[n] >= 0, that digit is embedded as a certainty (one-hot) in place of the
    recogniser's probabilities; -1 keeps them.
    """

    def __init__(self, channels: int, width: int) -> None:
        super().__init__()
        self.local = nn.Conv2d(2, channels, 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(channels, channels, 3, stride=2, padding=1) for _ in range(2))
        self.coarse = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(2))
        self.summary = nn.Linear(channels, channels)
        self.recognise = Recogniser(width)  # which digit the observed pixels suggest: r(y | x_obs)
        self.digit_map = nn.Parameter(torch.zeros(10, channels, 7, 7))  # per digit, a bias at each 7 x 7 cell
        self.embed = nn.Linear(10, channels)

    def forward(self, x: torch.Tensor, known: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Features (N, C, 28, 28) of the observed pixels of x (N, 1, 28, 28), told `labels` (N,) if given."""
        local = F.relu(self.local(torch.cat([x * known, known.to(x.dtype)], dim=1)))
        h = local
        for conv in self.down:
            h = F.relu(conv(h))
        digit = label_probabilities(self.recognise(x, known), labels)  # (N, 10)
        h = h + torch.einsum("nk,kchw->nchw", digit.to(h.dtype), self.digit_map.to(h.dtype))
        for conv in self.coarse:
            h = h + F.relu(conv(h))
        summary = F.relu(self.summary(h.mean(dim=(2, 3)))) + self.embed(digit)
        h = h + summary[:, :, None, None]  # the whole image and its likely digit, at every cell
        return local + F.interpolate(h, size=local.shape[2:], mode="nearest")


def label_probabilities(class_logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """(N, 10): the recogniser's probabilities softmax(class_logits), replaced by one-hot(labels[n]) wherever
    labels[n] >= 0."""
    probs = class_logits.softmax(1)
    if labels is None:
        return probs
    told = F.one_hot(labels.clamp_min(0), 10).to(probs)
    return torch.where((labels >= 0)[:, None], told, probs)


@dataclass(frozen=True)
class ConditionConfig:
    """The conditioning network's sizes; the defaults are the default profile's."""

    channels: int = 16  # of ConditionNet's features
    recogniser_width: int = 16  # of its digit recogniser (`recogniser.Recogniser`)


class ConditionalPixelCNN(PixelCNN):
    """`PixelCNN` plus `ConditionNet`: forward(x, known=None, labels=None) -> logits (N, 1, H, W) of
    p(x_i | x_<i, x_observed, y). known: bool, x's shape (None: nothing observed); labels (N,): the digit each image
    is told (-1 or None: the recogniser's probabilities instead)."""

    def __init__(self, config: PixelCNNConfig | None = None, condition: ConditionConfig | None = None) -> None:
        super().__init__(config)
        self.condition_config = condition = condition or ConditionConfig()
        self.condition = ConditionNet(condition.channels, condition.recogniser_width)
        # both conditioning biases (after the input layer, after the last block) from one 1 x 1 convolution
        self.condition_bias = nn.Conv2d(condition.channels, 2 * self.config.channels, 1)

    def forward(
        self, x: torch.Tensor, known: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        check_binary_images(x)
        if known is not None:
            check_known_mask(x, known)
        if labels is not None:
            check_labels(labels, x.shape[0])
        return self.logits(x, known, labels)

    def logits(
        self, x: torch.Tensor, known: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.head(stage_outputs(self, x, self.condition_features(x, known, labels))[-1])

    def condition_features(
        self, x: torch.Tensor, known: torch.Tensor | None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`ConditionNet` features (N, C_c, H, W) of the observed pixels (none when `known` is None), told `labels`."""
        return self.condition(x, torch.zeros_like(x, dtype=torch.bool) if known is None else known, labels)

    def class_log_posterior(self, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """log r(y | x_observed), (N, 10): the recogniser's log-probabilities of the ten digits, a function of the
        observed pixels only (the label mixture draws its label from it)."""
        return self.condition.recognise(x, known).log_softmax(1)


def stage_outputs(model: PixelCNN, x: torch.Tensor, features: torch.Tensor | None) -> list[torch.Tensor]:
    """The hidden state (N, channels, H, W) after the input layer and after each block of a PixelCNN, the
    conditioning biases of `features` (a `ConditionalPixelCNN`'s, or None) added after the first and the last:
    n_blocks + 1 tensors; the head turns the last into logits."""
    first, last = (None, None) if features is None else model.condition_bias(features).chunk(2, dim=1)
    h = model.input(x)
    outputs = [h if first is None else h + first]
    for block in model.blocks:
        outputs.append(block(outputs[-1]))
    if last is not None:
        outputs[-1] = outputs[-1] + last
    return outputs


def check_labels(labels: torch.Tensor, n: int) -> None:
    """Raise ValueError unless labels is an int tensor (n,) with values in -1..9 (-1: no label told)."""
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long or labels.shape != (n,):
        got = f"{labels.dtype} {tuple(labels.shape)}" if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels must be a long tensor ({n},) of digits 0-9, or -1 for none; got {got}")
    if bool(((labels < -1) | (labels > 9)).any()):
        raise ValueError("labels must be digits 0-9, or -1 for none")


def check_label_prior(label_prior: torch.Tensor) -> None:
    """Raise ValueError unless `label_prior` is 10 finite non-negative probabilities that sum to 1."""
    if not isinstance(label_prior, torch.Tensor) or label_prior.shape != (10,):
        got = tuple(label_prior.shape) if isinstance(label_prior, torch.Tensor) else type(label_prior).__name__
        raise ValueError(f"label_prior must be a tensor of 10 probabilities (one per digit), got {got}")
    if not bool(torch.isfinite(label_prior).all()) or bool((label_prior < 0).any()):
        raise ValueError(f"label_prior must be finite and non-negative, got {label_prior.tolist()}")
    if not torch.isclose(label_prior.sum(), torch.tensor(1.0, dtype=label_prior.dtype)):
        raise ValueError(f"label_prior must sum to 1, got {label_prior.sum().item():.6g}")


# ------------------------------------------------------------------------------------------------- likelihoods


def pixel_log_probs(
    model: ConditionalPixelCNN,
    x: torch.Tensor,
    known: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """log p(x_i | x_<i, x_observed, y) of every pixel, (N, 1, H, W)."""
    return pixelcnn.pixel_log_probs(Told(model, known, labels), x)


def hole_log_prob(
    model: ConditionalPixelCNN, x: torch.Tensor, known: torch.Tensor, *, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """log p(x_hole | x_observed) in nats, (N,): the sum over hole pixels of log p(x_i | x_<i, x_observed), told the
    digits `labels` (N,) if given."""
    return (pixel_log_probs(model, x, known, labels) * ~known).flatten(1).sum(1)


def raster_hole_log_prob(model: PixelCNN, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """log p(x_hole | x_before) in nats, (N,), of a model used as a plain PixelCNN (`model(x)`, nothing observed):
    the raster-order likelihood of the hole given the pixels before each hole pixel only."""
    check_known_mask(x, known)
    return (pixelcnn.pixel_log_probs(model, x) * ~known).flatten(1).sum(1)


def told_log_probs(model: ConditionalPixelCNN, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """log p(x_hole | x_observed, y) for each digit y, in nats, (N, 10): the network told y, ten passes."""
    check_known_mask(x, known)
    return torch.stack(
        [hole_log_prob(model, x, known, labels=torch.full((x.shape[0],), y, device=x.device)) for y in range(10)], 1
    )


def mixture_hole_log_prob(model: ConditionalPixelCNN, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """log p(x_hole | x_observed) of the label mixture, in nats, (N,), exact (ten passes):

        p(x_hole | x_obs) = sum over y of r(y | x_obs) p(x_hole | x_obs, y),

    r the recogniser (`ConditionalPixelCNN.class_log_posterior`), p(. | x_obs, y) the network told digit y. Both
    factors see the observed pixels only, so the mixture is a proper distribution over the hole."""
    return torch.logsumexp(model.class_log_posterior(x, known) + told_log_probs(model, x, known), dim=1)


def label_mixture_log_prob(model: ConditionalPixelCNN, x: torch.Tensor, label_prior: torch.Tensor) -> torch.Tensor:
    """log p(x) of the label mixture, in nats, (N,), exact (ten passes), for binary images x (N, 1, 28, 28):

        p(x) = sum over y of pi(y) p(x | y),

    pi = `label_prior` (10,), the training digits' label frequencies (`data.label_frequencies`), and p(x | y) the
    conditional network told y with every pixel a hole: a class-conditional PixelCNN."""
    check_label_prior(label_prior)
    nothing = torch.zeros_like(x, dtype=torch.bool)
    return torch.logsumexp(label_prior.log().to(x) + told_log_probs(model, x, nothing), dim=1)


def mixture_nll_per_image(
    model: ConditionalPixelCNN, binary_images: torch.Tensor, label_prior: torch.Tensor, batch_size: int = 100
) -> torch.Tensor:
    """-log p(x) of the label mixture (`label_mixture_log_prob`) in nats, (N,), of binary images (N, 1, 28, 28):
    `pixelcnn.nll_per_image` of the mixture."""
    check_label_prior(label_prior)
    return pixelcnn.nll_per_image(_LabelMixture(model, label_prior), binary_images, batch_size)


class _LabelMixture(nn.Module):
    """The label mixture as a model of x: log_prob(x) = `label_mixture_log_prob` with the prior on x's device."""

    def __init__(self, model: ConditionalPixelCNN, label_prior: torch.Tensor) -> None:
        super().__init__()
        self.model, self.label_prior = model, label_prior

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return label_mixture_log_prob(self.model, x, self.label_prior.to(x.device))


class Told(nn.Module):
    """The conditional network with the observed pixels `known` and the digits `labels` fixed, as a model of x alone:
    forward(x) -> logits of p(x_i | x_<i, x_observed, y). `pixelcnn.inpaint(Told(model, known, labels), x, known)`
    is conditional inpainting by its definition (the whole network once per hole pixel)."""

    def __init__(self, model: ConditionalPixelCNN, known: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        super().__init__()
        self.model, self.known, self.labels = model, known, labels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, self.known, self.labels)


# ------------------------------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class ConditionalSpec:
    """Everything that makes a trained conditional PixelCNN. The defaults are the default profile's."""

    name: str  # names the checkpoint file: conditional-<name>.pt
    model: PixelCNNConfig = field(default_factory=PixelCNNConfig)
    condition: ConditionConfig = field(default_factory=ConditionConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # the digit recogniser, trained first on its own, then frozen in ConditionNet
    recogniser: RecogniserSpec = field(default_factory=lambda: RecogniserSpec("default", TrainConfig()))
    # the fraction of training digits with every pixel a hole (there it learns p(x), or p(x | y) when told y); the
    # others get a hole from `holes.training_holes`
    p_all_holes: float = 0.5
    # the fraction of training digits told their true label (one-hot, in place of the recogniser's probabilities):
    # the network learns p(x_hole | x_obs, y), the label mixture's component
    p_label_fed: float = 0.75
    # start from the trained plain PixelCNN of this spec (its layers; the conditioning network starts fresh)
    start: PixelCNNSpec | None = None
    eval_images: int = 2000  # test images for the evaluations during training (the reported NLL uses all 10000)

    def __post_init__(self) -> None:
        if not 0 <= self.p_all_holes <= 1 or not 0 <= self.p_label_fed <= 1:
            raise ValueError(
                f"p_all_holes and p_label_fed must be in [0, 1], got {self.p_all_holes}, {self.p_label_fed}"
            )
        if self.start is not None and self.start.model != self.model:
            raise ValueError(
                f"the plain PixelCNN to start from ({self.start.model}) must be this network ({self.model})"
            )
        if self.recogniser.width != self.condition.recogniser_width:
            raise ValueError(
                f"the recogniser spec's width ({self.recogniser.width}) must be the condition's recogniser_width "
                f"({self.condition.recogniser_width})"
            )


def conditional_loss(
    model: ConditionalPixelCNN,
    batch: tuple[torch.Tensor, torch.Tensor],
    *,
    p_all_holes: float,
    p_label_fed: float,
) -> torch.Tensor:
    """Negative log-likelihood of the hole pixels of a fresh stochastic binarization of the images, in nats per
    pixel (summed over hole pixels, divided by all pixels).

    batch: uint8 images (N, 1, 28, 28) and their labels (N,). Every random draw comes from the training stream: a new
    binarization each time a digit is seen; a hole per digit (`holes.training_holes`, every pixel for a fraction
    `p_all_holes`), and for a fraction `p_label_fed` its true label, told."""
    images, labels = batch
    x = fresh_binarization(images)
    known = training_holes(x.shape[0], p_all=p_all_holes).to(x.device)
    told = torch.rand(x.shape[0], device=x.device) < p_label_fed
    labels = torch.where(told, labels, torch.full_like(labels, -1))
    nll = F.binary_cross_entropy_with_logits(model(x, known, labels).float(), x, reduction="none")
    return (nll * ~known).sum() / x.numel()


def train_conditional(
    spec: ConditionalSpec,
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    device: torch.device | str = "cpu",
    *,
    retrain: bool = False,
) -> tuple[ConditionalPixelCNN, History]:
    """Train (or load the finished run saved for this spec) a conditional PixelCNN on (uint8 training digits
    (N, 1, 28, 28), labels (N,)): before its first step, its recogniser (trained or loaded, then frozen) and with
    `spec.start` the plain PixelCNN whose layers it starts from (trained or loaded); then the network with
    `conditional_loss`. A finished run is loaded without either. `retrain` retrains the conditional network only.

    Evaluations during training: the untold NLL (every pixel a hole, nothing told) of the first `spec.eval_images`
    test digits and of as many training digits, both binarized with evaluation seed 0."""
    with seeded("init", spec.train.seed):
        model = ConditionalPixelCNN(spec.model, spec.condition)
    model.condition.recognise.requires_grad_(False)

    def prepare() -> None:  # before training only: a finished run loads every weight from its own checkpoint
        recogniser, _ = train_recogniser(spec.recogniser, train_data, test_data, device)
        if spec.start is not None:
            plain, _ = train_pixelcnn(spec.start, train_data[0], test_data[0], device)
            start_from(model, plain)
        model.condition.recognise.load_state_dict(recogniser.state_dict())

    eval_test = eval_binarization(test_data[0][: spec.eval_images])
    eval_train = eval_binarization(train_data[0][: spec.eval_images])
    eval_fn = lambda m: {"train_nll": test_nll(m, eval_train), "test_nll": test_nll(m, eval_test)}  # noqa: E731
    loss = functools.partial(conditional_loss, p_all_holes=spec.p_all_holes, p_label_fed=spec.p_label_fed)
    return train_or_load(model, "conditional", spec, loss, train_data, eval_fn, device, retrain, prepare)


def start_from(model: ConditionalPixelCNN, plain: PixelCNN) -> None:
    """Copy a trained plain PixelCNN's layers (input, blocks, head) into `model`, and zero the 1 x 1 layer that adds
    the conditioning network's features: the model starts as the plain PixelCNN exactly, and learns from there what
    the observed pixels and the told digit add (the conditioning network itself keeps its fresh weights)."""
    if plain.config != model.config:
        raise ValueError(f"not the same network: the plain PixelCNN is {plain.config}, this one {model.config}")
    model.load_state_dict(plain.state_dict(), strict=False)  # the same config: every plain key is there, same shape
    nn.init.zeros_(model.condition_bias.weight)
    nn.init.zeros_(model.condition_bias.bias)
