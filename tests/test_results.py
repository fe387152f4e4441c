"""benchmarks/RESULTS.md is generated from the benchmark records: it must be their render, and the render must show
each record's table and where it came from."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
_spec = importlib.util.spec_from_file_location("benchmark_results", BENCHMARKS / "results.py")
results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results)

RECORD = {
    "name": "toy-comparison",
    "question": "Is the toy default faster than the alternative?",
    "command": "python benchmarks/bench_toy.py --steps 3",
    "commit": "0123456789abcdef0123456789abcdef01234567",
    "date": "2025-01-01T00:00:00+00:00",
    "host": {"cpu": "Toy CPU", "cores": 2, "avx512_bf16": True, "amx": False, "gpu": None, "torch": "2.0"},
    "profile": "default",
    "table": "| variant | s |\n|---|---|\n| toy | 1.25 |\n",
    "numbers": {"toy": 1.25},
}


def test_results_md_is_the_render_of_the_committed_records():
    assert results.load_records(), "no benchmark records in benchmarks/records/"
    assert results.stale() == "", "benchmarks/RESULTS.md is stale: run `python benchmarks/results.py`"


def test_every_record_has_the_fields_the_render_needs():
    for record in results.load_records():
        assert set(RECORD) <= set(record), record["name"]
        assert record["question"].strip() and "\n" not in record["question"].strip(), record["name"]


def test_a_section_shows_the_question_the_table_and_the_provenance():
    section = results.render_record(RECORD)
    assert section.startswith("## toy-comparison\n")
    assert RECORD["question"] in section and RECORD["table"].strip() in section
    for provenance in (RECORD["command"], RECORD["commit"], RECORD["date"], "Toy CPU", "2 cores", "AVX512-BF16"):
        assert provenance in section
    assert "no AMX" in section and "no GPU" in section


def test_editing_a_record_without_regenerating_is_caught(tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "toy-comparison.json").write_text(json.dumps(RECORD))
    md = tmp_path / "RESULTS.md"
    md.write_text(results.render(results.load_records(folder)))
    assert results.stale(folder, md) == ""
    edited = {**RECORD, "table": RECORD["table"].replace("1.25", "0.99")}
    (folder / "toy-comparison.json").write_text(json.dumps(edited))
    diff = results.stale(folder, md)
    assert "-| toy | 1.25 |" in diff and "+| toy | 0.99 |" in diff
