"""Is the cached raster-order sampler exact, how much faster is it than the definition, and how much memory does it
take? Records `sampler-speed` and `sampler-memory`.

    python benchmarks/bench_sampler.py speed  [--n 64] [--busy 0] [model options, benchmarks/common.py]
    python benchmarks/bench_sampler.py memory [--digits 1000] [model options]

speed: bottom-half inpainting of n test digits by the cached sampler (`sampler.sample_holes`, median of 3) and by
the naive one that runs the whole network on the whole image once per hole pixel (`pixelcnn.inpaint`, the
definition), same generator: the samples must be identical. Both the raster (plain) and the conditional mode (each
digit told a digit drawn from the recogniser, as the label mixture does; naive: `pixelcnn.inpaint` of
`conditional.Told`). Wall times and ratios are measured in this one run, beside the cached sampler's time with every
step on all of torch's threads (`sampler.SERIAL_STEP_MACS` = 0: no step counted small enough for one thread).
`--busy K`: K other processes spin on the CPU throughout (a busy host, reproducibly). Speed does not depend on
training: a model trained for a few steps (`--max-steps 100 --recogniser-steps 100`; it still starts from the
profile's plain PixelCNN, trained on first use) measures the same.
memory: SIR (K = 8) on the top halves of `digits` test digits sampled in chunks (`sampler.chunk_rows`, the default
cache budget) and in one go, each run in a fresh process (two of each, alternating): wall time, peak resident memory
of the process and a checksum of the samples, which must agree.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import torch
from common import add_model_options, trained_model
from records import write_record

from asgn2 import inpainting, pixelcnn, sampler
from asgn2.conditional import ConditionalPixelCNN, Told
from asgn2.data import eval_binarization
from asgn2.holes import hole_mask
from asgn2.pixelcnn import PixelCNN
from asgn2.randomness import generator
from asgn2.sampler import sample_holes


def speed(args: argparse.Namespace, model: ConditionalPixelCNN, test_images: torch.Tensor, about: str) -> None:
    x = eval_binarization(test_images[: args.n]).to(args.device)
    known = hole_mask("bottom", args.n).to(args.device)
    told = torch.multinomial(model.class_log_posterior(x, known).exp(), 1, generator=generator("sampling"))[:, 0]
    lines = [
        f"Bottom-half inpainting of {args.n} test digits, {torch.get_num_threads()} threads, {args.busy} spinning "
        f"processes of the benchmark's own throughout (--busy; other work on the host: its load below); {about}.",
        "",
        "| mode | naive: whole network once per hole pixel, s | cached, s (median of 3) | speed-up | identical "
        "| cached, every step on all threads, s | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    numbers = {}
    with busy_processes(args.busy):
        for conditional in (False, True) if isinstance(model, ConditionalPixelCNN) else (False,):
            labels = told if conditional else None

            def run(conditional: bool = conditional, labels: torch.Tensor | None = labels) -> torch.Tensor:
                return sample_holes(
                    model, x, known, generator=generator("sampling"), conditional=conditional, labels=labels
                )

            (fast, fast_s), (threaded, threaded_s) = alternate(run, every_step_threaded(run))
            start = time.perf_counter()
            # the definition: the whole network once per hole pixel (told the digits: `conditional.Told`)
            naive = pixelcnn.inpaint(
                Told(model, known, labels) if conditional else model, x, known, generator=generator("sampling")
            )
            naive_s = time.perf_counter() - start
            mode = "conditional (told a digit drawn from r)" if conditional else "raster (plain)"
            same = torch.equal(fast, naive) and torch.equal(threaded, naive)
            lines.append(
                f"| {mode} | {naive_s:.1f} | {fast_s:.3f} | {naive_s / fast_s:.0f}x | {same} | {threaded_s:.3f} | "
                f"{naive_s / threaded_s:.0f}x |"
            )
            print(lines[-1], flush=True)
            numbers[mode] = {"naive_s": naive_s, "cached_s": fast_s, "threaded_s": threaded_s, "identical": same}
    write_record(
        "sampler-speed",
        question="Why inpainting uses the cached raster-order sampler: it draws exactly the naive sampler's samples, "
        "this many times faster; and why small steps run on one thread.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers=numbers,
    )


def every_step_threaded(run: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
    """run() with no sampling step counted small enough for one thread (`sampler.SERIAL_STEP_MACS` = 0)."""

    def threaded() -> torch.Tensor:
        policy, sampler.SERIAL_STEP_MACS = sampler.SERIAL_STEP_MACS, 0
        try:
            return run()
        finally:
            sampler.SERIAL_STEP_MACS = policy

    return threaded


def alternate(*runs: Callable[[], torch.Tensor], repeats: int = 3) -> list[tuple[torch.Tensor, float]]:
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


def memory_child(args: argparse.Namespace, model: PixelCNN, test_images: torch.Tensor) -> None:
    """One SIR run at the cache budget `args.cache_bytes`; prints one JSON line."""
    sampler.CACHE_BYTES_CPU = args.cache_bytes
    x = eval_binarization(test_images[: args.digits]).to(args.device)
    known = hole_mask("top", args.digits).to(args.device)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    drawn = inpainting.sir(model, x, known, samples=8, candidates=8, generator=generator("sampling"))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    checksum = int((drawn.candidates.flatten(1).sum(1) * torch.arange(1, len(drawn.candidates) + 1)).sum())
    print(json.dumps({"seconds": seconds, "before_gb": before / 2**20, "peak_gb": peak / 2**20, "sum": checksum}))


def memory(args: argparse.Namespace, model: PixelCNN, test_images: torch.Tensor, about: str) -> None:
    rows = sampler.chunk_rows(model, eval_binarization(test_images[:1]), 8)  # per row: one image is enough
    lines = [
        f"SIR, K = 8, top halves of {args.digits} test digits ({args.digits * 8} completions), "
        f"{torch.get_num_threads()} threads, each run in a fresh process; {about}.",
        "",
        "| sampled | wall time, s | peak memory of the process, GiB (before sampling) | checksum |",
        "|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    numbers: dict[str, list] = {}
    for _ in range(2):
        for name, budget in (
            (f"in chunks of {rows} rows (the default)", sampler.CACHE_BYTES_CPU),
            ("in one go", 2**50),
        ):
            command = [sys.executable, __file__, *sys.argv[1:], "--cache-bytes", str(budget)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
            result = json.loads(out)
            lines.append(
                f"| {name} | {result['seconds']:.1f} | {result['peak_gb']:.2f} ({result['before_gb']:.2f}) "
                f"| {result['sum']} |"
            )
            print(lines[-1], flush=True)
            numbers.setdefault(name, []).append(result)
    write_record(
        "sampler-memory",
        question="Why the sampler works in chunks of rows (`sampler.chunk_rows`): the same samples in bounded "
        "memory, at what cost in time.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers=numbers,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "memory"])
    parser.add_argument("--n", type=int, default=64, help="speed: test digits")
    parser.add_argument("--busy", type=int, default=0, help="speed: other processes kept busy meanwhile")
    parser.add_argument("--digits", type=int, default=1000, help="memory: test digits")
    parser.add_argument("--cache-bytes", type=int, help=argparse.SUPPRESS)  # memory: one child run at this budget
    add_model_options(parser)
    args = parser.parse_args()
    model, data, about = trained_model(args)
    if args.cache_bytes:
        memory_child(args, model, data[2])
    else:
        {"speed": speed, "memory": memory}[args.what](args, model, data[2], about)


if __name__ == "__main__":
    main()
