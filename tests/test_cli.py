"""The command line: every registered command is listed, profiles are checked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asgn2.cli import COMMAND_MODULES, build_parser
from asgn2.profiles import resolve_profile


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "asgn2", "--help"], capture_output=True, text=True, check=True).stdout
    assert "train-classifier" in out and "run" in out


def test_every_command_module_registers():
    parser = build_parser()
    assert len(COMMAND_MODULES) >= 1
    args = parser.parse_args(["train-classifier", "--profile", "quick"])
    assert args.profile == "quick" and callable(args.func)


def test_profiles(monkeypatch):
    monkeypatch.delenv("ASGN2_PROFILE", raising=False)
    assert resolve_profile() == "default"
    monkeypatch.setenv("ASGN2_PROFILE", "quick")
    assert resolve_profile() == "quick" and resolve_profile("full") == "full"
    with pytest.raises(ValueError, match="profile must be one of"):
        resolve_profile("huge")
