"""r(y | x_observed): which digit the visible pixels of a partly hidden binary digit show.

The conditional PixelCNN is a label mixture, p(x_hole | x_obs) = sum over y of r(y | x_obs) p(x_hole | x_obs, y)
(`pixelcnn.mixture_hole_log_prob`); r is this small CNN. It is trained first, on its own, as a classifier of
stochastically binarized training digits with a random hole from the training family (`holes.training_holes`,
never every pixel), and then frozen inside the PixelCNN's `ConditionNet`. On its own it sees several times more
partial digits per second than as an auxiliary head of the PixelCNN (a step of it costs a small fraction of a
PixelCNN step), and frozen it costs the PixelCNN no backward pass (README, "Following the digit").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .cache import train_or_load
from .data import eval_binarization, fresh_binarization
from .holes import hole_mask, training_holes
from .training import History, TrainConfig


class Recogniser(nn.Module):
    """LeNet-style CNN of what is observed: (x * known, known) (N, 2, 28, 28) -> class logits (N, 10).

    No batch norm or dropout: each digit's output depends on that digit's observed pixels alone, in training too,
    which the PixelCNN's exact causality (tested per digit, by autograd over a batch) needs."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(2, width, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14 x 14
            nn.Conv2d(width, 2 * width, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 7 x 7
            nn.Flatten(),
            nn.Linear(2 * width * 7 * 7, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """Class logits (N, 10) of binary images x (N, 1, 28, 28) seen through `known` (bool, same shape)."""
        return self.body(torch.cat([x * known, known.to(x.dtype)], dim=1))


@dataclass(frozen=True)
class RecogniserSpec:
    """Everything that makes the trained recogniser."""

    name: str  # names the checkpoint file: recogniser-<name>.pt
    train: TrainConfig
    width: int = 16


def recogniser_loss(model: Recogniser, batch: tuple[torch.Tensor, torch.Tensor], bf16: bool = False) -> torch.Tensor:
    """Cross-entropy (nats) of the labels given a fresh stochastic binarization of uint8 images (N, 1, 28, 28) seen
    through a fresh training hole, both drawn from the training stream. `bf16`: the network's forward pass under
    bfloat16 autocast (benchmarks/bench_recogniser.py; the profiles train it in float32), the loss in float32."""
    images, labels = batch
    x = fresh_binarization(images)
    known = training_holes(x.shape[0], p_all=0.0).to(x.device)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(x, known)
    return F.cross_entropy(logits.float(), labels)


@torch.no_grad()
def observed_logits(model: Recogniser, images: torch.Tensor, kind: str = "top") -> torch.Tensor:
    """Class logits (N, 10), on the CPU, of uint8 test images (N, 1, 28, 28) binarized with evaluation seed 0 and
    seen through `kind` holes (`holes.hole_mask`, seed 0)."""
    model.eval()
    device = next(model.parameters()).device
    x = eval_binarization(images).to(device)
    return model(x, hole_mask(kind, len(images)).to(device)).cpu()


def accuracy(model: Recogniser, images: torch.Tensor, labels: torch.Tensor, kind: str = "top") -> float:
    """How often the recogniser names the digit of uint8 test images (N, 1, 28, 28) seen through `kind` holes
    (binarized with evaluation seed 0)."""
    return (observed_logits(model, images, kind).argmax(1) == labels).float().mean().item()


def label_nll(
    model: Recogniser, images: torch.Tensor, labels: torch.Tensor, kind: str = "top", temperature: float = 1.0
) -> float:
    """Mean -log r_T(y | x_obs) in nats of the true labels, r_T = softmax(logits / T), on the images of `accuracy`.
    The label mixture uses r as it is (T = 1): a calibrated r has its smallest label NLL at T = 1."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return F.cross_entropy(observed_logits(model, images, kind) / temperature, labels).item()


def train_recogniser(
    spec: RecogniserSpec,
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    device: torch.device | str = "cpu",
    retrain: bool = False,
    bf16: bool = False,
) -> tuple[Recogniser, History]:
    """Train (or load the finished run cached for this spec) on (uint8 images, labels); evaluations: the accuracy on
    the first 2000 test digits with the top half hidden (`history.evals[-1]["top_half_accuracy"]`). Those are
    harder than the test set as a whole: the default recogniser names 83 to 84% of them, 87.4 to 87.5% of all
    10000 (two notebook runs). `bf16`: forward passes under bfloat16 autocast (`recogniser_loss`); it is not part of
    the spec, so a finished run cached for the spec is loaded whatever its precision (retrain, or name the spec)."""
    test_images, test_labels = test_data[0][:2000], test_data[1][:2000]
    eval_fn = lambda m: {"top_half_accuracy": accuracy(m, test_images, test_labels)}  # noqa: E731
    model = Recogniser(spec.width)
    loss_fn = functools.partial(recogniser_loss, bf16=bf16)
    return train_or_load(model, "recogniser", spec, loss_fn, train_data, eval_fn, device, retrain)
