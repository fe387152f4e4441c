"""What the PixelCNN benchmarks share: the profile's conditional PixelCNN spec (`Profile.conditional`) with the
command line's changes (each named in the checkpoint's name, so every variant is cached apart), trained on first use
(`conditional.train_conditional`), and the classifier that judges completions.

Options (every PixelCNN benchmark): `--p-label-fed P` tells a fraction P of the training digits their true label,
`--p-all-holes P` makes every pixel a hole for a fraction P of them; `--time-budget S` trains for S seconds (no step
cap; `--epochs E`, default the profile's, caps it too; the learning rate anneals by time), `--max-steps N` for
exactly N steps (no time cap: a step count reproduced on any machine); `--recogniser-budget S` and
`--recogniser-steps N` cap its recogniser's training likewise. These change the conditional network's training and
its recogniser's only: it starts from the profile's plain PixelCNN (`ConditionalSpec.start`), trained or loaded as
the profile says. `--judge PROFILE`: whose classifier scores completions (default: the profile's own). Models train
and sample on `--device` (default: cuda, then mps, then cpu).
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from asgn2.classifier import MnistClassifier, train_classifier
from asgn2.conditional import ConditionalPixelCNN, ConditionalSpec, train_conditional
from asgn2.data import load_mnist
from asgn2.profiles import PROFILES
from asgn2.runtime import setup

Data = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # train images, labels; test images, labels


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The options that pick the conditional PixelCNN (see the module docstring)."""
    parser.add_argument("--profile", default="default", choices=list(PROFILES))
    parser.add_argument("--p-label-fed", type=float, help="share of training digits told their label")
    parser.add_argument("--p-all-holes", type=float, help="share of training digits with every pixel a hole")
    parser.add_argument("--time-budget", type=float, help="train for S seconds (no step cap)")
    parser.add_argument("--epochs", type=int, help="with --time-budget: its epoch cap (default: the profile's)")
    parser.add_argument("--max-steps", type=int, help="train for exactly N steps, no time cap")
    parser.add_argument("--recogniser-budget", type=float, help="its recogniser trained for S seconds at most")
    parser.add_argument("--recogniser-steps", type=int, help="its recogniser trained for exactly N steps")
    parser.add_argument("--judge", choices=list(PROFILES), help="whose classifier scores (default: --profile's)")
    parser.add_argument("--device", help="cpu, cuda, mps (default: the best available)")


def variant(spec: ConditionalSpec, args: argparse.Namespace) -> ConditionalSpec:
    """The profile's conditional PixelCNN spec with the command line's changes, each named in the spec's
    (checkpoint's) name."""
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
    recogniser = spec.recogniser
    if recogniser is not None and args.recogniser_budget is not None:
        train = dataclasses.replace(recogniser.train, time_budget_s=args.recogniser_budget)
        recogniser = dataclasses.replace(recogniser, name=f"{recogniser.name}-{args.recogniser_budget:g}s", train=train)
    if recogniser is not None and args.recogniser_steps is not None:
        epochs = -(-args.recogniser_steps // (60000 // recogniser.train.batch_size))
        train = dataclasses.replace(
            recogniser.train, max_steps=args.recogniser_steps, time_budget_s=None, epochs=epochs
        )
        recogniser = dataclasses.replace(
            recogniser, name=f"{recogniser.name}-{args.recogniser_steps}steps", train=train
        )
    if recogniser is not spec.recogniser:
        spec = dataclasses.replace(spec, name=f"{spec.name}-r{recogniser.name}", recogniser=recogniser)
    return spec


def trained_model(args: argparse.Namespace) -> tuple[ConditionalPixelCNN, Data, str]:
    """Set up the runtime (args.device becomes the device), load MNIST, train or load the conditional PixelCNN
    variant: the model, the data, and a line that says which model it is."""
    args.device = setup(args.device).device
    data = (*load_mnist("train"), *load_mnist("test"))
    spec = variant(PROFILES[args.profile].conditional, args)
    model, history = train_conditional(spec, (data[0], data[1]), (data[2], data[3]), args.device)
    model.eval()
    about = f"PixelCNN conditional-{spec.name} on {args.device}: {history.steps} steps in {history.wall_time_s:.0f} s"
    print(about)
    return model, data, about


def judge(args: argparse.Namespace, data: Data) -> MnistClassifier:
    """The classifier that scores completions: `--judge`'s profile, else the model's."""
    spec = PROFILES[args.judge or args.profile].classifier
    return train_classifier(spec, (data[0], data[1]), (data[2], data[3]), args.device)[0]
