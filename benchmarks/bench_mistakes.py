"""A gallery of the usual mistakes, each measured beside a correct run: what a grader sees (test NLL or bits/dim,
the training curve, samples, inpaintings) and what `asgn2.checks` says. Record `grading-gallery`; it also writes the
thumbnails in docs/grading/ and the grader's guide docs/grading.md (`benchmarks/grading.py`).

    python benchmarks/bench_mistakes.py [--pixelcnn-steps 350] [--realnvp-steps 800] [--threads 2]

Each mistake is a realistic bug applied to a copy of the answer: exact snippets of asgn2/pixelcnn.py, flows.py,
realnvp.py or units.py replaced, and the copies executed as modules of their own (the package is never touched; a
snippet that is not found exactly once stops the script, so the list follows the code). A mistake that changes the
trained model trains its copy for the same steps, on the same data order, as the correct run; one that changes
only what is reported, drawn or inpainted reuses the correct run's weights through its own copy's functions.
Both questions also train the `quick` profile's correct model, for the guide's table of what right looks like.
The networks are the `default` profile's, float32, trained for a fixed number of steps (a fraction of the profile's
time budget on a laptop CPU), so the runs and their numbers do not depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import types
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from asgn2 import checks, training
from asgn2.data import eval_binarization, load_mnist
from asgn2.profiles import PROFILES

REPO = Path(__file__).resolve().parent.parent
FIGURES = REPO / "docs" / "grading"


@dataclass(frozen=True)
class Mistake:
    name: str
    question: str  # "pixelcnn" or "realnvp"
    patches: tuple[tuple[str, str, str], ...]  # (file under asgn2/, exact snippet, its replacement)
    what: str  # the bug, in words
    retrain: bool  # does the bug change the trained model? If not, the correct run's weights are reused
    check: str  # the `asgn2.checks` verdict that names it ("" where no structural check can)
    says: str  # a fragment of that verdict's message


P, R = "pixelcnn", "realnvp"
MISTAKES = [
    Mistake(
        "mask-A-shows-centre",
        P,
        (
            (
                "pixelcnn.py",
                'mask[:, :, centre, centre + (mask_type == "B") :] = 0',
                "mask[:, :, centre, centre + 1 :] = 0",
            ),
        ),
        "mask A shows the centre pixel: each logit sees the pixel it predicts",
        True,
        "causality",
        "Every logit sees its own pixel",
    ),
    Mistake(
        "mask-A-everywhere",
        P,
        (
            (
                "pixelcnn.py",
                'self.conv = MaskedConv2d(channels, channels, kernel_size, "B")',
                'self.conv = MaskedConv2d(channels, channels, kernel_size, "A")',
            ),
        ),
        "mask A in every layer, not only the first",
        True,
        "mask types",
        "mask A in every layer",
    ),
    Mistake(
        "mask-transposed",
        P,
        (
            ("pixelcnn.py", "h = self.input(x)", "h = self.input(x.transpose(2, 3))"),
            ("pixelcnn.py", "return self.head(h)", "return self.head(h).transpose(2, 3)"),
        ),
        "the mask transposed: the network reads the image column by column, sampling goes row by row",
        True,
        "causality",
        "follow column order",
    ),
    Mistake(
        "nll-per-pixel",
        P,
        (
            (
                "pixelcnn.py",
                "return nll_per_image(model, binary_images, batch_size).double().mean().item()",
                "return nll_per_image(model, binary_images, batch_size).double().sum().item() / binary_images.numel()",
            ),
        ),
        "the NLL averaged over pixels, reported as nats per image",
        False,
        "NLL units",
        "that is nats per pixel",
    ),
    Mistake(
        "threshold-not-sample",
        P,
        (("pixelcnn.py", "draw = (u[:, 0, r, c] < p).to(x.dtype)", "draw = (p > 0.5).to(x.dtype)"),),
        "sampling and inpainting threshold p > 0.5 instead of drawing x_i ~ Bernoulli(p)",
        False,
        "sampler",
        "every sample is the same image",
    ),
    Mistake(
        "inpaint-redraws-observed",
        P,
        (
            (
                "pixelcnn.py",
                "x[:, 0, r, c] = torch.where(hole[:, 0, r, c], draw, x[:, 0, r, c])",
                "x[:, 0, r, c] = draw",
            ),
        ),
        "inpainting redraws a pixel in every image of the batch when any image has a hole there",
        False,
        "inpainting",
        "observed pixels must be kept exactly",
    ),
    Mistake(
        "coupling-log-det-sign",
        R,
        (("realnvp.py", "return z, s.sum(1)", "return z, -s.sum(1)"),),
        "the coupling's forward log-det with the wrong sign (-sum s)",
        True,
        "log-det",
        "the wrong sign",
    ),
    Mistake(
        "coupling-log-det-missing",
        R,
        (("realnvp.py", "return z, s.sum(1)", "return z, torch.zeros_like(s.sum(1))"),),
        "the coupling's log-det left out (log_det = 0)",
        True,
        "log-det",
        "AffineCoupling (couplings.transforms.0), whose log_det is 0",
    ),
    Mistake(
        "logit-jacobian-missing",
        R,
        (
            (
                "flows.py",
                "log_det = (math.log(1 - 2 * self.lam) - torch.log(s) - torch.log1p(-s)).sum(1)",
                "log_det = torch.zeros_like(s).sum(1)",
            ),
        ),
        "the logit preprocessing's Jacobian left out",
        True,
        "log-det",
        "Logit (preprocess.transforms.1), whose log_det is 0",
    ),
    Mistake(
        "no-dequantization",
        R,
        (("realnvp.py", "return torch.where(v < x + 1, v, top)", "return x"),),
        "no dequantization: the flow is trained and scored on the integer pixel values",
        True,
        "dequantization",
        "no dequantization",
    ),
    Mistake(
        "masks-not-alternating",
        R,
        (
            (
                "realnvp.py",
                "AffineCoupling(checkerboard(parity=k % 2), config.hidden, config.n_hidden)",
                "AffineCoupling(checkerboard(parity=0), config.hidden, config.n_hidden)",
            ),
        ),
        "every coupling has the same checkerboard mask: half of the pixels are never transformed",
        True,
        "every dimension transformed",
        "masks do not alternate",
    ),
    Mistake(
        "unbounded-scale",
        R,
        (("realnvp.py", "return self.scale_bound * torch.tanh(s_raw), t", "return s_raw, t"),),
        "the coupling's log-scale s unbounded (no a tanh)",
        True,
        "bounded scale",
        "the scale is unbounded",
    ),
    Mistake(
        "bits-per-dim-without-ln2",
        R,
        (("units.py", "return nll_nats / (dims * math.log(2))", "return nll_nats / dims"),),
        "bits/dim computed without ln 2 (nats per dimension)",
        False,
        "bits/dim units",
        "divided by D but not by ln 2",
    ),
]
CORRECT = {
    P: Mistake("correct", P, (), "the answer", True, "", ""),
    R: Mistake("correct", R, (), "the answer", True, "", ""),
}
COPIED = {P: ("pixelcnn",), R: ("units", "flows", "realnvp")}  # in import order: later ones import earlier ones


def check_snippets(mistakes: list[Mistake] = MISTAKES) -> None:
    """Stop unless every snippet occurs exactly once in its file (the list follows the code)."""
    problems = []
    for m in mistakes:
        for file, old, _ in m.patches:
            count = (REPO / "asgn2" / file).read_text().count(old)
            if count != 1:
                problems.append(f"{m.name}: asgn2/{file} holds the snippet {count} times")
    if problems:
        sys.exit("mistakes out of step with the source:\n  " + "\n  ".join(problems))


def answer_copy(mistake: Mistake) -> types.SimpleNamespace:
    """The answer's modules for the mistake's question, copied with its patches applied and executed as modules of
    their own (asgn2._copy_<mistake>_<module>): each later copy imports the earlier copies, the rest of the package
    as it is. Returns the copies by module name."""
    check_snippets([mistake])
    modules = {}
    saved = {name: sys.modules.get(f"asgn2.{name}") for name in COPIED[mistake.question]}
    try:
        for name in COPIED[mistake.question]:
            source = (REPO / "asgn2" / f"{name}.py").read_text()
            for file, old, new in mistake.patches:
                if file == f"{name}.py":
                    source = source.replace(old, new)
            qualified = f"asgn2._copy_{mistake.question}_{mistake.name.replace('-', '_')}_{name}"
            module = types.ModuleType(qualified)
            module.__package__ = "asgn2"
            module.__file__ = str(REPO / "asgn2" / f"{name}.py")
            sys.modules[qualified] = module  # dataclasses look their module up
            sys.modules[f"asgn2.{name}"] = module  # what the next copy's relative import finds
            exec(compile(source, f"<{mistake.name}: asgn2/{name}.py>", "exec"), module.__dict__)
            modules[name] = module
    finally:
        for name, original in saved.items():
            if original is None:  # None in sys.modules would block a later import
                sys.modules.pop(f"asgn2.{name}", None)
            else:
                sys.modules[f"asgn2.{name}"] = original
    return types.SimpleNamespace(**modules)


def verdicts(mistake: Mistake, code: types.SimpleNamespace, model: torch.nn.Module) -> list[checks.Verdict]:
    """Every check of the question on the (trained or fresh) model and the copy's functions."""
    if mistake.question == P:
        return checks.pixelcnn_checks(
            model, nll=code.pixelcnn.test_nll, sample=code.pixelcnn.sample, inpaint=code.pixelcnn.inpaint
        )
    return checks.realnvp_checks(
        model.transform, bits_per_dim=code.realnvp.test_bits_per_dim, loss=code.realnvp.realnvp_loss
    )


# ------------------------------------------------------------------------------------------------ the runs


def pixelcnn_model(code: types.SimpleNamespace, profile: str) -> torch.nn.Module:
    return code.pixelcnn.PixelCNN(PROFILES[profile].pixelcnn.model)


def realnvp_model(code: types.SimpleNamespace, profile: str) -> torch.nn.Module:
    return code.realnvp.real_nvp(PROFILES[profile].realnvp.model)


def train_config(question: str, profile: str, steps: int | None) -> training.TrainConfig:
    """The profile's run, float32; with `steps`, exactly that many steps and no time cap (the same run on any
    machine, however busy), the cosine over those steps."""
    spec = PROFILES[profile].pixelcnn if question == P else PROFILES[profile].realnvp
    config = replace(spec.train, bf16=False, checkpoint_every=None, eval_every=None)
    if steps is not None:
        config = replace(config, time_budget_s=None, max_steps=steps, epochs=50)
    return config


def train_run(mistake: Mistake, code, data, profile: str, steps: int | None) -> tuple[torch.nn.Module, dict]:
    """Train the copy's model; returns it and the run's record: steps, seconds, the per-step losses in the unit
    the copy's loss reports (NaN from where training stopped on a non-finite loss)."""
    train_images, _ = data
    if mistake.question == P:
        model, loss_fn = pixelcnn_model(code, profile), code.pixelcnn.pixelcnn_loss
    else:
        model, loss_fn = realnvp_model(code, profile), code.realnvp.realnvp_loss
    losses: list[float] = []

    def recorded(m, batch):
        loss = loss_fn(m, batch)
        losses.append(loss.item())
        return loss

    config = train_config(mistake.question, profile, steps)
    start = time.perf_counter()
    stopped = ""
    try:
        history = training.train(model, recorded, train_images, config, desc=f"{mistake.question} {mistake.name}")
        steps = history.steps
    except training.NonFiniteLossError as error:
        stopped = str(error).split(";")[0]
        steps = len(losses) - 1
    return model.eval(), {"steps": steps, "seconds": time.perf_counter() - start, "losses": losses, "stopped": stopped}


def curve(losses: list[float], points: int = 40) -> list[float | None]:
    """The per-step losses as `points` window means (None where a window holds a non-finite loss)."""
    if not losses:
        return []
    size = max(1, len(losses) // points)
    out = []
    for start in range(0, len(losses) - size + 1, size):
        window = losses[start : start + size]
        out.append(sum(window) / len(window) if all(math.isfinite(v) for v in window) else None)
    return out


def measure(
    mistake: Mistake, code, model, test_images, run: dict, samples: int = 16, quick: bool = False, seed: int = 0
) -> dict[str, Any]:
    """What a grader sees: the test figure through the copy's own function, samples, inpaintings; and the checks'
    verdicts (not for a `quick` run, nor for seed > 0: other test digits, evaluation noise and samples, the
    held-out draw of `--exam`)."""
    out: dict[str, Any] = {"what": mistake.what, "retrained": mistake.retrain, **run}
    generator = torch.Generator().manual_seed(seed)
    held_out = test_images[2000 * seed : 2000 * (seed + 1)]
    if mistake.question == P:
        out["unit"] = "nats"
        out["test"] = code.pixelcnn.test_nll(model, eval_binarization(held_out, seed))
        unit_scale = 1.0 if mistake.name == "nll-per-pixel" else 784.0  # the loss is per pixel; reported per image
        out["curve"] = [None if v is None else v * unit_scale for v in curve(run["losses"])]
        if not quick:
            out["samples"] = code.pixelcnn.sample(model, samples, generator=generator)
            digits = eval_binarization(test_images[100 * (seed + 1) : 100 * (seed + 1) + 6], seed + 1)
            known = torch.ones(6, 1, 28, 28, dtype=torch.bool)
            known[:3, :, 14:] = False  # the bottom half hidden in three digits, the right half in the other three
            known[3:, :, :, 14:] = False
            out["inpainting"] = (digits, known, code.pixelcnn.inpaint(model, digits, known, generator=generator))
    else:
        out["unit"] = "bits/dim"
        out["test"] = code.realnvp.test_bits_per_dim(model, held_out, seed)
        out["curve"] = curve(run["losses"])
        with torch.no_grad():
            out["samples"] = code.realnvp.sample(model, samples, 1.0, generator).float() / 255
    if not quick and seed == 0:
        start = time.perf_counter()
        out["verdicts"] = verdicts(mistake, code, model)
        out["check_seconds"] = time.perf_counter() - start
    return out


# -------------------------------------------------------------------------------------------------- figures


def thumbnail(name: str, result: dict, correct: dict | None, path: Path) -> None:
    """A small PNG: the samples (4 x 4), the training curve beside the correct run's (if given), and for the
    PixelCNN the inpaintings (the observed pixels, the hole in grey; the completions below)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    panels = 3 if "inpainting" in result else 2
    fig, axes = plt.subplots(1, panels, figsize=(1.55 * panels + 0.9, 1.75), width_ratios=[1, 1.35, 1.6][:panels])
    grid = make_grid(result["samples"].float().clamp(0, 1), nrow=4, padding=1, pad_value=0.5)[0]
    axes[0].imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[0].set_title("samples", fontsize=7)
    axes[0].axis("off")
    ax = axes[1]
    shown = [("correct", correct["curve"])] if correct is not None else []
    for label, values in [*shown, (name, result["curve"])]:
        xs = [i for i, v in enumerate(values) if v is not None]
        ax.plot(xs, [values[i] for i in xs], lw=1, label=label, color="0.6" if label == "correct" else "C3")
    unit = result["unit"] if result["unit"] != "nats" else "nats/image"
    ax.set_title(f"training loss ({unit})" + (", grey: correct" if shown else ""), fontsize=7)
    ax.tick_params(labelsize=5, length=2)
    ax.set_xticks([])
    if values := [v for _, curve_ in shown for v in curve_ if v is not None] + [
        v for v in result["curve"] if v is not None
    ]:
        low, high = min(values), sorted(values)[int(0.9 * (len(values) - 1))]
        ax.set_ylim(low - 0.05 * (high - low + 1e-9), high + 0.1 * (high - low + 1e-9))
    if panels == 3:
        digits, known, filled = result["inpainting"]
        shown = torch.where(known, digits, torch.full_like(digits, 0.5))
        grid = make_grid(torch.cat([shown, filled]), nrow=6, padding=1, pad_value=0.5)[0]
        axes[2].imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[2].set_title("inpainting (top: observed)", fontsize=7)
        axes[2].axis("off")
    fig.tight_layout(pad=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    small_png(path)


def small_png(path: Path, colors: int = 24) -> None:
    """Rewrite a PNG with a palette of `colors` (grey levels and the two curves): a third of the size, so that
    noisy samples stay well under 30 KB in git."""
    from PIL import Image

    Image.open(path).convert("RGB").quantize(colors=colors, dither=Image.Dither.NONE).save(path, optimize=True)


def write_exam(results: dict[str, dict[str, dict]], folder: Path) -> None:
    """Each run of the held-out draw as a student's PDF would show it: a thumbnail without the correct run's curve,
    under a neutral name (run-01.png ...), and results.json with its figure and curve; the key (which run is which)
    in key.json."""
    folder.mkdir(parents=True, exist_ok=True)
    entries, key = {}, {}
    runs = [(q, n, r) for q, by_name in results.items() for n, r in by_name.items() if n != "correct-quick"]
    order = torch.randperm(len(runs), generator=torch.Generator().manual_seed(2024)).tolist()
    for number, index in enumerate(order, start=1):
        question, name, r = runs[index]
        label = f"run-{number:02d}"
        thumbnail(label, r, None, folder / f"{label}.png")
        entries[label] = {"question": question, "test": r["test"], "unit": r["unit"], "steps": r["steps"]}
        entries[label]["curve"] = r["curve"]
        entries[label]["stopped"] = r["stopped"]
        key[label] = f"{question}/{name}"
    (folder / "results.json").write_text(json.dumps(entries, indent=1) + "\n")
    (folder / "key.json").write_text(json.dumps(key, indent=1) + "\n")


# ----------------------------------------------------------------------------------------------------- main


def run_question(question: str, data, args) -> dict[str, dict]:
    """The quick profile's correct run, the short correct run, and every mistake of the question (as many steps)."""
    train_images, test_images = data
    steps = args.pixelcnn_steps if question == P else args.realnvp_steps
    results = {}
    correct_code = answer_copy(CORRECT[question])
    seed = 1 if args.exam else 0
    if not args.only and not args.exam:
        model, run = train_run(CORRECT[question], correct_code, data, "quick", None)
        results["correct-quick"] = measure(CORRECT[question], correct_code, model, test_images, run, args.samples, True)
    correct_model, correct_run = train_run(CORRECT[question], correct_code, data, "default", steps)
    results["correct"] = measure(
        CORRECT[question], correct_code, correct_model, test_images, correct_run, args.samples, seed=seed
    )
    for mistake in (m for m in MISTAKES if m.question == question and (not args.only or m.name in args.only)):
        code = answer_copy(mistake)
        if mistake.retrain:
            model, run = train_run(mistake, code, data, "default", steps)
        else:  # the same weights, reached through the copy's classes and functions
            model = (pixelcnn_model if question == P else realnvp_model)(code, "default")
            model.load_state_dict(correct_model.state_dict())
            model.eval()
            run = dict(correct_run)
            if mistake.name == "bits-per-dim-without-ln2":  # the loss as the copy reports it: nats per dimension
                run["losses"] = [v * math.log(2) for v in correct_run["losses"]]
        results[mistake.name] = measure(mistake, code, model, test_images, run, args.samples, seed=seed)
        print(f"{question} {mistake.name}: {results[mistake.name]['test']:.4g}, {run['steps']} steps", flush=True)
    return results


def named(result: dict, mistake: Mistake | None) -> str:
    """The verdict a grader reads: for the correct run, whether every check passes; for a mistake, the verdict of
    the check meant to name it, and the other checks that fail."""
    failed = [v for v in result["verdicts"] if v.passed is False]
    if mistake is None:
        return "all pass" if not failed else "FAILS " + "; ".join(f"{v.check}: {v.message}" for v in failed)
    meant = next((v for v in failed if v.check == mistake.check and mistake.says in v.message), None)
    others = sorted({v.check for v in failed} - {mistake.check})
    also = f" (also failing: {', '.join(others)})" if others else ""
    if meant is None:
        return f"NOT NAMED by {mistake.check}{also}"
    return f"{meant.check}: {meant.message}{also}"


def table(results: dict[str, dict[str, dict]]) -> str:
    rows = [
        "| question | run | steps | test figure | correct run's | asgn2.checks |",
        "|---|---|---|---|---|---|",
    ]
    for question, runs in results.items():
        correct = runs["correct"]
        for name, r in runs.items():
            if name == "correct-quick":
                continue
            mistake = next((m for m in MISTAKES if m.name == name), None)
            stopped = f" ({r['stopped']})" if r["stopped"] else ""
            reused = "" if r["retrained"] else " (the correct run's weights)"
            rows.append(
                f"| {question} | {name} | {r['steps']}{stopped}{reused} | {r['test']:.4g} {r['unit']} | "
                f"{correct['test']:.4g} {correct['unit']} | {named(r, mistake).replace('|', chr(92) + '|')} |"
            )
    return "\n".join(rows)


def numbers(results: dict[str, dict[str, dict]], args) -> dict[str, Any]:
    """The record's machine-readable part (no tensors)."""
    out: dict[str, Any] = {"steps": {P: args.pixelcnn_steps, R: args.realnvp_steps}, "runs": {}}
    for question, runs in results.items():
        for name, r in runs.items():
            entry = {k: r[k] for k in ("what", "retrained", "steps", "seconds", "stopped", "unit", "test", "curve")}
            entry["question"] = question
            entry["thumbnail"] = f"docs/grading/{question}-{name}.png" if name != "correct-quick" else None
            entry["profile"] = "quick" if name == "correct-quick" else "default"
            if "verdicts" in r:
                entry["verdicts"] = [
                    {"check": v.check, "passed": v.passed, "message": v.message} for v in r["verdicts"]
                ]
                entry["check_seconds"] = r["check_seconds"]
            mistake = next((m for m in MISTAKES if m.name == name), None)
            if mistake is not None:
                entry.update(check=mistake.check, says=mistake.says)
            out["runs"][f"{question}/{name}"] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixelcnn-steps", type=int, default=350, help="training steps per PixelCNN run")
    parser.add_argument("--realnvp-steps", type=int, default=800, help="training steps per Real NVP run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=16, help="samples drawn per run (the thumbnail's grid)")
    parser.add_argument("--only", nargs="*", help="only these mistakes, no quick-profile runs (no record written)")
    parser.add_argument(
        "--exam",
        type=Path,
        help="write a held-out draw instead (other test digits, noise and samples; no checks, no record): "
        "unlabelled thumbnails and results.json in this folder, to try the guide on",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from grading import write_guide
    from records import write_record

    check_snippets()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    train_images, _ = load_mnist("train")
    test_images, _ = load_mnist("test")
    data = (train_images, test_images)
    results = {question: run_question(question, data, args) for question in (P, R)}
    if args.exam:
        write_exam(results, args.exam)
        print(f"wall time {time.perf_counter() - start:.0f} s")
        return
    for question, runs in results.items():
        for name, r in runs.items():
            if name != "correct-quick":
                thumbnail(name, r, runs["correct"], FIGURES / f"{question}-{name}.png")
    lines = table(results)
    wall = time.perf_counter() - start
    print(lines)
    print(f"\nwall time {wall:.0f} s")
    if args.only:
        return
    record = numbers(results, args)
    record["wall_s"] = wall
    write_record(
        "grading-gallery",
        question="What each common mistake looks like to a grader (test figure, curve, samples) beside a correct "
        "run of the same steps, and whether asgn2.checks names it.",
        profile="default",
        table_markdown=f"The default profile's networks, {args.pixelcnn_steps} PixelCNN and {args.realnvp_steps} Real "
        f"NVP training steps per run (float32, {args.threads} threads); test figures on the first 2000 test digits. "
        f"The whole gallery took {wall:.0f} s.\n\n" + lines,
        numbers=record,
    )
    write_guide()


if __name__ == "__main__":
    main()
