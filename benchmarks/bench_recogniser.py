"""How wide, and how long trained, must the recogniser r(y | x_obs) be to name a partly hidden digit? Record
`recogniser`.

    python benchmarks/bench_recogniser.py [--widths 16 32] [--epochs 3 6] [--time-budget S] [--digits 2000]

For each width and length, the default profile's recogniser spec with that width and that many epochs of 469 steps
(a step cap: no time cap unless --time-budget, which then also anneals the learning rate by time, as the default
profile's 60-s cap does), trained from scratch (not cached), then how often it names the true digit per hole family
on the first --digits test digits (evaluation seed 0; 95% intervals), beside the 10-nearest-neighbour vote on the
same observed pixels (the baseline a recogniser must beat). Prints the table with each run's steps and seconds.
"""

from __future__ import annotations

import argparse
import dataclasses

from records import write_record

from asgn2.data import binarize, eval_binarization, load_mnist
from asgn2.holes import hole_mask
from asgn2.inpainting import nearest_training_digits
from asgn2.inpainting_eval import KNN, majority
from asgn2.intervals import proportion_interval
from asgn2.profiles import PROFILES
from asgn2.randomness import generator
from asgn2.recogniser import accuracy, train_recogniser
from asgn2.runtime import setup

KINDS = ("top", "left", "right", "centre", "brush", "ring")


def cell(fraction: float, n: int) -> str:
    return f"{100 * fraction:.1f} ± {100 * proportion_interval(fraction, n):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 6])
    parser.add_argument("--time-budget", type=float, default=None)
    parser.add_argument("--digits", type=int, default=2000)
    args = parser.parse_args()
    runtime = setup()
    train_data, test_data = load_mnist("train"), load_mnist("test")
    images, labels = test_data[0][: args.digits], test_data[1][: args.digits]
    base = PROFILES["default"].conditional.recogniser
    lines = [
        f"{args.digits} test digits, {runtime.threads} threads: names the true digit, % (95% interval). The default: "
        f"width {base.width}, {base.train.epochs} epochs capped at {base.train.time_budget_s:g} s.",
        "",
        "| | steps | train s | " + " | ".join(KINDS) + " |",
        "|---|---|---|" + "---|" * len(KINDS),
    ]
    print("\n".join(lines), flush=True)
    numbers: dict[str, dict] = {}
    for width in args.widths:
        for epochs in args.epochs:
            config = dataclasses.replace(base.train, epochs=epochs, time_budget_s=args.time_budget, max_steps=None)
            spec = dataclasses.replace(base, name=f"bench-{width}-{epochs}", train=config, width=width)
            model, history = train_recogniser(spec, train_data, test_data, runtime.device, retrain=True)
            named = [accuracy(model, images, labels, kind) for kind in KINDS]
            run = f"width {width}, {epochs} epochs"
            lines.append(
                f"| {run} | {history.steps} | {history.wall_time_s:.0f} | "
                + " | ".join(cell(v, args.digits) for v in named)
                + " |"
            )
            print(lines[-1], flush=True)
            numbers[run] = dict(zip(KINDS, named, strict=True))
            numbers[run].update(steps=history.steps, seconds=history.wall_time_s)
    x = eval_binarization(images)  # as `accuracy` binarizes
    train_binary = binarize(train_data[0], generator("baselines", 0))
    knn = []
    for kind in KINDS:
        neighbours = nearest_training_digits(x, hole_mask(kind, len(x)), train_binary, k=KNN)
        knn.append((majority(train_data[1][neighbours]) == labels).float().mean().item())
    lines.append(f"| {KNN}-NN vote on the observed pixels | | | {' | '.join(cell(v, args.digits) for v in knn)} |")
    print(lines[-1])
    numbers[f"{KNN}-NN vote"] = dict(zip(KINDS, knn, strict=True))
    write_record(
        "recogniser",
        question="Why the recogniser is 16 wide and trained about 3 epochs (60-s cap): accuracy per hole family by "
        "width and training length, against the 10-NN vote.",
        profile="default",
        table_markdown="\n".join(lines),
        numbers=numbers,
    )


if __name__ == "__main__":
    main()
