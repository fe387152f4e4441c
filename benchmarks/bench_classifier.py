"""MNIST classifier: test accuracy and training wall time per profile, trained from scratch in a temporary folder.

    python benchmarks/bench_classifier.py [--profile default] [--epochs N]

Prints one table row per run; the goal is >= 99.0% test accuracy in <= 2 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time

import torch

from asgn2 import classifier
from asgn2.data import load_mnist
from asgn2.profiles import PROFILES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default", choices=list(PROFILES))
    parser.add_argument("--epochs", type=int, help="override the profile's epochs")
    args = parser.parse_args()
    spec = PROFILES[args.profile].classifier
    if args.epochs:
        spec = dataclasses.replace(spec, train=dataclasses.replace(spec.train, epochs=args.epochs))
    config = spec.train
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ASGN2_CHECKPOINTS"] = tmp
        start = time.perf_counter()
        _, history = classifier.train_classifier(spec, load_mnist("train"), load_mnist("test"))
        total = time.perf_counter() - start
    print("| profile | epochs | steps | threads | test accuracy | training s | total s (with data, eval) |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.profile} | {config.epochs} | {history.steps} | {torch.get_num_threads()} | "
        f"{100 * history.evals[-1]['test_accuracy']:.2f}% | {history.wall_time_s:.1f} | {total:.1f} |"
    )


if __name__ == "__main__":
    main()
