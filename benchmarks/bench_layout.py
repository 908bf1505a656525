"""Conv nets channels-last (NHWC, what the trainer uses) against PyTorch's default NCHW layout, on CPU.

One SGD step (forward, cross-entropy, backward, Nesterov SGD) of each conv net, one thread, in ms, best
of three repeats; the input shapes and widths are the quick study's (8×8 digits, widths ×0.5) and the
paper's (3×32×32). The layout changes speed only: names, shapes and flat weight order are the same
(tests/trainer/test_models.py).

    python benchmarks/bench_layout.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = [  # model, input shape, width, batch, steps timed
    ("cnn-small", (1, 8, 8), 0.5, 128, 100),
    ("lenet5-caffe", (1, 8, 8), 0.5, 128, 100),
    ("resnet56", (1, 8, 8), 1.0, 128, 10),
    ("cnn-small", (3, 32, 32), 1.0, 128, 20),
    ("resnet56", (3, 32, 32), 1.0, 128, 3),
]


def step_ms(model, x, y, steps: int, repeats: int) -> float:
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    step()  # warm-up: allocations, oneDNN primitive caches
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(steps):
            step()
        best = min(best, (time.process_time() - start) / steps)
    return 1e3 * best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import torch

    from trainer.loop import deterministic_algorithms
    from trainer.models import build_model, channels_last

    torch.set_num_threads(1)
    deterministic_algorithms()
    print(f"torch {torch.__version__}, 1 thread; CPU ms per training step (best of {args.repeats})")
    print(f"{'model':<14}{'input':<12}{'width':>6}{'batch':>6}{'NCHW':>9}{'NHWC':>9}{'saved':>8}")
    for name, shape, width, batch, steps in CASES:
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(batch, *shape, generator=gen)
        y = torch.randint(0, 10, (batch,), generator=gen)
        times = []
        for layout in ("nchw", "nhwc"):
            torch.manual_seed(0)
            model = build_model(name, in_shape=shape, num_outputs=10, width=width)
            if layout == "nhwc":
                channels_last(model)
            times.append(step_ms(model, x, y, steps, args.repeats))
        saved = 1 - times[1] / times[0]
        print(
            f"{name:<14}{'x'.join(map(str, shape)):<12}{width:>6}{batch:>6}"
            f"{times[0]:>9.2f}{times[1]:>9.2f}{saved:>8.0%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
