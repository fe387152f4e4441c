"""The command line: every registered command is listed, profiles are checked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asgn2.cli import build_parser
from asgn2.profiles import PROFILES, resolve_profile


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "asgn2", "--help"], capture_output=True, text=True, check=True).stdout
    assert "train-classifier" in out and "run" in out


def test_commands_parse():
    parser = build_parser()
    args = parser.parse_args(["train-classifier", "--profile", "quick", "--retrain"])
    assert args.command == "train-classifier" and args.profile == "quick" and args.retrain
    args = parser.parse_args(["inpaint", "--holes", "brush", "--n", "2"])
    assert (args.holes, args.n, args.samples) == ("brush", 2, 3)


def test_profiles_name_their_specs():
    for name, profile in PROFILES.items():
        assert profile.name == profile.classifier.name == profile.pixelcnn.name == profile.realnvp.name == name


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
