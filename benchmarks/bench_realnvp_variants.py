"""Real NVP design choices, side by side under the same training budget: bits/dim and sample quality per variant.

    python benchmarks/bench_realnvp_variants.py [--variants baseline lu ...] [--budget-s 240 | --steps N]
                                                [--device cpu] [--fid-n 1000] [--out results/realnvp_variants]

Every variant is the default profile's Real NVP spec with one change (VARIANTS below), trained from scratch with the
same budget (wall-clock seconds, the schedule annealing by time, or a fixed number of steps: `name:steps` entries in
--steps-per-variant give each variant its own). Reported per variant: steps done, training seconds, test bits/dim
(10000 digits, mean of evaluation seeds 0, 1, 2 and their range), and for each temperature T the FID of --fid-n
samples against as many real test digits (classifier features) and the fraction of samples the classifier labels
with probability >= 0.9; the first rows give the same two numbers for real training digits (the floor). Writes a
sample grid per variant (each temperature its own latent draw) into --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from asgn2.classifier import confident_fraction, train_classifier  # noqa: E402
from asgn2.data import load_mnist  # noqa: E402
from asgn2.fid import fid_images  # noqa: E402
from asgn2.profiles import PROFILES  # noqa: E402
from asgn2.randomness import generator  # noqa: E402
from asgn2.realnvp import RealNVP, dequantize, plot_samples, realnvp_loss, sample_quality, test_bits_per_dim  # noqa: E402
from asgn2.runtime import setup  # noqa: E402
from asgn2.training import train  # noqa: E402

BASE = PROFILES["default"].realnvp
# name -> (changes to RealNVPConfig, changes to TrainConfig). The README's tables name these variants; the ones with
# ActNorm are the earlier defaults (12 x 512 and 8 x 1024, each with an ActNorm after every coupling).
VARIANTS: dict[str, tuple[dict, dict]] = {
    "baseline": ({}, {}),
    "actnorm": ({"actnorm": True}, {}),
    "actnorm, constant lr": ({"actnorm": True}, {"schedule": "constant"}),
    "actnorm, lr 2e-3": ({"actnorm": True}, {"lr": 2e-3}),
    "8 x 1024, actnorm": ({"n_couplings": 8, "hidden": 1024, "actnorm": True}, {}),
    "lam 0.05": ({"lam": 0.05}, {}),
    "permutation mixing": ({"mixing": "permutation"}, {}),
    "LU mixing": ({"mixing": "lu"}, {}),
    "6 x 2048": ({"n_couplings": 6, "hidden": 2048}, {}),
    "8 x 512 x 2 layers": ({"n_couplings": 8, "hidden": 512, "n_hidden": 2}, {}),
    "constant lr": ({}, {"schedule": "constant"}),
    "lr 5e-4": ({}, {"lr": 5e-4}),
    "batch 256": ({}, {"batch_size": 256}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument(
        "--budget-s", type=float, nargs="+", default=[240.0], help="training seconds per run (several: a frontier)"
    )
    parser.add_argument("--steps", type=int, help="a fixed number of steps per variant instead of a time budget")
    parser.add_argument("--steps-per-variant", nargs="*", default=[], help="name:steps, overriding --steps")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7, 0.6])
    parser.add_argument("--fid-n", type=int, default=1000)
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", default="results/realnvp_variants")
    args = parser.parse_args()
    runtime = setup(device=args.device)
    per_variant = dict(item.rsplit(":", 1) for item in args.steps_per_variant)
    train_x, train_y = load_mnist("train")
    test_x, test_y = load_mnist("test")
    judge, _ = train_classifier(PROFILES["default"].classifier, (train_x, train_y), (test_x, test_y), runtime.device)
    subsets = generator("subsets", 5)
    real_test = test_x[torch.randperm(len(test_x), generator=subsets)[: args.fid_n]]
    real_train = train_x[torch.randperm(len(train_x), generator=subsets)[: args.fid_n]]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"Real NVP variants on {runtime.device} ({runtime.threads} threads); "
        f"FID and confident fraction, n = {args.fid_n}"
    )
    floor = fid_images(real_train, real_test, judge)
    sure = [confident_fraction(judge, images) for images in (real_train, real_test)]
    print(
        f"real training digits vs real test digits: FID {floor:.1f}; confident: train {sure[0]:.3f}, test {sure[1]:.3f}"
    )
    temps = " | ".join(f"T={t} FID / conf." for t in args.temperatures)
    print(f"| variant | steps | train s | test bits/dim (seeds 0-2) | {temps} |")
    print("|---|---|---|---|" + "---|" * len(args.temperatures))
    runs = [(name, seconds) for name in args.variants for seconds in args.budget_s]
    for name, seconds in runs:
        model_changes, train_changes = VARIANTS[name]
        steps = int(per_variant.get(name, args.steps or 0)) or None
        budget = (
            dict(max_steps=steps, time_budget_s=None)
            if steps
            else dict(time_budget_s=seconds, max_steps=None, epochs=1000)
        )
        config = dataclasses.replace(BASE.train, **train_changes, **budget, eval_every=None, checkpoint_every=None)
        model = RealNVP(dataclasses.replace(BASE.model, **model_changes))
        model.initialize(dequantize(train_x[: BASE.init_images], generator("init")))
        start = time.perf_counter()
        history = train(model, realnvp_loss, train_x, config, device=runtime.device, desc=name)
        seconds = time.perf_counter() - start
        bpd = [test_bits_per_dim(model, test_x, seed) for seed in (0, 1, 2)]
        rows = sample_quality(model, judge, real_test, args.temperatures, n=args.fid_n)
        cells = " | ".join(f"{r['fid']:.0f} / {r['confident']:.2f}" for r in rows)
        print(
            f"| {name} | {history.steps} | {seconds:.0f} | {sum(bpd) / 3:.4f} ({min(bpd):.4f}-{max(bpd):.4f}) | "
            f"{cells} |",
            flush=True,
        )
        fig = plot_samples(model.cpu(), args.temperatures, n=36, nrow=6)
        fig.suptitle(name)
        fig.savefig(out / f"{name.replace(' ', '_')}_{history.steps}.png", dpi=80, bbox_inches="tight")
        plt.close(fig)


if __name__ == "__main__":
    main()
