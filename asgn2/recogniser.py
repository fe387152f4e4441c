"""r(y | x_observed): which digit the visible pixels of a partly hidden binary digit show.

The conditional PixelCNN is a label mixture, p(x_hole | x_obs) = sum over y of r(y | x_obs) p(x_hole | x_obs, y)
(`pixelcnn.mixture_hole_log_prob`); r is this small CNN. It is trained first, on its own, as a classifier of
stochastically binarized training digits with a random hole from the training family (`holes.training_holes`,
never every pixel), and then frozen inside the PixelCNN's `ConditionNet`: a step of it costs a small fraction of a
PixelCNN step, so on its own it sees many more partial digits in the same time, and frozen it costs the PixelCNN no
backward pass (docs/design.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .data import IMAGE_SHAPE, eval_binarization, fresh_binarization
from .holes import hole_mask, training_holes
from .randomness import seeded
from .runs import train_or_load
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
        if x.shape[-2:] != IMAGE_SHAPE[1:]:
            raise ValueError(
                f"the digit recogniser reads 28 x 28 MNIST digits (N, 1, 28, 28), got images of shape {tuple(x.shape)}"
            )
        return self.body(torch.cat([x * known, known.to(x.dtype)], dim=1))


@dataclass(frozen=True)
class RecogniserSpec:
    """Everything that makes the trained recogniser."""

    name: str  # names the checkpoint file: recogniser-<name>.pt
    train: TrainConfig
    width: int = 16


def recogniser_loss(model: Recogniser, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy (nats) of the labels given a fresh stochastic binarization of uint8 images (N, 1, 28, 28) seen
    through a fresh training hole, both drawn from the training stream."""
    images, labels = batch
    x = fresh_binarization(images)
    known = training_holes(x.shape[0], p_all=0.0).to(x.device)
    return F.cross_entropy(model(x, known).float(), labels)


@torch.no_grad()
def accuracy(model: Recogniser, images: torch.Tensor, labels: torch.Tensor, kind: str = "top") -> float:
    """How often the recogniser names the digit of uint8 test images (N, 1, 28, 28) seen through `kind` holes
    (`holes.hole_mask`, seed 0), binarized with evaluation seed 0."""
    model.eval()
    device = next(model.parameters()).device
    x = eval_binarization(images).to(device)
    logits = model(x, hole_mask(kind, len(images)).to(device)).cpu()
    return (logits.argmax(1) == labels).float().mean().item()


def train_recogniser(
    spec: RecogniserSpec,
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    device: torch.device | str = "cpu",
    *,
    retrain: bool = False,
) -> tuple[Recogniser, History]:
    """Train (or load the finished run cached for this spec) on (uint8 images, labels); evaluations: the accuracy on
    the first 2000 test digits with the top half hidden (`history.evals[-1]["top_half_accuracy"]`), a harder task
    than naming whole digits."""
    test_images, test_labels = test_data[0][:2000], test_data[1][:2000]
    eval_fn = lambda m: {"top_half_accuracy": accuracy(m, test_images, test_labels)}  # noqa: E731
    with seeded("init", spec.train.seed):
        model = Recogniser(spec.width)
    return train_or_load(model, "recogniser", spec, recogniser_loss, train_data, eval_fn, device, retrain)
