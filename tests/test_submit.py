"""The submission bundle: splitting the notebook by question, names, export."""

from __future__ import annotations

import os
import shutil
import subprocess

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from asgn2.submit import MAX_PAGES, NOTEBOOK, PDF_SETTINGS, QUESTIONS, _check_name, export, question_notebook


def tagged_notebook():
    return new_notebook(
        cells=[
            new_markdown_cell("# Setup", metadata={"tags": ["setup"]}),
            new_markdown_cell("## Question 1 MARKER_Q1", metadata={"tags": ["q1"]}),
            new_code_cell("x = 1", metadata={"tags": ["q1"]}),
            new_markdown_cell("## Question 2 MARKER_Q2", metadata={"tags": ["q2"]}),
            new_markdown_cell("untagged notes", metadata={}),
        ]
    )


def test_question_notebook_keeps_setup_and_own_cells():
    nb = tagged_notebook()
    q1 = question_notebook(nb, "q1")
    assert [c.source for c in q1.cells] == ["# Setup", "## Question 1 MARKER_Q1", "x = 1"]
    q2 = question_notebook(nb, "q2")
    assert [c.source for c in q2.cells] == ["# Setup", "## Question 2 MARKER_Q2"]
    assert len(nb.cells) == 5  # the original is untouched


def test_html_export_holds_only_its_question(tmp_path):
    path = export(question_notebook(tagged_notebook(), "q2"), tmp_path / "programming_q2", pdf=False)
    html = path.read_text()
    assert path.suffix == ".html" and "MARKER_Q2" in html and "MARKER_Q1" not in html
    nbformat.validate(tagged_notebook())


def test_pdf_template_is_the_compact_one_without_prompts():
    from nbconvert import LatexExporter

    if shutil.which("pandoc") is None and not os.environ.get("CI"):
        pytest.skip("pandoc not installed (nbconvert's LaTeX export needs it; CI installs it, see .ci/run)")
    nb = question_notebook(tagged_notebook(), "q1")
    nb.cells[-1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "42"}, execution_count=1)]
    nb.cells[-1].execution_count = 1
    latex, _ = LatexExporter(**PDF_SETTINGS).from_notebook_node(nb)
    assert "lmargin=0.65in" in latex and r"\fvset{fontsize=\fontsize{8.5}{10}\selectfont}" in latex
    body = latex.split(r"\begin{document}")[1]
    assert r"\PY{n}{x}" in body and "42" in body  # the code cell and its output, without In [1]: / Out[1]: prompts
    assert r"\prompt" not in body


TOOLS = ("xelatex", "pandoc", "pdfinfo")


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS) and not os.environ.get("CI"),
    reason="TeX, pandoc or poppler not installed (CI installs them, see .ci/run, and never skips this test)",
)
@pytest.mark.parametrize("question", list(QUESTIONS))
def test_programming_pdf_of_the_committed_notebook_fits_the_page_budget(tmp_path, question):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    part = question_notebook(nb, question)
    title = f"Assignment 2, {QUESTIONS[question]}"  # as `submit` titles it
    path = export(part, tmp_path / f"programming_{question}", True, title, "Firstname Lastname")
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages <= MAX_PAGES[question], f"programming_{question}.pdf has {pages} pages (budget {MAX_PAGES[question]})"


@pytest.mark.parametrize("name", ["Doe", "O'Neil", "Smith-Jones"])
def test_names_accepted(name):
    assert _check_name(name, "last name") == name


@pytest.mark.parametrize("name", ["", "Doe Jane", "../x", "Doe_1"])
def test_names_rejected(name):
    with pytest.raises(ValueError, match="must be letters"):
        _check_name(name, "last name")
