#!/usr/bin/env python3
"""Writes real-size diffusers pipeline folders with seeded random weights, for timing PruneKit on this machine.

    python make_seeded_pipeline.py sdxl      OUT_DIR   # SDXL base: unet, vae, CLIP-L, OpenCLIP bigG in fp16 (~6.9 GB)
    python make_seeded_pipeline.py flux-text OUT_DIR   # FLUX text side: CLIP-L + T5-XXL encoder in bf16 (~9.8 GB)

Shapes come from the real configurations (the diffusers/transformers classes are built on the meta device, so
no weights are materialised); every tensor is then drawn from its own seeded generator and streamed into the
safetensors file one tensor at a time, so peak memory stays near the largest single tensor (well under 1 GB).

File layout, as the real repositories store them:
  * SDXL: `*.fp16.safetensors` variant files (`unet/diffusion_pytorch_model.fp16.safetensors`,
    `text_encoder/model.fp16.safetensors`, ...), fp16 tensors. PruneKit takes the fp16 variant when the plain
    file is absent (PruneNN WeightFiles.find).
  * FLUX: plain file names holding bf16 tensors; T5-XXL sharded at 5 GB with `model.safetensors.index.json`.
    The FLUX folder has no transformer weights (12 B parameters, ~24 GB in bf16, and PruneKit widens denoiser
    weights to float32 on load: it does not fit in this machine's memory); `transformer/` holds only the
    real config.json, because a pipeline folder must name its denoiser. encode-prompt never opens it.

Tokenizers: CLIP vocab.json/merges.txt are built from the real open_clip merges bundled with PruneKit
(Sources/PruneTokenizers/Resources/clip-merges.txt; vocab = 256 byte characters + their `</w>` forms + 48,894
merges + 2 specials = 49,408). SDXL's tokenizer_2 pads with "!". A real T5 tokenizer.json cannot be obtained
offline, so FLUX's tokenizer_2 is the repo's small trained Unigram test tokenizer
(Tests/Fixtures/tokenizers/t5-unigram): ids only index the 32,128-row embedding table, so timing is unaffected.

Weights: N(0, 1/fan_in) for matrices and convolutions (fan_in = product of the non-output dimensions),
N(0, 0.02) for embeddings and biases, 1 for normalisation gains. The values mean nothing; only sizes and
dtypes matter.
"""
import json
import os
import struct
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
CLIP_MERGES = REPO / "Sources/PruneTokenizers/Resources/clip-merges.txt"
T5_TOKENIZER = REPO / "Tests/Fixtures/tokenizers/t5-unigram/tokenizer.json"
DTYPE_NAMES = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32"}

# ---------------------------------------------------------------------------------------------- configurations

SDXL_UNET = {
    "sample_size": 128, "in_channels": 4, "out_channels": 4, "center_input_sample": False, "flip_sin_to_cos": True,
    "freq_shift": 0, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn", "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "only_cross_attention": False, "block_out_channels": [320, 640, 1280], "layers_per_block": 2,
    "downsample_padding": 1, "mid_block_scale_factor": 1, "act_fn": "silu", "norm_num_groups": 32, "norm_eps": 1e-05,
    "cross_attention_dim": 2048, "transformer_layers_per_block": [1, 2, 10], "attention_head_dim": [5, 10, 20],
    "num_attention_heads": None, "dual_cross_attention": False, "use_linear_projection": True,
    "class_embed_type": None, "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
    "num_class_embeds": None, "upcast_attention": None, "resnet_time_scale_shift": "default",
    "projection_class_embeddings_input_dim": 2816, "time_embedding_type": "positional", "conv_in_kernel": 3,
    "conv_out_kernel": 3,
}
SDXL_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "sample_size": 1024, "layers_per_block": 2,
    "block_out_channels": [128, 256, 512, 512], "act_fn": "silu", "norm_num_groups": 32,
    "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
    "scaling_factor": 0.13025, "force_upcast": True,
}
SDXL_SCHEDULER = {
    "_class_name": "EulerDiscreteScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000, "prediction_type": "epsilon", "steps_offset": 1, "timestep_spacing": "leading",
    "interpolation_type": "linear", "use_karras_sigmas": False, "clip_sample": False, "sample_max_value": 1.0,
    "set_alpha_to_one": False, "skip_prk_steps": True,
}
CLIP_L = {
    "architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": 49408, "hidden_size": 768,
    "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12, "max_position_embeddings": 77,
    "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05, "projection_dim": 768, "bos_token_id": 0, "eos_token_id": 2,
    "pad_token_id": 1,
}
CLIP_BIGG = {
    "architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", "vocab_size": 49408,
    "hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32, "num_attention_heads": 20,
    "max_position_embeddings": 77, "hidden_act": "gelu", "layer_norm_eps": 1e-05, "projection_dim": 1280,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}
T5_XXL = {
    "architectures": ["T5EncoderModel"], "model_type": "t5", "vocab_size": 32128, "d_model": 4096, "d_kv": 64,
    "d_ff": 10240, "num_layers": 24, "num_decoder_layers": 24, "num_heads": 64, "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128, "feed_forward_proj": "gated-gelu", "dense_act_fn": "gelu_new",
    "is_gated_act": True, "layer_norm_epsilon": 1e-06, "dropout_rate": 0.1, "tie_word_embeddings": False,
    "decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0,
}
FLUX_TRANSFORMER = {
    "_class_name": "FluxTransformer2DModel", "patch_size": 1, "in_channels": 64, "num_layers": 19,
    "num_single_layers": 38, "attention_head_dim": 128, "num_attention_heads": 24, "joint_attention_dim": 4096,
    "pooled_projection_dim": 768, "guidance_embeds": True, "axes_dims_rope": [16, 56, 56],
}

# ---------------------------------------------------------------------------------------------- weights


def meta_shapes(build):
    """(name, shape) of every stored tensor of the module `build()` makes, without allocating weights."""
    with torch.device("meta"):
        module = build()
    return [(name, tuple(t.shape)) for name, t in module.state_dict().items()]


def draw(name, shape, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    if name.endswith("weight") and len(shape) == 1 and "embed" not in name:
        return torch.ones(shape, dtype=dtype)  # norm gains
    if len(shape) >= 2 and "embed" not in name and "shared" not in name:
        fan_in = 1
        for d in shape[1:]:
            fan_in *= d
        std = fan_in ** -0.5
    else:
        std = 0.02
    return (torch.randn(shape, generator=g, dtype=torch.float32) * std).to(dtype)


def write_safetensors(path, entries, dtype, seed_base):
    """Streams `entries` [(name, shape)] into `path` tensor by tensor; returns the bytes of tensor data."""
    itemsize = torch.tensor([], dtype=dtype).element_size()
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in entries:
        size = itemsize
        for d in shape:
            size *= d
        header[name] = {"dtype": DTYPE_NAMES[dtype], "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape in entries:
            t = draw(name, shape, seed_base + zlib_crc(name), dtype)
            f.write(t.contiguous().view(torch.uint8).numpy().tobytes())
    return offset


def zlib_crc(name):
    import zlib

    return zlib.crc32(name.encode())


def write_weights(directory, stem, entries, dtype, seed_base, variant=None, shard_bytes=None):
    """One file (or 5 GB shards with an index, as transformers' save_pretrained names them)."""
    itemsize = torch.tensor([], dtype=dtype).element_size()
    v = f".{variant}" if variant else ""
    if shard_bytes is None:
        total = write_safetensors(directory / f"{stem}{v}.safetensors", entries, dtype, seed_base)
        print(f"  {directory.name}/{stem}{v}.safetensors: {total / 1e9:.2f} GB", flush=True)
        return total
    shards, current, size = [], [], 0
    for name, shape in entries:
        n = itemsize
        for d in shape:
            n *= d
        if current and size + n > shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += n
    shards.append(current)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        file = f"{stem}{v}-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        total += write_safetensors(directory / file, shard, dtype, seed_base)
        weight_map.update({name: file for name, _ in shard})
        print(f"  {directory.name}/{file}", flush=True)
    index = directory / (f"{stem}.safetensors.index{v}.json")
    index.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
    print(f"  {directory.name}: {total / 1e9:.2f} GB in {len(shards)} shards", flush=True)
    return total


def count(entries):
    n = 0
    for _, shape in entries:
        p = 1
        for d in shape:
            p *= d
        n += p
    return n


# ---------------------------------------------------------------------------------------------- components


def bytes_to_unicode():
    """CLIP's (GPT-2's) byte-level alphabet: printable bytes map to themselves, the rest to U+0100 onwards."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def clip_vocab():
    merges = CLIP_MERGES.read_text(encoding="utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [m for m in merges if m]
    assert len(merges) == 48894, len(merges)
    tokens = list(bytes_to_unicode().values())
    tokens += [t + "</w>" for t in tokens]
    tokens += ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    assert len(tokens) == 49408
    return {t: i for i, t in enumerate(tokens)}, merges


def write_clip_tokenizer(directory, pad):
    directory.mkdir(parents=True)
    vocab, merges = clip_vocab()
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    specials = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": pad}
    (directory / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True, **specials}, indent=2))


def write_clip(directory, config, projection, dtype, seed, variant):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    directory.mkdir(parents=True)
    cls = CLIPTextModelWithProjection if projection else CLIPTextModel
    entries = meta_shapes(lambda: cls(CLIPTextConfig(**{k: v for k, v in config.items() if k != "architectures"})))
    (directory / "config.json").write_text(json.dumps({**config, "torch_dtype": str(dtype).split(".")[1]}, indent=2))
    write_weights(directory, "model", entries, dtype, seed, variant=variant)
    return count(entries)


def write_sdxl(out):
    from diffusers import AutoencoderKL, UNet2DConditionModel

    out.mkdir(parents=True)
    fp16 = torch.float16
    (out / "model_index.json").write_text(json.dumps({
        "_class_name": "StableDiffusionXLPipeline", "_diffusers_version": "0.19.0.dev0", "force_zeros_for_empty_prompt": True,
        "add_watermarker": None, "scheduler": ["diffusers", "EulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"], "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}, indent=2))
    (out / "scheduler").mkdir()
    (out / "scheduler/scheduler_config.json").write_text(json.dumps(SDXL_SCHEDULER, indent=2))
    write_clip_tokenizer(out / "tokenizer", "<|endoftext|>")
    write_clip_tokenizer(out / "tokenizer_2", "!")
    counts = {}
    counts["text_encoder"] = write_clip(out / "text_encoder", CLIP_L, False, fp16, 1_000_000, "fp16")
    counts["text_encoder_2"] = write_clip(out / "text_encoder_2", CLIP_BIGG, True, fp16, 2_000_000, "fp16")
    for name, cls, config, seed in [("vae", AutoencoderKL, SDXL_VAE, 3_000_000), ("unet", UNet2DConditionModel, SDXL_UNET, 4_000_000)]:
        d = out / name
        d.mkdir()
        entries = meta_shapes(lambda: cls.from_config(config))
        with torch.device("meta"):
            cls.from_config(config).save_config(d)
        write_weights(d, "diffusion_pytorch_model", entries, fp16, seed, variant="fp16")
        counts[name] = count(entries)
    return counts


def write_flux_text(out):
    from transformers import T5Config, T5EncoderModel

    out.mkdir(parents=True)
    bf16 = torch.bfloat16
    (out / "model_index.json").write_text(json.dumps({
        "_class_name": "FluxPipeline", "_diffusers_version": "0.30.0.dev0",
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "T5EncoderModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "T5TokenizerFast"], "transformer": ["diffusers", "FluxTransformer2DModel"],
        "vae": [None, None]}, indent=2))
    (out / "transformer").mkdir()
    (out / "transformer/config.json").write_text(json.dumps(FLUX_TRANSFORMER, indent=2))
    (out / "scheduler").mkdir()
    (out / "scheduler/scheduler_config.json").write_text(json.dumps({
        "_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True,
        "base_shift": 0.5, "max_shift": 1.15, "base_image_seq_len": 256, "max_image_seq_len": 4096}, indent=2))
    write_clip_tokenizer(out / "tokenizer", "<|endoftext|>")
    (out / "tokenizer_2").mkdir()
    (out / "tokenizer_2/tokenizer.json").write_bytes(T5_TOKENIZER.read_bytes())
    (out / "tokenizer_2/tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "T5Tokenizer", "model_max_length": 512, "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}, indent=2))
    counts = {"text_encoder": write_clip(out / "text_encoder", CLIP_L, False, bf16, 5_000_000, None)}
    d = out / "text_encoder_2"
    d.mkdir()
    config = {k: v for k, v in T5_XXL.items() if k != "architectures"}
    # transformers' save_pretrained stores the tied embedding once, as shared.weight
    entries = [(n, s) for n, s in meta_shapes(lambda: T5EncoderModel(T5Config(**config))) if n != "encoder.embed_tokens.weight"]
    (d / "config.json").write_text(json.dumps({**T5_XXL, "torch_dtype": "bfloat16"}, indent=2))
    write_weights(d, "model", entries, bf16, 6_000_000, shard_bytes=5_000_000_000)
    counts["text_encoder_2"] = count(entries)
    return counts


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("sdxl", "flux-text"):
        sys.exit(__doc__)
    out = Path(sys.argv[2])
    if out.exists():
        sys.exit(f"{out} exists; remove it first")
    torch.set_num_threads(1)
    counts = (write_sdxl if sys.argv[1] == "sdxl" else write_flux_text)(out)
    for name, n in counts.items():
        print(f"{name}: {n:,} parameters")
    (out / "seeded-weights.json").write_text(json.dumps({"generator": "Benchmarks/pipelines/make_seeded_pipeline.py", "parameters": counts}, indent=2))
