"""The command line: every registered command is listed and reaches its handler with its options, the reported
NLL is in the units it states, profiles are checked."""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from asgn2 import cli, pixelcnn
from asgn2.cli import build_parser
from asgn2.data import eval_binarization
from asgn2.pixelcnn import PixelCNN, PixelCNNConfig
from asgn2.profiles import PROFILES, resolve_profile
from asgn2.training import History


def test_help_lists_every_command_and_each_reaches_its_own_handler(monkeypatch):
    """`python -m asgn2 --help` lists every registered command, once, in order; and each command reaches its own
    handler with the values given on the command line, in the right places (a swapped or dropped option is
    caught: `inpaint --samples 4 --candidates 9` must not sample 9 and weigh 4)."""
    out = subprocess.run([sys.executable, "-m", "asgn2", "--help"], capture_output=True, text=True, check=True).stdout
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    listed = re.findall(r"^    (\S+)", out, flags=re.MULTILINE)
    assert listed == list(sub.choices) and {"run", "train-pixelcnn", "inpaint", "fid", "results"} <= set(listed)
    calls = []
    monkeypatch.setattr(cli, "Context", lambda args: "ctx")
    handlers = ("classifier_cmd", "pixelcnn_cmd", "conditional_cmd", "realnvp_cmd", "inpaint_cmd", "sample_realnvp_cmd")
    for handler in (*handlers, "fid_cmd"):
        monkeypatch.setattr(cli, handler, lambda *a, handler=handler, **k: calls.append((handler, a, k)))
    monkeypatch.setattr(cli, "run_cmd", lambda *a: calls.append(("run_cmd", a, {})))
    monkeypatch.setattr(cli, "_document_command", lambda args: calls.append(("document", (args.command,), {})))
    cases = [
        ("train-classifier", ("classifier_cmd", ("ctx",), {"retrain": False})),
        ("train-pixelcnn --retrain", ("pixelcnn_cmd", ("ctx",), {"retrain": True})),
        ("train-conditional", ("conditional_cmd", ("ctx",), {"retrain": False})),
        ("train-realnvp", ("realnvp_cmd", ("ctx",), {"retrain": False})),
        (
            "inpaint --holes ring --n 2 --samples 4 --candidates 9 --seed 3 --out x.png",
            ("inpaint_cmd", ("ctx", "ring", 2, 4, 9, 3, "x.png"), {}),
        ),
        (
            "sample-realnvp --n 5 --temperatures 0.5 0.7 --seed 2 --out s.png",
            ("sample_realnvp_cmd", ("ctx", 5, [0.5, 0.7], 2, "s.png"), {}),
        ),
        ("fid train b.npy --n 50 --seed 4", ("fid_cmd", ("ctx", "train", "b.npy", 50, 4), {})),
        ("run", ("run_cmd", ("ctx",), {})),
        ("results", ("document", ("results",), {})),
    ]
    for argv, expected in cases:
        calls.clear()
        cli.main(argv.split())
        assert calls == [expected], argv


def test_pixelcnn_command_reports_nats_per_image_and_bits_per_dim(monkeypatch, capsys):
    """The printed test NLL is the mean over the three evaluation binarizations of -log p(x) in nats per image,
    written out here as the Bernoulli log-likelihood of each pixel, and bits/dim is that over 784 ln 2."""
    torch.manual_seed(0)
    config = PixelCNNConfig(channels=4, n_blocks=1, kernel_size=3, head_channels=4)
    model = PixelCNN(config).eval()
    monkeypatch.setattr(pixelcnn, "train_pixelcnn", lambda *a, **k: (model, History([1.0], stopped_by="time")))
    images = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    ctx = SimpleNamespace(
        profile=SimpleNamespace(pixelcnn=SimpleNamespace(name="stub")),
        mnist=lambda split: (images, torch.zeros(6, dtype=torch.long)),
        device="cpu",
        models={},
    )
    cli.pixelcnn_cmd(ctx)
    printed = re.search(r"test NLL (\S+) .* to (\S+)\) nats/image = (\S+) bits/dim", capsys.readouterr().out)
    nll = []
    for seed in cli.EVAL_SEEDS:
        x = eval_binarization(images, seed)
        with torch.no_grad():
            p = torch.sigmoid(model(x)).double()
        nll.append(-(x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1).mean().item())
    mean = sum(nll) / 3
    assert float(printed[1]) == pytest.approx(mean, abs=0.006) and float(printed[2]) == pytest.approx(
        max(nll), abs=0.006
    )
    assert float(printed[3]) == pytest.approx(mean / (784 * math.log(2)), abs=6e-5)


def test_commands_parse():
    parser = build_parser()
    args = parser.parse_args(["train-classifier", "--profile", "quick", "--retrain"])
    assert args.command == "train-classifier" and args.profile == "quick" and args.retrain
    args = parser.parse_args(["inpaint", "--holes", "brush", "--n", "2"])
    assert (args.holes, args.n, args.samples) == ("brush", 2, 3)


def test_profiles_name_their_specs():
    for name, profile in PROFILES.items():
        names = (profile.classifier.name, profile.pixelcnn.name, profile.conditional.name, profile.realnvp.name)
        assert names == (name,) * 4 and profile.name == name


def test_profiles(monkeypatch):
    monkeypatch.delenv("ASGN2_PROFILE", raising=False)
    assert resolve_profile() == "default"
    monkeypatch.setenv("ASGN2_PROFILE", "quick")
    assert resolve_profile() == "quick" and resolve_profile("full") == "full"
    with pytest.raises(ValueError, match="profile must be one of"):
        resolve_profile("huge")


def test_fid_command_rejects_unknown_image_source():
    from asgn2.cli import main

    with pytest.raises(ValueError, match=r"'train', 'test', a \.npy or a \.pt"):
        main(["fid", "samples.txt", "test"])
