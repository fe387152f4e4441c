"""`python -m asgn2 <command>`: the whole command line. Every command calls library functions with keyword
arguments; nothing here is needed to use the package from Python or the notebook."""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from pathlib import Path

import torch

from . import runtime
from .data import load_mnist
from .profiles import PROFILE_NAMES, Profile, get_profile

EVAL_SEEDS = (0, 1, 2)  # evaluation seeds of the reported test figures (binarization / dequantization)


# ---------------------------------------------------------------------------------------------------- set-up


class Context:
    """What every command needs: the runtime, the profile, MNIST read once (lazily)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.runtime = runtime.setup(device=args.device, threads=args.threads)
        self.profile: Profile = get_profile(args.profile)
        self.root = args.data
        self._splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.models: dict[str, torch.nn.Module] = {}  # trained once per command, reported once

    def mnist(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if split not in self._splits:
            self._splits[split] = load_mnist(split, self.root)
        return self._splits[split]

    @property
    def device(self) -> torch.device:
        return self.runtime.device


def _save(fig, out: str) -> None:
    import matplotlib.pyplot as plt

    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


def _spread(values: list[float], digits: int) -> str:
    mean = sum(values) / len(values)
    return (
        f"{mean:.{digits}f} (evaluation seeds {list(EVAL_SEEDS)}: {min(values):.{digits}f} to {max(values):.{digits}f})"
    )


def _once(train_and_report: Callable[[Context, bool], torch.nn.Module]) -> Callable[..., torch.nn.Module]:
    """A command that trains (or loads) and reports a model runs once per invocation; later calls (say, `run`
    inpainting two hole families) get the same model back without reporting it again."""

    @functools.wraps(train_and_report)
    def once(ctx: Context, retrain: bool = False) -> torch.nn.Module:
        name = train_and_report.__name__
        if name not in ctx.models:
            ctx.models[name] = train_and_report(ctx, retrain)
        return ctx.models[name]

    return once


# -------------------------------------------------------------------------------------------------- commands


@_once
def classifier_cmd(ctx: Context, retrain: bool = False):
    from .classifier import train_classifier

    spec = ctx.profile.classifier
    model, history = train_classifier(spec, ctx.mnist("train"), ctx.mnist("test"), ctx.device, retrain=retrain)
    print(
        f"classifier ({spec.name}): test accuracy {100 * history.evals[-1]['test_accuracy']:.2f}% after "
        f"{history.steps} steps, {history.wall_time_s:.1f} s training"
    )
    return model


@_once
def pixelcnn_cmd(ctx: Context, retrain: bool = False):
    from .pixelcnn import train_pixelcnn

    spec = ctx.profile.pixelcnn
    model, history = train_pixelcnn(spec, ctx.mnist("train")[0], ctx.mnist("test")[0], ctx.device, retrain=retrain)
    _report_nll("pixelcnn", spec.name, model, history, ctx.mnist("test")[0])
    return model


@_once
def conditional_cmd(ctx: Context, retrain: bool = False):
    from .conditional import train_conditional

    spec = ctx.profile.conditional
    model, history = train_conditional(spec, ctx.mnist("train"), ctx.mnist("test"), ctx.device, retrain=retrain)
    _report_nll("conditional", spec.name, model, history, ctx.mnist("test")[0])
    return model


def _report_nll(kind: str, name: str, model: torch.nn.Module, history, test_images: torch.Tensor) -> None:
    """Print a PixelCNN's test NLL (untold, nothing observed) on the 10000 test digits, per evaluation seed."""
    from .data import eval_binarization
    from .pixelcnn import test_nll
    from .units import bits_per_dim

    nll = [test_nll(model, eval_binarization(test_images, seed)) for seed in EVAL_SEEDS]
    print(
        f"{kind} ({name}): test NLL {_spread(nll, 2)} nats/image = {bits_per_dim(sum(nll) / len(nll)):.4f} "
        f"bits/dim on the 10000 test digits, stochastically binarized; {history.steps} steps, "
        f"{history.wall_time_s:.0f} s training, stopped by {history.stopped_by}"
    )


@_once
def realnvp_cmd(ctx: Context, retrain: bool = False):
    from .realnvp import test_bits_per_dim, train_realnvp

    spec, test_images = ctx.profile.realnvp, ctx.mnist("test")[0]
    model, history = train_realnvp(spec, ctx.mnist("train")[0], test_images, ctx.device, retrain=retrain)
    bpd = [test_bits_per_dim(model, test_images, seed) for seed in EVAL_SEEDS]
    print(
        f"realnvp ({spec.name}): test {_spread(bpd, 4)} bits/dim on the 10000 test digits; {history.steps} steps, "
        f"{history.wall_time_s:.0f} s training, stopped by {history.stopped_by}"
    )
    return model


def inpaint_cmd(ctx: Context, holes: str, n: int, samples: int, candidates: int, seed: int, out: str) -> None:
    from .data import eval_binarization
    from .holes import hole_mask
    from .inpainting import plot_inpainting

    model = conditional_cmd(ctx)
    digits = eval_binarization(ctx.mnist("test")[0][:n]).to(ctx.device)
    known = hole_mask(holes, n, seed=seed).to(ctx.device)
    figure = plot_inpainting(
        model, digits, known, samples=samples, candidates=candidates, seed=seed, title=f"holes: {holes}"
    )
    _save(figure, out)


def sample_realnvp_cmd(ctx: Context, n: int, temperatures: list[float], seed: int, out: str) -> None:
    from .realnvp_eval import plot_samples

    _save(plot_samples(realnvp_cmd(ctx), temperatures, n, seed), out)


def fid_cmd(ctx: Context, a: str, b: str, n: int, seed: int) -> None:
    from .fid import fid_images
    from .randomness import generator

    sets = [_images(ctx, source) for source in (a, b)]
    if n:  # a random subset: MNIST files are not shuffled (the test set's halves come from different writers)
        subsets = generator("subsets", seed)
        sets = [images[torch.randperm(len(images), generator=subsets)[:n]] for images in sets]
    value = fid_images(*sets, model=classifier_cmd(ctx))
    print(f"FID({a}[{len(sets[0])}], {b}[{len(sets[1])}]) on MNIST-classifier features: {value:.4f}")


def _images(ctx: Context, source: str) -> torch.Tensor:
    """'train' / 'test' (MNIST splits) or a .pt / .npy file holding images (N, 1, 28, 28)."""
    import numpy as np

    if source in ("train", "test"):
        return ctx.mnist(source)[0]
    path = Path(source)
    if path.suffix == ".npy":
        return torch.from_numpy(np.load(path))
    if path.suffix == ".pt":
        return torch.load(path, map_location="cpu")
    raise ValueError(f"expected 'train', 'test', a .npy or a .pt file of images (N, 1, 28, 28); got {source!r}")


def run_cmd(ctx: Context) -> None:
    """The command-line pipeline: train (or load) the three models, print their test figures, write figures."""
    start = time.perf_counter()
    classifier_cmd(ctx)
    for holes in ("top", "brush"):
        inpaint_cmd(ctx, holes, n=4, samples=2, candidates=8, seed=0, out=f"results/inpainting_{holes}.png")
    sample_realnvp_cmd(ctx, n=64, temperatures=[1.0, 0.8, 0.6], seed=0, out="results/realnvp_samples.png")
    print(f"run ({ctx.profile.name}): {time.perf_counter() - start:.0f} s")


# ------------------------------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--profile", choices=PROFILE_NAMES, help="sizes and budgets (default: env ASGN2_PROFILE or 'default')"
    )
    common.add_argument("--data", help="folder holding MNIST/raw/ (default: env ASGN2_DATA or ./data)")
    common.add_argument("--device", help="cpu, cuda, mps (default: env ASGN2_DEVICE, else the best available)")
    common.add_argument("--threads", type=int, help="torch intra-op threads (default: env ASGN2_THREADS or torch's)")
    parser = argparse.ArgumentParser(prog="python -m asgn2", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    def add(name: str, help: str, *, retrain: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help)
        if retrain:
            p.add_argument("--retrain", action="store_true", help="delete the cached checkpoint and train again")
        return p

    _model_commands(add)
    _document_commands(add)
    return parser


def _model_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """The commands that train or use the models."""
    add("run", "train and evaluate everything, write figures to results/")
    add("train-classifier", "train (or load) the MNIST classifier, print its test accuracy", retrain=True)
    add("train-pixelcnn", "train (or load) the plain PixelCNN of Q1, print its test NLL", retrain=True)
    add("train-conditional", "train (or load) the conditional PixelCNN (beyond Q1), print its test NLL", retrain=True)
    add("train-realnvp", "train (or load) Real NVP, print its test bits/dim", retrain=True)
    p = add("inpaint", "inpaint test digits with the conditional PixelCNN (every method), write a PNG grid")
    p.add_argument(
        "--holes",
        default="top",
        help="hole family (top, bottom, left, right, centre, rectangles, brush, diagonal, ring)",
    )
    p.add_argument("--n", type=int, default=6, help="test digits")
    p.add_argument("--samples", type=int, default=3, help="completions per digit and method")
    p.add_argument("--candidates", type=int, default=8, help="raster completions per digit weighed by sir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/inpainting.png")
    p = add("sample-realnvp", "Real NVP samples at several temperatures (PNG)")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.8, 0.6])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/realnvp_samples.png")
    p = add("fid", "FID between two image sets on classifier features")
    p.add_argument("a", help="'train', 'test', or a .npy / .pt file of images (N, 1, 28, 28)")
    p.add_argument("b", help="the same kinds as a")
    p.add_argument("--n", type=int, default=0, help="use a random subset of n images of each set (0: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random subsets")


def _document_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """The commands that build the written answers, the notebook and the submission."""
    p = add("plot-q3", "written Q3 figure: Bernoulli KL and JS against theta, theta* marked")
    p.add_argument("--out", default="written/figures/q3_divergences.pdf", help="figure file (pdf, png, ...)")
    p.add_argument("--q", type=float, default=0.3, help="Q(x = 1) (default 0.3, as in the question)")
    p = add("notebook", "build the notebook from its source script and execute it on a fresh kernel")
    p.add_argument("--out", help="write the executed notebook here (default: Lastname_Firstname_Asgn2.ipynb)")
    p = add("submit", "build the submission bundle (notebook + PDFs)")
    p.add_argument("--last", required=True, help="your last name, as on Quercus")
    p.add_argument("--first", required=True, help="your first name, as on Quercus")
    p.add_argument("--out", default="submission", help="output folder (default: submission/)")
    p.add_argument("--execute", action="store_true", help="execute the notebook first (on a fresh kernel)")
    p = add("results", "print the README's results table from an executed notebook")
    p.add_argument("notebook", nargs="?", help="default: the committed notebook")
    p.add_argument("--readme", action="store_true", help="also write it into README.md")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    command = args.command
    if command in ("plot-q3", "notebook", "submit", "results"):  # no model, no data: no runtime set-up needed
        return _document_command(args)
    ctx = Context(args)
    if command == "run":
        run_cmd(ctx)
    elif command.startswith("train-"):
        commands = {
            "train-classifier": classifier_cmd,
            "train-pixelcnn": pixelcnn_cmd,
            "train-conditional": conditional_cmd,
            "train-realnvp": realnvp_cmd,
        }
        commands[command](ctx, retrain=args.retrain)
    elif command == "inpaint":
        inpaint_cmd(ctx, args.holes, args.n, args.samples, args.candidates, args.seed, args.out)
    elif command == "sample-realnvp":
        sample_realnvp_cmd(ctx, args.n, args.temperatures, args.seed, args.out)
    elif command == "fid":
        fid_cmd(ctx, args.a, args.b, args.n, args.seed)


def _document_command(args: argparse.Namespace) -> None:
    from . import submit
    from .profiles import resolve_profile

    if args.command == "plot-q3":
        from .divergences import make_q3_figure

        minimizers, values = make_q3_figure(args.out, args.q)
        print(f"wrote {args.out} and {values}; theta* (KL) = {minimizers['kl']:.6f}, (JS) = {minimizers['js']:.6f}")
    elif args.command == "notebook":
        out = Path(args.out) if args.out else submit.NOTEBOOK
        seconds = submit.execute_notebook(submit.NOTEBOOK_SOURCE, out, resolve_profile(args.profile))
        print(f"executed {submit.NOTEBOOK_SOURCE.name} into {out}: {seconds:.0f} s")
    elif args.command == "submit":
        files = submit.build_submission(
            args.last, args.first, Path(args.out), execute=args.execute, profile=resolve_profile(args.profile)
        )
        print("\n".join(f"wrote {f}" for f in files))
    else:
        from .report import recorded, results_table, write_readme_table

        table = results_table(recorded(args.notebook or submit.NOTEBOOK))
        print(table)
        if args.readme:
            write_readme_table(submit.REPO / "README.md", table)
            print(f"wrote it into {submit.REPO / 'README.md'}")
