#!/usr/bin/env python3
"""Generate PruneVAE's reference fixtures with diffusers' AutoencoderKL.

Run from the repo root:  /work/venv-fixtures/bin/python Tests/Fixtures/make_vae_fixtures.py
Writes Tests/Fixtures/vae/<case>/ (config.json + weights by save_pretrained, inputs.safetensors,
expected.safetensors). Everything is seeded; see the "VAE fixtures" section of README.md.
"""
import json
import os
import shutil

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import diffusers
from diffusers import AutoencoderKL
from diffusers.image_processor import VaeImageProcessor
from diffusers.pipelines.flux.pipeline_flux import FluxPipeline

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vae")
assert diffusers.__version__ == "0.42.1", diffusers.__version__

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
diffusers.utils.logging.set_verbosity_error()


def gen(seed):
    return torch.Generator().manual_seed(seed)


def overwrite_weights(model, seed):
    """The fixtures' rule: matrices/kernels N(0, 1/fan_in), 1-D weights 1 + N(0, 0.1²), biases N(0, 0.05²)."""
    g = gen(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                v = torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.05
            elif p.ndim == 1:
                v = 1 + torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.1
            else:
                fan_in = int(np.prod(p.shape[1:]))
                v = torch.randn(p.shape, generator=g, dtype=torch.float64) / fan_in**0.5
            p.copy_(v.to(p.dtype))


def sort_metadata(path):
    """safetensors writes __metadata__ in hash-map order; rewrite the header with its keys sorted (same length,
    padded with spaces) so that re-running writes byte-identical files."""
    with open(path, "rb") as fh:
        raw = fh.read()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + length])
    if "__metadata__" not in header:
        return
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    assert len(text) <= length
    with open(path, "wb") as fh:
        fh.write(raw[:8] + text.ljust(length, b" ") + raw[8 + length :])


def save_st(path, tensors, metadata=None):
    tensors = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in tensors.items()}
    for k, v in tensors.items():
        assert torch.isfinite(v).all(), k
    save_file(tensors, path, metadata=metadata)
    sort_metadata(path)
    back = load_file(path)
    for k, v in tensors.items():
        assert torch.equal(back[k], v), (path, k)


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def to_pil_array(image, vae_scale_factor):
    """diffusers' VaeImageProcessor.postprocess(output_type="pil"), as the pipelines call it → uint8 [B, H, W, 3]."""
    processor = VaeImageProcessor(vae_scale_factor=vae_scale_factor)
    pils = processor.postprocess(image, output_type="pil")
    return torch.from_numpy(np.stack([np.array(p) for p in pils])).to(torch.float32)


BASE = dict(
    in_channels=3,
    out_channels=3,
    act_fn="silu",
    force_upcast=True,
)

CASES = [
    # SDXL-like: 4 latent channels, quant convs, SDXL's scaling factor.
    dict(
        name="sdxl-like",
        seed=101,
        config=dict(
            block_out_channels=[8, 16], layers_per_block=1, norm_num_groups=4, latent_channels=4,
            sample_size=32, scaling_factor=0.13025, use_quant_conv=True, use_post_quant_conv=True,
        ),
        latent=(6, 10),
        pipeline="sdxl",
    ),
    # FLUX-like: 16 latent channels, no quant convs, FLUX's scaling and shift factors.
    dict(
        name="flux-like",
        seed=202,
        config=dict(
            block_out_channels=[8, 16], layers_per_block=1, norm_num_groups=4, latent_channels=16,
            sample_size=32, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False,
            use_post_quant_conv=False,
        ),
        latent=(8, 12),
        pipeline="flux",
    ),
    # Three levels, two layers per block, no mid-block attention, 2 groups.
    dict(
        name="deep-no-attention",
        seed=303,
        config=dict(
            block_out_channels=[4, 8, 8], layers_per_block=2, norm_num_groups=2, latent_channels=4,
            sample_size=64, scaling_factor=0.18215, mid_block_add_attention=False,
        ),
        latent=(4, 6),
        pipeline=None,
    ),
    # SDXL-like with sample_size 16, so a 14×20 latent is decoded in 3×4 overlapping tiles.
    dict(
        name="tiled",
        seed=404,
        config=dict(
            block_out_channels=[8, 16], layers_per_block=1, norm_num_groups=4, latent_channels=4,
            sample_size=16, scaling_factor=0.13025,
        ),
        latent=(14, 20),
        pipeline="tiled",
    ),
]


def make_case(case):
    folder = os.path.join(OUT, case["name"])
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    config = dict(BASE, **case["config"])
    levels = len(config["block_out_channels"])
    config["down_block_types"] = ["DownEncoderBlock2D"] * levels
    config["up_block_types"] = ["UpDecoderBlock2D"] * levels
    torch.manual_seed(case["seed"])
    vae = AutoencoderKL(**config).eval()
    overwrite_weights(vae, case["seed"])
    vae.save_pretrained(folder, safe_serialization=True)
    vae = AutoencoderKL.from_pretrained(folder).eval()  # the saved weights are the reference's weights

    factor = 2 ** (levels - 1)
    h, w = case["latent"]
    g = gen(case["seed"] + 1)
    cl = config["latent_channels"]
    latents = torch.randn((2, cl, h, w), generator=g)
    image = torch.rand((2, 3, h * factor, w * factor), generator=g) * 2 - 1
    noise = torch.randn((2, cl, h, w), generator=g)
    inputs = {"latents": latents, "image": image, "noise": noise}
    expected = {}
    meta = {"case": case["name"], "vae_scale_factor": str(factor), "diffusers": diffusers.__version__}
    with torch.no_grad():
        expected["decoded"] = vae.decode(latents).sample
        posterior = vae.encode(image).latent_dist
        expected["encoded_mean"] = posterior.mean
        expected["encoded_logvar"] = posterior.logvar
        expected["encoded_std"] = posterior.std
        expected["encoded_sample"] = posterior.mean + posterior.std * noise  # .sample() with `noise` as its draw
        assert torch.equal(posterior.mode(), posterior.mean)
        # float64 reference for a tolerance hint
        vae64 = AutoencoderKL.from_pretrained(folder).eval().double()
        dec64 = vae64.decode(latents.double()).sample
        meta["decoded_f32_vs_f64_max_rel"] = f"{rel(expected['decoded'].double(), dec64):.3e}"
        mean64 = vae64.encode(image.double()).latent_dist.mean
        meta["encoded_mean_f32_vs_f64_max_rel"] = f"{rel(expected['encoded_mean'].double(), mean64):.3e}"

        if case["pipeline"] == "sdxl":
            # StableDiffusionXLPipeline.__call__: latents / scaling_factor → decode → postprocess(pil).
            pipe_latents = torch.randn((1, cl, h, w), generator=g) * 0.9
            assert config.get("latents_mean") is None
            decoded = vae.decode(pipe_latents / vae.config.scaling_factor, return_dict=False)[0]
            inputs["pipeline_latents"] = pipe_latents
            expected["pipeline_decoded"] = decoded
            expected["pipeline_image_u8"] = to_pil_array(decoded, factor)
        elif case["pipeline"] == "flux":
            # FluxPipeline.__call__: _unpack_latents(latents, height, width, vae_scale_factor) →
            # latents / scaling_factor + shift_factor → decode → postprocess(pil).
            height, width = h * factor, w * factor
            unpacked = torch.randn((1, cl, h, w), generator=g)
            packed = FluxPipeline._pack_latents(unpacked, 1, cl, h, w)
            latents_in = FluxPipeline._unpack_latents(packed, height, width, factor)
            assert torch.equal(latents_in, unpacked)
            latents_in = (latents_in / vae.config.scaling_factor) + vae.config.shift_factor
            decoded = vae.decode(latents_in, return_dict=False)[0]
            inputs["pipeline_packed_latents"] = packed
            expected["pipeline_decoded"] = decoded
            expected["pipeline_image_u8"] = to_pil_array(decoded, factor)
            meta["pipeline_height"], meta["pipeline_width"] = str(height), str(width)
        elif case["pipeline"] == "tiled":
            vae.enable_tiling()
            expected["tiled_decoded"] = vae.decode(latents).sample
            assert expected["tiled_decoded"].shape == expected["decoded"].shape
            meta["tiled_vs_untiled_max_rel"] = f"{rel(expected['tiled_decoded'], expected['decoded']):.3e}"
            meta["tile_sample_min_size"] = str(vae.tile_sample_min_size)
            meta["tile_latent_min_size"] = str(vae.tile_latent_min_size)
            vae.disable_tiling()

    save_st(os.path.join(folder, "inputs.safetensors"), inputs)
    save_st(os.path.join(folder, "expected.safetensors"), expected, meta)
    sizes = {f: os.path.getsize(os.path.join(folder, f)) for f in sorted(os.listdir(folder))}
    print(case["name"], json.dumps(meta), sizes)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        make_case(case)
