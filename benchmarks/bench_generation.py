"""Samples through the digit the network can be told: untold against the label mixture, for the PixelCNN and the
Real NVP. Records `pixelcnn-generation`, `digit-map`, `realnvp-digit-base` and `realnvp-joint-base`.
    python benchmarks/bench_generation.py pixelcnn  [--n 1000] [--nll-digits 10000] [--seeds 0 1 2]
                                                    [model options, benchmarks/common.py]
    python benchmarks/bench_generation.py digit-map [--max-steps 1000] [--n 1000] [--nll-digits 2000]
    python benchmarks/bench_generation.py realnvp   [--n 1000] [--temperatures 1.0 0.9 0.8 0.7 0.6]
    python benchmarks/bench_generation.py realnvp-joint [--n 1000] [--temperatures ...]
pixelcnn: the profile's conditional PixelCNN (trained on first use) generating untold, x ~ p(x) with nothing
observed and no digit told, and as the label mixture p(x) = sum over y of pi(y) p(x | y) (pi the training label
frequencies; y ~ pi, then x told y). Test NLL of both on the same evaluation binarizations (mean and range over the
seeds; the mixture's is exact, ten passes); FID of n samples against n binarized test digits, beside the floor
(n binarized training digits); the fraction the classifier labels with probability >= 0.9; and for the mixture, how
often the classifier names the digit each sample was told, per digit.
digit-map: where the digit enters. The same spec trained for --max-steps steps twice: with the per-digit 7 x 7 map
of `conditional.ConditionNet` (the package's), and with the map frozen at zero (the digit only as a bias that is the
same at every position, the earlier design); the same table for each.
realnvp: the profile's Real NVP (trained on first use), plain (base N(0, I)) and with the per-digit Gaussian base
fitted to its latents (`digit_base.fit_digit_base`, no further training): test bits/dim (10000 digits, evaluation
seeds 0, 1, 2), and per temperature the FID, the confident fraction and the agreement with the told digit.
realnvp-joint: the alternative, the same flow and time budget trained from scratch with a learnt per-digit base
(the labels in the loss, as Glow's class-conditional prior), evaluated alike. Record `realnvp-joint-base`.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch
from common import Data, add_model_options, judge, trained_model, variant
from records import write_record
from torch import nn

from asgn2 import conditional, randomness
from asgn2.classifier import MnistClassifier
from asgn2.conditional import ConditionalPixelCNN, mixture_nll_per_image
from asgn2.data import PIXELS, eval_binarization, label_frequencies, load_mnist
from asgn2.digit_base import DiagonalGaussianMixture, fit_digit_base
from asgn2.flows import Flow
from asgn2.pixelcnn import test_nll
from asgn2.profiles import PROFILES
from asgn2.realnvp import RealNVP, dequantize, test_bits_per_dim, train_realnvp
from asgn2.realnvp_eval import sample_quality, told_sample_quality
from asgn2.runs import train_or_load
from asgn2.runtime import setup
from asgn2.sample_scores import score_samples
from asgn2.sampler import sample, sample_label_mixture
from asgn2.units import bits_per_dim


def real_sets(data, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n binarized test digits (the FID's reference) and n binarized training digits (the floor), as the notebook."""
    train_x, _, test_x, _ = data
    subsets = randomness.generator("subsets", 1)
    test = eval_binarization(test_x[torch.randperm(10000, generator=subsets)[:n]], 2)
    train = eval_binarization(train_x[torch.randperm(60000, generator=subsets)[:n]], 1)
    return test, train


def pixelcnn_table(
    model: ConditionalPixelCNN, classifier, data, n: int, nll_digits: int, seeds: list[int]
) -> tuple[list[str], dict]:
    """The side-by-side table of one conditional PixelCNN: untold against the label mixture."""
    train_x, train_y, test_x, _ = data
    prior = label_frequencies(train_y)
    real_test, real_train = real_sets(data, n)
    start = time.perf_counter()
    untold = sample(model, n, generator=randomness.generator("sampling", 0)).cpu()
    mixture, told = sample_label_mixture(model, n, prior, generator=randomness.generator("sampling", 1))
    sampling_s = time.perf_counter() - start
    scores = {
        "untold": score_samples(classifier, untold, real_test),
        "mixture": score_samples(classifier, mixture.cpu(), real_test, told),
        "floor": score_samples(classifier, real_train, real_test),
    }
    start = time.perf_counter()
    nll = {"untold": [], "mixture": []}
    for seed in seeds:
        x = eval_binarization(test_x[:nll_digits], seed)
        nll["untold"].append(test_nll(model, x))
        nll["mixture"].append(mixture_nll_per_image(model, x, prior).double().mean().item())
    nll_s = time.perf_counter() - start

    def nll_cell(values: list[float]) -> str:
        return f"{sum(values) / len(values):.2f} ({min(values):.2f} to {max(values):.2f})"

    def row(name: str, s: dict, nll_values: list[float] | None) -> str:
        agree = f"{100 * s['agree']:.1f} ± {100 * s['agree_half_width']:.1f}%" if "agree" in s else "-"
        return (
            f"| {name} | {nll_cell(nll_values) if nll_values else '-'} | {s['fid']:.1f} | "
            f"{100 * s['confident']:.1f} ± {100 * s['confident_half_width']:.1f}% | {agree} |"
        )

    lines = [
        f"Test NLL: the first {nll_digits} test digits, evaluation seeds {seeds} (mean, range over seeds; "
        f"{nll_s:.0f} s). FID: {n} samples against {n} binarized test digits; sampling {sampling_s:.0f} s for both.",
        "",
        "| generation | test NLL (nats) | FID | confident (p >= 0.9) | judge names the told digit |",
        "|---|---|---|---|---|",
        row("untold: x ~ p(x)", scores["untold"], nll["untold"]),
        row("label mixture: y ~ pi, x ~ p(x given y)", scores["mixture"], nll["mixture"]),
        row("floor: binarized training digits", scores["floor"], None),
        "",
        "Told-digit agreement per digit (label mixture): "
        + ", ".join(f"{y}: {100 * a:.0f}%" for y, a in enumerate(scores["mixture"]["agree_per_digit"])),
    ]
    return lines, {"scores": scores, "nll": nll, "seeds": seeds, "nll_digits": nll_digits, "n": n}


def pixelcnn_command(args: argparse.Namespace) -> None:
    model, data, about = trained_model(args)
    lines, numbers = pixelcnn_table(model, judge(args, data), data, args.n, args.nll_digits, args.seeds)
    lines = [about + ".", "", *lines]
    print("\n".join(lines), flush=True)
    write_record(
        "pixelcnn-generation",
        question="Does the PixelCNN generate better through the digit it can be told (the label mixture) than "
        "untold: NLL, FID with its floor, confident fraction, told-digit agreement.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers=numbers,
    )


class _FrozenMapConditionNet(conditional.ConditionNet):
    """The earlier design: the digit map fixed at zero, so the digit enters only through the summary embedding."""

    def __init__(self, channels: int, width: int = 16) -> None:
        super().__init__(channels, width)
        self.digit_map.requires_grad_(False)


def digit_map_command(args: argparse.Namespace) -> None:
    args.device = setup(args.device).device
    data = (*load_mnist("train"), *load_mnist("test"))
    classifier = judge(args, data)
    lines, numbers = [], {}
    for name in ("map", "constant"):
        spec = variant(PROFILES[args.profile].conditional, args)
        if name == "constant":
            spec = dataclasses.replace(spec, name=f"{spec.name}-constant-digit")
        original = conditional.ConditionNet  # what ConditionalPixelCNN builds its conditioning network from
        conditional.ConditionNet = _FrozenMapConditionNet if name == "constant" else original
        try:
            torch.manual_seed(0)  # the same initial weights for both
            model, history = conditional.train_conditional(spec, data[:2], data[2:], args.device)
        finally:
            conditional.ConditionNet = original
        table, numbers[name] = pixelcnn_table(model.eval(), classifier, data, args.n, args.nll_digits, [0])
        title = (
            "the digit as a 7 x 7 map per digit" if name == "map" else "the digit as a constant bias (map frozen at 0)"
        )
        lines += [f"**{title}** ({spec.name}: {history.steps} steps, {history.wall_time_s:.0f} s)", "", *table, ""]
        print("\n".join(lines[-len(table) - 3 :]), flush=True)
    write_record(
        "digit-map",
        question="Where the digit enters the conditional PixelCNN: a per-digit 7 x 7 map against a bias that is "
        "the same at every position, trained alike; what each does to told-digit samples.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers=numbers,
    )


def flow_setup(args: argparse.Namespace) -> tuple[Data, MnistClassifier, torch.Tensor, torch.Generator]:
    """What both Real NVP comparisons need (args.device becomes the device): MNIST, the judge, the FID's --n real
    test digits, and the "subsets" generator that drew them (the floor's training digits come next from it)."""
    args.device = setup(args.device).device
    data = (*load_mnist("train"), *load_mnist("test"))
    subsets = randomness.generator("subsets", 1)
    return data, judge(args, data), data[2][torch.randperm(10000, generator=subsets)[: args.n]], subsets


def realnvp_command(args: argparse.Namespace) -> None:
    (train_x, train_y, test_x, _), classifier, real_test, subsets = flow_setup(args)
    device = args.device
    flow, history = train_realnvp(PROFILES[args.profile].realnvp, train_x, test_x, device)
    start = time.perf_counter()
    digit_flow = Flow(flow.transform, fit_digit_base(flow, train_x, train_y))
    fit_s = time.perf_counter() - start
    seeds = [0, 1, 2]
    bpd = {
        name: [test_bits_per_dim(m, test_x, s) for s in seeds]
        for name, m in (("plain", flow), ("digit base", digit_flow))
    }
    lines = [
        f"Real NVP {PROFILES[args.profile].realnvp.name}: {history.steps} steps, {history.wall_time_s:.0f} s; "
        f"per-digit base fitted to the latents of the 60000 training digits in {fit_s:.0f} s.",
        "",
        "| base | test bits/dim (seeds 0, 1, 2) |",
        "|---|---|",
        *(f"| {k} | {sum(v) / 3:.4f} ({min(v):.4f} to {max(v):.4f}) |" for k, v in bpd.items()),
        "",
        f"{args.n} samples per cell against {args.n} real test digits.",
        "",
        "| T | plain FID | plain confident | digit base FID | digit base confident | told digit named |",
        "|---|---|---|---|---|---|",
    ]
    plain = sample_quality(flow, classifier, real_test, args.temperatures, n=args.n)
    told = told_sample_quality(digit_flow, classifier, real_test, args.temperatures, n=args.n)
    rows = []
    for t, p, s in zip(args.temperatures, plain, told, strict=True):
        rows.append({"temperature": t, "plain": p, "digit_base": s})
        lines.append(
            f"| {t} | {p['fid']:.0f} | {100 * p['confident']:.0f} ± {100 * p['confident_half_width']:.0f}% | "
            f"{s['fid']:.0f} | {100 * s['confident']:.0f} ± {100 * s['confident_half_width']:.0f}% | "
            f"{100 * s['agree']:.0f} ± {100 * s['agree_half_width']:.0f}% |"
        )
    floor = score_samples(classifier, train_x[torch.randperm(60000, generator=subsets)[: args.n]], real_test)
    lines += ["", f"Floor (real training digits): FID {floor['fid']:.1f}, confident {100 * floor['confident']:.0f}%."]
    print("\n".join(lines), flush=True)
    write_record(
        "realnvp-digit-base",
        question="Does a per-digit Gaussian base, fitted to the trained flow's latents, improve the Real NVP's "
        "samples: bits/dim, FID, confident fraction and told-digit agreement per temperature, against the plain base.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers={"bpd": bpd, "rows": rows, "floor": floor, "fit_s": fit_s},
    )


class _JointBaseFlow(nn.Module):
    """The alternative to fitting the base afterwards: the flow's transform trained from scratch with a learnt
    per-digit base, on log p(v | y) + log pi(y) with the training labels (Glow's class-conditional prior, one Gaussian
    per digit)."""

    def __init__(self, transform: RealNVP) -> None:
        super().__init__()
        self.transform = transform
        self.means = nn.Parameter(torch.zeros(10, PIXELS))
        self.log_scales = nn.Parameter(torch.zeros(10, PIXELS))

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        images, labels = batch
        z, log_det = self.transform(dequantize(images))
        normal = torch.distributions.Normal(self.means[labels], self.log_scales[labels].exp())
        return bits_per_dim(-(normal.log_prob(z).sum(1) + log_det)).mean()

    def digit_flow(self, labels: torch.Tensor) -> Flow:
        base = DiagonalGaussianMixture(self.means.detach(), self.log_scales.detach(), label_frequencies(labels))
        return Flow(self.transform, base.to(self.means.device))


def realnvp_joint_command(args: argparse.Namespace) -> None:
    """The same flow and budget trained with the learnt base (`_JointBaseFlow`), evaluated as `realnvp`: is a base
    learnt jointly with the flow worth a training run of its own, against the base fitted afterwards in seconds?"""
    (train_x, train_y, test_x, _), classifier, real_test, _ = flow_setup(args)
    spec = PROFILES[args.profile].realnvp
    spec = dataclasses.replace(spec, name=f"{spec.name}-joint-digit-base")
    torch.manual_seed(0)
    model = _JointBaseFlow(RealNVP(spec.model))
    model, history = train_or_load(
        model, "realnvp", spec, lambda m, b: m.loss(b), (train_x, train_y), lambda m: {}, args.device
    )
    digit_flow = model.digit_flow(train_y)
    seeds = [0, 1, 2]
    bpd = [test_bits_per_dim(digit_flow, test_x, s) for s in seeds]
    told = told_sample_quality(digit_flow, classifier, real_test, args.temperatures, n=args.n)
    lines = [
        f"Real NVP {spec.name}: trained with a learnt per-digit base, {history.steps} steps, "
        f"{history.wall_time_s:.0f} s. Test bits/dim of its mixture (seeds 0, 1, 2): {sum(bpd) / 3:.4f} "
        f"({min(bpd):.4f} to {max(bpd):.4f}). {args.n} samples per row against {args.n} real test digits.",
        "",
        "| T | FID | confident | told digit named |",
        "|---|---|---|---|",
        *(
            f"| {r['temperature']} | {r['fid']:.0f} | {100 * r['confident']:.0f} ± "
            f"{100 * r['confident_half_width']:.0f}% | {100 * r['agree']:.0f} ± {100 * r['agree_half_width']:.0f}% |"
            for r in told
        ),
    ]
    print("\n".join(lines), flush=True)
    write_record(
        "realnvp-joint-base",
        question="A per-digit base learnt jointly with the flow in the same training budget, against the base fitted "
        "to the plain flow afterwards (record realnvp-digit-base): bits/dim, FID, confident, told digit named.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers={"bpd": bpd, "rows": told, "steps": history.steps, "train_s": history.wall_time_s},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, nll_default in (("pixelcnn", 10000), ("digit-map", 2000)):
        p = sub.add_parser(name)
        p.add_argument("--n", type=int, default=1000, help="samples per FID (and as many real digits)")
        p.add_argument("--nll-digits", type=int, default=nll_default, help="test digits of the NLL")
        p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="evaluation binarization seeds")
        add_model_options(p)
    for name in ("realnvp", "realnvp-joint"):
        p = sub.add_parser(name)
        p.add_argument("--n", type=int, default=1000)
        p.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7, 0.6])
        p.add_argument("--profile", default="default", choices=list(PROFILES))
        p.add_argument("--judge", choices=list(PROFILES))
        p.add_argument("--device")
    args = parser.parse_args()
    commands = {
        "pixelcnn": pixelcnn_command,
        "digit-map": digit_map_command,
        "realnvp": realnvp_command,
        "realnvp-joint": realnvp_joint_command,
    }
    commands[args.command](args)


if __name__ == "__main__":
    main()
