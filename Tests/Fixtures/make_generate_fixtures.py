#!/usr/bin/env python3
"""References for `prunekit generate`: diffusers' own pipelines, text to image, on the tiny pipeline folders.

Run from the repo root after make_pipeline_fixtures.py:
    /work/venv-fixtures/bin/python Tests/Fixtures/make_generate_fixtures.py

For each of sdxl-pipeline-tiny and flux-pipeline-tiny writes generate.safetensors beside the pipeline:
  noise   the initial latents passed to the pipeline as `latents=` (SDXL: unscaled [1, C, h, w], which the pipeline
          multiplies by init_noise_sigma; FLUX: packed [1, tokens, 4C]) — what `generate --latents` reads
  latents the final latents (output_type="latent")
  image   the 8-bit image [H, W, 3] as float32 (output_type="np", then round(x * 255))
and generate.json with the call's arguments. Seeded, torch.set_num_threads(2), deterministic algorithms.
"""
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file

import diffusers
from diffusers import FluxPipeline, StableDiffusionXLPipeline

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
diffusers.utils.logging.set_verbosity_error()


def run(pipe, name, noise, call):
    with torch.no_grad():
        latents = pipe(**call, latents=noise.clone(), output_type="latent").images
        image = pipe(**call, latents=noise.clone(), output_type="np").images[0]
    image8 = np.round(image * 255).astype(np.float32)
    folder = os.path.join(HERE, name)
    save_file({"noise": noise.contiguous(), "latents": latents.contiguous(), "image": torch.from_numpy(image8).contiguous()},
              os.path.join(folder, "generate.safetensors"), metadata={"script": "Tests/Fixtures/make_generate_fixtures.py"})
    with open(os.path.join(folder, "generate.json"), "w") as f:
        json.dump({k: v for k, v in call.items()}, f, indent=2, sort_keys=True)
        f.write("\n")
    print(name, "latents", tuple(latents.shape), "image", image8.shape)


def main():
    g = torch.Generator().manual_seed(2024)
    sdxl = StableDiffusionXLPipeline.from_pretrained(os.path.join(HERE, "sdxl-pipeline-tiny"))
    factor = sdxl.vae_scale_factor
    noise = torch.randn(1, sdxl.unet.config.in_channels, 64 // factor, 64 // factor, generator=g)
    run(sdxl, "sdxl-pipeline-tiny", noise, dict(
        prompt="a red fox in the snow", negative_prompt="blurry", height=64, width=64, num_inference_steps=3,
        guidance_scale=5.0))

    flux = FluxPipeline.from_pretrained(os.path.join(HERE, "flux-pipeline-tiny"))
    factor = flux.vae_scale_factor
    rows = 2 * (64 // (factor * 2))
    noise = torch.randn(1, (rows // 2) * (rows // 2), flux.transformer.config.in_channels, generator=g)
    run(flux, "flux-pipeline-tiny", noise, dict(
        prompt="a red fox in the snow", height=64, width=64, num_inference_steps=3, guidance_scale=3.5,
        max_sequence_length=16))


if __name__ == "__main__":
    main()
