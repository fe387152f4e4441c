"""Inpainting with the trained PixelCNN: sampler speed, and the quality table of every method and baseline.

    python benchmarks/bench_inpainting.py speed    [--profile default] [--n 64] [--busy 0]
    python benchmarks/bench_inpainting.py quality  [--profile default] [--digits 1000] [--kinds top bottom ...]
                                                   [--samples S]
    python benchmarks/bench_inpainting.py fidelity [--digits 400] [--kinds top left ...]
    python benchmarks/bench_inpainting.py memory   [--digits 1000]
    python benchmarks/bench_inpainting.py evidence [--digits 200] [--kinds top left ...] [--candidates 8 32 128 512]
    python benchmarks/bench_inpainting.py votes    [--digits 1000] [--kinds top left ...] [--samples 32]
                                                   [--subsets 4 8 12 16 32]
    (any command: [--condition-stages all] [--p-label-fed P] [--p-all-holes P] [--time-budget S [--epochs E]]
     [--max-steps N] [--recogniser-budget S], a variant of the profile's PixelCNN; [--judge PROFILE] [--device cuda])

speed: bottom-half inpainting of n test digits by the cached sampler (median of 3) and by the naive one that runs
the whole network on the whole image once per hole pixel, same generator: the samples must be identical. Both the
raster (plain) and the conditional mode. Prints wall times and ratios measured in this one run, and the cached
sampler's time with every step on all of torch's threads (`sampling.SERIAL_STEP_MACS` = 0: no step counted small
enough for one thread). `--busy K`: K other processes spin on the CPU throughout (a busy host, reproducibly).
memory: SIR (K = 8) on the top halves of `digits` test digits sampled in chunks (`sampling.chunk_rows`, the default
cache budget) and in one go, each run in a fresh process (two of each, alternating): wall time, peak resident memory
of the process and a checksum of the samples, which must agree.
quality: `asgn2.inpainting_eval.evaluate` with the profile's evaluation spec (sizes overridable), the table with 95%
intervals, the wall time, and the model's unconditional test NLL (evaluation seed 0), nothing told and as the label
mixture. The models are the profile's cached checkpoints (trained on first use).
evidence: how far SIR's NLL (the quality table's, K = 8) is from the joint network's own conditional NLL. On the
first `digits` (200) digits of quality's sample, per family, the exact hole NLL of raster and of the label mixture,
and SIR's importance-sampling estimate of -log p(x_hole | x_obs) under the joint network for each K: it errs low
(Jensen) and rises towards the truth as K grows. If it settles at the label mixture's NLL, the conditional model
already matches the conditional that the network's own joint implies.
votes: how the majority vote grows with the number S of completions per digit. On quality's digits (its subset,
binarization and hole masks), S completions per digit from the label mixture and from raster; the vote of the
first s of them for each s of `--subsets` (iid draws: the first s are an evaluation with S = s), beside the nearest
training digit, the 10-NN vote, the recogniser's top class (where the vote of the label mixture goes as S grows, if
the network drew every digit it is told), and, for the largest s, the majority of the digits the label mixture drew
(the vote's noise from the draw alone) and raster's vote. Then each vote minus the nearest digit's, per family and
averaged over the families, with paired 95% intervals (the average: per digit over the families, then over the
digits).
fidelity: where the conditional model's label errors come from. Per family: how often its recogniser r(y | x_obs)
names the true digit (on all test digits, then on the sample), and the classifier's agreement with completions
drawn four ways: the label mixture (a digit drawn from the recogniser, then told: `inpainting.conditional`), the
recogniser's class probabilities fed to the network as they are, its top class told, the true label told. The last
shows how well the masked network follows a class it is told: if it is low, a better recogniser alone cannot help.
`--condition-stages all` (any command) trains once, cached, and uses a variant whose conditioning bias enters after
every block instead of after the first and last; `--p-label-fed P` likewise, a variant that tells a fraction P of
the training digits their true label, `--p-all-holes P` one that makes every pixel a hole for a fraction P of them
(the rest get a hole from the training family); `--time-budget S` one trained for S seconds (no step cap;
`--epochs E`, default the profile's, caps it too; the learning rate anneals by time), `--max-steps N` one trained
for exactly N steps (no time cap: a CPU run's step count reproduced on a GPU), and `--recogniser-budget S` caps its
recogniser's training likewise: what more training, or the `full` profile's network, buys. Every variant
is cached under its own name. `--judge PROFILE`: whose classifier scores the completions (default: the profile's
own; `--judge default` keeps a `full` model comparable with the default table). Models train and sample on
`--device` (default: cuda, then mps, then cpu).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import torch

from asgn2 import inpainting, sampling
from asgn2.classifier import predict, train_classifier
from asgn2.data import binarize, load_mnist
from asgn2.holes import HOLE_KINDS, hole_mask
from asgn2.inpainting_eval import evaluate, evaluation_digits, in_chunks, majority, nearest_baselines, table
from asgn2.metrics import mean_and_interval
from asgn2.pixelcnn import (
    PixelCNNSpec,
    eval_binarization,
    mixture_hole_log_prob,
    pixel_log_probs,
    test_nll,
    train_pixelcnn,
)
from asgn2.profiles import PROFILES
from asgn2.randomness import generator
from asgn2.recogniser import accuracy as recogniser_accuracy
from asgn2.runtime import setup
from asgn2.sampling import sample_holes, sample_holes_naive

Data = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # train images, labels; test images, labels


def speed(args: argparse.Namespace, model, data: Data) -> None:
    x = eval_binarization(data[2][: args.n]).to(args.device)
    known = hole_mask("bottom", args.n).to(args.device)
    print(f"bottom-half inpainting of {args.n} test digits, PixelCNN {args.profile}, {torch.get_num_threads()} threads")
    # the conditional mode as the label mixture samples it: each digit told a digit drawn from the recogniser
    told = torch.multinomial(model.class_log_posterior(x, known).exp(), 1, generator=generator("sampling"))[:, 0]
    with busy_processes(args.busy):
        print(f"{args.busy} other busy processes on the CPU for the whole measurement")
        print(
            "| mode | naive: whole network once per hole pixel, s | cached, s (median of 3) | speed-up | identical |"
            " cached, every step on all threads, s | speed-up |"
        )
        print("|---|---|---|---|---|---|---|")
        for conditional in (False, True) if model.conditional else (False,):
            labels = told if conditional else None

            def run(conditional: bool = conditional, labels: torch.Tensor | None = labels) -> torch.Tensor:
                return sample_holes(model, x, known, generator("sampling"), conditional, labels=labels)

            (fast, fast_s), (threaded, threaded_s) = _alternate(run, _every_step_threaded(run))
            start = time.perf_counter()
            naive = sample_holes_naive(model, x, known, generator("sampling"), conditional, labels)
            naive_s = time.perf_counter() - start
            mode = "conditional (told a digit drawn from r)" if conditional else "raster (plain)"
            same = torch.equal(fast, naive) and torch.equal(threaded, naive)
            print(
                f"| {mode} | {naive_s:.1f} | {fast_s:.3f} | {naive_s / fast_s:.0f}x | {same} | {threaded_s:.3f} | "
                f"{naive_s / threaded_s:.0f}x |"
            )


def _every_step_threaded(run: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
    """run() with no sampling step counted small enough for one thread (`sampling.SERIAL_STEP_MACS` = 0)."""

    def threaded() -> torch.Tensor:
        policy, sampling.SERIAL_STEP_MACS = sampling.SERIAL_STEP_MACS, 0
        try:
            return run()
        finally:
            sampling.SERIAL_STEP_MACS = policy

    return threaded


def _alternate(*runs: Callable[[], torch.Tensor], repeats: int = 3) -> list[tuple[torch.Tensor, float]]:
    """Each run's result and median wall time over `repeats` calls, the runs taking turns (a drifting load falls on
    all of them alike)."""
    times: list[list[float]] = [[] for _ in runs]
    outs: list[torch.Tensor] = []
    for _ in range(repeats):
        outs = []
        for run, seconds in zip(runs, times, strict=True):
            start = time.perf_counter()
            outs.append(run())
            seconds.append(time.perf_counter() - start)
    return [(out, statistics.median(seconds)) for out, seconds in zip(outs, times, strict=True)]


@contextlib.contextmanager
def busy_processes(n: int) -> Iterator[None]:
    """n other processes that keep a CPU core busy each (a spinning loop) while the block runs: a busy host, made
    on purpose so that the measurement can be repeated."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for process in spinners:
            process.kill()
            process.wait()


def memory(args: argparse.Namespace, model, data: Data) -> None:
    if args.cache_bytes:  # a child: one run, one JSON line
        sampling.CACHE_BYTES_CPU = args.cache_bytes
        x = eval_binarization(data[2][: args.digits]).to(args.device)
        known = hole_mask("top", args.digits).to(args.device)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        drawn = inpainting.sir(model, x, known, 8, 8, generator("sampling"))
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        checksum = int((drawn.candidates.flatten(1).sum(1) * torch.arange(1, len(drawn.candidates) + 1)).sum())
        print(json.dumps({"seconds": seconds, "before_gb": before / 2**20, "peak_gb": peak / 2**20, "sum": checksum}))
        return
    digits = args.digits or 1000
    rows = sampling.chunk_rows(model, eval_binarization(data[2][:1]), 8)  # per row: one image is enough
    print(
        f"SIR, K = 8, top halves of {digits} test digits ({digits * 8} completions), {torch.get_num_threads()} threads"
    )
    print("| sampled | wall time, s | peak memory of the process, GiB (before sampling) | checksum |")
    print("|---|---|---|---|")
    for _ in range(2):
        for name, budget in (
            (f"in chunks of {rows} rows (the default)", sampling.CACHE_BYTES_CPU),
            ("in one go", 2**50),
        ):
            command = [sys.executable, __file__, "memory", "--digits", str(digits), "--cache-bytes", str(budget)]
            command += ["--profile", args.profile, "--device", str(args.device)]
            out = json.loads(
                subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
            )
            print(f"| {name} | {out['seconds']:.1f} | {out['peak_gb']:.2f} ({out['before_gb']:.2f}) | {out['sum']} |")


def quality(args: argparse.Namespace, model, data: Data) -> None:
    spec = PROFILES[args.profile].inpainting
    spec = dataclasses.replace(spec, digits=args.digits or spec.digits, kinds=tuple(args.kinds or spec.kinds))
    if args.samples:  # sir needs at least S candidates
        spec = dataclasses.replace(spec, samples=args.samples, candidates=max(spec.candidates, args.samples))
    train_x, train_y, test_x, test_y = data
    judge = _judge(args, data)
    start = time.perf_counter()
    rows = evaluate(model, judge, test_x, test_y, train_x, train_y, spec)
    print(
        f"{spec.digits} random test digits (stochastically binarized, evaluation seed {spec.seed}), PixelCNN "
        f"{args.profile}, S = {spec.samples} completions per digit and method; {time.perf_counter() - start:.0f} s"
    )
    print(table(rows, spec.candidates))
    if args.rows_out:  # every row with its intervals, for comparisons across runs and machines
        with open(args.rows_out, "w") as f:
            json.dump(rows, f, indent=1)
    x = eval_binarization(test_x, 0).to(args.device)
    nll = test_nll(model, x)
    print(f"unconditional test NLL, nothing told (10000 test digits, evaluation seed 0): {nll:.2f} nats")
    if model.conditional:  # the label mixture's own p(x): every pixel a hole, sum over the ten digits
        nothing = torch.zeros_like(x, dtype=torch.bool)
        with torch.no_grad():
            mixture = -in_chunks(mixture_hole_log_prob, model, x, nothing).mean().item()
        print(f"the label mixture's p(x), every pixel a hole (ten passes, same digits): {mixture:.2f} nats")


def _judge(args: argparse.Namespace, data: Data):
    """The classifier that scores completions: `--judge`'s profile, else the model's."""
    spec = PROFILES[args.judge or args.profile].classifier
    return train_classifier(spec, (data[0], data[1]), (data[2], data[3]), args.device)[0]


@torch.no_grad()
def fidelity_table(model, judge, data: Data, digits: int, kinds: tuple[str, ...], samples: int = 8) -> None:
    """Print the fidelity table (see the module docstring) of a conditional `model` on `digits` test digits."""
    train_x, train_y, test_x, test_y = data
    device = next(model.parameters()).device
    _, labels, x = evaluation_digits(test_x, test_y, digits)
    x = x.to(device)
    for kind in kinds:  # the recogniser alone is cheap: all 10000 test digits
        named = recogniser_accuracy(model.condition.recognise, test_x, test_y, kind)
        print(f"recogniser, {kind} holes: names {100 * named:.1f}% of all {len(test_x)} test digits")
    print(f"{digits} test digits, S = {samples}; classifier agreement per completion / majority vote, %, 95% intervals")
    print(
        "| holes | recogniser names the digit | label mixture | recogniser's probabilities | its top class told "
        "| true label told |"
    )
    print("|---|---|---|---|---|---|")

    def pct(values: torch.Tensor) -> str:
        mean, half = mean_and_interval(values.float())
        return f"{100 * mean:.1f} ± {100 * half:.1f}"

    for kind in kinds:
        known = hole_mask(kind, digits, seed=0).to(device)
        recognised = model.class_log_posterior(x, known).argmax(1).cpu()
        draws = [inpainting.conditional(model, x, known, samples, generator("sampling", 0))]  # the label mixture
        for told in (None, recognised, labels):  # the recogniser's probabilities; told its top class; the truth
            each = None if told is None else told.repeat_interleave(samples).to(device)
            draws.append(sample_holes(model, x, known, generator("sampling", 0), True, samples, labels=each))
        cells = []
        for drawn in draws:
            predicted = predict(judge, drawn.reshape(-1, *x.shape[1:])).view(digits, samples)
            agree = (predicted == labels[:, None]).float().mean(1)
            cells.append(f"{pct(agree)} / {pct(majority(predicted) == labels)}")
        print(f"| {kind} | {pct(recognised == labels)} | " + " | ".join(cells) + " |")


def fidelity(args: argparse.Namespace, model, data: Data) -> None:
    kinds = tuple(args.kinds or ("top", "left", "centre", "brush"))
    fidelity_table(model, _judge(args, data), data, args.digits or 400, kinds)


@torch.no_grad()
def evidence(args: argparse.Namespace, model, data: Data) -> None:
    """SIR's estimate of the joint network's own conditional NLL, -log p(x) + log p^(x_obs), as K grows, beside the
    exact NLLs of raster and of the label mixture, on the same digits (those of `quality`: its subset, binarization
    and hole masks)."""
    kinds = tuple(args.kinds or ("top", "left", "right", "centre"))
    digits = args.digits or 200
    x = evaluation_digits(data[2], data[3], digits)[2].to(args.device)
    log_p = in_chunks(pixel_log_probs, model, x).flatten(1).cpu()  # the model as a plain PixelCNN
    print(f"{digits} random test digits (as in quality), PixelCNN {args.profile}; hole NLL in nats, 95% intervals")
    print("| holes | raster (exact) | conditional (exact) | K | SIR estimate | SIR - conditional | ESS | s |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        known = hole_mask(kind, digits, seed=0).to(args.device)
        raster = -(log_p * (~known).flatten(1).cpu()).sum(1)
        conditional = -in_chunks(mixture_hole_log_prob, model, x, known).cpu()
        first = f"| {kind} | {_interval(raster)} | {_interval(conditional)} |"
        for k in args.candidates:
            start = time.perf_counter()
            drawn = inpainting.sir(model, x, known, 1, k, generator("sampling", 0))
            estimate = -(log_p.sum(1) - drawn.log_evidence())  # errs low: log p^(x_obs) does, in expectation
            seconds = time.perf_counter() - start
            ess = drawn.effective_sample_size().mean().item()
            cells = f" {k} | {_interval(estimate)} | {_interval(estimate - conditional)} | {ess:.1f} | {seconds:.0f} |"
            print(first + cells, flush=True)
            first = "| | | |"


def votes(args: argparse.Namespace, model, data: Data) -> None:
    spec = PROFILES[args.profile].inpainting
    digits, kinds = args.digits or spec.digits, tuple(args.kinds or spec.kinds)
    subsets = sorted(s for s in args.subsets if s <= (args.samples or 32))
    vote_table(model, _judge(args, data), data, digits, kinds, subsets, spec.seed, args.rows_out)


@torch.no_grad()
def vote_table(
    model,
    judge,
    data: Data,
    digits: int,
    kinds: tuple[str, ...],
    subsets: list[int],
    seed: int = 0,
    out: str | None = None,
) -> None:
    """Print the majority vote against S (see the module docstring): one draw of max(subsets) completions per digit
    and method, the vote of the first s of them for every s of `subsets` (ascending). `out`: after each family,
    torch.save every per-digit column so far there (a long run cut short keeps what it measured)."""
    train_x, train_y, test_x, test_y = data
    device = next(model.parameters()).device
    _, labels, x = evaluation_digits(test_x, test_y, digits, seed)  # `quality`'s digits
    x, s_max = x.to(device), subsets[-1]
    train_binary = binarize(train_x, "stochastic", generator("baselines", seed))
    print(f"{digits} random test digits (as in quality), up to S = {s_max}; vote %")
    header = ["nearest", "10-NN", "r's top class"] + [f"S = {s}" for s in subsets]
    header += [f"drawn digits' majority, S = {s_max}", f"raster, S = {s_max}"]
    print("| holes | " + " | ".join(header) + " | s |")
    print("|---" * (len(header) + 2) + "|")
    columns: dict[str, dict[str, torch.Tensor]] = {}
    for kind in kinds:
        start = time.perf_counter()
        known = hole_mask(kind, digits, seed=seed).to(device)
        nearest, knn_label = nearest_baselines(x, known, train_binary, train_y)
        cells = [
            predict(judge, nearest) == labels,
            knn_label == labels,
            model.class_log_posterior(x, known).argmax(1).cpu() == labels,
        ]
        completions, told = inpainting.label_mixture(model, x, known, s_max, generator("sampling", seed))
        judged = predict(judge, completions.flatten(0, 1)).view(digits, s_max)
        cells += [majority(judged[:, :s]) == labels for s in subsets]
        raster = inpainting.raster(model, x, known, s_max, generator("sampling", seed))
        cells += [
            majority(told.cpu()) == labels,
            majority(predict(judge, raster.flatten(0, 1)).view(digits, s_max)) == labels,
        ]
        columns[kind] = dict(zip(header, (c.float() for c in cells), strict=True))
        seconds = time.perf_counter() - start
        row = " | ".join(f"{100 * c.mean():.1f}" for c in columns[kind].values())
        print(f"| {kind} | {row} | {seconds:.0f} |", flush=True)
        if out:
            torch.save(columns, out)
    print(f"\nthe label mixture's vote minus the nearest digit's, points, paired 95% intervals ({digits} digits)")
    print("| holes | " + " | ".join(f"S = {s}" for s in subsets) + " |")
    print("|---" * (len(subsets) + 1) + "|")
    gains = {s: torch.stack([columns[k][f"S = {s}"] - columns[k]["nearest"] for k in kinds]) for s in subsets}
    for i, kind in enumerate(kinds):
        print(f"| {kind} | " + " | ".join(_interval(100 * gains[s][i], 1, "+") for s in subsets) + " |")
    mean = [gains[s].mean(0) for s in subsets]  # per digit over the families, then over the digits
    print(f"| **mean of {len(kinds)}** | " + " | ".join(f"**{_interval(100 * m, 1, '+')}**" for m in mean) + " |")


def _interval(values: torch.Tensor, decimals: int = 2, sign: str = "") -> str:
    """'mean ± the half-width of its 95% interval' (sign "+": the mean's sign always shown)."""
    mean, half = mean_and_interval(values.double())
    return f"{mean:{sign}.{decimals}f} ± {half:.{decimals}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "quality", "fidelity", "memory", "evidence", "votes"])
    parser.add_argument("--profile", default="default", choices=list(PROFILES))
    parser.add_argument("--n", type=int, default=64, help="speed: test digits")
    parser.add_argument("--busy", type=int, default=0, help="speed: other processes kept busy meanwhile (0)")
    parser.add_argument(
        "--digits", type=int, help="quality, votes: test digits (default: the profile's); fidelity: 400"
    )
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=HOLE_KINDS,
        help="quality: hole families (default: the profile's); fidelity: default top left centre brush",
    )
    parser.add_argument(
        "--condition-stages", choices=["ends", "all"], default="ends", help="the PixelCNN variant (all commands)"
    )
    parser.add_argument("--p-label-fed", type=float, help="the PixelCNN variant (all commands)")
    parser.add_argument(
        "--p-all-holes", type=float, help="the PixelCNN variant: share of training digits all hole (all commands)"
    )
    parser.add_argument(
        "--samples",
        type=int,
        help="quality: S completions per digit and method (default: the profile's; K >= S); votes: the largest S (32)",
    )
    parser.add_argument(
        "--subsets", type=int, nargs="+", default=[4, 8, 12, 16, 32], help="votes: the values of S reported"
    )
    parser.add_argument("--time-budget", type=float, help="the PixelCNN variant trained for S seconds (all commands)")
    parser.add_argument("--epochs", type=int, help="with --time-budget: its epoch cap (default: the profile's)")
    parser.add_argument("--max-steps", type=int, help="the PixelCNN variant trained for exactly N steps, no time cap")
    parser.add_argument("--recogniser-budget", type=float, help="its recogniser trained for S seconds at most")
    parser.add_argument("--judge", choices=list(PROFILES), help="whose classifier scores (default: --profile's)")
    parser.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    parser.add_argument(
        "--candidates", type=int, nargs="+", default=[8, 32, 128, 512], help="evidence: SIR's K, one row each"
    )
    parser.add_argument(
        "--rows-out",
        help="quality: also write the table's rows to this JSON file; votes: its per-digit columns (torch.save)",
    )
    parser.add_argument("--cache-bytes", type=int, help=argparse.SUPPRESS)  # memory: one child run at this budget
    args = parser.parse_args()
    args.device = setup(args.device).device
    data = (*load_mnist("train"), *load_mnist("test"))
    spec = variant(PROFILES[args.profile].pixelcnn, args)
    print(f"PixelCNN {spec.name} on {args.device}")
    model, history = train_pixelcnn(spec, data[0], data[2], args.device, train_labels=data[1], test_labels=data[3])
    print(f"trained {history.steps} steps in {history.wall_time_s:.0f} s (stopped by {history.stopped_by})")
    commands = {
        "speed": speed,
        "quality": quality,
        "fidelity": fidelity,
        "memory": memory,
        "evidence": evidence,
        "votes": votes,
    }
    commands[args.what](args, model, data)


def variant(spec: PixelCNNSpec, args: argparse.Namespace) -> PixelCNNSpec:
    """The profile's PixelCNN spec with the command line's changes, each named in the spec's (checkpoint's) name."""
    if args.condition_stages != spec.model.condition_stages:
        model_config = dataclasses.replace(spec.model, condition_stages=args.condition_stages)
        spec = dataclasses.replace(spec, name=f"{spec.name}-stages-{args.condition_stages}", model=model_config)
    if args.p_label_fed is not None and args.p_label_fed != spec.p_label_fed:
        spec = dataclasses.replace(spec, name=f"{spec.name}-fed-{args.p_label_fed}", p_label_fed=args.p_label_fed)
    if args.p_all_holes is not None and args.p_all_holes != spec.p_all_holes:
        spec = dataclasses.replace(spec, name=f"{spec.name}-all-{args.p_all_holes}", p_all_holes=args.p_all_holes)
    if args.time_budget is not None:
        epochs = args.epochs or spec.train.epochs
        train = dataclasses.replace(spec.train, time_budget_s=args.time_budget, max_steps=None, epochs=epochs)
        spec = dataclasses.replace(spec, name=f"{spec.name}-{args.time_budget:g}s-{epochs}e", train=train)
    if args.max_steps is not None:  # as many epochs (of MNIST's 60000) as the steps need: the steps end the run
        epochs = -(-args.max_steps // (60000 // spec.train.batch_size))
        train = dataclasses.replace(spec.train, max_steps=args.max_steps, time_budget_s=None, epochs=epochs)
        spec = dataclasses.replace(spec, name=f"{spec.name}-{args.max_steps}steps", train=train)
    if args.recogniser_budget is not None and spec.recogniser is not None:
        recogniser = spec.recogniser
        train = dataclasses.replace(recogniser.train, time_budget_s=args.recogniser_budget)
        recogniser = dataclasses.replace(recogniser, name=f"{recogniser.name}-{args.recogniser_budget:g}s", train=train)
        spec = dataclasses.replace(spec, name=f"{spec.name}-r{args.recogniser_budget:g}s", recogniser=recogniser)
    return spec


if __name__ == "__main__":
    main()
