"""Every export the tests make with the real CLI, by name; each is made once per session (see conftest.py)."""

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
