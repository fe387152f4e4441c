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
from bench_inpainting import fed_labels, fidelity_table  # benchmarks/ is on sys.path when this script runs

from asgn2.data import load_mnist
from asgn2.pixelcnn import PixelCNN, eval_binarization, pixelcnn_loss, test_nll
from asgn2.profiles import PROFILES
from asgn2.runtime import setup
from asgn2.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--p-true", type=float, default=0.5, help="fraction of batches fed the true label")
    parser.add_argument("--digits", type=int, default=400)
    args = parser.parse_args()
    setup()
    spec = PROFILES["default"].pixelcnn
    data = (*load_mnist("train"), *load_mnist("test"))
    model = PixelCNN(spec.model)
    fed = fed_labels(model)

    def loss(m: PixelCNN, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        fed.labels = batch[1] if torch.rand(()) < args.p_true else None  # the training stream decides
        try:
            return pixelcnn_loss(m, batch, spec.p_all_holes, spec.hole_loss, spec.label_weight)
        finally:
            fed.labels = None

    history = train(model, loss, (data[0], data[1]), spec.train, desc="pixelcnn (true labels fed)")
    model.eval()
    nll = test_nll(model, eval_binarization(data[2], 0))
    print(f"{history.steps} steps in {history.wall_time_s:.0f} s; unconditional test NLL {nll:.2f} nats (seed 0)")
    fidelity_table(model, data, "default", args.digits, ("top", "left", "centre"))


if __name__ == "__main__":
    main()
