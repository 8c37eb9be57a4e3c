"""What the loader refuses, each with one error that names the file, module or tensor at fault."""

import json
import os

import pytest
from safetensors.torch import load_file, save_file

import prunekit
from cases import make_export


def edit_manifest(folder, change):
    path = os.path.join(folder, "prunekit.json")
    with open(path) as handle:
        data = json.load(handle)
    change(data)
    with open(path, "w") as handle:
        json.dump(data, handle)
    return path


@pytest.fixture
def sdxl_export(prunekit_cli, copy_export):
    return copy_export(make_export(prunekit_cli, "sdxl-small"))


@pytest.fixture
def flux_export(prunekit_cli, copy_export):
    return copy_export(make_export(prunekit_cli, "flux-small"))


def test_newer_format_version_is_refused(sdxl_export):
    # A newer version whose body also changed shape still gets the version error, not a field error.
    path = edit_manifest(sdxl_export, lambda d: d.update(format_version=3, modules={"moved": True}))
    with pytest.raises(prunekit.UnsupportedFormatVersionError) as raised:
        prunekit.load_pruned(sdxl_export)
    assert raised.value.found == 3 and raised.value.supported == prunekit.FORMAT_VERSION == 2
    assert str(raised.value).startswith(f"{path} is not a valid prunekit.json: format_version 3 is newer than 2")


def test_newer_format_version_at_the_top_of_a_pipeline_is_refused(prunekit_cli, copy_export):
    export = copy_export(make_export(prunekit_cli, "flux-pipeline-tiny"))
    path = edit_manifest(export, lambda d: d.update(format_version=7))
    with pytest.raises(prunekit.UnsupportedFormatVersionError, match="format_version 7 is newer than 2") as raised:
        prunekit.load_pruned_pipeline(export)
    assert raised.value.path == path


def test_pipeline_whose_top_manifest_differs_from_the_denoisers_is_refused(prunekit_cli, copy_export):
    export = copy_export(make_export(prunekit_cli, "flux-pipeline-tiny"))
    edit_manifest(export, lambda d: d.update(seed=12345))
    with pytest.raises(prunekit.ManifestError, match="differs from .*transformer/prunekit.json"):
        prunekit.load_pruned_pipeline(export)


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(format="something-else"), 'format is "something-else", expected "prunekit-export"'),
    (lambda d: d.pop("format_version"), "format_version is missing"),
    (lambda d: d.update(format_version="1"), "format_version must be an integer"),
    (lambda d: d.pop("modules"), "modules is missing"),
    (lambda d: d["modules"][0].update(kept_units=1), "module down_blocks.1.attentions.0.transformer_blocks.0.attn1: "
                                                     "kept must be 1 ascending, distinct indices in 0..<2"),
    (lambda d: d["modules"][2].update(kept=list(reversed(d["modules"][2]["kept"]))),
     "module down_blocks.1.attentions.0.transformer_blocks.0.ff: kept must be"),
    (lambda d: d["modules"][2].update(kept=d["modules"][2]["kept"][:-1] + [64]),
     r"kept must be \d+ ascending, distinct indices in 0..<64"),
    (lambda d: d["modules"].append(dict(d["modules"][0])), "module down_blocks.1.attentions.0.transformer_blocks.0"
                                                           ".attn1: listed twice"),
], ids=["format", "no-version", "string-version", "no-modules", "kept-units", "descending", "out-of-range",
        "repeated-key"])
def test_malformed_manifest_is_refused(sdxl_export, change, message):
    path = edit_manifest(sdxl_export, change)
    with pytest.raises(prunekit.ManifestError, match=message) as raised:
        prunekit.load_pruned(sdxl_export)
    assert raised.value.path == path


def test_missing_or_unparsable_manifest_is_refused(sdxl_export):
    path = os.path.join(sdxl_export, "prunekit.json")
    with open(path, "w") as handle:
        handle.write('{"format": "prunekit-export", ')
    with pytest.raises(prunekit.ManifestError, match="not JSON"):
        prunekit.load_pruned(sdxl_export)
    os.remove(path)
    with pytest.raises(prunekit.ManifestError, match="does not exist"):
        prunekit.load_pruned(sdxl_export)


def test_kept_list_that_does_not_match_the_weights_is_refused(sdxl_export):
    """A consistent manifest that claims one more head than the weights hold: the tensors it sizes are named."""
    key = "down_blocks.1.attentions.0.transformer_blocks.0.attn2"

    def add_head(data):
        module = next(m for m in data["modules"] if m["key"] == key)
        assert module["kept_units"] < module["original_units"]
        module["kept"] = sorted(set(module["kept"]) | {next(i for i in range(module["original_units"])
                                                           if i not in module["kept"])})
        module["kept_units"] = len(module["kept"])

    edit_manifest(sdxl_export, add_head)
    with pytest.raises(prunekit.WeightMismatchError) as raised:
        prunekit.load_pruned(sdxl_export)
    message = str(raised.value)
    for tensor in ("to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight"):
        assert f"{key}.{tensor}: the weights hold shape" in message
    assert f"(sized by prunekit.json module {key})" in message
    assert len(raised.value.problems) == 4


def test_flux_single_block_mismatch_names_the_shared_projection(flux_export):
    key = "single_transformer_blocks.0.mlp"

    def drop_neuron(data):
        module = next(m for m in data["modules"] if m["key"] == key)
        module["kept"] = module["kept"][:-1]
        module["kept_units"] -= 1

    edit_manifest(flux_export, drop_neuron)
    with pytest.raises(prunekit.WeightMismatchError) as raised:
        prunekit.load_pruned(flux_export)
    message = str(raised.value)
    assert "single_transformer_blocks.0.proj_mlp.weight: the weights hold shape" in message
    assert "single_transformer_blocks.0.proj_out.weight: the weights hold shape" in message


def test_missing_and_unexpected_tensors_are_named(sdxl_export):
    path = os.path.join(sdxl_export, "diffusion_pytorch_model.safetensors")
    tensors = load_file(path)
    tensors["extra.weight"] = tensors.pop("conv_in.weight")
    save_file(tensors, path, metadata={"format": "pt"})
    with pytest.raises(prunekit.WeightMismatchError) as raised:
        prunekit.load_pruned(sdxl_export)
    assert raised.value.problems == [
        "conv_in.weight: missing from the weights, expected shape [8, 4, 3, 3]",
        "extra.weight: in diffusion_pytorch_model.safetensors but not in the model",
    ]


def test_truncated_weights_are_refused(sdxl_export):
    path = os.path.join(sdxl_export, "diffusion_pytorch_model.safetensors")
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)
    with pytest.raises(prunekit.PruneKitError, match="diffusion_pytorch_model.safetensors: not a readable "
                                                     "safetensors file"):
        prunekit.load_pruned(sdxl_export)


@pytest.mark.parametrize("change,error,message", [
    (lambda d: d.update(architecture="DiT"), prunekit.UnsupportedModelError, "architecture 'DiT' cannot be loaded"),
    (lambda d: d["modules"][0].update(kind="modulation"), prunekit.UnsupportedModelError,
     "has unit kind 'modulation'"),
    (lambda d: d["modules"][0].update(kind="neuron"), prunekit.UnsupportedModelError,
     "attn1 is Attention, whose units are heads, but the kind is 'neuron'"),
    (lambda d: d["modules"][0].update(key="down_blocks.7.attentions.0.transformer_blocks.0.attn1"),
     prunekit.UnsupportedModelError, "has no module down_blocks.7"),
], ids=["architecture", "modulation", "kind", "unknown-key"])
def test_what_the_loader_cannot_rebuild_is_refused(sdxl_export, change, error, message):
    edit_manifest(sdxl_export, change)
    with pytest.raises(error, match=message):
        prunekit.load_pruned(sdxl_export)


def test_architecture_that_disagrees_with_config_is_refused(sdxl_export):
    edit_manifest(sdxl_export, lambda d: d.update(architecture="FluxTransformer2DModel"))
    with pytest.raises(prunekit.ManifestError, match="architecture is FluxTransformer2DModel but .*config.json is a "
                                                     "UNet2DConditionModel"):
        prunekit.load_pruned(sdxl_export)


def test_shard_index_that_disagrees_with_its_shards_is_refused(sdxl_export):
    path = os.path.join(sdxl_export, "diffusion_pytorch_model.safetensors")
    tensors = load_file(path)
    os.remove(path)
    save_file(tensors, os.path.join(sdxl_export, "part-1.safetensors"))
    weight_map = {key: "part-1.safetensors" for key in tensors}
    weight_map["conv_in.weight"] = "part-2.safetensors"
    with open(os.path.join(sdxl_export, "diffusion_pytorch_model.safetensors.index.json"), "w") as handle:
        json.dump({"weight_map": weight_map}, handle)
    with pytest.raises(prunekit.PruneKitError, match="lists the shard part-2.safetensors, which does not exist"):
        prunekit.load_pruned(sdxl_export)


def test_unknown_fields_are_ignored(sdxl_export):
    """The versioning rule: fields a reader does not know (added without a version bump) are ignored."""
    edit_manifest(sdxl_export, lambda d: d.update(added_later={"anything": [1, 2]}))
    model = prunekit.load_pruned(sdxl_export)
    assert model.prunekit_manifest.raw["added_later"] == {"anything": [1, 2]}
