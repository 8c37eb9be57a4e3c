#!/usr/bin/env python3
"""Checks a `prunekit import-ecodiff` output against EcoDiff's own binarisation code.

Needs a checkout of EcoDiff's `inference_only` branch (github.com/YaNgZhAnG-V5/EcoDiff: cross_attn_hook.py,
ffn_hooker.py and mask/{attn,ff}.pt) and the fixture venv (torch, diffusers, safetensors). Nothing from that
repository is copied here: its modules are imported from the checkout at run time.

    git clone -b inference_only https://github.com/YaNgZhAnG-V5/EcoDiff /tmp/EcoDiff
    prunekit import-ecodiff --attention /tmp/EcoDiff/mask/attn.pt --ffn /tmp/EcoDiff/mask/ff.pt \
        --preset sdxl-base --scope global --ratio 0.68 0.88 --output /tmp/ecodiff-global.safetensors
    /work/venv-fixtures/bin/python Tests/Fixtures/check_ecodiff_release.py --ecodiff /tmp/EcoDiff \
        --masks /tmp/ecodiff-global.safetensors --scope global --ratio 0.68 0.88

The release's hookers are driven the way its `create_pipeline` drives them (binary=False, then
`binarize(scope, ratio)`), on stand-in objects holding only what `load` and `binarize` read, so no SDXL
pipeline is needed. Exits non-zero when any module's mask differs.
"""
import argparse
import json
import logging
import os
import sys
import types

import torch
from safetensors import safe_open
from safetensors.torch import load_file


def release_masks(checkout, scope, heads, neurons):
    sys.path.insert(0, checkout)
    from cross_attn_hook import CrossAttentionExtractionHook  # noqa: E402  (the release's code)
    from ffn_hooker import FeedForwardHooker  # noqa: E402

    logger = logging.getLogger("ecodiff")
    attention = types.SimpleNamespace(binary=False, dst=os.path.join(checkout, "mask", "attn.pt"), logger=logger)
    ffn = types.SimpleNamespace(binary=False, dst=os.path.join(checkout, "mask", "ff.pt"), logger=logger)
    CrossAttentionExtractionHook.load(attention, device="cpu", threshold=0.001)
    FeedForwardHooker.load(ffn, device="cpu", threshold=0.001)
    CrossAttentionExtractionHook.binarize(attention, scope, heads)
    FeedForwardHooker.binarize(ffn, scope, neurons)
    return [l.float() for l in attention.lambs], [l.float() for l in ffn.lambs]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ecodiff", required=True, help="EcoDiff inference_only checkout")
    parser.add_argument("--masks", required=True, help="prunekit import-ecodiff output")
    parser.add_argument("--scope", default="global")
    parser.add_argument("--ratio", type=float, nargs=2, default=[0.68, 0.88])
    args = parser.parse_args()

    attention, ffn = release_masks(args.ecodiff, args.scope, *args.ratio)
    with safe_open(args.masks, "pt") as f:
        modules = json.loads(f.metadata()["modules"])
    masks = load_file(args.masks)
    heads = [key for key, _, kind in modules if kind == "head"]
    neurons = [key for key, _, kind in modules if kind == "neuron"]
    assert len(heads) == len(attention) and len(neurons) == len(ffn), "module counts differ"
    differing = [key for key, expected in list(zip(heads, attention)) + list(zip(neurons, ffn))
                 if not torch.equal(masks["mask." + key], expected)]
    kept_heads = int(sum(m.sum() for m in attention))
    kept_neurons = int(sum(m.sum() for m in ffn))
    print(f"{args.scope} {args.ratio}: {len(heads)} attention + {len(neurons)} FFN modules, release keeps "
          f"{kept_heads} heads and {kept_neurons} neurons; modules that differ: {len(differing)}")
    if differing:
        print("first differing:", differing[:5])
        sys.exit(1)


if __name__ == "__main__":
    main()
