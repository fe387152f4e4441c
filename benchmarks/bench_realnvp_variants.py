"""Which Real NVP: with or without ActNorm, and how many couplings of what width? Records `realnvp-actnorm`,
`realnvp-size` and (with --budget-s) `realnvp-size-budget`.

    python benchmarks/bench_realnvp_variants.py actnorm [--steps 600] [--fid-n 1000] [--temperatures 1.0 0.8 0.6]
    python benchmarks/bench_realnvp_variants.py size [--steps 600 | --budget-s 190]
    python benchmarks/bench_realnvp_variants.py actnorm --variants "12 x 512" "lr 5e-4" [--budget-s 240]

Every variant is the default profile's Real NVP spec with one change (VARIANTS below), trained from scratch for the
same number of steps (or, with --budget-s, the same wall-clock seconds: the schedule then anneals by time, and the
result depends on the machine's load). The ActNorm variants carry their own copy of the layer (`ActNorm` below): the
package's flow has none. Reported per variant: steps, training seconds and ms per step, test bits/dim (10000 digits,
mean of evaluation seeds 0, 1, 2 and their range; then the paired difference from the first variant with its 95%
interval over the digits, seed 0), and per temperature T the FID of --fid-n samples against as many real test digits
(classifier features) and the fraction of samples the classifier labels with probability >= 0.9; the first line
gives the same two numbers for real training digits (the floor). A comparison's run writes its record;
with --variants (any other set) it only prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch
from records import write_record
from torch import nn

from asgn2.classifier import confident_fraction, train_classifier
from asgn2.data import PIXELS, load_mnist
from asgn2.fid import fid_images
from asgn2.flows import Composite, Flow, Transform
from asgn2.intervals import mean_and_interval, proportion_interval
from asgn2.profiles import PROFILES
from asgn2.randomness import generator
from asgn2.realnvp import dequantize, real_nvp, realnvp_loss
from asgn2.realnvp_eval import sample_quality
from asgn2.runtime import setup
from asgn2.training import train
from asgn2.units import bits_per_dim

BASE = PROFILES["default"].realnvp


@dataclasses.dataclass(frozen=True)
class Variant:
    """One change to the default spec: RealNVPConfig fields, TrainConfig fields, ActNorm after every coupling."""

    model: dict = dataclasses.field(default_factory=dict)
    train: dict = dataclasses.field(default_factory=dict)
    actnorm: bool = False


W512 = {"n_couplings": 12, "hidden": 512}  # the default until the equal-time size comparison chose 12 x 256
VARIANTS: dict[str, Variant] = {  # each names its network in full, whatever the default is
    "12 x 512": Variant(model=W512),
    "12 x 512 + ActNorm": Variant(model=W512, actnorm=True),
    "12 x 512 + ActNorm, lr 2e-3": Variant(model=W512, train={"lr": 2e-3}, actnorm=True),
    "8 x 1024 + ActNorm": Variant(model={"n_couplings": 8, "hidden": 1024}, actnorm=True),  # an earlier default
    "8 x 512": Variant(model={"n_couplings": 8, "hidden": 512}),
    "16 x 512": Variant(model={"n_couplings": 16, "hidden": 512}),
    "12 x 256": Variant(model={"n_couplings": 12, "hidden": 256}),  # the default
    "12 x 1024": Variant(model={"n_couplings": 12, "hidden": 1024}),
    "8 x 1024": Variant(model={"n_couplings": 8, "hidden": 1024}),
    "6 x 2048": Variant(model={"n_couplings": 6, "hidden": 2048}),
    "8 x 512 x 2 layers": Variant(model={"n_couplings": 8, "hidden": 512, "n_hidden": 2}),
    "lr 5e-4": Variant(model=W512, train={"lr": 5e-4}),
    "batch 256": Variant(model=W512, train={"batch_size": 256}),
}

# comparison -> (the question its record answers, its variants; the first is the one the others are compared with)
COMPARISONS: dict[str, tuple[str, list[str]]] = {
    "actnorm": (
        "Why the default Real NVP has no ActNorm: the same flow with an ActNorm after every coupling, same steps.",
        ["12 x 512", "12 x 512 + ActNorm"],
    ),
    "size": (
        "How many couplings of what width: 12 x 512 against fewer couplings, narrower s/t networks, and the earlier "
        "8 x 1024, same steps (the ms/step column is what each costs), or with --budget-s the same seconds.",
        ["12 x 512", "8 x 512", "12 x 256", "8 x 1024"],
    ),
}


class ActNorm(Transform):
    """z = (x - b) * exp(-log_s) per dimension (Kingma & Dhariwal 2018); log_det = -sum(log_s).

    A copy of the layer the package's flow had after every coupling before the default dropped it (this benchmark is
    why), kept here so that the comparison stays runnable. `initialize(x)` sets b and log_s from real data so that z
    has zero mean and unit variance; a forward pass never changes a parameter."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        self.bias.copy_(x.mean(0))
        self.log_scale.copy_(torch.log(x.std(0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (x - self.bias) * torch.exp(-self.log_scale), (-self.log_scale.sum()).expand(x.shape[0])

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z * torch.exp(self.log_scale) + self.bias, self.log_scale.sum().expand(z.shape[0])


@torch.no_grad()
def with_actnorm(flow: Flow, train_images: torch.Tensor) -> Flow:
    """`flow` with an ActNorm after every coupling of its transform (`realnvp.RealNVP`), each initialised on 1000
    dequantized training digits, as the package's flow did before training (the noise from its own seeded generator:
    no stream of the package's)."""
    transform = flow.transform
    couplings = transform.couplings.transforms
    transform.couplings = Composite([layer for coupling in couplings for layer in (coupling, ActNorm(PIXELS))])
    x = transform.preprocess(dequantize(train_images[:1000], torch.Generator().manual_seed(0)).flatten(1))[0]
    for layer in transform.couplings.transforms:
        if isinstance(layer, ActNorm):
            layer.initialize(x)
        x = layer(x)[0]
    return flow


@torch.no_grad()
def image_bits_per_dim(model: Flow, images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Bits/dim of each uint8 image (N,), dequantized with evaluation seed `seed` (as `realnvp.test_bits_per_dim`)."""
    model.eval()
    device = next(model.parameters()).device
    noise = generator("eval-dequantization", seed)
    values = [bits_per_dim(-model.log_prob(dequantize(chunk, noise).to(device))).cpu() for chunk in images.split(1000)]
    return torch.cat(values)


def build(variant: Variant, train_images: torch.Tensor) -> Flow:
    model = real_nvp(dataclasses.replace(BASE.model, **variant.model))
    return with_actnorm(model, train_images) if variant.actnorm else model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("comparison", choices=list(COMPARISONS))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), help="instead of the comparison's (no record)")
    parser.add_argument("--steps", type=int, default=600, help="training steps of every variant")
    parser.add_argument("--budget-s", type=float, help="training seconds of every variant instead of --steps")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.8, 0.6])
    parser.add_argument("--fid-n", type=int, default=1000)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    runtime = setup(device=args.device)
    question, names = COMPARISONS[args.comparison]
    names = args.variants or names
    train_x, train_y = load_mnist("train")
    test_x, test_y = load_mnist("test")
    judge, _ = train_classifier(PROFILES["default"].classifier, (train_x, train_y), (test_x, test_y), runtime.device)
    subsets = generator("subsets", 5)
    real_test = test_x[torch.randperm(len(test_x), generator=subsets)[: args.fid_n]]
    real_train = train_x[torch.randperm(len(train_x), generator=subsets)[: args.fid_n]]
    budget = (
        dict(time_budget_s=args.budget_s, max_steps=None, epochs=1000)
        if args.budget_s
        else dict(max_steps=args.steps, time_budget_s=None, epochs=1000)
    )
    floor = fid_images(real_train, real_test, judge)
    sure = confident_fraction(judge, real_train)
    lines = [
        f"Real NVP variants on {runtime.device} ({runtime.threads} threads), "
        + (f"{args.budget_s:g} s each" if args.budget_s else f"{args.steps} steps each")
        + f"; FID and confident fraction of n = {args.fid_n} samples. Real training digits against real test digits: "
        f"FID {floor:.1f}, confident {sure:.3f} ± {proportion_interval(sure, args.fid_n):.3f}.",
        "",
        f"| variant | steps | train s | ms/step | test bits/dim (seeds 0-2) | minus {names[0]}'s (95%) | "
        + " | ".join(f"T={t} FID / conf." for t in args.temperatures)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(args.temperatures),
    ]
    print("\n".join(lines), flush=True)
    numbers: dict[str, dict] = {"floor": {"fid": floor, "confident": sure}}
    first: torch.Tensor | None = None
    for name in names:
        variant = VARIANTS[name]
        config = dataclasses.replace(BASE.train, **variant.train, **budget, eval_every=None, checkpoint_every=None)
        model = build(variant, train_x)
        start = time.perf_counter()
        history = train(model, realnvp_loss, train_x, config, device=runtime.device, desc=name)
        seconds = time.perf_counter() - start
        per_image = image_bits_per_dim(model, test_x, 0)
        bpd = [per_image.mean().item()] + [image_bits_per_dim(model, test_x, s).mean().item() for s in (1, 2)]
        first = per_image if first is None else first
        diff, half = mean_and_interval((per_image - first).double())
        rows = sample_quality(model, judge, real_test, args.temperatures, n=args.fid_n)
        cells = " | ".join(f"{r['fid']:.0f} / {r['confident']:.2f} ± {r['confident_half_width']:.2f}" for r in rows)
        line = (
            f"| {name} | {history.steps} | {seconds:.0f} | {1e3 * seconds / history.steps:.1f} | "
            f"{sum(bpd) / 3:.4f} ({min(bpd):.4f}-{max(bpd):.4f}) | {diff:+.4f} ± {half:.4f} | {cells} |"
        )
        print(line, flush=True)
        lines.append(line)
        numbers[name] = {"steps": history.steps, "seconds": seconds, "bpd": bpd, "bpd_minus_first": [diff, half]}
        numbers[name]["quality"] = rows
    if not args.variants:
        write_record(  # an equal-time comparison is a record of its own beside the equal-steps one
            f"realnvp-{args.comparison}" + ("-budget" if args.budget_s else ""),
            question=question,
            profile="default",
            table_markdown="\n".join(lines),
            numbers=numbers,
        )


if __name__ == "__main__":
    main()
