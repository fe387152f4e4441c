"""Inpainting with the trained PixelCNN: sampler speed, and quality per hole family and method.

    python benchmarks/bench_inpainting.py speed   [--profile default] [--n 64]
    python benchmarks/bench_inpainting.py quality [--profile default] [--n 40] [--candidates 8]

speed: bottom-half inpainting of n test images by the fast sampler and by the naive one (the whole network on the
whole image for each of the 784 pixels), same generator: the samples must be identical; prints wall times and ratio.
quality: hole-pixel accuracy against the ground truth and the classifier's agreement with the true label
(inpainted vs masked vs original), raster vs sir. Images: threshold-binarized MNIST test digits (the pictures the
notebook shows); the model is the cached checkpoint of the profile (trained on first use).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from asgn2.classifier import train_classifier
from asgn2.data import binarize, load_mnist
from asgn2.inpainting import hole_mask, inpainting_quality, quality_table
from asgn2.pixelcnn import train_pixelcnn
from asgn2.profiles import PROFILES
from asgn2.sampling import sample_holes, sample_holes_naive


def trained_pixelcnn(profile: str):
    """The profile's PixelCNN: the cached checkpoint, trained on first use."""
    return train_pixelcnn(PROFILES[profile].pixelcnn, load_mnist("train")[0], load_mnist("test")[0])[0]


def speed(args: argparse.Namespace) -> None:
    model = trained_pixelcnn(args.profile)
    x = binarize(load_mnist("test")[0][: args.n], "threshold")
    known = hole_mask("bottom", args.n)
    fast_times = []
    for _ in range(3):
        start = time.perf_counter()
        fast = sample_holes(model, x, known, torch.Generator().manual_seed(0))
        fast_times.append(time.perf_counter() - start)
    start = time.perf_counter()
    naive = sample_holes_naive(model, x, known, torch.Generator().manual_seed(0))
    naive_time = time.perf_counter() - start
    fast_time = statistics.median(fast_times)
    print(f"bottom-half inpainting of {args.n} test digits, PixelCNN {args.profile}, {torch.get_num_threads()} threads")
    print("| sampler | wall s | speed-up |")
    print("|---|---|---|")
    print(f"| naive (784 full forward passes) | {naive_time:.1f} | 1.0 |")
    ratio = naive_time / fast_time
    print(f"| fast (hole rows only, cropped receptive field; median of 3) | {fast_time:.2f} | {ratio:.1f} |")
    print(f"identical samples: {torch.equal(fast, naive)}")


def quality(args: argparse.Namespace) -> None:
    model = trained_pixelcnn(args.profile)
    classifier, _ = train_classifier(PROFILES[args.profile].classifier, load_mnist("train"), load_mnist("test"))
    images = binarize(load_mnist("test")[0][: args.n], "threshold")
    labels = load_mnist("test")[1][: args.n]
    start = time.perf_counter()
    rows = inpainting_quality(model, classifier, images, labels, candidates=args.candidates, seed=args.seed)
    print(
        f"{args.n} test digits (threshold-binarized), PixelCNN {args.profile}, sir with K = {args.candidates}, "
        f"seed {args.seed}; {time.perf_counter() - start:.0f} s"
    )
    print(quality_table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "quality"])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--n", type=int)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.what == "speed":
        args.n = args.n or 64
        speed(args)
    else:
        args.n = args.n or 40
        quality(args)


if __name__ == "__main__":
    main()
