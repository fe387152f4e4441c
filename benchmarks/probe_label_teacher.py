"""Exploratory: does the conditional PixelCNN follow a class it is told, if it is trained to?

    python benchmarks/probe_label_teacher.py [--p-true 0.5] [--digits 400]

The default profile's conditional PixelCNN, trained for the same budget, except that on a fraction --p-true of the
batches `ConditionNet` is fed the one-hot TRUE label in place of its recogniser's class probabilities (teacher
forcing; the recogniser still learns from its auxiliary label loss). Then the `fidelity` measurement of
`bench_inpainting.py` on the model as drawn (recogniser's probabilities), with the recogniser's top class fed, and
with the true label fed; and the unconditional test NLL (evaluation seed 0). Nothing is cached or written: this is
a probe for the next design step (a label-mixture model), not a profile.
"""

from __future__ import annotations

import argparse

import torch

from asgn2 import inpainting
from asgn2.classifier import predict, train_classifier
from asgn2.data import load_mnist
from asgn2.holes import hole_mask
from asgn2.inpainting_eval import majority
from asgn2.metrics import mean_and_interval
from asgn2.pixelcnn import PixelCNN, eval_binarization, pixelcnn_loss, test_nll
from asgn2.profiles import PROFILES
from asgn2.randomness import generator
from asgn2.runtime import setup
from asgn2.training import train


class FedLabels(torch.nn.Module):
    """Wraps `ConditionNet.embed`: embeds one-hot `labels` (N,) while `labels` is set, else the probabilities."""

    def __init__(self, embed: torch.nn.Linear) -> None:
        super().__init__()
        self.embed = embed
        self.labels: torch.Tensor | None = None

    def forward(self, probabilities: torch.Tensor) -> torch.Tensor:
        if self.labels is None:
            return self.embed(probabilities)
        return self.embed(torch.nn.functional.one_hot(self.labels, 10).to(probabilities))


def pct(values: torch.Tensor) -> str:
    mean, half = mean_and_interval(values.float())
    return f"{100 * mean:.1f} ± {100 * half:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--p-true", type=float, default=0.5, help="fraction of batches fed the true label")
    parser.add_argument("--digits", type=int, default=400)
    args = parser.parse_args()
    setup()
    spec, profile = PROFILES["default"].pixelcnn, PROFILES["default"]
    (train_x, train_y), (test_x, test_y) = load_mnist("train"), load_mnist("test")
    model = PixelCNN(spec.model)
    fed = FedLabels(model.condition.embed)
    model.condition.embed = fed

    def loss(m: PixelCNN, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        fed.labels = batch[1] if torch.rand(()) < args.p_true else None  # the training stream decides
        try:
            return pixelcnn_loss(m, batch, spec.p_all_holes, spec.hole_loss, spec.label_weight)
        finally:
            fed.labels = None

    history = train(model, loss, (train_x, train_y), spec.train, desc="pixelcnn (true labels fed)")
    model.eval()
    nll = test_nll(model, eval_binarization(test_x, 0))
    print(f"{history.steps} steps in {history.wall_time_s:.0f} s; unconditional test NLL {nll:.2f} nats (seed 0)")
    judge, _ = train_classifier(profile.classifier, (train_x, train_y), (test_x, test_y))
    n, s = args.digits, 8
    order = torch.randperm(len(test_x), generator=generator("subsets", 0))[:n]
    x, labels = eval_binarization(test_x[order], 0), test_y[order]
    print(f"{n} test digits, S = {s}; classifier agreement per completion / majority vote, %, 95% intervals")
    print("| holes | recogniser names the digit | as drawn | recogniser's top class fed | true label fed |")
    print("|---|---|---|---|---|")
    with torch.no_grad():
        for kind in ("top", "left", "centre"):
            known = hole_mask(kind, n, seed=0)
            recognised = model.logits_and_class(x, known)[1].argmax(1)
            cells = []
            for given in (None, recognised, labels):
                fed.labels = given
                drawn = inpainting.conditional(model, x, known, s, generator("sampling", 0))
                fed.labels = None
                predicted = predict(judge, drawn.flatten(0, 1)).view(n, s)
                agree = (predicted == labels[:, None]).float().mean(1)
                cells.append(f"{pct(agree)} / {pct(majority(predicted) == labels)}")
            print(f"| {kind} | {pct(recognised == labels)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
