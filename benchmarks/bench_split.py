"""How to spend the PixelCNN's 290 s: one conditional network trained for both roles (the earlier design), or the
plain PixelCNN that Q1 grades (170 s, the plain loss) and the conditional one started from its layers (120 s, the
package's design). Record `pixelcnn-split`.

    python benchmarks/bench_split.py [--profile default] [--joint-budget 290] [--nll-digits 2000] [--n 1000]

Both on the same machine, in the same precision: the split is the profile's (`Profile.pixelcnn`,
`Profile.conditional`), the joint network the profile's conditional spec with no start and the two budgets added.
Per design: the NLL of the model graded as Q1's PixelCNN (the plain one; the joint network untold) on the first
`--nll-digits` test digits (evaluation seed 0), with the paired difference; the conditional model's inpainting votes
(the profile's evaluation spec); its label-mixture samples (FID against n binarized test digits, confident share,
told digit named).
"""

from __future__ import annotations

import argparse
import dataclasses

import torch
from records import write_record

from asgn2 import inpainting_eval, pixelcnn, randomness, sampler
from asgn2.classifier import train_classifier
from asgn2.conditional import train_conditional
from asgn2.data import eval_binarization, label_frequencies, load_mnist
from asgn2.intervals import mean_and_interval
from asgn2.profiles import PROFILES
from asgn2.runtime import setup
from asgn2.sample_scores import score_samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default", choices=list(PROFILES))
    parser.add_argument("--joint-budget", type=float, default=290.0, help="seconds of the joint network")
    parser.add_argument("--nll-digits", type=int, default=2000)
    parser.add_argument("--n", type=int, default=1000, help="samples per FID set")
    parser.add_argument("--device")
    args = parser.parse_args()
    device = setup(args.device).device
    profile = PROFILES[args.profile]
    train_x, train_y = load_mnist("train")
    test_x, test_y = load_mnist("test")
    judge = train_classifier(profile.classifier, (train_x, train_y), (test_x, test_y), device)[0]

    split = profile.conditional
    plain, plain_history = pixelcnn.train_pixelcnn(profile.pixelcnn, train_x, test_x, device)
    cond, cond_history = train_conditional(split, (train_x, train_y), (test_x, test_y), device)
    joint_train = dataclasses.replace(split.train, time_budget_s=args.joint_budget, max_steps=4000, warmup_steps=100)
    joint_spec = dataclasses.replace(
        split, name=f"{split.name}-joint-{args.joint_budget:g}s", start=None, train=joint_train
    )
    joint, joint_history = train_conditional(joint_spec, (train_x, train_y), (test_x, test_y), device)

    x = eval_binarization(test_x[: args.nll_digits], 0)
    nll = {"split": pixelcnn.nll_per_image(plain, x), "joint": pixelcnn.nll_per_image(joint, x)}
    difference = mean_and_interval(nll["split"] - nll["joint"])
    subsets = randomness.generator("subsets", 1)
    binary_test = eval_binarization(test_x[torch.randperm(10000, generator=subsets)[: args.n]], 2)
    prior = label_frequencies(train_y)
    rows, numbers = [], {}
    for name, model, steps in (
        ("split", cond, f"{plain_history.steps} + {cond_history.steps}"),
        ("joint", joint, f"{joint_history.steps}"),
    ):
        votes = inpainting_eval.evaluate_conditional(model, judge, test_x, test_y, profile.inpainting)
        samples, told = sampler.sample_label_mixture(
            model, args.n, prior, generator=randomness.generator("sampling", 1)
        )
        scores = score_samples(judge, samples.cpu(), binary_test, told)
        vote_cells = [f"{100 * r['vote'][0]:.1f} ± {100 * r['vote'][1]:.1f}" for r in votes]
        rows.append(
            f"| {name} | {steps} | {nll[name].mean():.2f} | " + " | ".join(vote_cells) + f" | {scores['fid']:.1f} | "
            f"{100 * scores['confident']:.1f} ± {100 * scores['confident_half_width']:.1f} | "
            f"{100 * scores['agree']:.1f} ± {100 * scores['agree_half_width']:.1f} |"
        )
        numbers[name] = {"steps": steps, "nll": nll[name].mean().item(), "votes": votes, "samples": scores}
    kinds = " | ".join(f"{k} vote %" for k in profile.inpainting.kinds)
    lines = [
        f"{args.nll_digits} test digits for the NLL of the model graded as Q1's PixelCNN (split: the plain one; "
        f"joint: untold); {profile.inpainting.digits} digits for the conditional votes; {args.n} label-mixture "
        f"samples. Split minus joint NLL: {difference[0]:.2f} ± {difference[1]:.2f} nats (95%, paired).",
        "",
        f"| design | steps | Q1 NLL (nats) | {kinds} | mixture FID | confident % | told digit named % |",
        "|" + "---|" * (6 + len(profile.inpainting.kinds)),
        *rows,
    ]
    print("\n".join(lines))
    numbers["nll_difference"] = list(difference)
    write_record(
        "pixelcnn-split",
        question="How to spend the PixelCNN's 290 s: one network for both roles, or the plain PixelCNN Q1 grades "
        "and the conditional one started from it.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers=numbers,
    )


if __name__ == "__main__":
    main()
