"""How fast does the PixelCNN train, and why in bfloat16 on some CPUs? Record `pixelcnn-throughput`.

    python benchmarks/bench_pixelcnn.py [--profile default] [--steps 12] [--repeats 5] [--batch-size 64]

This package's implementation against a straightforward reference implementation of the same network (k x k
weight * mask convolutions, float32, default layout, default memory allocator), and the package's bfloat16 autocast
with channels-last weights, which PixelCNN training uses on a CPU that computes bf16 in hardware, with AMX or
AVX512-BF16 (`runtime.fast_bf16`; on another CPU those rows measure emulated bf16). The network is the profile's
conditional PixelCNN (`Profile.conditional`, a `conditional.ConditionalPixelCNN`), run as in unconditional training
(nothing observed: the conditioning path computes its bias from an empty mask).

Every variant runs in its own fresh process (the allocator setting is process-wide), the variants interleaved so
that drifting machine load hits each alike; all start from the same weights (the reference's k x k kernels are the
package's kernels padded with the always-masked rows) and see the same batches, so their losses agree step for step.
The table shows the median images/s of each, its ratio to the reference, and the loss after the steps.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from records import write_record
from torch import nn

from asgn2.conditional import ConditionalPixelCNN
from asgn2.pixelcnn import MaskedConv2d, PixelCNN
from asgn2.profiles import PROFILES
from asgn2.runtime import configure_allocator

VARIANTS = {
    "reference (k x k weight*mask)": {"trimmed": False, "allocator": False, "channels_last": False},
    "asgn2 trimmed kernels": {"trimmed": True, "allocator": False, "channels_last": False},
    "asgn2 trimmed kernels + allocator (what train uses in float32)": {
        "trimmed": True,
        "allocator": True,
        "channels_last": False,
    },
    "asgn2 + allocator + channels_last": {"trimmed": True, "allocator": True, "channels_last": True},
    "asgn2 + allocator + bf16 autocast": {
        "trimmed": True,
        "allocator": True,
        "channels_last": False,
        "bf16": True,
    },
    "asgn2 + allocator + bf16 autocast + channels_last (train, where `runtime.fast_bf16`)": {
        "trimmed": True,
        "allocator": True,
        "channels_last": True,
        "bf16": True,
    },
}


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
    ref = copy.deepcopy(model)
    ref.input = ReferenceMaskedConv2d(model.input)
    for block, original in zip(ref.blocks, model.blocks, strict=True):
        block.conv = ReferenceMaskedConv2d(original.conv)
    return ref


def measure(
    profile: str, batch_size: int, steps: int, trimmed: bool, allocator: bool, channels_last: bool, bf16: bool = False
) -> dict:
    """Train from fixed weights on fixed batches; images/s over the steps after two warm-up steps, final loss."""
    if allocator:
        configure_allocator()
    torch.manual_seed(0)
    batches = [(torch.rand(batch_size, 1, 28, 28) < 0.13).float() for _ in range(steps + 2)]
    torch.manual_seed(1)
    spec = PROFILES[profile].conditional
    model = ConditionalPixelCNN(spec.model, spec.condition)
    model = model if trimmed else reference_copy(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start, loss = 0.0, torch.tensor(0.0)
    for i, x in enumerate(batches):
        if i == 2:
            start = time.perf_counter()
        xin = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # as `runtime.bf16_training` does
            logits = model(xin)
        loss = F.binary_cross_entropy_with_logits(logits.float(), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {"images_per_s": steps * batch_size / (time.perf_counter() - start), "loss": loss.item() * 784}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default", choices=list(PROFILES))
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # JSON options: measure one variant in this process
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.profile, args.batch_size, args.steps, **json.loads(args.worker))))
        return
    results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for _ in range(args.repeats):
        for name, options in VARIANTS.items():
            command = [sys.executable, __file__, "--profile", args.profile, "--steps", str(args.steps)]
            command += ["--batch-size", str(args.batch_size), "--worker", json.dumps(options)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[name].append(json.loads(out.strip().splitlines()[-1]))
    rates = {name: statistics.median(r["images_per_s"] for r in runs) for name, runs in results.items()}
    base = rates["reference (k x k weight*mask)"]
    spec = PROFILES[args.profile].conditional
    lines = [
        f"Conditional PixelCNN {args.profile} profile {spec.model}, {spec.condition}, batch {args.batch_size}, "
        f"{args.steps} steps x {args.repeats} repeats, {torch.get_num_threads()} threads, one process per run.",
        "",
        "| implementation | median img/s | ratio to reference | loss after the steps (nats/image) |",
        "|---|---|---|---|",
    ]
    for name, runs in results.items():
        lines.append(f"| {name} | {rates[name]:.0f} | {rates[name] / base:.2f} | {runs[-1]['loss']:.3f} |")
    print("\n".join(lines))
    write_record(
        "pixelcnn-throughput",
        question="Why PixelCNN training uses trimmed masked kernels, the tuned allocator and, where the CPU computes "
        "bf16 in hardware, bfloat16 autocast with channels-last weights: images/s of each against a reference.",
        profile=args.profile,
        table_markdown="\n".join(lines),
        numbers={name: {"images_per_s": rates[name], "runs": runs} for name, runs in results.items()},
    )


if __name__ == "__main__":
    main()
