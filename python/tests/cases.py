"""Every export the tests make with the real CLI, by name; each is made once per session (see conftest.py)."""

import os

from conftest import fixture

MAGNITUDE = ("--criterion", "magnitude", "--target", "0.3")
WHOLE = ("--criterion", "magnitude", "--target", "1.0", "--scope", "per-module")

#: name → (source fixture, prune arguments, modules that must come out with no unit left)
EXPORTS = {
    "sdxl-tiny": ("sdxl-tiny", MAGNITUDE, []),
    "sdxl-small": ("sdxl-small", MAGNITUDE, []),
    "flux-tiny": ("flux-tiny", MAGNITUDE, []),
    "flux-small": ("flux-small", MAGNITUDE, []),
    # Whole modules removed: attention (self and cross) returns its output bias, a FeedForward its net.2 bias.
    "sdxl-small-whole-modules": ("sdxl-small", WHOLE + (
        "--include", "down_blocks.1.attentions.0.transformer_blocks.0.attn1",
        "--include", "mid_block.attentions.0.transformer_blocks.0.attn2",
        "--include", "up_blocks.1.attentions.0.transformer_blocks.0.ff"), [
        "down_blocks.1.attentions.0.transformer_blocks.0.attn1",
        "mid_block.attentions.0.transformer_blocks.0.attn2",
        "up_blocks.1.attentions.0.transformer_blocks.0.ff"]),
    # FLUX: joint attention (both biases), a context FFN, a single block with nothing left (proj_out's bias
    # only) and a single block whose attention is gone but whose MLP stays.
    "flux-small-whole-modules": ("flux-small", WHOLE + (
        "--include", "transformer_blocks.0.attn", "--include", "transformer_blocks.1.ff_context",
        "--include", "single_transformer_blocks.0.*", "--include", "single_transformer_blocks.1.attn"), [
        "transformer_blocks.0.attn", "transformer_blocks.1.ff_context", "single_transformer_blocks.0.attn",
        "single_transformer_blocks.0.mlp", "single_transformer_blocks.1.attn"]),
    # 16-bit exports.
    "sdxl-small-float16": ("sdxl-small", MAGNITUDE + ("--dtype", "float16"), []),
    "flux-small-float16": ("flux-small", MAGNITUDE + ("--dtype", "float16"), []),
    "flux-small-bfloat16": ("flux-small", MAGNITUDE + ("--dtype", "bfloat16"), []),
    # Pruned pipeline folders.
    "sdxl-pipeline-tiny": ("sdxl-pipeline-tiny", MAGNITUDE, []),
    "flux-pipeline-tiny": ("flux-pipeline-tiny", MAGNITUDE, []),
    "sdxl-pipeline-tiny-float16": ("sdxl-pipeline-tiny", MAGNITUDE + ("--dtype", "float16"), []),
}

#: Exports pruned again: name → (the export pruned first, modules then removed whole). The second prune's kept
#: indices refer to the first export's units and config.json still holds the original widths, so the loader
#: must size modules from kept_units alone.
REPRUNED = {
    "sdxl-small-repruned": ("sdxl-small", ["down_blocks.2.attentions.0.transformer_blocks.1.attn2"]),
    "flux-small-repruned": ("flux-small", ["single_transformer_blocks.1.mlp", "transformer_blocks.1.attn"]),
}


def make_export(cli, name):
    """The export called ``name``, made by the CLI once per session."""
    if name in EXPORTS:
        source, arguments, _ = EXPORTS[name]
        return cli.export(name, fixture(source), *arguments)
    base, modules = REPRUNED[name]
    includes = [flag for key in modules for flag in ("--include", key)]
    return cli.export(name, make_export(cli, base), *WHOLE, *includes)


def whole_modules(name):
    """The modules export ``name`` must have removed entirely."""
    return EXPORTS[name][2] if name in EXPORTS else REPRUNED[name][1]


def source_of(name):
    """The fixture folder export ``name`` was cut from (through any earlier export)."""
    return EXPORTS[name][0] if name in EXPORTS else source_of(REPRUNED[name][0])


#: Exports that remove whole blocks, made with ``prunekit prune --masks FILE``: name → (source fixture, masks by
#: module key, one 0/1 per unit; modules not named keep every unit). Without heads/neurons masked the export is
#: plain diffusers (``from_pretrained``); the joint ones need ``prunekit.load_pruned``.
SDXL_BLOCKS = {
    # A Transformer2DModel with no block left, a partly kept one, and the mid block (tied by diffusers to
    # down_blocks.2.attentions.0, which keeps 2) keeping 1 of 2: PruneKit pads it with one identity block.
    "down_blocks.1.attentions.0.transformer_blocks": [0],
    "mid_block.attentions.0.transformer_blocks": [1, 0],
    "up_blocks.0.attentions.1.transformer_blocks": [0, 1],
    "up_blocks.0.attentions.2.transformer_blocks": [0, 0],
    "up_blocks.1.attentions.0.transformer_blocks": [0],
}
FLUX_BLOCKS = {"transformer_blocks": [0, 1], "single_transformer_blocks": [1, 0]}
BLOCK_EXPORTS = {
    "sdxl-small-blocks": ("sdxl-small", SDXL_BLOCKS),
    "flux-small-blocks": ("flux-small", FLUX_BLOCKS),
    # Jointly with heads and neurons of kept blocks (original keys; the export renumbers them).
    "sdxl-small-blocks-joint": ("sdxl-small", dict(SDXL_BLOCKS, **{
        "down_blocks.2.attentions.0.transformer_blocks.1.attn1": [1, 0, 1],
        "up_blocks.0.attentions.1.transformer_blocks.1.ff": [1, 0] * 48})),
    "flux-small-blocks-joint": ("flux-small", dict(FLUX_BLOCKS, **{
        "transformer_blocks.1.attn": [1, 0, 1, 1],
        "single_transformer_blocks.0.mlp": [1, 1, 0, 1] * 64})),
}


def make_block_export(cli, name):
    """Block export ``name``: its masks written next to the session's exports, then ``prune --masks``."""
    import torch
    from safetensors.torch import save_file

    source, masks = BLOCK_EXPORTS[name]
    path = os.path.join(cli.root, f"{name}-masks.safetensors")
    if not os.path.exists(path):
        save_file({f"mask.{key}": torch.tensor(values, dtype=torch.float32) for key, values in masks.items()}, path)
    return cli.export(name, fixture(source), "--masks", path)
