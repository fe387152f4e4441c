"""The submission bundle: splitting the notebook by question, names, export."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from asgn2.submit import _check_name, export, question_notebook


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


@pytest.mark.parametrize("name", ["Doe", "O'Neil", "Smith-Jones"])
def test_names_accepted(name):
    assert _check_name(name, "last name") == name


@pytest.mark.parametrize("name", ["", "Doe Jane", "../x", "Doe_1"])
def test_names_rejected(name):
    with pytest.raises(ValueError, match="must be letters"):
        _check_name(name, "last name")
