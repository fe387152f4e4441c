"""The notebook and the submission bundle: the committed copy is executed and clean; a fresh kernel runs it end to
end in the quick profile; `build_submission` writes every file, and each programming PDF holds its own question's
code and nothing of the other question."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from asgn2.report import readme_table, recorded, results_table
from asgn2.submit import (
    NOTEBOOK,
    NOTEBOOK_SOURCE,
    REPO,
    build_submission,
    execute_notebook,
    read_notebook,
    tex_available,
)

TAGS = {"setup", "q1", "q2"}


def problems(nb) -> list[str]:
    """Error outputs, warnings and untagged cells of a notebook."""
    found = []
    for i, cell in enumerate(nb.cells):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if len(tags & TAGS) != 1:
            found.append(f"cell {i}: tags {sorted(tags)}, expected exactly one of {sorted(TAGS)}")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"cell {i}: {out.ename}: {out.evalue}")
            text = out.get("text", "")
            if out.output_type == "stream" and (out.name == "stderr" or "Warning" in text):
                found.append(f"cell {i}: {out.name}: {text[:200]}")
    return found


def test_committed_notebook_is_executed_in_order_clean_and_small():
    """Executed top to bottom on one kernel (execution counts 1, 2, 3, ...: no cell run twice or out of order), so its
    outputs come from its cells as they stand."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and [c.execution_count for c in code] == list(range(1, len(code) + 1)), "commit the notebook executed"
    assert problems(nb) == []
    assert NOTEBOOK.stat().st_size < 10 * 2**20
    numbers = recorded(NOTEBOOK)
    assert numbers["profile"] == "default"
    assert "PixelCNN test NLL" in results_table(numbers)  # every number the README's table needs is there
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    assert "## Question 1: Image Inpainting by Masked CNN" in headings and "## Question 2: Real NVP" in headings


def test_committed_notebook_is_built_from_its_source_script():
    """The .ipynb's cells are the jupytext script's, cell for cell: type, source and tags (edit the script, then
    `python -m asgn2 notebook` rebuilds and executes the .ipynb)."""

    def cells(nb) -> list[tuple[str, str, list[str]]]:
        return [(c.cell_type, c.source, c.get("metadata", {}).get("tags", [])) for c in nb.cells]

    assert cells(read_notebook(NOTEBOOK_SOURCE)) == cells(nbformat.read(NOTEBOOK, as_version=4))


def test_readme_results_agree_with_the_committed_notebook():
    assert readme_table(REPO / "README.md") == results_table(recorded(NOTEBOOK))


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> Path:
    """The notebook run on a fresh kernel in the quick profile, with checkpoints in a fresh folder."""
    folder = tmp_path_factory.mktemp("notebook")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ASGN2_CHECKPOINTS", str(folder / "checkpoints"))
        execute_notebook(NOTEBOOK_SOURCE, folder / "executed.ipynb", "quick")
    return folder / "executed.ipynb"


def test_notebook_runs_end_to_end_in_quick_profile(executed):
    nb = nbformat.read(executed, as_version=4)
    assert problems(nb) == []
    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 10
    numbers = recorded(executed)
    assert numbers["profile"] == "quick" and 0 < numbers["pixelcnn_bpd"] < 1 and 0 < numbers["realnvp_bpd"] < 8
    assert {row["holes"] for row in numbers["inpainting"]} == {"none", "top", "bottom", "ring"}
    assert {row["method"] for row in numbers["inpainting"]} >= {"raster", "sir", "conditional", "nearest", "black"}
    results_table(numbers)


def outputs_text(cell) -> str:
    """Everything a cell's outputs show as text: streams, Markdown and plain-text displays."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts += [data.get("text/markdown", ""), data.get("text/plain", "")]
    return "\n".join(parts)


NUMBER = re.compile(r"\d+(?:\.\d+)?")


def discussion_problems(nb) -> list[str]:
    """Each generated discussion: at most 200 words, and every number in it printed by an output above it."""
    found, above = [], ""
    for i, cell in enumerate(nb.cells):
        text = outputs_text(cell) if cell.cell_type == "code" else ""
        if "**Discussion.**" in text:
            words = len(text.split())
            if words > 200:
                found.append(f"cell {i}: the discussion has {words} words (at most 200)")
            found += [f"cell {i}: {n} is in no output above" for n in NUMBER.findall(text) if n not in above]
        above += text
    return found


@pytest.mark.parametrize("where", ["committed", "quick"])
def test_each_discussion_states_only_numbers_its_run_printed(where, request):
    nb = nbformat.read(NOTEBOOK if where == "committed" else request.getfixturevalue("executed"), as_version=4)
    discussions = [c for c in nb.cells if "**Discussion.**" in outputs_text(c)]
    assert len(discussions) == 2  # one per question
    assert discussion_problems(nb) == []


MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", flags=re.DOTALL)
PROSE_WORDS = 1600  # the notebook's prose: markdown cells and generated sentences, tables aside


def prose_words(nb) -> int:
    """Words of prose a reader meets: the markdown cells and Markdown outputs, less their table rows; a formula
    counts as one word."""
    texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            texts.append(out.get("data", {}).get("text/markdown", ""))
    lines = [line for text in texts for line in MATH.sub("formula", text).splitlines()]
    return sum(len(line.split()) for line in lines if not line.lstrip().startswith("|"))


def test_the_notebooks_prose_is_short():
    """At most PROSE_WORDS words of prose in the committed (executed) notebook; a table counts as none, an added
    sentence as its words."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    words = prose_words(nb)
    assert words <= PROSE_WORDS, f"{words} words of prose (at most {PROSE_WORDS})"
    nb.cells.append(nbformat.v4.new_markdown_cell("one two three $$x + y = z$$\n\n| a | b |\n|---|---|\n| 1 | 2 |"))
    assert prose_words(nb) == words + 4


def test_discussion_check_catches_a_number_from_elsewhere():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cell = next(c for c in nb.cells if "**Discussion.**" in outputs_text(c))
    cell.outputs[0]["data"]["text/markdown"] += " On all 10000 test digits a GPU run reached 57.9%."
    assert any("57.9" in problem for problem in discussion_problems(nb))


def test_results_command_prints_the_table(executed, capsys):
    from asgn2.cli import main

    main(["results", str(executed)])
    out = capsys.readouterr().out
    assert (
        "`quick` profile" in out and "PixelCNN test NLL" in out and "inpainting, ring holes (never in training)" in out
    )


def test_question_2_runs_alone_after_setup(tmp_path, monkeypatch):
    """A student can restart the kernel, run the setup cells, and run Question 2 without Question 1."""
    from asgn2.submit import question_notebook

    alone = tmp_path / "q2_alone.ipynb"
    nbformat.write(question_notebook(nbformat.read(NOTEBOOK, as_version=4), "q2"), alone)
    monkeypatch.setenv("ASGN2_CHECKPOINTS", str(tmp_path / "checkpoints"))
    execute_notebook(alone, alone, "quick")
    nb = nbformat.read(alone, as_version=4)
    assert problems(nb) == [] and "realnvp_bpd" in recorded(alone)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(
    not os.environ.get("CI") and not (tex_available() and shutil.which("pdftotext")),
    reason="needs TeX and poppler (CI installs them)",
)
def test_submission_bundle(executed, tmp_path):
    files = build_submission("Doe", "Jane", tmp_path, notebook=executed)
    names = sorted(f.name for f in files)
    expected = ["Doe_Jane_Assgn2.ipynb", "programming_q1.pdf", "programming_q2.pdf", "asgn2", "pyproject.toml"]
    expected.append("README.md")  # the bundle's own: how a grader re-runs the notebook from it
    assert names == sorted(expected + [f"written_q{k}.pdf" for k in range(1, 5)])
    assert nbformat.read(tmp_path / "Doe_Jane_Assgn2.ipynb", as_version=4) == nbformat.read(executed, as_version=4)
    q1, q2 = pdf_text(tmp_path / "programming_q1.pdf"), pdf_text(tmp_path / "programming_q2.pdf")
    # every graded piece of the answer, the training loop included, in each question's own PDF
    for code in (
        "class MaskedConv2d(nn.Conv2d)",
        "class PixelCNN(nn.Module)",
        "def pixelcnn_loss(",
        "def train(",
        "def sample(",
        "def inpaint(",
    ):
        assert code in q1, code
    for code in (
        "class AffineCoupling(Transform)",
        "class Scale(Transform)",
        "class Logit(Transform)",
        "class RealNVP(Transform)",
        "class Flow(nn.Module)",
        "def realnvp_loss(",
        "def train(",
    ):
        assert code in q2, code
    # set-up and plotting code is in the .ipynb, not in the PDFs (cells tagged hide-input)
    assert "import matplotlib" not in q1 + q2 and "plt.subplots" not in q1 + q2
    assert "Question 2" not in q1 and "AffineCoupling" not in q1
    assert "Question 1" not in q2 and "MaskedConv2d" not in q2
    for path in files:
        assert path.stat().st_size > 1000
