"""docs/grading.md, the grader's guide, generated from the benchmark records: what a correct implementation
reaches, and, for each usual mistake, what a grader sees in a PDF, its likely cause and the check that confirms it.

    python benchmarks/grading.py           # write docs/grading.md
    python benchmarks/grading.py --check   # exit 1, with a diff, if docs/grading.md is not the render of the records

Every number comes from a record: `grading-gallery` (written by `benchmarks/bench_mistakes.py`, which also draws
the thumbnails in docs/grading/ and calls this script), `pixelcnn-split` and `realnvp-size-budget` (the default
profile's full-length runs). The words below (what a grid looks like, the likely cause) were written from the
gallery's thumbnails; `tests/test_grading.py` checks that every run of the record has its row and its thumbnail.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RECORDS = HERE / "records"
GUIDE = HERE.parent / "docs" / "grading.md"
PUBLISHED_PIXELCNN_NLL = 81.30  # nats, van den Oord et al. 2016 (asgn2.published; a far larger model)
PUBLISHED_REALNVP_BPD = {"Real NVP (5 couplings)": 1.93, "Real NVP (10 couplings)": 2.02, "MAF(5)": 1.89}

# What the grader sees, beyond the numbers, and why: one entry per run of the gallery ("question/name").
# "see": the symptom in the PDF (the record's numbers are put beside it); "cause": the likely bug.
SYMPTOMS: dict[str, dict[str, str]] = {
    "pixelcnn/mask-A-shows-centre": {
        "see": "a test NLL near 0 nats, far below the published 81.30; the curve falls to almost 0 within the first "
        "tenth; every sample blank (black); inpaintings that restore the hidden half of the original digit exactly",
        "cause": "the first layer's mask shows the centre pixel: each logit reads the pixel it predicts, so the "
        "likelihood is a copy, not a prediction; a sample has nothing to copy, and an inpainting copies the hidden "
        "pixels still present in its input",
    },
    "pixelcnn/mask-A-everywhere": {
        "see": "nothing: NLL, curve, samples and inpaintings look like a correct run's (the NLL about a nat worse, "
        "the curve a little higher early on)",
        "cause": "mask A in every layer, not only the first: later layers hide each position's own features, which "
        "never saw their pixel; the model is valid but weaker",
    },
    "pixelcnn/mask-transposed": {
        "see": "an NLL and a curve as good as a correct run's, but samples of scattered specks and short fragments, "
        "no connected strokes; inpaintings broken up the same way",
        "cause": "the mask transposed (rows and columns swapped): the network models the image column by column, a "
        "valid model with a normal likelihood, but sampling in raster order feeds it pixels it does not condition on",
    },
    "pixelcnn/nll-per-pixel": {
        "see": "a test NLL of about 0.1 'nats per image', a curve in the same units; samples and inpaintings as a "
        "correct run's",
        "cause": "the loss averaged over the 784 pixels (nats per pixel) reported as nats per image",
    },
    "pixelcnn/threshold-not-sample": {
        "see": "every sample the same image (here all blank); inpaintings of thin, clean, smooth strokes, the same "
        "every time; NLL and curve normal",
        "cause": "each pixel set to 1 where p > 0.5 instead of drawn from Bernoulli(p): the most likely value, "
        "which for an empty start is black everywhere",
    },
    "pixelcnn/inpaint-redraws-observed": {
        "see": "inpaintings whose observed part changed: the completion no longer matches the visible half of its "
        "input; NLL, curve and samples normal",
        "cause": "the inpainting loop writes a drawn pixel into every image of the batch when any image has a hole "
        "there, overwriting observed pixels (only visible when the batch mixes holes)",
    },
    "realnvp/coupling-log-det-sign": {
        "see": "bits/dim below zero on a curve that plunges and keeps falling; samples of black-and-white "
        "salt-and-pepper noise over the whole image",
        "cause": "the coupling's log-det with the wrong sign: the loss rewards the volume contraction that the "
        "likelihood should charge for",
    },
    "realnvp/coupling-log-det-missing": {
        "see": "bits/dim too good (below 1) on a curve that is flat from the first steps; samples of "
        "salt-and-pepper noise over the whole image",
        "cause": "the couplings' log-det left out: nothing charges the couplings for shrinking every input towards "
        "the base's mode",
    },
    "realnvp/logit-jacobian-missing": {
        "see": "bits/dim several times the correct range, a flat curve; samples that look like a correct run's "
        "digit blobs",
        "cause": "the logit preprocessing's log-det left out: the number is the density of the logits, not of the "
        "pixels (the flow itself trains fine)",
    },
    "realnvp/no-dequantization": {
        "see": "bits/dim below zero on a curve that keeps falling; samples of sparse white fragments on a "
        "clean black background",
        "cause": "no dequantization: the flow sees integer pixels, and a density can pile up without bound on the "
        "integers (most pixels are exactly 0)",
    },
    "realnvp/masks-not-alternating": {
        "see": "bits/dim several times the correct range, a flat curve; samples of grey noise with a checkerboard "
        "texture, no digit shape",
        "cause": "every coupling has the same checkerboard mask, so half of the pixels are never transformed: they "
        "keep the logit of their raw value under a standard normal",
    },
    "realnvp/unbounded-scale": {
        "see": "nothing in a run this short: bits/dim, curve and samples as a correct run's; in a longer run, or "
        "with a higher learning rate or no gradient clipping, the loss can turn NaN or spike",
        "cause": "the coupling's log-scale unbounded (no a tanh): exp(s) can overflow",
    },
    "realnvp/bits-per-dim-without-ln2": {
        "see": "bits/dim 0.69 times a correct run's (better than MAF's 1.89 from a plain Real NVP); samples and "
        "curve shape as a correct run's",
        "cause": "the NLL divided by D but not by ln 2: nats per dimension",
    },
}


def load(name: str, folder: Path = RECORDS) -> dict[str, Any]:
    return json.loads((folder / f"{name}.json").read_text())


def describe_host(host: dict[str, Any]) -> str:
    bf16 = "AVX512-BF16" if host.get("avx512_bf16") else "no AVX512-BF16"
    return (
        f"{host.get('cpu')}, {host.get('cores')} cores, {bf16}, {'GPU ' + host['gpu'] if host.get('gpu') else 'no GPU'}"
    )


def fmt(value: float, unit: str) -> str:
    return f"{value:.2f} nats" if unit == "nats" else f"{value:.3f} bits/dim"


def curve_words(curve: list[float | None], unit: str) -> str:
    """The shape of a training curve in words: where it starts, where it is a tenth of the way in, where it ends."""
    values = [v for v in curve if v is not None]
    if not values:
        return "no finite loss"
    tenth = values[max(1, len(values) // 10)] if len(values) > 2 else values[-1]
    words = (
        f"starts at {fmt(values[0], unit)}, {fmt(tenth, unit)} a tenth of the way in, ends at {fmt(values[-1], unit)}"
    )
    if len(values) < len(curve):
        words += "; NaN from some point on"
    return words


def render(folder: Path = RECORDS) -> str:
    """The whole of docs/grading.md."""
    gallery, split, sizes = (
        load("grading-gallery", folder),
        load("pixelcnn-split", folder),
        load("realnvp-size-budget", folder),
    )
    runs = gallery["numbers"]["runs"]
    steps = gallery["numbers"]["steps"]
    p_ok, r_ok = runs["pixelcnn/correct"], runs["realnvp/correct"]
    p_quick, r_quick = runs["pixelcnn/correct-quick"], runs["realnvp/correct-quick"]
    size_row = next(line for line in sizes["table"].splitlines() if line.startswith("| 12 x 256 |"))
    size_cells = [c.strip() for c in size_row.strip("|").split("|")]
    default_bpd, default_steps = size_cells[4].split()[0], size_cells[1]
    split_nll, split_steps = split["numbers"]["split"]["nll"], split["numbers"]["split"]["steps"].split(" + ")[0]
    host = describe_host(gallery["host"])
    out = [
        "# Grading guide: what right looks like, and what each usual mistake looks like",
        "",
        "Generated by `python benchmarks/grading.py` from the records `grading-gallery`, `pixelcnn-split` and "
        "`realnvp-size-budget` in `benchmarks/records/`: do not edit by hand. The gallery (every run, thumbnail "
        f"and verdict below) is regenerated by `{gallery['command']}`, which took "
        f"{gallery['numbers']['wall_s'] / 60:.1f} minutes on {host} (commit {gallery['commit'][:12]}) and rewrites "
        "this file.",
        "",
        "Read a student's PDF in this order: the number (test NLL or bits/dim), the training curve, the grids. Each "
        "usual mistake has a signature in them (the table below); where it has none, say so and ask for the "
        "code, then confirm with `asgn2.checks` (last section).",
        "",
        "## What a correct implementation reaches",
        "",
        "| run | machine | PixelCNN: steps, test NLL | Real NVP: steps, test bits/dim |",
        "|---|---|---|---|",
        f"| `quick` profile (a smoke test) | {host} | {p_quick['steps']}, {p_quick['test']:.2f} nats | "
        f"{r_quick['steps']}, {r_quick['test']:.3f} |",
        f"| the gallery's correct runs (default networks, fixed steps) | {host} | {p_ok['steps']}, "
        f"{p_ok['test']:.2f} nats | {r_ok['steps']}, {r_ok['test']:.3f} |",
        f"| `default` profile (170 s and 190 s time caps) | {describe_host(split['host'])} | {split_steps}, "
        f"{split_nll:.2f} nats | {default_steps}, {default_bpd} |",
        f"| published | | {PUBLISHED_PIXELCNN_NLL:.2f} nats (a far larger PixelCNN) | "
        + ", ".join(f"{v} {k}" for k, v in PUBLISHED_REALNVP_BPD.items())
        + " |",
        "",
        "PixelCNN test NLLs are on stochastically binarized test digits (the first 2000 here), Real NVP bits/dim on "
        f"dequantized ones. A correct run lands roughly between {split_nll - 2:.0f} and {p_quick['test'] + 3:.0f} "
        f"nats per image (the lower end for the default network trained the profile's minutes, the upper for the "
        f"quick one), and between {float(default_bpd) - 0.05:.2f} and {r_quick['test'] + 0.1:.2f} bits/dim for a "
        f"fully-connected Real NVP. Below the published {PUBLISHED_PIXELCNN_NLL:.2f} nats is not credible for a "
        "CPU run of minutes, below 1 nat is a unit mistake; bits/dim below about 1.5 (better than MAF) from a plain "
        "Real NVP, let alone below 0, is a mistake.",
        "",
        "**Class of CPU.** One class was measured (the rows' machine). The `default` profile stops at time caps, "
        "so a slower CPU makes fewer steps and ends higher, between the `default` row and the gallery's row (from "
        f"{p_ok['steps']} to {split_steps} steps the PixelCNN goes from {p_ok['test']:.1f} to {split_nll:.1f} "
        f"nats; from {r_ok['steps']} to {default_steps} steps Real NVP from {r_ok['test']:.3f} to {default_bpd}). "
        "Every row here trained in float32; where the notebook picks bf16 (a CPU with AMX or AVX512-BF16) it "
        "makes more steps; a GPU runs the full step caps. The steps a run made are printed under its training "
        "curve in the notebook.",
        "",
        f"**The curves.** PixelCNN (nats per image): {curve_words(p_ok['curve'], 'nats')}: at initialisation a "
        "PixelCNN is near 784 ln 2 = 543 nats, the loss falls steeply within the first tenth, then flattens, "
        f"smooth. Real NVP (bits/dim): {curve_words(r_ok['curve'], 'bits/dim')}: the same shape. The training "
        "loss ends a little above the test figure (it is measured on fresh binarizations or dequantizations while "
        "the model still learns). A curve that falls to about 0 or below 0, or is flat from the first steps, is "
        "one of the mistakes below.",
        "",
        "**The grids.** PixelCNN samples after a short run: white strokes on black, loops and bars, a few readable "
        "digits, every one different. Raster inpainting keeps the observed pixels exactly (compare the top and "
        "bottom rows outside the grey hole) and continues the strokes that cross into the hole. Real NVP samples "
        "at T = 1: white digit-like blobs with grey speckle on black, a few readable: that is what a correct "
        "fully-connected Real NVP draws after minutes, not a bug.",
        "",
        f"| PixelCNN, correct ({p_ok['steps']} steps) | Real NVP, correct ({r_ok['steps']} steps) |",
        "|---|---|",
        f"| ![]({Path(p_ok['thumbnail']).relative_to('docs')}) | ![]({Path(r_ok['thumbnail']).relative_to('docs')}) |",
        "",
        "## Symptoms, causes and the check that confirms each",
        "",
        f"Each mistake was trained as long as the correct run beside it ({steps['pixelcnn']} PixelCNN and "
        f"{steps['realnvp']} Real NVP steps; a mistake that does not change the trained model reuses the correct "
        "run's weights through its own code). Each thumbnail: samples, the training curve (red) against the "
        "correct one (grey), and for the PixelCNN six inpaintings (top: the observed pixels, grey = hole; bottom: "
        "the completions).",
        "",
        "| what you see in the PDF | measured (correct run) | likely cause | confirm with | thumbnail |",
        "|---|---|---|---|---|",
    ]
    for key, run in runs.items():
        if run.get("check") is None:
            continue
        words = SYMPTOMS[key]
        correct = runs[f"{run['question']}/correct"]
        stopped = f"; {run['stopped']}" if run["stopped"] else ""
        measured = f"{fmt(run['test'], run['unit'])} ({fmt(correct['test'], correct['unit'])}){stopped}"
        verdict = next(
            (
                v
                for v in run["verdicts"]
                if v["check"] == run["check"] and v["passed"] is False and run["says"] in v["message"]
            ),
            None,
        )
        confirm = f"`{run['check']}`: {verdict['message']}" if verdict else f"`{run['check']}` does NOT name it"
        out.append(
            f"| **{key.split('/')[1]}**: {words['see']} | {measured} | {words['cause']} | "
            f"{confirm.replace('|', chr(92) + '|')} | ![]({Path(run['thumbnail']).relative_to('docs')}) |"
        )
    out += [
        "",
        "## Sorting a result by symptom",
        "",
        "PixelCNN, in this order:",
        "",
        f"1. NLL below 1 nat, ordinary samples: *nll-per-pixel* (here {runs['pixelcnn/nll-per-pixel']['test']:.2f}; "
        "times 784 is the real figure).",
        "2. NLL near 0 (far below 81 nats), blank samples, inpaintings that restore the hidden digit exactly: "
        f"*mask-A-shows-centre* (here {runs['pixelcnn/mask-A-shows-centre']['test']:.4f}).",
        "3. NLL normal but every sample the same image (often blank), inpaintings thin and identical: "
        "*threshold-not-sample*.",
        "4. NLL normal, samples of scattered specks with no connected strokes: *mask-transposed*.",
        "5. Inpaintings whose observed part differs from the input: *inpaint-redraws-observed*.",
        "6. Nothing wrong: a correct run, or *mask-A-everywhere* (about "
        f"{runs['pixelcnn/mask-A-everywhere']['test'] - runs['pixelcnn/correct']['test']:.1f} nats worse at equal "
        "steps, which a PDF cannot show). Only the code, or `checks.mask_types`, tells them apart.",
        "",
        "Real NVP, in this order:",
        "",
        "1. Bits/dim below 0: salt-and-pepper noise over the whole image is *coupling-log-det-sign* (here "
        f"{runs['realnvp/coupling-log-det-sign']['test']:.1f}); sparse white fragments on a clean black "
        f"background is *no-dequantization* (here {runs['realnvp/no-dequantization']['test']:.1f}).",
        "2. Bits/dim between 0 and about 1.5: salt-and-pepper noise is *coupling-log-det-missing* (here "
        f"{runs['realnvp/coupling-log-det-missing']['test']:.2f}); ordinary digit blobs is "
        f"*bits-per-dim-without-ln2* (here {runs['realnvp/bits-per-dim-without-ln2']['test']:.2f}, 0.69 times "
        "the usual).",
        "3. Bits/dim far above the correct range: ordinary digit blobs is *logit-jacobian-missing* (here "
        f"{runs['realnvp/logit-jacobian-missing']['test']:.1f}); grey checkerboard noise is *masks-not-alternating* "
        f"(here {runs['realnvp/masks-not-alternating']['test']:.1f}).",
        "4. Nothing wrong: a correct run, or *unbounded-scale* (visible only if its training diverged: a NaN or "
        "spiking loss). Only the code, or `checks.scale_bounded`, tells them apart.",
        "",
        "What a PDF cannot show, the checks can: with the student's notebook, run them (next section).",
        "",
        "## Confirming with `asgn2.checks`",
        "",
        "With the student's notebook, the checks name the bug from the code itself (no training needed: "
        "causality and log-dets are exact, by autograd):",
        "",
        "```python",
        "from asgn2 import checks",
        "print(checks.report(checks.pixelcnn_checks(StudentPixelCNN(), nll=student_test_nll,",
        "                                           sample=student_sample, inpaint=student_inpaint)))",
        "print(checks.report(checks.realnvp_checks(StudentRealNVP(), bits_per_dim=student_bpd, loss=student_loss)))",
        "```",
        "",
        "The interfaces are the assignment's: a network from binary images (N, 1, 28, 28) to logits of the same "
        "shape; `nll(network, x)` in nats per image; `sample(network, n)`; `inpaint(network, x, known)` with "
        "`known` True where observed; a transform with `forward(x) -> (z, log_det)` and `inverse(z) -> (x, "
        "log_det)`, log_det of shape (N,), on dequantized pixels in [0, 256); `bits_per_dim(flow, images)` and "
        "`loss(flow, images)` of uint8 images, `flow.log_prob` in nats. A student whose names differ passes a "
        "small lambda.",
        "",
        "## The gallery, measured",
        "",
        gallery["table"].strip(),
        "",
        f"`{gallery['command']}` · commit {gallery['commit']} · {gallery['date']} · {host}",
        "",
    ]
    return "\n".join(out)


def stale(folder: Path = RECORDS, guide: Path = GUIDE) -> str:
    """The diff from `guide` to the render of the records: empty when it is up to date."""
    current = guide.read_text() if guide.exists() else ""
    rendered = render(folder)
    return "".join(difflib.unified_diff(current.splitlines(True), rendered.splitlines(True), "grading.md", "records"))


def write_guide() -> None:
    GUIDE.write_text(render())
    print(f"wrote {GUIDE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 if stale")
    args = parser.parse_args()
    if not args.check:
        write_guide()
    elif diff := stale():
        print(diff + "\ndocs/grading.md is stale: run `python benchmarks/grading.py`")
        sys.exit(1)
    else:
        print("docs/grading.md matches its records")


if __name__ == "__main__":
    main()
