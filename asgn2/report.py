"""The README's results table, regenerated from an executed notebook.

The notebook's result cells display their tables with `record(...)`, which attaches the numbers to the output as
metadata under the key "asgn2"; `python -m asgn2 results [NOTEBOOK]` reads them back and prints the Markdown table,
so every figure in the table is one that an executed notebook computed. `python -m asgn2 results --readme` writes it
into README.md between the markers below, and a test checks that the README and the committed notebook agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .inpainting_eval import CONTEXT, KNN, ORIGINAL
from .published import MAF_BPD, MAF_MOG_BPD, PUBLISHED_PIXELCNN_NLL, REALNVP5_BPD, REALNVP10_BPD
from .units import bits_per_dim

KEY = "asgn2"
VOTE_NAMES = {CONTEXT: f"{KNN}-NN", ORIGINAL: "original"}  # row names in the README's inpainting lines
NLL_NAMES = {CONTEXT: "noise floor"}
BEGIN, END = "<!-- results: begin (python -m asgn2 results --readme) -->", "<!-- results: end -->"


_RECORDED: dict[str, Any] = {}  # what this kernel has recorded so far


def record(markdown: str, **numbers: Any) -> None:
    """Display `markdown` in the notebook, with `numbers` saved in the output's metadata (and kept for
    `recorded_so_far`)."""
    from IPython.display import Markdown, display

    _RECORDED.update(numbers)
    display(Markdown(markdown), metadata={KEY: numbers})


def recorded_so_far() -> dict[str, Any]:
    """Every number `record` has saved in this process, as `recorded` reads them back from the executed notebook."""
    return dict(_RECORDED)


def recorded(notebook: str | Path) -> dict[str, Any]:
    """Every number recorded in an executed notebook, merged in cell order."""
    import nbformat

    numbers: dict[str, Any] = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            numbers.update(output.get("metadata", {}).get(KEY, {}))
    return numbers


def nll_table(name: str, nll_seeds: list[float], steps: int, seconds: float, profile: str) -> str:
    """Markdown: a PixelCNN's test NLL (mean over evaluation seeds, and their range) beside the published one."""
    nll = sum(nll_seeds) / len(nll_seeds)
    return (
        "| model | test NLL (nats / digit) | bits / dim |\n|---|---|---|\n"
        f"| {name} ({profile} profile, {steps} steps, {seconds:.0f} s; all 10000 test digits, mean of "
        f"{len(nll_seeds)} binarizations) | **{nll:.2f}** ({min(nll_seeds):.2f} to {max(nll_seeds):.2f}) | "
        f"{bits_per_dim(nll):.4f} |\n"
        f"| PixelCNN, van den Oord et al. 2016 (a far larger model) | {PUBLISHED_PIXELCNN_NLL:.2f} | "
        f"{bits_per_dim(PUBLISHED_PIXELCNN_NLL):.4f} |"
    )


def sample_table(n: int, rows: dict[str, dict[str, Any]]) -> str:
    """Markdown: FID, the share labelled with p >= 0.9 and (where told) the share named as the told digit, per set
    of n images (`sample_scores.score_samples` of each, by name)."""
    lines = [
        f"| {n} images | FID vs {n} binarized test digits | labelled with p >= 0.9 | classifier names the told digit |",
        "|---|---|---|---|",
    ]
    for name, s in rows.items():
        agree = f"{100 * s['agree']:.1f} ± {100 * s['agree_half_width']:.1f}%" if "agree" in s else "-"
        confident = f"{100 * s['confident']:.1f} ± {100 * s['confident_half_width']:.1f}%"
        lines.append(f"| {name} | {s['fid']:.1f} | {confident} | {agree} |")
    return "\n".join(lines)


def bpd_table(
    name: str, bpd: tuple[float, float], bpd_seeds: list[float], steps: int, seconds: float, profile: str
) -> str:
    """Markdown: a flow's test bits/dim (the mean over the test digits and evaluation seeds with the 95% half-width
    over digits, and the seeds' range) beside the published fully-connected flows of one paper."""
    mean, half = bpd
    return (
        "| model | test bits / dim |\n|---|---|\n"
        f"| {name} ({profile} profile, {steps} steps, {seconds:.0f} s; all 10000 test digits, mean of "
        f"{len(bpd_seeds)} dequantization seeds) | **{mean:.4f}** ± {half:.4f} ({min(bpd_seeds):.4f} to "
        f"{max(bpd_seeds):.4f}) |\n"
        f"| Real NVP (5 couplings), fully-connected (Papamakarios et al. 2017) | {REALNVP5_BPD} |\n"
        f"| Real NVP (10 couplings), fully-connected (same paper) | {REALNVP10_BPD} |\n"
        f"| MAF(5), fully-connected (same paper) | {MAF_BPD} |\n"
        f"| MAF MoG(5), fully-connected (same paper) | {MAF_MOG_BPD} |"
    )


def _near_chosen(
    choice: list[dict[str, Any]], test: list[dict[str, Any]], chosen: float, width: float = 0.2
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], str]:
    """The (choice, test) row pairs a temperature table shows, T within `width` of the chosen one and T = 1, with
    the T label of each, and the sentence saying what the table leaves out ("" when nothing)."""
    pairs = [
        (c, t)
        for c, t in zip(choice, test, strict=True)
        if abs(t["temperature"] - chosen) <= width + 1e-9 or t["temperature"] == 1.0
    ]
    if len(pairs) == len(test):
        return pairs, ""
    temperatures = [r["temperature"] for r in test]
    return pairs, (
        f"\n\n{len(test)} temperatures scored (T = {min(temperatures)} to {max(temperatures)}); shown: those within "
        f"{width} of the chosen one, and T = 1."
    )


def _temperature(t: float, chosen: float) -> str:
    return f"T = {t}" + (" (chosen)" if t == chosen else "")


def temperature_table(
    n: int, floor: dict[str, float], choice: list[dict[str, Any]], test: list[dict[str, Any]], chosen: float
) -> str:
    """Markdown: per temperature, the FID of n samples against n training digits (`choice`, which chooses T) and
    against n test digits (`test`, the report), and the confident share, below the same for n real training digits;
    the temperatures near the chosen one and T = 1 (`_near_chosen`)."""
    lines = [
        f"| {n} images | FID vs {n} training digits (chooses T) | FID vs {n} test digits | labelled with p >= 0.9 |",
        "|---|---|---|---|",
        f"| real training digits (the floor) | | {floor['fid']:.1f} | {100 * floor['confident']:.0f}% |",
    ]
    pairs, left_out = _near_chosen(choice, test, chosen)
    for c, r in pairs:
        confident = f"{100 * r['confident']:.0f} ± {100 * r['confident_half_width']:.0f}%"
        lines.append(f"| {_temperature(r['temperature'], chosen)} | {c['fid']:.0f} | {r['fid']:.0f} | {confident} |")
    return "\n".join(lines) + left_out


def digit_base_table(n: int, choice: list[dict[str, Any]], test: list[dict[str, Any]], chosen: float) -> str:
    """Markdown: per temperature, the per-digit base's samples: FID against n training digits (chooses T) and n
    test digits, the confident share, and how often the classifier names the told digit; the temperatures near the
    chosen one and T = 1 (`_near_chosen`)."""
    lines = [
        f"| {n} images | FID vs training digits (chooses T) | FID vs test digits | p >= 0.9 | told digit named |",
        "|---|---|---|---|---|",
    ]
    pairs, left_out = _near_chosen(choice, test, chosen)
    for c, d in pairs:
        lines.append(
            f"| {_temperature(d['temperature'], chosen)} | {c['fid']:.0f} | {d['fid']:.0f} | "
            f"{100 * d['confident']:.0f} ± {100 * d['confident_half_width']:.0f}% | {100 * d['agree']:.0f} ± "
            f"{100 * d['agree_half_width']:.0f}% |"
        )
    return "\n".join(lines) + left_out


def results_table(numbers: dict[str, Any]) -> str:
    """Markdown: the headline figures of one notebook run next to the published anchors."""
    r = numbers
    lines = [
        f"Notebook run: `{r['profile']}` profile on {r['device']} ({r['threads']} CPU threads), "
        f"{r['wall_time_s']:.0f} s in all.",
        "",
        "| what | this run | anchor |",
        "|---|---|---|",
        f"| MNIST classifier (FID features, judge) | {100 * r['classifier_accuracy']:.2f}% test accuracy, "
        f"{r['classifier_train_s']:.0f} s training | |",
        f"| PixelCNN test NLL, stochastic binarization ({r['pixelcnn_steps']} steps, {r['pixelcnn_train_s']:.0f} s "
        f"training{_seeds(r, 'pixelcnn_nll_seeds', 2)}) | **{r['pixelcnn_nll']:.2f} nats/image** = "
        f"{r['pixelcnn_bpd']:.4f} bits/dim | {PUBLISHED_PIXELCNN_NLL:.2f} nats (van den Oord et al. 2016, a far "
        "larger model) |",
        f"| PixelCNN samples, FID ({r['fid_samples']} per set) against binarized test digits | "
        f"{r['pixelcnn_fid']:.1f} | {r['pixelcnn_fid_floor']:.1f} (binarized training digits) |",
    ]
    mix, untold = r["pixelcnn_mixture_scores"], r["pixelcnn_untold_scores"]
    lines.append(
        "| conditional PixelCNN's samples told a digit (label mixture) against the PixelCNN's: FID; labelled with "
        f"p >= 0.9; told digit named; NLL of the first {r['pixelcnn_mixture_nll_digits']} test digits (nats) | "
        f"{mix['fid']:.1f} vs "
        f"{untold['fid']:.1f}; {100 * mix['confident']:.1f}% vs {100 * untold['confident']:.1f}%; "
        f"{100 * mix['agree']:.1f}%; {r['pixelcnn_mixture_nll']:.2f} vs {r['pixelcnn_untold_nll_subset']:.2f} | |"
    )
    lines += _inpainting_lines(r["inpainting"], r["inpainting_digits"])
    lines.append(
        f"| Real NVP test bits/dim ({r['realnvp_steps']} steps, {r['realnvp_train_s']:.0f} s training"
        f"{_seeds(r, 'realnvp_bpd_seeds', 4)}) | **{r['realnvp_bpd']:.4f}** | {REALNVP5_BPD} Real NVP (5), "
        f"{MAF_BPD} MAF(5), {MAF_MOG_BPD} MAF MoG(5) (fully-connected, Papamakarios et al. 2017) |"
    )
    floor = r["realnvp_floor"]
    for q in (q for q in r["realnvp_quality"] if q["temperature"] in (1.0, r["realnvp_temperature"])):
        shown = " (chosen on training digits)" if q["temperature"] == r["realnvp_temperature"] else ""
        lines.append(
            f"| Real NVP samples, T = {q['temperature']}{shown}: FID ({r['fid_samples']} per set) against test "
            "digits, labelled with p >= 0.9 | "
            f"{q['fid']:.0f}, {100 * q['confident']:.0f} ± {100 * q['confident_half_width']:.0f}% | "
            f"{floor['fid']:.1f}, {100 * floor['confident']:.0f}% "
            "(real training digits) |"
        )
    digit = next(q for q in r["realnvp_digit_quality"] if q["temperature"] == r["realnvp_digit_temperature"])
    lines.append(
        f"| Real NVP with a per-digit Gaussian base (fitted, no further training), T = {digit['temperature']}: "
        f"bits/dim; FID; labelled with p >= 0.9; told digit named | {r['realnvp_digit_bpd']:.4f}; "
        f"{digit['fid']:.0f}; {100 * digit['confident']:.0f}%; {100 * digit['agree']:.0f}% | |"
    )
    return "\n".join(lines)


def _inpainting_lines(rows: list[dict[str, Any]], digits: int) -> list[str]:
    """One line per hole family: the majority-vote agreement of every method and baseline, and the hole NLLs."""
    by_family: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_family.setdefault(row["holes"], {})[row["method"]] = row
    lines = []
    for holes, methods in by_family.items():
        if holes == "none":
            continue
        votes = ", ".join(
            f"{VOTE_NAMES.get(name, name)} {100 * row['vote'][0]:.1f}" for name, row in methods.items() if "vote" in row
        )
        nll = ", ".join(
            f"{NLL_NAMES.get(name, name)} {row['nll'][0]:.1f}" for name, row in methods.items() if "nll" in row
        )
        unseen = "" if next(iter(methods.values()))["seen"] else " (never in training)"
        lines.append(
            f"| inpainting, {holes} holes{unseen}, {digits} digits: classifier names the true digit (majority of "
            f"the completions, %); hole NLL (nats) | {votes}; NLL {nll} | |"
        )
    return lines


def _seeds(numbers: dict[str, Any], key: str, digits: int) -> str:
    """', mean of k evaluation draws: lo to hi' when the notebook recorded the per-seed values."""
    if key not in numbers:
        return ""
    values = numbers[key]
    return f"; mean of {len(values)} evaluation draws: {min(values):.{digits}f} to {max(values):.{digits}f}"


def readme_table(readme: str | Path) -> str:
    """The results table as it stands between the markers in `readme`."""
    text = Path(readme).read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} has no results block ({BEGIN} ... {END})")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def write_readme_table(readme: str | Path, table: str) -> None:
    """Replace the text between the markers in `readme` with `table`."""
    readme = Path(readme)
    text = readme.read_text()
    readme_table(readme)  # the markers are there
    head, rest = text.split(BEGIN, 1)
    readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{rest.split(END, 1)[1]}")
