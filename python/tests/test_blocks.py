"""Exports that remove whole blocks (``prunekit.json`` format version 2, ``kind: block``), made by the real CLI with
``prune --masks``: without heads or neurons pruned they load with stock diffusers' ``from_pretrained`` (the export's
``config.json`` says the new depth: FLUX ``num_layers``/``num_single_layers``, SDXL per-layer
``transformer_layers_per_block`` with ``reverse_transformer_layers_per_block``); jointly pruned ones load with
``prunekit.load_pruned``. Both must give ``prunekit forward``'s output within 1e-4."""

import json
import os

import pytest
import torch
from diffusers import FluxTransformer2DModel, UNet2DConditionModel
from safetensors.torch import load_file

import prunekit
from cases import BLOCK_EXPORTS, make_block_export
from conftest import denoiser_forward, fixture, max_relative_error

TOLERANCE = 1e-4
CLASSES = {"sdxl": UNet2DConditionModel, "flux": FluxTransformer2DModel}


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def inputs_of(name):
    return fixture(os.path.join(BLOCK_EXPORTS[name][0], "inputs.safetensors"))


@pytest.mark.parametrize("name", ["sdxl-small-blocks", "flux-small-blocks"])
def test_block_export_loads_in_stock_diffusers(prunekit_cli, name):
    export = make_block_export(prunekit_cli, name)
    manifest = read_json(os.path.join(export, "prunekit.json"))
    assert manifest["format_version"] == 2
    assert "block" in {m["kind"] for m in manifest["modules"]}

    cls = CLASSES[name.split("-")[0]]
    model, info = cls.from_pretrained(export, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    expected = prunekit_cli.forward(export, inputs_of(name))
    actual = denoiser_forward(model.eval(), load_file(inputs_of(name)))
    error = max_relative_error(actual, expected)
    print(f"{name}: stock diffusers vs prunekit forward, max relative error {error:.3g}; "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    assert error <= TOLERANCE

    # The depth is the kept blocks (plus the identity blocks config.json lists), and the blocks really went.
    config = read_json(os.path.join(export, "config.json"))
    for entry in (m for m in manifest["modules"] if m["kind"] == "block"):
        padding = [k for k in config.get("_prunekit_identity_blocks", []) if k.rpartition(".")[0] == entry["key"]]
        assert len(model.get_submodule(entry["key"])) == entry["kept_units"] + len(padding), entry["key"]
    source = cls.from_pretrained(fixture(BLOCK_EXPORTS[name][0]))
    assert sum(p.numel() for p in model.parameters()) == manifest["parameter_count"] < sum(
        p.numel() for p in source.parameters())
    assert max_relative_error(denoiser_forward(source.eval(), load_file(inputs_of(name))), expected) > 100 * TOLERANCE


def test_sdxl_tied_depth_is_padded_with_exact_identity_blocks(prunekit_cli):
    """diffusers gives the mid block the depth of the last down block's first attention; the mask keeps 1 of the
    mid block's 2 blocks and 2 of the other's, so the export pads the mid block with one identity block (its residual
    outputs zero) and says so in config.json."""
    export = make_block_export(prunekit_cli, "sdxl-small-blocks")
    config = read_json(os.path.join(export, "config.json"))
    assert config["transformer_layers_per_block"] == [1, [0, 1], [2, 2]]
    assert config["reverse_transformer_layers_per_block"] == [[2, 1, 0], [0, 1, 1], 1]
    assert config["_prunekit_identity_blocks"] == ["mid_block.attentions.0.transformer_blocks.1"]
    weights = load_file(os.path.join(export, "diffusion_pytorch_model.safetensors"))
    block = "mid_block.attentions.0.transformer_blocks.1."
    for name in ("attn1.to_out.0", "attn2.to_out.0", "ff.net.2"):
        for suffix in ("weight", "bias"):
            assert not weights[f"{block}{name}.{suffix}"].any(), name
    assert "down_blocks.1.attentions.0.transformer_blocks.0.norm1.weight" not in weights


@pytest.mark.parametrize("name", list(BLOCK_EXPORTS))
def test_package_loader_reads_block_exports(prunekit_cli, name):
    """``prunekit.load_pruned`` reads format version 2: blocks dropped and renumbered, the kept blocks' heads and
    neurons shrunk under their new keys."""
    export = make_block_export(prunekit_cli, name)
    model = prunekit.load_pruned(export, torch_dtype=torch.float32)
    expected = prunekit_cli.forward(export, inputs_of(name))
    error = max_relative_error(denoiser_forward(model, load_file(inputs_of(name))), expected)
    print(f"{name}: prunekit.load_pruned vs prunekit forward, max relative error {error:.3g}")
    assert error <= TOLERANCE
    assert sum(p.numel() for p in model.parameters()) == model.prunekit_manifest.parameter_count
    if name.endswith("-joint"):
        # Original keys in prunekit.json, renumbered in the model: SDXL keeps blocks 0 and 1 of that list, FLUX
        # keeps double block 1 only (now 0).
        if name.startswith("flux"):
            assert model.transformer_blocks[0].attn.heads == 3
            assert model.single_transformer_blocks[0].proj_mlp.out_features == 192
        else:
            assert model.get_submodule("down_blocks.2.attentions.0.transformer_blocks.1.attn1").heads == 2
            assert model.get_submodule("up_blocks.0.attentions.1.transformer_blocks.0.ff").net[2].in_features == 48


def test_loader_refuses_a_depth_that_does_not_match(prunekit_cli, copy_export):
    export = copy_export(make_block_export(prunekit_cli, "sdxl-small-blocks-joint"))
    path = os.path.join(export, "config.json")
    config = read_json(path)
    config["reverse_transformer_layers_per_block"][0][1] = 2
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    with pytest.raises(prunekit.UnsupportedModelError, match="up_blocks.0.attentions.1.transformer_blocks keeps 1 "
                                                             "blocks, but config.json builds 2"):
        prunekit.load_pruned(export)
