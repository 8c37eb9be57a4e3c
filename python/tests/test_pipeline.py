"""``load_pruned_pipeline`` on pruned pipeline folders of the fixture pipelines: diffusers' own pipeline with the
pruned denoiser reproduces ``prunekit generate`` on the same folder (same prompt, same initial noise) within the
bounds ``GenerateCommandTests`` uses against unpruned diffusers: final latents within 1e-4 (max|Δ| / max|ref|)
and the 8-bit image within 2 levels."""

import json
import os

import numpy as np
import pytest
import torch
from diffusers import FluxPipeline, StableDiffusionXLPipeline
from PIL import Image
from safetensors.torch import load_file

import prunekit
from cases import make_export
from conftest import fixture, max_relative_error, write_latents

PIPELINES = {
    "sdxl-pipeline-tiny": (StableDiffusionXLPipeline, "unet"),
    "flux-pipeline-tiny": (FluxPipeline, "transformer"),
}


def generate_arguments(call):
    """``prunekit generate`` flags for a diffusers pipeline call (generate.json)."""
    flags = {"prompt": "--prompt", "negative_prompt": "--negative-prompt", "num_inference_steps": "--steps",
             "guidance_scale": "--guidance", "height": "--height", "width": "--width",
             "max_sequence_length": "--max-sequence-length"}
    arguments = []
    for name, value in call.items():
        arguments += [flags[name], str(value)]
    return arguments


@pytest.mark.parametrize("name", list(PIPELINES))
def test_pipeline_matches_prunekit_generate(prunekit_cli, tmp_path, name):
    pipeline_class, denoiser_name = PIPELINES[name]
    export = make_export(prunekit_cli, name)
    with open(fixture(os.path.join(name, "generate.json"))) as handle:
        call = json.load(handle)
    noise = load_file(fixture(os.path.join(name, "generate.safetensors")))["noise"]
    noise_path = write_latents(str(tmp_path / "noise.safetensors"), noise)
    prunekit_cli.run("generate", "--model", export, *generate_arguments(call), "--latents", noise_path,
                     "--output", tmp_path / "prunekit.png", "--latents-output", tmp_path / "prunekit.safetensors")
    expected_latents = load_file(str(tmp_path / "prunekit.safetensors"))["latents"]
    expected_image = np.asarray(Image.open(tmp_path / "prunekit.png").convert("RGB")).astype(np.float32)

    pipe = prunekit.load_pruned_pipeline(export)
    assert type(pipe) is pipeline_class
    denoiser = getattr(pipe, denoiser_name)
    manifest = denoiser.prunekit_manifest
    assert sum(p.numel() for p in denoiser.parameters()) == manifest.parameter_count < manifest.source_parameter_count
    assert any(entry.kept_units < entry.original_units for entry in manifest.modules)

    with torch.no_grad():
        latents = pipe(**call, latents=noise.clone(), output_type="latent").images
        image = pipe(**call, latents=noise.clone(), output_type="np").images[0]
    image8 = np.round(image * 255).astype(np.float32)
    latent_error = max_relative_error(latents, expected_latents)
    image_error = float(np.abs(image8 - expected_image).max())
    print(f"{name}: final latents max relative error {latent_error:.3g}, image max |Δ| {image_error:g} levels")
    assert image8.shape == expected_image.shape == (call["height"], call["width"], 3)
    assert latent_error <= 1e-4
    assert image_error <= 2

    # The pruned denoiser matters: the unpruned pipeline's final latents (the fixture) are far from these.
    reference = load_file(fixture(os.path.join(name, "generate.safetensors")))["latents"]
    assert max_relative_error(latents, reference) > 1e-2


def test_float16_pipeline_export_loads_as_one_float16_pipeline(prunekit_cli):
    """A `--dtype float16` pruned pipeline loads with every component in float16 (the denoiser's stored type),
    so the pipeline's tensors agree, and it draws a picture."""
    export = make_export(prunekit_cli, "sdxl-pipeline-tiny-float16")
    pipe = prunekit.load_pruned_pipeline(export)
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        assert getattr(pipe, name).dtype == torch.float16, name
    with torch.no_grad():
        image = pipe(prompt="a red fox in the snow", num_inference_steps=2, height=64, width=64,
                     generator=torch.Generator().manual_seed(0), output_type="np").images[0]
    assert image.shape == (64, 64, 3) and np.isfinite(image).all()


def test_load_pruned_accepts_a_pipeline_folder(prunekit_cli):
    """load_pruned on a pruned pipeline folder loads its denoiser."""
    export = make_export(prunekit_cli, "flux-pipeline-tiny")
    model = prunekit.load_pruned(export)
    assert model.prunekit_manifest.path == os.path.join(export, "transformer", "prunekit.json")
    assert sum(p.numel() for p in model.parameters()) == model.prunekit_manifest.parameter_count
