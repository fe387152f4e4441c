"""Inpainting with the trained PixelCNN: sampler speed, and the quality table of every method and baseline.

    python benchmarks/bench_inpainting.py speed   [--profile default] [--n 64]
    python benchmarks/bench_inpainting.py quality [--profile default] [--digits 1000] [--kinds top bottom ...]

speed: bottom-half inpainting of n test digits by the cached sampler (median of 3) and by the naive one that runs
the whole network on the whole image once per hole pixel, same generator: the samples must be identical. Both the
raster (plain) and the conditional mode. Prints wall times and ratios measured in this one run.
quality: `asgn2.inpainting_eval.evaluate` with the profile's evaluation spec (sizes overridable), the table with 95%
intervals, and the wall time. The models are the profile's cached checkpoints (trained on first use).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from asgn2.classifier import train_classifier
from asgn2.data import load_mnist
from asgn2.holes import HOLE_KINDS, hole_mask
from asgn2.inpainting_eval import evaluate, table
from asgn2.pixelcnn import eval_binarization, train_pixelcnn
from asgn2.profiles import PROFILES
from asgn2.randomness import generator
from asgn2.runtime import setup
from asgn2.sampling import sample_holes, sample_holes_naive


def speed(args: argparse.Namespace, model) -> None:
    x = eval_binarization(load_mnist("test")[0][: args.n])
    known = hole_mask("bottom", args.n)
    print(f"bottom-half inpainting of {args.n} test digits, PixelCNN {args.profile}, {torch.get_num_threads()} threads")
    print("| mode | naive: whole network once per hole pixel, s | cached, s (median of 3) | speed-up | identical |")
    print("|---|---|---|---|---|")
    for conditional in (False, True) if model.conditional else (False,):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fast = sample_holes(model, x, known, generator("sampling"), conditional)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        naive = sample_holes_naive(model, x, known, generator("sampling"), conditional)
        naive_s, fast_s = time.perf_counter() - start, statistics.median(times)
        mode = "conditional" if conditional else "raster (plain)"
        print(f"| {mode} | {naive_s:.1f} | {fast_s:.3f} | {naive_s / fast_s:.0f}x | {torch.equal(fast, naive)} |")


def quality(args: argparse.Namespace, model) -> None:
    spec = PROFILES[args.profile].inpainting
    spec = dataclasses.replace(spec, digits=args.digits or spec.digits, kinds=tuple(args.kinds or spec.kinds))
    train_x, train_y = load_mnist("train")
    test_x, test_y = load_mnist("test")
    judge, _ = train_classifier(PROFILES[args.profile].classifier, (train_x, train_y), (test_x, test_y))
    start = time.perf_counter()
    rows = evaluate(model, judge, test_x, test_y, train_x, train_y, spec)
    print(
        f"{spec.digits} random test digits (stochastically binarized, evaluation seed {spec.seed}), PixelCNN "
        f"{args.profile}, S = {spec.samples} completions per digit and method; {time.perf_counter() - start:.0f} s"
    )
    print(table(rows, spec.samples, spec.candidates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "quality"])
    parser.add_argument("--profile", default="default", choices=list(PROFILES))
    parser.add_argument("--n", type=int, default=64, help="speed: test digits")
    parser.add_argument("--digits", type=int, help="quality: test digits (default: the profile's)")
    parser.add_argument(
        "--kinds", nargs="+", choices=HOLE_KINDS, help="quality: hole families (default: the profile's)"
    )
    args = parser.parse_args()
    setup()
    train_x, train_y = load_mnist("train")
    spec = PROFILES[args.profile].pixelcnn
    model, _ = train_pixelcnn(spec, train_x, load_mnist("test")[0], train_labels=train_y)
    (speed if args.what == "speed" else quality)(args, model)


if __name__ == "__main__":
    main()
