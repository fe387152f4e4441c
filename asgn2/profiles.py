"""Run profiles: `quick` (smoke test, minutes), `default` (a laptop CPU), `full` (the published numbers; a GPU).

Each model module keeps its own table of sizes and budgets keyed by these names; this module only picks the name.
"""

from __future__ import annotations

import os

PROFILE_NAMES = ("quick", "default", "full")


def resolve_profile(name: str | None = None) -> str:
    """The argument, else env `ASGN2_PROFILE`, else "default"."""
    name = name or os.environ.get("ASGN2_PROFILE") or "default"
    if name not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {PROFILE_NAMES}, got {name!r}")
    return name
