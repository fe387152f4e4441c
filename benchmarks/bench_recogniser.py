"""How well the recogniser r(y | x_obs) names a partly hidden digit, by training length, width and precision, and
whether its probabilities are calibrated.

    python benchmarks/bench_recogniser.py [--epochs 3 6] [--widths 16] [--time-budget S] [--digits 2000]
                                          [--precision float32 bf16] [--temperatures 0.8 1 1.25]

For each width, length and precision, the default profile's recogniser spec with that width and that many epochs
(no time cap, or --time-budget seconds: the learning rate then anneals by time, as in the default profile), trained
from scratch (not cached) in float32 or with its forward passes under bfloat16 autocast (fast on a CPU with AMX or
AVX512-BF16; the profiles train it in float32), then its accuracy per hole family on the first --digits test digits
(evaluation seed 0), next to the 10-nearest-neighbour vote on the same observed pixels. A second table gives each
run's label NLL, mean -log softmax(logits / T)[y] in nats, at each temperature T: the label mixture uses r as it is
(T = 1), which a calibrated r makes the best of them. Prints the tables and the training times.
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
from asgn2.recogniser import accuracy, label_nll, train_recogniser
from asgn2.runtime import setup

KINDS = ("top", "left", "right", "centre", "brush", "ring")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 6])
    parser.add_argument("--widths", type=int, nargs="+", default=[16])
    parser.add_argument("--time-budget", type=float, default=None)
    parser.add_argument("--digits", type=int, default=2000)
    parser.add_argument("--precision", nargs="+", choices=["float32", "bf16"], default=["float32"])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.8, 1.0, 1.25])
    args = parser.parse_args()
    setup()
    train_data, test_data = load_mnist("train"), load_mnist("test")
    images, labels = test_data[0][: args.digits], test_data[1][: args.digits]
    x = eval_binarization(images)  # for the k-NN vote; `accuracy` binarizes the same way
    train_binary = binarize(train_data[0], "stochastic", generator("baselines", 0))
    base = PROFILES["default"].pixelcnn.recogniser
    rows, calibration = [], []
    for width in args.widths:
        for epochs in args.epochs:
            config = dataclasses.replace(base.train, epochs=epochs, time_budget_s=args.time_budget)
            for precision in args.precision:
                name = f"bench-{width}-{epochs}-{precision}"
                spec = dataclasses.replace(base, name=name, train=config, width=width)
                bf16 = precision == "bf16"
                model, history = train_recogniser(spec, train_data, test_data, retrain=True, bf16=bf16)
                named = [accuracy(model, images, labels, kind) for kind in KINDS]
                run = f"recogniser, width {width}, {epochs} epochs, {precision} ({history.steps} steps, "
                run += f"{history.wall_time_s:.0f} s)"
                rows.append((run, [f"{100 * v:.1f}" for v in named]))
                for t in args.temperatures:
                    nll = [label_nll(model, images, labels, kind, t) for kind in KINDS]
                    calibration.append((f"{run}, T = {t:g}", [f"{v:.4f}" for v in nll]))
    knn = []
    for kind in KINDS:
        neighbours = nearest_training_digits(x, hole_mask(kind, len(x)), train_binary, k=KNN)
        knn.append((majority(train_data[1][neighbours]) == labels).float().mean().item())
    rows.append((f"{KNN}-NN vote on the observed pixels", [f"{100 * v:.1f}" for v in knn]))
    _print(f"{args.digits} test digits: names the true digit, %", rows)
    _print("\nlabel NLL, nats per digit, of r_T = softmax(logits / T)", calibration)


def _print(title: str, rows: list[tuple[str, list[str]]]) -> None:
    print(title)
    print("| | " + " | ".join(KINDS) + " |")
    print("|---|" + "---|" * len(KINDS))
    for name, values in rows:
        print(f"| {name} | " + " | ".join(values) + " |")


if __name__ == "__main__":
    main()
