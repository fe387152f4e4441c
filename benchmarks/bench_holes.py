"""What drawing the training holes costs, against the training steps that use them.

    python benchmarks/bench_holes.py [--repeats 7]

Per batch, median of --repeats timings: `holes.training_holes` for the recogniser's batches (128 digits, never every
pixel a hole) and the PixelCNN's (64 digits, half of them every pixel), and, beside them, one training step of the
default recogniser and of the default PixelCNN on such a batch (forward, backward, AdamW; the PixelCNN's recogniser
frozen, as in training; random uint8 images and labels, which cost the same as digits). The share column is the
holes' part of a step that draws them. Also the evaluation family `hole_mask("brush", 1000)`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from asgn2.holes import hole_mask, training_holes
from asgn2.pixelcnn import PixelCNN, pixelcnn_loss
from asgn2.profiles import PROFILES
from asgn2.recogniser import Recogniser, recogniser_loss
from asgn2.runtime import setup


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def step_ms(model: torch.nn.Module, loss_fn: Callable[[], torch.Tensor], repeats: int) -> float:
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()

    return median_ms(step, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    setup()
    profile = PROFILES["default"]
    images = torch.randint(0, 256, (128, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (128,))
    recogniser = Recogniser(profile.pixelcnn.recogniser.width)
    pixelcnn = PixelCNN(profile.pixelcnn.model)
    pixelcnn.condition.recognise.requires_grad_(False)  # pretrained and frozen in training (`train_pixelcnn`)
    p_all, p_fed = profile.pixelcnn.p_all_holes, profile.pixelcnn.p_label_fed
    rows = [
        (
            "recogniser, batch 128",
            median_ms(lambda: training_holes(128, p_all=0.0), args.repeats),
            step_ms(recogniser, lambda: recogniser_loss(recogniser, (images, labels)), args.repeats),
        ),
        (
            f"PixelCNN, batch 64 (p_all_holes {p_all})",
            median_ms(lambda: training_holes(64, p_all=p_all), args.repeats),
            step_ms(
                pixelcnn,
                lambda: pixelcnn_loss(pixelcnn, (images[:64], labels[:64]), p_all_holes=p_all, p_label_fed=p_fed),
                args.repeats,
            ),
        ),
    ]
    print(f"median of {args.repeats}, {torch.get_num_threads()} threads")
    print("| training batch | holes, ms | training step with them, ms | share of the step |")
    print("|---|---|---|---|")
    for name, holes_ms, total_ms in rows:
        print(f"| {name} | {holes_ms:.1f} | {total_ms:.1f} | {holes_ms / total_ms:.0%} |")
    print(f"hole_mask('brush', 1000): {median_ms(lambda: hole_mask('brush', 1000), args.repeats):.0f} ms")


if __name__ == "__main__":
    main()
