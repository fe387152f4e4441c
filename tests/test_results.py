"""benchmarks/RESULTS.md is generated from the benchmark records: it must be their render, and the render must show
each record's table and where it came from."""

from __future__ import annotations

import importlib.util
import json
import re
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


def test_a_temperature_table_shows_the_chosen_neighbourhood_and_says_what_it_left_out():
    from asgn2 import report

    rows = [
        {"temperature": t / 10, "fid": 300 - t, "confident": 0.5, "confident_half_width": 0.03} for t in range(7, 18)
    ]
    floor = {"fid": 11.8, "confident": 0.97}
    text = report.temperature_table(1000, floor, rows, rows, 1.6)
    assert re.findall(r"\| T = ([\d.]+)", text) == ["1.0", "1.4", "1.5", "1.6", "1.7"]
    assert "| T = 1.6 (chosen) | 284 | 284 | 50 ± 3% |" in text
    assert "11 temperatures scored (T = 0.7 to 1.7); shown: those within 0.2 of the chosen one, and T = 1." in text
    few = rows[2:5]  # T = 0.9, 1.0, 1.1: all within 0.2 of 1.0, all shown, nothing to say
    assert "scored" not in report.temperature_table(1000, floor, few, few, 1.0)
