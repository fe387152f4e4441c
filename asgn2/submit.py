"""The submission bundle the assignment asks for, in one command.

    python -m asgn2 submit --last Doe --first Jane [--out submission/] [--execute] [--profile default]

writes `Doe_Jane_Assgn2.ipynb` (the executed notebook, renamed), `programming_q1.pdf` and `programming_q2.pdf` (each
only its own question's part of the notebook) and `written_q1.pdf` ... `written_q4.pdf`. Notebook cells are tagged
`setup`, `q1` or `q2`; a question's PDF holds the `setup` cells and its own. Without TeX it says what to install and
writes HTML versions instead of the PDFs.

The bundle also carries what the notebook imports, so that a grader re-runs it from the bundle alone: `asgn2/` (the
package's source, beside the notebook: a kernel started in the bundle folder imports it from there),
`pyproject.toml` (its dependencies: `pip install '.[notebook]'`) and `README.md` (how to re-run). Nothing else: no
checkpoints, data, caches or build logs (TeX's go to written/build/build.log).
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
# the most pages of each programming PDF (a test builds them from the committed notebook): the answer, its results
# and one short section beyond each question
MAX_PAGES = {"q1": 10, "q2": 8}
QUESTIONS = {  # notebook cell tag -> the title of its PDF
    "q1": "Programming Question 1: Image Inpainting by Masked CNN",
    "q2": "Programming Question 2: Real NVP",
}
WRITTEN = ("q1", "q2", "q3", "q4")
PACKAGE = Path(__file__).resolve().parent
# the package's files that the bundle carries: its modules and its package data (as pyproject.toml lists them), so
# no __pycache__ or stray files
PACKAGE_FILES = ("*.py", "latex/*.j2")
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


def bundle_package(out: Path, notebook_name: str, numbers: dict) -> list[Path]:
    """Copy what the notebook imports into `out`: `asgn2/` (the package's source files, PACKAGE_FILES; a copy left
    by an earlier build is replaced, so no removed module or __pycache__ survives) and `pyproject.toml`, and write
    `README.md`, which tells a grader how to re-run `notebook_name` (`numbers`: what the notebook recorded of its
    run); return the three paths."""
    package = out / PACKAGE.name
    if package.exists():
        shutil.rmtree(package)
    for pattern in PACKAGE_FILES:
        for source in sorted(PACKAGE.glob(pattern)):
            target = package / source.relative_to(PACKAGE)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    shutil.copyfile(REPO / "pyproject.toml", out / "pyproject.toml")
    readme = out / "README.md"  # also the file pyproject.toml names as the package's readme
    readme.write_text(grader_readme(notebook_name, numbers))
    return [package, out / "pyproject.toml", readme]


def grader_readme(notebook_name: str, numbers: dict) -> str:
    """How to re-run the submitted notebook from the bundle alone."""
    if "profile" in numbers:
        ran = f"It was executed with the `{numbers['profile']}` profile"
        if "wall_time_s" in numbers:
            ran += f" in {numbers['wall_time_s']:.0f} s"
        if "device" in numbers:
            ran += f" on {numbers['device']}" + (f" ({numbers['threads']} CPU threads)" if "threads" in numbers else "")
        ran = f"\n{ran}; `ASGN2_PROFILE={numbers['profile']}` re-runs it the same way.\n"
    else:
        ran = ""
    return f"""# Re-running {notebook_name}

The notebook imports the package `asgn2`, whose source is the folder `asgn2/` beside it; `pyproject.toml` lists its
dependencies. Nothing else is needed but Python 3.10 or later and MNIST.

```bash
cd <this folder>
python -m venv .venv && . .venv/bin/activate
pip install '.[notebook]'       # the dependencies (PyTorch, Jupyter, ...) and the package; skip if already there
jupyter nbconvert --to notebook --execute {notebook_name} --output rerun.ipynb   # or open it in Jupyter
```

Run the notebook from this folder (Jupyter starts its kernel in the notebook's folder): `import asgn2` then finds
`asgn2/` beside the notebook before any other installed copy.

- MNIST is downloaded into `./data/` on first use; offline, set `ASGN2_DATA` to a folder holding `MNIST/raw/`.
- Trained models are saved in `./checkpoints/` (`ASGN2_CHECKPOINTS`), so a second run only evaluates.
- `ASGN2_PROFILE` picks the sizes and time budgets: `quick` (a smoke test of a few minutes), `default` (about 15
  minutes on a 2-core laptop CPU; the training runs stop at time caps), `full` (a GPU).
{ran}"""


def _leftovers(out: Path, written: list[Path]) -> list[str]:
    """What `out` holds that this build did not write (an earlier build's HTML, a re-run's checkpoints/ or data/)."""
    names = {p.name for p in written}
    return sorted(p.name for p in out.iterdir() if p.name not in names)


def build_submission(
    last: str, first: str, out: Path, notebook: Path = NOTEBOOK, execute: bool = False, profile: str = "default"
) -> list[Path]:
    """Write the bundle into `out`; return the paths written (the package's source as one folder). `execute` runs
    the notebook first."""
    import nbformat

    from .report import recorded

    if out.resolve() in (REPO, PACKAGE):  # the bundle's README.md, pyproject.toml and asgn2/ would replace the repo's
        raise ValueError(f"the bundle needs a folder of its own, not {out}")
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
    files += bundle_package(out, renamed.name, recorded(renamed))
    leftovers = _leftovers(out, files)
    if leftovers:
        print(f"{out} also holds {', '.join(leftovers)}, not part of this bundle: remove before uploading")
    return files
