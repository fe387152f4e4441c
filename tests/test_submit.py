"""The submission bundle: splitting the notebook by question, names, export."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from unittest import mock

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from asgn2 import submit
from asgn2.data import data_root
from asgn2.submit import MAX_PAGES, NOTEBOOK, PDF_SETTINGS, QUESTIONS, REPO, _check_name, export, question_notebook


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


# ------------------------------------------------------------------------------------- the bundle runs on its own

NAME = "Doe_Jane_Assgn2.ipynb"
LEAKS = {".pyc", ".log", ".aux", ".out", ".toc", ".pt", ".partial"}  # caches, TeX build files, checkpoints


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The bundle `submit` writes from the committed notebook, built cheaply: HTML instead of the PDFs (as without
    TeX), no written PDFs."""
    out = tmp_path_factory.mktemp("built") / "submission"
    with mock.patch.object(submit, "tex_available", return_value=False):
        files = submit.build_submission("Doe", "Jane", out)
    return out, files


def test_bundle_holds_the_notebook_its_exports_and_the_package_source_only(bundle):
    out, files = bundle
    assert {f.name for f in files} == {
        NAME,
        "programming_q1.html",
        "programming_q2.html",
        "asgn2",
        "pyproject.toml",
        "README.md",
    }
    assert {p.name for p in out.iterdir()} == {f.name for f in files}
    package = {p.relative_to(out / "asgn2").as_posix() for p in (out / "asgn2").rglob("*") if p.is_file()}
    modules = {p.name for p in submit.PACKAGE.glob("*.py")}
    assert package == modules | {"latex/compact.tex.j2"}  # every module and the package data, nothing else
    assert all((out / "asgn2" / m).read_bytes() == (submit.PACKAGE / m).read_bytes() for m in modules)
    assert (out / "pyproject.toml").read_bytes() == (REPO / "pyproject.toml").read_bytes()
    everything = list(out.rglob("*"))
    assert not [p for p in everything if p.suffix in LEAKS or p.name in ("__pycache__", "checkpoints", "data")]
    readme = (out / "README.md").read_text()
    assert f"--execute {NAME}" in readme and "pip install '.[notebook]'" in readme


def test_a_rebuilt_bundle_holds_no_stale_package_files(tmp_path):
    (tmp_path / "asgn2" / "__pycache__").mkdir(parents=True)  # an earlier build's copy, after a re-run from it
    (tmp_path / "asgn2" / "removed_module.py").write_text("")
    (tmp_path / "asgn2" / "__pycache__" / "pixelcnn.cpython-311.pyc").write_bytes(b"")
    submit.bundle_package(tmp_path, NAME, {})
    assert not (tmp_path / "asgn2" / "removed_module.py").exists()
    assert not (tmp_path / "asgn2" / "__pycache__").exists()
    assert (tmp_path / "asgn2" / "__init__.py").is_file()


def test_the_bundle_never_overwrites_the_repository(tmp_path, monkeypatch):
    monkeypatch.setattr(submit, "REPO", tmp_path.resolve())  # without the check, the bundle would land here
    with pytest.raises(ValueError, match="folder of its own"):
        submit.build_submission("Doe", "Jane", tmp_path)
    assert not list(tmp_path.iterdir())


def rerun_cells(nb) -> list:
    """The bundled notebook's code cells up to and including the PixelCNN's training (imports, MNIST, the
    classifier, the PixelCNN built and trained), each as submitted; then a tiny training budget after the first."""
    code = [new_code_cell(c.source) for c in nb.cells if c.cell_type == "code"]
    last = next((i for i, c in enumerate(code) if "train_pixelcnn(" in c.source), None)
    if last is None:
        pytest.fail("no code cell of the notebook trains the PixelCNN (calls train_pixelcnn)")
    few_steps = new_code_cell(
        "import dataclasses\n"
        "def _few_steps(spec, steps):\n"
        "    return dataclasses.replace(spec, train=dataclasses.replace(spec.train, epochs=1, max_steps=steps))\n"
        f"P = dataclasses.replace(P, classifier=_few_steps(P.classifier, {FEW_STEPS}), "
        f"pixelcnn=_few_steps(P.pixelcnn, {FEW_STEPS}))"
    )
    return [code[0], few_steps, *code[1 : last + 1]]


FEW_STEPS = 20
# Every asgn2 module the kernel imported came from the bundle's folder, the kernel's working directory, although the
# test's virtual environment has asgn2 installed (editable, from this repository): the kernel puts its working
# directory on sys.path before site-packages, and a module missing from the bundle would come from the repository.
FROM_THE_BUNDLE = (
    "import os, sys\n"
    "here = os.path.realpath(os.getcwd())\n"
    "mods = {n: getattr(m, '__file__', None) for n, m in list(sys.modules.items()) if n.split('.')[0] == 'asgn2'}\n"
    "loaded = {n: os.path.realpath(f) if f else '(no file)' for n, f in mods.items()}\n"
    "print('asgn2 from', loaded['asgn2'])\n"
    "outside = {n: f for n, f in loaded.items() if not f.startswith(here + os.sep)}\n"
    "assert not outside, outside\n"
    "assert 'asgn2.pixelcnn' in loaded"
)


@pytest.mark.mnist
def test_bundled_notebook_reruns_from_the_bundle_alone(bundle, tmp_path_factory, mnist_train, mnist_test):
    """A grader's re-run: the bundle copied into a clean folder outside the repository, the notebook executed there
    by `jupyter nbconvert --execute` (as the bundle's README says) with no PYTHONPATH. The whole notebook takes
    about 2 minutes even in the quick profile (112 s on 2 cores), so it runs the cells up to the PixelCNN's training,
    with 20 training steps for the classifier and the PixelCNN (about 10 s)."""
    out, _ = bundle
    grader = tmp_path_factory.mktemp("grader")
    assert REPO not in grader.resolve().parents
    folder = grader / "bundle"
    shutil.copytree(out, folder)
    cells = rerun_cells(nbformat.read(folder / NAME, as_version=4))
    checks = [new_code_cell(FROM_THE_BUNDLE) for _ in range(2)]  # after the imports, and at the end
    rerun = new_notebook(cells=[cells[0], checks[0], *cells[1:], checks[1]])
    rerun.metadata = nbformat.read(folder / NAME, as_version=4).metadata
    nbformat.write(rerun, folder / "rerun.ipynb")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("ASGN2_")}
    checkpoints = grader / "checkpoints"
    env |= {
        "ASGN2_DATA": str(data_root().resolve()),  # MNIST is not part of the bundle; the fixtures fetched it
        "ASGN2_OFFLINE": "1",
        "ASGN2_PROGRESS": "0",
        "ASGN2_PROFILE": "quick",
        "ASGN2_CHECKPOINTS": str(checkpoints),
    }
    command = [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", "rerun.ipynb"]
    command += ["--output", "rerun-done.ipynb", "--ExecutePreprocessor.timeout=300"]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = nbformat.read(folder / "rerun-done.ipynb", as_version=4).cells[-1].outputs
    assert f"asgn2 from {folder.resolve() / 'asgn2' / '__init__.py'}" in "".join(o.get("text", "") for o in outputs)
    assert {p.name.split("-")[0] for p in checkpoints.glob("*.pt")} >= {"classifier", "pixelcnn"}
