"""Why the label mixture wins, and how far to trust the quality table: SIR's evidence, the vote against S, where the
label errors come from. Records `sir-evidence`, `vote-vs-samples` and `label-fidelity`.

    python benchmarks/bench_inpainting_analysis.py evidence [--digits 200] [--kinds top left ...]
                                                            [--candidates 8 32 128 512]
    python benchmarks/bench_inpainting_analysis.py votes    [--digits 1000] [--kinds top left ...] [--subsets 4 8 16 32]
    python benchmarks/bench_inpainting_analysis.py fidelity [--digits 400] [--kinds top left ...]
    (any command: the model options of benchmarks/common.py)

evidence: how far SIR's NLL (the quality table's, K = 8) is from the joint network's own conditional NLL. On the
first `digits` digits of the quality table's sample, per family, the exact hole NLL of raster and of the label
mixture, and SIR's importance-sampling estimate of -log p(x_hole | x_obs) under the joint network for each K: it errs
low (Jensen) and rises towards the truth as K grows. If it settles at the label mixture's NLL, the conditional model
matches the conditional that the network's own joint implies.
votes: how the majority vote grows with the number S of completions per digit. On the quality table's digits, S
completions per digit from the label mixture and from raster; the vote of the first s of them for each s of
`--subsets` (iid draws: the first s are an evaluation with S = s), beside the nearest training digit, the 10-NN vote,
the recogniser's top class, and, for the largest s, the majority of the digits the label mixture drew and raster's
vote. Then each vote minus the nearest digit's, per family and averaged over the families, with paired 95% intervals.
fidelity: where the conditional model's label errors come from. Per family: how often the recogniser r(y | x_obs)
names the true digit, and the classifier's agreement with completions drawn four ways: the label mixture, the
recogniser's class probabilities fed to the network as they are, its top class told, the true label told. The last
shows how well the network follows a class it is told: if it is low, a better recogniser alone cannot help.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import Data, add_model_options, judge, trained_model
from records import write_record

from asgn2 import inpainting
from asgn2.classifier import MnistClassifier, predict
from asgn2.conditional import ConditionalPixelCNN, mixture_hole_log_prob, pixel_log_probs
from asgn2.data import binarize
from asgn2.holes import HOLE_KINDS, hole_mask
from asgn2.inpainting_eval import evaluation_digits, in_chunks, majority, nearest_baselines
from asgn2.intervals import mean_and_interval
from asgn2.profiles import PROFILES
from asgn2.randomness import generator
from asgn2.recogniser import accuracy as recogniser_accuracy
from asgn2.sampler import sample_holes


def interval(values: torch.Tensor, decimals: int = 2, sign: str = "") -> str:
    """'mean ± the half-width of its 95% interval' (sign "+": the mean's sign always shown)."""
    mean, half = mean_and_interval(values.double())
    return f"{mean:{sign}.{decimals}f} ± {half:.{decimals}f}"


def emit(lines: list[str], line: str = "") -> None:
    print(line, flush=True)
    lines.append(line)


@torch.no_grad()
def evidence(args: argparse.Namespace, model: ConditionalPixelCNN, data: Data, about: str) -> list[str]:
    """SIR's estimate of the joint network's own conditional NLL, -log p(x) + log p^(x_obs), as K grows, beside the
    exact NLLs of raster and of the label mixture, on the same digits."""
    kinds, digits, lines = tuple(args.kinds or ("top", "left", "right", "centre")), args.digits or 200, []
    x = evaluation_digits(data[2], data[3], digits)[2].to(args.device)
    log_p = in_chunks(pixel_log_probs, model, x).flatten(1).cpu()  # the model as a plain PixelCNN
    emit(lines, f"{digits} random test digits (the quality table's first); hole NLL in nats, 95% intervals; {about}.")
    emit(lines)
    emit(lines, "| holes | raster (exact) | label mixture (exact) | K | SIR estimate | SIR - mixture | ESS | s |")
    emit(lines, "|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        known = hole_mask(kind, digits, seed=0).to(args.device)
        raster = -(log_p * (~known).flatten(1).cpu()).sum(1)
        mixture = -in_chunks(mixture_hole_log_prob, model, x, known).cpu()
        first = f"| {kind} | {interval(raster)} | {interval(mixture)} |"
        for k in args.candidates:
            start = time.perf_counter()
            drawn = inpainting.sir(model, x, known, samples=1, candidates=k, generator=generator("sampling", 0))
            estimate = -(log_p.sum(1) - drawn.log_evidence())  # errs low: log p^(x_obs) does, in expectation
            ess = drawn.effective_sample_size().mean().item()
            cells = f" {k} | {interval(estimate)} | {interval(estimate - mixture)} | {ess:.1f} | "
            emit(lines, first + cells + f"{time.perf_counter() - start:.0f} |")
            first = "| | | |"
    return lines


@torch.no_grad()
def votes(args: argparse.Namespace, model: ConditionalPixelCNN, data: Data, about: str) -> list[str]:
    """The majority vote against S: one draw of max(subsets) completions per digit and method, the vote of the first
    s of them for every s of `subsets`."""
    spec = PROFILES[args.profile].inpainting
    digits, kinds, subsets = args.digits or spec.digits, tuple(args.kinds or spec.kinds), sorted(args.subsets)
    train_x, train_y, test_x, test_y = data
    judged_by, lines = judge(args, data), []
    _, labels, x = evaluation_digits(test_x, test_y, digits, spec.seed)  # the quality table's digits
    x, s_max = x.to(args.device), subsets[-1]
    train_binary = binarize(train_x, generator("baselines", spec.seed))
    header = ["nearest", "10-NN", "r's top class"] + [f"S = {s}" for s in subsets]
    header += [f"drawn digits' majority, S = {s_max}", f"raster, S = {s_max}"]
    emit(lines, f"{digits} random test digits (the quality table's), up to S = {s_max}; vote %; {about}.")
    emit(lines)
    emit(lines, "| holes | " + " | ".join(header) + " | s |")
    emit(lines, "|---" * (len(header) + 2) + "|")
    columns: dict[str, dict[str, torch.Tensor]] = {}
    for kind in kinds:
        start = time.perf_counter()
        known = hole_mask(kind, digits, seed=spec.seed).to(args.device)
        nearest, knn_label = nearest_baselines(x, known, train_binary, train_y)
        cells = [
            predict(judged_by, nearest) == labels,
            knn_label == labels,
            model.class_log_posterior(x, known).argmax(1).cpu() == labels,
        ]
        completions, told = inpainting.label_mixture(
            model, x, known, samples=s_max, generator=generator("sampling", spec.seed)
        )
        judged = predict(judged_by, completions.flatten(0, 1)).view(digits, s_max)
        cells += [majority(judged[:, :s]) == labels for s in subsets]
        raster = inpainting.raster(model, x, known, samples=s_max, generator=generator("sampling", spec.seed))
        cells += [
            majority(told.cpu()) == labels,
            majority(predict(judged_by, raster.flatten(0, 1)).view(digits, s_max)) == labels,
        ]
        columns[kind] = dict(zip(header, (c.float() for c in cells), strict=True))
        row = " | ".join(f"{100 * c.mean():.1f}" for c in columns[kind].values())
        emit(lines, f"| {kind} | {row} | {time.perf_counter() - start:.0f} |")
    emit(
        lines, f"\nThe label mixture's vote minus the nearest digit's, points, paired 95% intervals ({digits} digits)\n"
    )
    emit(lines, "| holes | " + " | ".join(f"S = {s}" for s in subsets) + " |")
    emit(lines, "|---" * (len(subsets) + 1) + "|")
    gains = {s: torch.stack([columns[k][f"S = {s}"] - columns[k]["nearest"] for k in kinds]) for s in subsets}
    for i, kind in enumerate(kinds):
        emit(lines, f"| {kind} | " + " | ".join(interval(100 * gains[s][i], 1, "+") for s in subsets) + " |")
    mean = [gains[s].mean(0) for s in subsets]  # per digit over the families, then over the digits
    emit(lines, f"| **mean of {len(kinds)}** | " + " | ".join(f"**{interval(100 * m, 1, '+')}**" for m in mean) + " |")
    return lines


@torch.no_grad()
def fidelity(
    args: argparse.Namespace, model: ConditionalPixelCNN, data: Data, about: str, samples: int = 8
) -> list[str]:
    """The fidelity table (see the module docstring) of the conditional model on `digits` test digits."""
    kinds, digits, lines = tuple(args.kinds or ("top", "left", "centre", "brush")), args.digits or 400, []
    judged_by: MnistClassifier = judge(args, data)
    _, labels, x = evaluation_digits(data[2], data[3], digits)
    x = x.to(args.device)

    def pct(values: torch.Tensor) -> str:
        return interval(100 * values.float(), 1)

    named = [f"{k} {100 * recogniser_accuracy(model.condition.recognise, data[2], data[3], k):.1f}" for k in kinds]
    emit(lines, f"The recogniser on all 10000 test digits names, %: {', '.join(named)}.")
    emit(
        lines,
        f"{digits} test digits, S = {samples}; classifier agreement per completion / majority vote, %, 95% "
        f"intervals; {about}.",
    )
    emit(lines)
    emit(
        lines,
        "| holes | r names the digit | label mixture | r's probabilities fed | its top class told | true label told |",
    )
    emit(lines, "|---|---|---|---|---|---|")
    for kind in kinds:
        known = hole_mask(kind, digits, seed=0).to(args.device)
        recognised = model.class_log_posterior(x, known).argmax(1).cpu()
        draws = [inpainting.conditional(model, x, known, samples=samples, generator=generator("sampling", 0))]
        for told in (None, recognised, labels):  # the recogniser's probabilities; its top class told; the truth
            each = None if told is None else told.repeat_interleave(samples).to(args.device)
            draws.append(
                sample_holes(
                    model, x, known, generator=generator("sampling", 0), conditional=True, repeats=samples, labels=each
                )
            )
        cells = []
        for drawn in draws:
            predicted = predict(judged_by, drawn.reshape(-1, *x.shape[1:])).view(digits, samples)
            cells.append(
                f"{pct((predicted == labels[:, None]).float().mean(1))} / {pct(majority(predicted) == labels)}"
            )
        emit(lines, f"| {kind} | {pct(recognised == labels)} | " + " | ".join(cells) + " |")
    return lines


ANALYSES = {
    "evidence": (
        evidence,
        "sir-evidence",
        "How far SIR's hole NLL (the quality table's, K = 8) is from the truth of "
        "its own network, as K grows: why the table's SIR NLL is an optimistic estimate.",
    ),
    "votes": (
        votes,
        "vote-vs-samples",
        "How the majority vote grows with S completions per digit: why the "
        "evaluation uses S = 8, and how far the label mixture's vote is above the nearest digit's.",
    ),
    "fidelity": (
        fidelity,
        "label-fidelity",
        "Where the label mixture's label errors come from: the recogniser, or "
        "the network not drawing the digit it is told.",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=list(ANALYSES))
    parser.add_argument(
        "--digits", type=int, help="test digits (default: evidence 200, votes the profile's, fidelity 400)"
    )
    parser.add_argument("--kinds", nargs="+", choices=HOLE_KINDS, help="hole families")
    parser.add_argument("--candidates", type=int, nargs="+", default=[8, 32, 128, 512], help="evidence: SIR's K")
    parser.add_argument("--subsets", type=int, nargs="+", default=[4, 8, 12, 16, 32], help="votes: the values of S")
    add_model_options(parser)
    args = parser.parse_args()
    model, data, about = trained_model(args)
    analysis, name, question = ANALYSES[args.what]
    lines = analysis(args, model, data, about)
    write_record(name, question=question, profile=args.profile, table_markdown="\n".join(lines))


if __name__ == "__main__":
    main()
