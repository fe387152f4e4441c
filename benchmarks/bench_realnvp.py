"""How well does the profile's Real NVP model MNIST, and are its samples copies? Record `realnvp-default`.

    python benchmarks/bench_realnvp.py [--profile default] [--out results/realnvp]

Trains (or loads the cached) Real NVP of the profile, prints its test bits/dim (10000 digits, mean of evaluation
dequantizations 0, 1, 2 and their range) and writes samples at temperatures 1.0 / 0.8 / 0.6, training and test
curves, a latent interpolation between two test digits, and the nearest training neighbours of a few samples (to
show they are not copies) into --out. Design comparisons (ActNorm, size) are in bench_realnvp_variants.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from records import write_record  # noqa: E402

from asgn2.data import load_mnist  # noqa: E402
from asgn2.display import show_grid  # noqa: E402
from asgn2.profiles import PROFILES  # noqa: E402
from asgn2.randomness import generator  # noqa: E402
from asgn2.realnvp import sample, test_bits_per_dim, train_realnvp  # noqa: E402
from asgn2.realnvp_eval import interpolate, nearest_neighbours, plot_samples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--out", default="results/realnvp")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_x, test_x = load_mnist("train")[0], load_mnist("test")[0]
    model, history = train_realnvp(PROFILES[args.profile].realnvp, train_x, test_x)
    bpd = [test_bits_per_dim(model, test_x, seed=seed) for seed in (0, 1, 2)]
    lines = [
        f"Real NVP {PROFILES[args.profile].realnvp.model}, trained as the profile says (stopped by "
        f"{history.stopped_by}).",
        "",
        "| profile | test bits/dim (10000 images, mean of evaluation seeds 0, 1, 2: min to max) | steps | training s |",
        "|---|---|---|---|",
        f"| {args.profile} | {sum(bpd) / 3:.4f} ({min(bpd):.4f} to {max(bpd):.4f}) | {history.steps} | "
        f"{history.wall_time_s:.0f} |",
    ]
    print("\n".join(lines))

    plot_samples(model, [1.0, 0.8, 0.6]).savefig(out / "samples.png", dpi=110, bbox_inches="tight")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = torch.arange(1, history.steps + 1)
    ax.plot(steps, history.step_loss, lw=0.5, alpha=0.5, label="training (per step)")
    ax.plot([e["step"] for e in history.evals], [e["test_bpd"] for e in history.evals], "o-", label="test")
    ax.set(xlabel="step", ylabel="bits/dim", ylim=(min(history.step_loss) - 0.1, 3.0), title="Real NVP")
    ax.legend()
    fig.savefig(out / "curves.png", dpi=110, bbox_inches="tight")

    fig, ax = plt.subplots(figsize=(8, 1.4))
    show_grid(interpolate(model, test_x[0], test_x[1], steps=10), "latent interpolation", nrow=10, ax=ax)
    fig.savefig(out / "interpolation.png", dpi=110, bbox_inches="tight")

    samples = sample(model, 6, 0.8, generator("sampling", 1))
    nearest = nearest_neighbours(samples, train_x, k=3)
    panels = torch.cat([torch.cat([samples[i : i + 1], train_x[nearest[i]]]) for i in range(6)])
    fig, ax = plt.subplots(figsize=(3.2, 5))
    show_grid(panels, "sample | 3 nearest training images", nrow=4, ax=ax)
    fig.savefig(out / "nearest.png", dpi=110, bbox_inches="tight")
    print(f"figures in {out}/")
    write_record(
        "realnvp-default",
        question="What the profile's Real NVP reaches: test bits/dim of the model the notebook trains.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers={"bpd": bpd, "steps": history.steps, "seconds": history.wall_time_s},
    )


if __name__ == "__main__":
    main()
