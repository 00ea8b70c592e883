"""Position-embedding resampling fixtures for @distillery/vit `resampleAbsPosEmbed` / `loadViTWeights`.

Transcribed from timm (huggingface/pytorch-image-models) timm/layers/pos_embed.py @170a5b6 `resample_abs_pos_embed`:
the prefix tokens (cls, and dist for DeiT) are kept, the grid part is reshaped to [1, D, H, W] and resized with
F.interpolate(size=new_size, mode='bicubic', antialias=antialias) (align_corners=False), then flattened back. timm's
default is antialias=True (what its ViT `checkpoint_filter_fn` passes); both settings are written. torch 1.13's
non-antialiased bicubic uses Keys' cubic with a = -0.75 and clamped borders; its antialiased path uses a = -0.5 with
support scaled by the downsampling factor and weights renormalised at the borders.

Run: /usr/bin/python3 tools/reference/vit/pos_embed_resample.py
"""
import math
import os

import torch
import torch.nn.functional as F

from common import dump, flat

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/vit/test/fixtures")


def resample_abs_pos_embed(posemb, new_size, old_size=None, num_prefix_tokens=1, antialias=True):
    """timm's resample_abs_pos_embed (the interpolation is 'bicubic'), in float64 here."""
    num_pos_tokens = posemb.shape[1]
    num_new_tokens = new_size[0] * new_size[1] + num_prefix_tokens
    if num_new_tokens == num_pos_tokens and new_size[0] == new_size[1]:
        return posemb
    if old_size is None:
        hw = int(math.sqrt(num_pos_tokens - num_prefix_tokens))
        old_size = hw, hw
    prefix, grid = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    d = grid.shape[-1]
    grid = grid.reshape(1, old_size[0], old_size[1], -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_size, mode="bicubic", antialias=antialias)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, d)
    return torch.cat([prefix, grid], dim=1)


if __name__ == "__main__":
    gen = torch.Generator().manual_seed(17)
    cases = []
    # (old grid, new grid, prefix tokens): up, down, non-square, DeiT's two prefix tokens, an identity-size case.
    for old, new, prefix in [
        ((4, 4), (6, 6), 1),
        ((7, 7), (3, 3), 1),
        ((5, 5), (7, 4), 2),
        ((4, 6), (8, 3), 0),
        ((3, 3), (16, 16), 2),
    ]:
        d = 5
        posemb = torch.randn(1, prefix + old[0] * old[1], d, generator=gen).to(torch.float32).double()
        for antialias in (True, False):
            out = resample_abs_pos_embed(posemb, list(new), list(old), prefix, antialias)
            cases.append({
                "oldSize": list(old),
                "newSize": list(new),
                "numPrefixTokens": prefix,
                "antialias": antialias,
                "input": {"shape": list(posemb.shape), "values": flat(posemb)},
                "output": {"shape": list(out.shape), "values": flat(out)},
            })
    dump(os.path.join(OUT, "pos_embed_resample.json"), {"torch": torch.__version__, "cases": cases})
