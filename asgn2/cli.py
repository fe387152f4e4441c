"""`python -m asgn2 <command>`: every module that has commands registers them through `add_commands`."""

from __future__ import annotations

import argparse
import importlib
import time

from .profiles import PROFILE_NAMES
from .training import configure_allocator, configure_threads

# Modules with an `add_commands(subparsers, common)` function and, optionally, a `run_main(args)` step of `run`.
COMMAND_MODULES = [
    "asgn2.classifier",
    "asgn2.pixelcnn",
    "asgn2.inpainting",
    "asgn2.realnvp",
    "asgn2.divergences",
    "asgn2.fid",
    "asgn2.submit",
    "asgn2.report",
]


def _modules() -> list:
    return [importlib.import_module(name) for name in COMMAND_MODULES]


def _run(args: argparse.Namespace) -> None:
    """The main job: every module's `run_main` step in turn, for one profile."""
    for module in _modules():
        if hasattr(module, "run_main"):
            start = time.perf_counter()
            module.run_main(args)
            print(f"[{module.__name__}] {time.perf_counter() - start:.1f} s")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--profile", choices=PROFILE_NAMES, help="sizes and budgets (default: env ASGN2_PROFILE or 'default')"
    )
    common.add_argument("--data", help="folder holding MNIST/raw/ (default: env ASGN2_DATA or ./data)")
    common.add_argument("--device", help="cpu, cuda, mps (default: env ASGN2_DEVICE, else the best available)")
    common.add_argument("--threads", type=int, help="torch intra-op threads (default: env ASGN2_THREADS or torch's)")
    parser = argparse.ArgumentParser(prog="python -m asgn2", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="command")
    run = subparsers.add_parser("run", parents=[common], help="the main job: train and evaluate everything")
    run.set_defaults(func=_run)
    for module in _modules():
        module.add_commands(subparsers, common)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    configure_threads(args.threads)
    configure_allocator()
    args.func(args)
