"""Checkpoints that know the run they belong to, written atomically.

A checkpoint holds the model, the optimizer, the RNG state, the history and the whole *run specification* (model,
training and data choices, as a plain dict). It is reused or resumed only for the same specification; a file
written for another one is refused with a message that lists what differs and how to retrain.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch


class SpecMismatchError(ValueError):
    """A checkpoint was written for another run specification than the one asked for."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (a full disk, say); the previous checkpoint, if any, is intact."""


class DamagedCheckpointError(RuntimeError):
    """A checkpoint file exists but cannot be read (truncated or corrupted, say by a full disk or a copy cut short)."""


def checkpoint_dir() -> Path:
    """Where trained models are cached: env `ASGN2_CHECKPOINTS`, else `./checkpoints`."""
    return Path(os.environ.get("ASGN2_CHECKPOINTS", "checkpoints"))


def spec_dict(spec: Any) -> dict[str, Any]:
    """A dataclass spec (nested dataclasses allowed) as a plain dict, the form stored in checkpoints."""
    return dataclasses.asdict(spec) if dataclasses.is_dataclass(spec) else dict(spec)


def spec_differences(stored: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> list[str]:
    """'key: stored -> wanted' for every (dotted) key whose value differs, sorted."""
    out = []
    for key in sorted(set(stored) | set(wanted)):
        a, b = stored.get(key, "<absent>"), wanted.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += spec_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write `state` with `torch.save` to a temporary file beside `path`, then rename it over `path`.

    The rename is atomic, so a crash or an error mid-write leaves the previous checkpoint intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:  # torch reports a full disk as a RuntimeError ("unexpected pos ...")
        Path(tmp).unlink(missing_ok=True)
        before = "the previous checkpoint there is intact" if path.is_file() else "no checkpoint was there before"
        raise CheckpointWriteError(
            f"could not write the checkpoint {path.resolve()} ({type(error).__name__}: {error}); {before}. Is the "
            f"disk full? Free space on it, or set ASGN2_CHECKPOINTS to a folder on another disk, and run again: "
            "training resumes from the last checkpoint written."
        ) from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The state saved at `path`; DamagedCheckpointError, naming the file and the fix, if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path.resolve()}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        raise DamagedCheckpointError(
            f"the checkpoint {path.resolve()} is damaged and cannot be read ({type(error).__name__}: {error}). "
            "Delete it and train again (retrain=True, --retrain on the command line); this run's other checkpoints "
            "are separate files and stay valid."
        ) from error


@dataclasses.dataclass
class Checkpoint:
    """The checkpoint file of one run: `path`, and the run specification `spec` it must have been written for."""

    path: Path
    spec: dict[str, Any]

    def __post_init__(self) -> None:
        self.path, self.spec = Path(self.path), spec_dict(self.spec)

    def load(self, map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
        """The saved state, None if there is no file; SpecMismatchError if it was written for another spec."""
        if not self.path.is_file():
            return None
        state = load_checkpoint(self.path, map_location)
        if "spec" not in state:
            raise SpecMismatchError(
                f"{self.path} holds no run specification (written by an older asgn2): delete it, or retrain "
                "(retrain=True, --retrain on the command line)"
            )
        if differences := spec_differences(state["spec"], self.spec):
            raise SpecMismatchError(
                f"{self.path} was trained with another run specification ({'; '.join(differences)}; checkpoint -> "
                "asked for). Delete the file, retrain (retrain=True, --retrain on the command line), or set "
                "ASGN2_CHECKPOINTS to another folder to keep both."
            )
        return state

    def load_model(self, model: torch.nn.Module, state: dict[str, Any]) -> None:
        """`model.load_state_dict(state["model"])`; SpecMismatchError, naming the file and the fix, if the saved
        network has another shape (same spec, written by an older version of the code)."""
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as error:
            raise SpecMismatchError(
                f"{self.path} holds a network of another shape than this version of asgn2 builds ({error}). "
                "Delete the file or retrain (retrain=True, --retrain on the command line)."
            ) from error

    def save(self, state: dict[str, Any]) -> None:
        save_checkpoint({**state, "spec": self.spec}, self.path)
