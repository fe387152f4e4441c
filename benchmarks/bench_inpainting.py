"""Which inpainting method completes a hole best? Record `inpainting-quality`.

    python benchmarks/bench_inpainting.py [--digits 1000] [--kinds top right ...] [--samples S] [--nll-digits 10000]
                                          [--rows-out rows.json] [model options, benchmarks/common.py]

`asgn2.inpainting_eval.evaluate` with the profile's evaluation spec (sizes overridable): per hole family, raster
sampling, SIR and the label mixture (the conditional model) against the black-hole and nearest-training-digit
baselines, the 10-NN vote and the noise floor; classifier agreement per completion and by majority vote, hole
pixels right, hole NLL and diversity, each with its 95% interval. Then the model's unconditional test NLL
(evaluation seed 0) on the first --nll-digits test digits, nothing told and as the label mixture (eleven passes
over them: the slow part of a CPU run). The model is the profile's cached checkpoint (trained on first use) or the
variant the model options name; a record made with a variant says so in its command.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import torch
from common import add_model_options, judge, trained_model
from records import write_record

from asgn2.conditional import ConditionalPixelCNN, mixture_hole_log_prob
from asgn2.data import eval_binarization
from asgn2.holes import HOLE_KINDS
from asgn2.inpainting_eval import COLUMNS, evaluate, in_chunks, table
from asgn2.pixelcnn import test_nll
from asgn2.profiles import PROFILES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits", type=int, help="test digits (default: the profile's)")
    parser.add_argument("--kinds", nargs="+", choices=HOLE_KINDS, help="hole families (default: the profile's)")
    parser.add_argument("--samples", type=int, help="S completions per digit and method (default: the profile's)")
    parser.add_argument("--nll-digits", type=int, default=10000, help="test digits of the NLL lines (0: none)")
    parser.add_argument("--rows-out", help="also write the table's rows, with their intervals, to this JSON file")
    add_model_options(parser)
    args = parser.parse_args()
    model, data, about = trained_model(args)
    spec = PROFILES[args.profile].inpainting
    spec = dataclasses.replace(spec, digits=args.digits or spec.digits, kinds=tuple(args.kinds or spec.kinds))
    if args.samples:  # sir needs at least S candidates
        spec = dataclasses.replace(spec, samples=args.samples, candidates=max(spec.candidates, args.samples))
    train_x, train_y, test_x, test_y = data
    start = time.perf_counter()
    rows = evaluate(model, judge(args, data), test_x, test_y, train_x, train_y, spec)
    lines = [
        f"{spec.digits} random test digits (stochastically binarized, evaluation seed {spec.seed}), S = "
        f"{spec.samples} completions per digit and method, {time.perf_counter() - start:.0f} s; {about}.",
        "",
        table(rows, spec.candidates, columns=tuple(COLUMNS)),  # every column, SIR's NLL estimate included
    ]
    print("\n".join(lines), flush=True)
    numbers = {"rows": rows}
    if args.nll_digits:
        x = eval_binarization(test_x[: args.nll_digits], 0).to(args.device)
        numbers["test_nll"] = nll = test_nll(model, x)
        lines += [
            "",
            f"Unconditional NLL of the first {len(x)} test digits (evaluation seed 0), nothing told: {nll:.2f} nats.",
        ]
        # the label mixture's own p(x): every pixel a hole, summed over the ten digits
        if isinstance(model, ConditionalPixelCNN):
            with torch.no_grad():
                nothing = torch.zeros_like(x, dtype=torch.bool)
                numbers["mixture_nll"] = mixture = -in_chunks(mixture_hole_log_prob, model, x, nothing).mean().item()
            lines.append(f"The label mixture's p(x), every pixel a hole (ten passes, same digits): {mixture:.2f} nats.")
        print("\n".join(lines[-2:]))
    if args.rows_out:  # every row with its intervals, for comparisons across runs and machines
        with open(args.rows_out, "w") as f:
            json.dump(rows, f, indent=1)
    write_record(
        "inpainting-quality",
        question="Which method completes holes best: raster, SIR and the label mixture against the black-hole and "
        "nearest-digit baselines, with 95% intervals (why the notebook's method is the label mixture).",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers=numbers,
    )


if __name__ == "__main__":
    main()
