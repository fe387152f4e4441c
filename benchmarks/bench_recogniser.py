"""How well the recogniser r(y | x_obs) names a partly hidden digit, by training length and width.

    python benchmarks/bench_recogniser.py [--epochs 3 6] [--widths 16] [--time-budget S] [--digits 2000]

For each width and length, the default profile's recogniser spec with that width and that many epochs (no time cap,
or --time-budget seconds: the learning rate then anneals by time, as in the default profile), trained from scratch
(not cached), then its accuracy per hole family on the first --digits test digits (evaluation seed 0), next to the
10-nearest-neighbour vote on the same observed pixels. Prints a table and the training times.
"""

from __future__ import annotations

import argparse
import dataclasses

from asgn2.data import binarize, eval_binarization, load_mnist
from asgn2.holes import hole_mask
from asgn2.inpainting import nearest_training_digits
from asgn2.inpainting_eval import KNN, majority
from asgn2.profiles import PROFILES
from asgn2.randomness import generator
from asgn2.recogniser import accuracy, train_recogniser
from asgn2.runtime import setup

KINDS = ("top", "left", "right", "centre", "brush", "ring")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 6])
    parser.add_argument("--widths", type=int, nargs="+", default=[16])
    parser.add_argument("--time-budget", type=float, default=None)
    parser.add_argument("--digits", type=int, default=2000)
    args = parser.parse_args()
    setup()
    train_data, test_data = load_mnist("train"), load_mnist("test")
    images, labels = test_data[0][: args.digits], test_data[1][: args.digits]
    x = eval_binarization(images)  # for the k-NN vote; `accuracy` binarizes the same way
    train_binary = binarize(train_data[0], "stochastic", generator("baselines", 0))
    base = PROFILES["default"].pixelcnn.recogniser
    rows = []
    for width in args.widths:
        for epochs in args.epochs:
            config = dataclasses.replace(base.train, epochs=epochs, time_budget_s=args.time_budget)
            spec = dataclasses.replace(base, name=f"bench-{width}-{epochs}", train=config, width=width)
            model, history = train_recogniser(spec, train_data, test_data, retrain=True)
            named = [accuracy(model, images, labels, kind) for kind in KINDS]
            run = f"{history.steps} steps, {history.wall_time_s:.0f} s"
            rows.append((f"recogniser, width {width}, {epochs} epochs ({run})", named))
    knn = []
    for kind in KINDS:
        neighbours = nearest_training_digits(x, hole_mask(kind, len(x)), train_binary, k=KNN)
        knn.append((majority(train_data[1][neighbours]) == labels).float().mean().item())
    rows.append((f"{KNN}-NN vote on the observed pixels", knn))
    print(f"{args.digits} test digits: names the true digit, %")
    print("| | " + " | ".join(KINDS) + " |")
    print("|---|" + "---|" * len(KINDS))
    for name, values in rows:
        print(f"| {name} | " + " | ".join(f"{100 * v:.1f}" for v in values) + " |")


if __name__ == "__main__":
    main()
