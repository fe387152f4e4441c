"""docs/grading.md, the grader's guide, is the render of its records, and it shows every run of the gallery with
its measured figure, its thumbnail and the check that names it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("grading", REPO / "benchmarks" / "grading.py")
grading = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(grading)

RUNS = json.loads((REPO / "benchmarks" / "records" / "grading-gallery.json").read_text())["numbers"]["runs"]


def test_the_guide_is_the_render_of_its_records():
    assert grading.stale() == "", "docs/grading.md is stale: run `python benchmarks/grading.py`"


def test_every_mistake_has_its_row_its_words_and_a_small_thumbnail():
    guide = grading.GUIDE.read_text()
    mistakes = {key for key, run in RUNS.items() if run.get("check")}
    assert len(mistakes) >= 12
    assert mistakes == set(grading.SYMPTOMS), "a mistake without words in grading.SYMPTOMS, or words without a run"
    for key, run in RUNS.items():
        if run["thumbnail"] is None:  # the quick profile's run: a number in the first table only
            continue
        path = REPO / run["thumbnail"]
        assert path.is_file() and path.stat().st_size < 30_000, path
        assert f"]({Path(run['thumbnail']).relative_to('docs')})" in guide, key
        if key in mistakes:
            assert f"**{key.split('/')[1]}**" in guide and grading.SYMPTOMS[key]["cause"] in guide


def test_the_checks_named_every_mistake_and_passed_the_correct_runs():
    """What the guide tells a grader to run must do what it says on the gallery's trained models."""
    for key, run in RUNS.items():
        if "verdicts" not in run:
            continue
        failed = [v for v in run["verdicts"] if v["passed"] is False]
        if run.get("check"):
            assert any(v["check"] == run["check"] and run["says"] in v["message"] for v in failed), key
        else:
            assert not failed, (key, failed)


def test_a_changed_number_makes_the_guide_stale(tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    for name in ("grading-gallery", "pixelcnn-split", "realnvp-size-budget"):
        (folder / f"{name}.json").write_text((REPO / "benchmarks" / "records" / f"{name}.json").read_text())
    guide = tmp_path / "grading.md"
    guide.write_text(grading.render(folder))
    assert grading.stale(folder, guide) == ""
    record = json.loads((folder / "grading-gallery.json").read_text())
    record["numbers"]["runs"]["pixelcnn/correct"]["test"] += 1.0
    (folder / "grading-gallery.json").write_text(json.dumps(record))
    assert grading.stale(folder, guide) != ""
