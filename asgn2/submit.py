"""The submission bundle the assignment asks for, in one command.

    python -m asgn2 submit --last Doe --first Jane [--out submission/] [--execute] [--profile default]

writes `Doe_Jane_Assgn2.ipynb` (the executed notebook, renamed), `programming_q1.pdf` and `programming_q2.pdf` (each
only its own question's part of the notebook) and `written_q1.pdf` ... `written_q4.pdf`. Notebook cells are tagged
`setup`, `q1` or `q2`; a question's PDF holds the `setup` cells and its own. Without TeX it says what to install and
writes HTML versions instead of the PDFs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "Lastname_Firstname_Asgn2.ipynb"
# The notebook's source: a jupytext percent script (cells as `# %%` blocks, tags in their headers) that a maintainer
# reads and diffs; `python -m asgn2 notebook` builds and executes the .ipynb from it (tests check the two agree).
NOTEBOOK_SOURCE = NOTEBOOK.with_suffix(".py")
# The programming PDFs: nbconvert's LaTeX template with narrower margins and smaller code (asgn2/latex/compact.tex.j2;
# nbconvert looks for it under <base dir>/latex), and no In/Out prompts, so that code lines use the whole width.
PDF_SETTINGS = {
    "extra_template_basedirs": [str(Path(__file__).resolve().parent)],
    "template_file": "compact.tex.j2",
    "exclude_input_prompt": True,
    "exclude_output_prompt": True,
}
# the most pages of each programming PDF (a test builds them from the committed notebook); each question ends with
# one section beyond the question (samples through the told digit, the per-digit base)
MAX_PAGES = {"q1": 12, "q2": 10}
QUESTIONS = {  # notebook cell tag -> the title of its PDF
    "q1": "Programming Question 1: Image Inpainting by Masked CNN",
    "q2": "Programming Question 2: Real NVP",
}
WRITTEN = ("q1", "q2", "q3", "q4")
HIDE_INPUT = "hide-input"  # a cell tag: the PDFs show the cell's outputs, not its code (set-up, plotting, tables)
TEX_HINT = (
    "PDF export needs TeX: apt-get install -y --no-install-recommends pandoc texlive-xetex texlive-fonts-recommended "
    "texlive-plain-generic texlive-science latexmk (or the MiKTeX / MacTeX equivalents)."
)


def tex_available() -> bool:
    return all(shutil.which(tool) for tool in ("xelatex", "latexmk", "pandoc"))


def read_notebook(source: Path):
    """The notebook at `source`: an .ipynb, or its jupytext source script (.py), as an nbformat notebook."""
    import nbformat

    if source.suffix == ".py":
        import jupytext

        nb = jupytext.read(source)
        nb.metadata.pop("jupytext", None)  # the .ipynb is built from the script, not paired with it
        nb.metadata.setdefault("language_info", {"name": "python"})
        return nb
    return nbformat.read(source, as_version=4)


def execute_notebook(source: Path, target: Path, profile: str, timeout_s: int = 3600) -> float:
    """Run every cell of `source` (an .ipynb, or the jupytext script it is built from) on a fresh kernel (env
    ASGN2_PROFILE=profile) and save it, outputs included, to `target`; return the wall time in seconds. A cell
    that raises stops the run with nbclient's CellExecutionError. Progress goes to stdout: each code cell as it
    starts (its question and first line), the time elapsed, and the time the committed notebook took for the same
    profile, when it was run with it."""
    import nbformat

    from .training import progress_enabled

    nb = read_notebook(source)
    # The kernel inherits this process's environment: the profile, and plain-text progress bars (a widget would be
    # saved in its first state); CR-redrawn bars are collapsed to their last line (coalesce_streams).
    report = progress_enabled()
    settings = {"ASGN2_PROFILE": profile}
    if report:
        settings["ASGN2_PROGRESS"] = "text"
    start = time.perf_counter()
    code = [c for c in nb.cells if c.cell_type == "code"]
    expected = _expected_seconds(profile)

    def on_cell_start(cell, cell_index: int) -> None:
        if report and cell.cell_type == "code":
            tag = ",".join(cell.get("metadata", {}).get("tags", []))
            first = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
            where = f"[{code.index(cell) + 1:2d}/{len(code)} {tag}]"
            print(f"{where} {time.perf_counter() - start:5.0f} s{expected}: {first}", flush=True)

    with mock.patch.dict(os.environ, settings):  # restores this process's environment afterwards
        client = _echoing_client(
            nb,
            echo=report,
            timeout=timeout_s,
            kernel_name="python3",
            resources={"metadata": {"path": str(REPO)}},
            coalesce_streams=True,
            on_cell_start=on_cell_start,
        )
        client.execute()
    nbformat.write(nb, target)
    return time.perf_counter() - start


def _echo_progress(text: str) -> None:
    """Show in the terminal the last line a cell printed: a training bar redraws its line ("pixelcnn:  45%|####  |
    1400/3100 [..., left=120 s]") every few seconds, a finished run prints its summary."""
    lines = text.replace("\r", "\n").strip().splitlines()
    if lines:
        print(f"        {lines[-1].strip()[:150]}", flush=True)


def _echoing_client(nb, echo: bool, **kwargs):
    """An nbclient.NotebookClient for `nb` that also shows in the terminal the progress bars a long cell prints,
    so the terminal tells how far training has got (step, of how many, time left)."""
    import nbclient

    class EchoingClient(nbclient.NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            if echo and msg["msg_type"] == "stream":
                _echo_progress(msg["content"].get("text", ""))
            return super().output(outs, msg, display_id, cell_index)

    return EchoingClient(nb, **kwargs)


def _expected_seconds(profile: str) -> str:
    """' of about N s' when the committed notebook was executed with this profile (it records its wall time)."""
    from .report import recorded

    try:
        numbers = recorded(NOTEBOOK)
    except (OSError, ValueError):
        return ""
    if numbers.get("profile") != profile or "wall_time_s" not in numbers:
        return ""
    return f" of about {numbers['wall_time_s']:.0f}"


def question_notebook(nb, question: str):
    """A copy of `nb` with only the cells tagged "setup" or `question`."""
    import copy

    part = copy.deepcopy(nb)
    part.cells = [c for c in nb.cells if {"setup", question} & set(c.get("metadata", {}).get("tags", []))]
    return part


def export(nb, path: Path, pdf: bool, title: str = "", author: str = "") -> Path:
    """Write `nb` as PDF (nbconvert via xelatex) or, without TeX, as HTML, under `title` and `author`; return the
    path written."""
    from nbconvert import HTMLExporter, PDFExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    if title:
        nb.metadata["title"] = title
    if author:
        nb.metadata["authors"] = [{"name": author}]
    exporter = PDFExporter(**PDF_SETTINGS) if pdf else HTMLExporter()
    # set-up and plotting code stays in the .ipynb; the PDF shows those cells' outputs only
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={HIDE_INPUT}, enabled=True), enabled=True)
    path = path.with_suffix(".pdf" if pdf else ".html")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"path": str(REPO)}})
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


def build_written(out: Path) -> list[Path]:
    """Compile the written answers (written/Makefile) and copy them to out/written_qK.pdf. TeX's own output goes
    to written/build/build.log (not into the folder the student uploads from); on failure its tail is printed."""
    log = REPO / "written" / "build" / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as f:
        done = subprocess.run(["make", "-C", str(REPO / "written"), f"PY={sys.executable}"], stdout=f, stderr=f)
    if done.returncode != 0:
        print("".join(log.read_text().splitlines(keepends=True)[-40:]))
        raise subprocess.CalledProcessError(done.returncode, done.args, output=f"see {log}")
    written = []
    for q in WRITTEN:
        target = out / f"written_{q}.pdf"
        shutil.copyfile(REPO / "written" / "build" / f"{q}.pdf", target)
        written.append(target)
    return written


def _check_name(name: str, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z'-]*", name):
        raise ValueError(f"{what} must be letters (hyphens and apostrophes allowed), as on Quercus; got {name!r}")
    return name


def build_submission(
    last: str, first: str, out: Path, notebook: Path = NOTEBOOK, execute: bool = False, profile: str = "default"
) -> list[Path]:
    """Write the bundle into `out`; return the files written. `execute` runs the notebook first."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    renamed = out / f"{_check_name(last, 'last name')}_{_check_name(first, 'first name')}_Assgn2.ipynb"
    if execute:
        seconds = execute_notebook(NOTEBOOK_SOURCE if notebook == NOTEBOOK else notebook, renamed, profile)
        print(f"executed {notebook.name} ({profile} profile) in {seconds:.0f} s")
    else:
        if not notebook.is_file():
            raise FileNotFoundError(f"no notebook at {notebook}")
        shutil.copyfile(notebook, renamed)
    nb = nbformat.read(renamed, as_version=4)
    pdf = tex_available()
    if not pdf:
        print(f"TeX not found: writing HTML instead of PDF. {TEX_HINT}")
    files = [renamed]
    for q, title in QUESTIONS.items():
        part = question_notebook(nb, q)
        files.append(export(part, out / f"programming_{q}", pdf, f"Assignment 2, {title}", f"{first} {last}"))
    if pdf:
        files += build_written(out)
    return files
