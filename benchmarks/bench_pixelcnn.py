"""PixelCNN training throughput: this package's network against a straightforward reference implementation of the
same network (k x k weight * mask convolutions, float32, default layout), in one run, same batches.

    python benchmarks/bench_pixelcnn.py [--profile default] [--steps 10] [--repeats 3]

Both start from the same weights (the reference's k x k kernels are the package's kernels padded with the
always-masked rows), so their losses agree step for step; the table shows the median images/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from asgn2.pixelcnn import PROFILES, MaskedConv2d, PixelCNN


class ReferenceMaskedConv2d(nn.Conv2d):
    """The textbook masked convolution: a full k x k kernel, zero rows below the centre, symmetric padding."""

    def __init__(self, trimmed: MaskedConv2d) -> None:
        k = trimmed.kernel_size[1]
        super().__init__(trimmed.in_channels, trimmed.out_channels, k, padding=k // 2)
        with torch.no_grad():
            self.weight.zero_()
            self.weight[:, :, : k // 2 + 1] = trimmed.weight
            self.bias.copy_(trimmed.bias)
        mask = torch.zeros_like(self.weight)
        mask[:, :, : k // 2 + 1] = trimmed.mask
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)


def reference_copy(model: PixelCNN) -> PixelCNN:
    """The same network and weights with every MaskedConv2d replaced by a ReferenceMaskedConv2d."""
    import copy

    ref = copy.deepcopy(model)
    ref.input = ReferenceMaskedConv2d(model.input)
    for block, original in zip(ref.blocks, model.blocks, strict=True):
        block.conv = ReferenceMaskedConv2d(original.conv)
    return ref


def steps_per_second(model: nn.Module, batches: list[torch.Tensor], channels_last: bool = False) -> tuple[float, float]:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    start, loss = time.perf_counter(), torch.tensor(0.0)
    for x in batches:
        xin = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        loss = F.binary_cross_entropy_with_logits(model(xin), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return len(batches) / (time.perf_counter() - start), loss.item() * 784


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default", choices=list(PROFILES))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    torch.manual_seed(0)
    batches = [(torch.rand(args.batch_size, 1, 28, 28) < 0.13).float() for _ in range(args.steps)]
    variants = {
        "reference (k x k weight*mask)": lambda m: reference_copy(m),
        "asgn2 (trimmed kernels)": lambda m: m,
        "asgn2 + channels_last": lambda m: m,
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    losses: dict[str, float] = {}
    for _ in range(args.repeats):  # interleaved, so drifting machine load hits every variant alike
        for name, make in variants.items():
            torch.manual_seed(1)
            model = make(PixelCNN(PROFILES[args.profile].model))
            rate, losses[name] = steps_per_second(model, batches, channels_last="channels_last" in name)
            rates[name].append(rate * args.batch_size)
    base = statistics.median(rates["reference (k x k weight*mask)"])
    print(
        f"PixelCNN {args.profile} profile, batch {args.batch_size}, {args.steps} steps x {args.repeats} repeats, "
        f"{torch.get_num_threads()} threads"
    )
    print("| implementation | median img/s | ratio to reference | loss after the steps (nats/image) |")
    print("|---|---|---|---|")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.0f} | {median / base:.2f} | {losses[name]:.3f} |")


if __name__ == "__main__":
    main()
