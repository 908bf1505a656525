"""Training-batch augmentation as tensor ops: the authors' CIFAR / Tiny-ImageNet recipes
(trainer/config.py:AUGMENT_RECIPES).

Works on a batch ``(B, C, H, W)`` on any device. The random choices (crop offsets, flips) are drawn on a
CPU generator and moved to the batch's device, so a seed gives the same augmented batches on CPU and CUDA.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["augment_batch"]


def augment_batch(
    x: torch.Tensor, recipe: dict, *, generator: torch.Generator, black: torch.Tensor | None = None
) -> torch.Tensor:
    """``x`` padded by ``recipe["pad"]`` pixels, randomly cropped back to its size and flipped left-right with p = 1/2.

    ``recipe["fill"]``: ``"reflect"`` (reflect padding, CIFAR-10) or ``"black"`` (the value of a black pixel,
    ``black[c]`` per channel in the batch's normalised units, CIFAR-100's zero padding); ``recipe["flip"]``:
    whether to flip. Crop offsets are uniform in [0, 2·pad] on each axis, as torchvision's ``RandomCrop``.
    Draws, in this order: the offsets (2·B integers) when ``pad`` > 0, then B flip coins when ``flip``.
    """
    if x.dim() != 4:
        raise ValueError(f"augmentation needs image batches (B, C, H, W), got shape {tuple(x.shape)}")
    b, c, h, w = x.shape
    pad = int(recipe.get("pad", 0))
    out = x
    if pad > 0:
        if recipe["fill"] == "reflect":
            padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        else:
            fill = black.to(x.device, x.dtype).reshape(1, c, 1, 1)
            padded = F.pad(x - fill, (pad, pad, pad, pad)) + fill
        off = torch.randint(0, 2 * pad + 1, (b, 2), generator=generator).to(x.device)
        rows = (off[:, 0:1] + torch.arange(h, device=x.device)).reshape(b, 1, h, 1)
        cols = (off[:, 1:2] + torch.arange(w, device=x.device)).reshape(b, 1, 1, w)
        bi = torch.arange(b, device=x.device).reshape(b, 1, 1, 1)
        ci = torch.arange(c, device=x.device).reshape(1, c, 1, 1)
        out = padded[bi, ci, rows, cols]
    if recipe.get("flip"):
        coin = (torch.rand(b, generator=generator) < 0.5).to(x.device).reshape(b, 1, 1, 1)
        out = torch.where(coin, out.flip(-1), out)
    return out
