"""One network for both jobs? A plain PixelCNN against conditional ones (trained on random holes), same budget.

    python benchmarks/bench_pixelcnn_conditional.py [--variants plain cond16-p0.5 ...] [--budget-s 420 | --steps N]
                                                    [--device cpu] [--digits 1000]

Every variant is the default profile's PixelCNN spec with one change (VARIANTS below), trained from scratch with
the same budget. Reported per variant: steps, training seconds, the unconditional test NLL (10000 digits, mean of
evaluation binarizations 0, 1, 2, in nats per image), and per hole family the NLL of the true hole pixels (nats per
digit, --digits test digits): "cond" is the exact -log p(x_hole | x_observed) of a conditional model, "raster" the
exact -log of the hole under raster-order sampling with the model used as a plain PixelCNN (what raster inpainting
draws from).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import time

import torch

from asgn2.data import load_mnist
from asgn2.holes import HOLE_KINDS, hole_mask
from asgn2.pixelcnn import PixelCNN, eval_binarization, hole_log_prob, pixelcnn_loss, test_nll
from asgn2.profiles import PROFILES
from asgn2.runtime import setup
from asgn2.training import train

# the design measured here predates the label mixture: no recogniser, nothing told, the single untold pass scored
BASE = dataclasses.replace(PROFILES["default"].pixelcnn, recogniser=None, p_label_fed=0.0, label_weight=0.0)
# name -> (changes to PixelCNNConfig, changes to PixelCNNSpec, changes to TrainConfig)
VARIANTS: dict[str, tuple[dict, dict, dict]] = {
    "plain": ({"condition_channels": 0}, {"p_all_holes": 1.0}, {}),
    "cond16-p0.25": ({"condition_channels": 16}, {"p_all_holes": 0.25}, {}),
    "cond16-p0.5": ({"condition_channels": 16}, {"p_all_holes": 0.5}, {}),
    "cond32-p0.5": ({"condition_channels": 32}, {"p_all_holes": 0.5}, {}),
    "cond16-p0.5-lr3e-3": ({"condition_channels": 16}, {"p_all_holes": 0.5}, {"lr": 3e-3}),
    "cond32-all": ({"condition_channels": 32, "condition_stages": "all"}, {"p_all_holes": 0.5}, {}),
    "unet16-all": (
        {"condition_channels": 16, "condition_net": "unet", "condition_stages": "all"},
        {"p_all_holes": 0.5},
        {},
    ),
    "unet16-all-holes": (
        {"condition_channels": 16, "condition_net": "unet", "condition_stages": "all"},
        {"p_all_holes": 0.5, "hole_loss": "holes"},
        {},
    ),
    "unet32-all": (
        {"condition_channels": 32, "condition_net": "unet", "condition_stages": "all"},
        {"p_all_holes": 0.5},
        {},
    ),
}


@torch.no_grad()
def hole_nll(model: PixelCNN, x: torch.Tensor, kind: str, conditional: bool, device) -> float:
    known = hole_mask(kind, len(x), seed=0)
    values = [
        -hole_log_prob(model, xb.to(device), kb.to(device), conditional).mean().item() * len(xb)
        for xb, kb in zip(x.split(250), known.split(250), strict=True)
    ]
    return sum(values) / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--budget-s", type=float, default=420.0, help="training seconds per variant")
    parser.add_argument("--steps", type=int, help="a fixed number of steps per variant instead of a time budget")
    parser.add_argument("--steps-per-variant", nargs="*", default=[], help="name:steps, overriding --steps")
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    runtime = setup(device=args.device)
    train_x = load_mnist("train")[0]
    test_x = load_mnist("test")[0]
    digits = eval_binarization(test_x[: args.digits])
    print(f"PixelCNN variants on {runtime.device} ({runtime.threads} threads), hole NLL on {args.digits} test digits")
    print(
        "| variant | steps | train s | test NLL (seeds 0-2) | " + " | ".join(f"{k} cond / raster" for k in HOLE_KINDS)
    )
    print("|---|---|---|---|" + "---|" * len(HOLE_KINDS))
    for name in args.variants:
        model_changes, spec_changes, train_changes = VARIANTS[name]
        steps = int(dict(item.rsplit(":", 1) for item in args.steps_per_variant).get(name, args.steps or 0)) or None
        budget = dict(max_steps=steps, time_budget_s=None) if steps else dict(time_budget_s=args.budget_s)
        spec = dataclasses.replace(
            BASE,
            model=dataclasses.replace(BASE.model, **model_changes),
            train=dataclasses.replace(BASE.train, **train_changes, **budget, eval_every=None, checkpoint_every=None),
            **spec_changes,
        )
        model = PixelCNN(spec.model)
        start = time.perf_counter()
        loss = functools.partial(pixelcnn_loss, p_all_holes=spec.p_all_holes, hole_loss=spec.hole_loss)
        history = train(model, loss, train_x, spec.train, device=runtime.device, desc=name)
        seconds = time.perf_counter() - start
        model.eval()
        nll = [test_nll(model, eval_binarization(test_x, seed).to(runtime.device)) for seed in (0, 1, 2)]
        cells = []
        for kind in HOLE_KINDS:
            raster = hole_nll(model, digits, kind, False, runtime.device)
            cond = hole_nll(model, digits, kind, True, runtime.device) if model.conditional else float("nan")
            cells.append(f"{cond:.1f} / {raster:.1f}")
        print(
            f"| {name} | {history.steps} | {seconds:.0f} | {sum(nll) / 3:.2f} ({min(nll):.2f}-{max(nll):.2f}) | "
            + " | ".join(cells)
            + " |",
            flush=True,
        )


if __name__ == "__main__":
    main()
