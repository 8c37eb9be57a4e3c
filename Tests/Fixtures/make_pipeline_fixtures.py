#!/usr/bin/env python3
"""Build PruneKit's tiny whole-pipeline fixtures (diffusers folders and an SDXL single file).

Run from the repo root:  /work/venv-fixtures/bin/python Tests/Fixtures/make_pipeline_fixtures.py

Writes
  Tests/Fixtures/sdxl-pipeline-tiny/            StableDiffusionXLPipeline folder, fp32 (+ unet fp16 variant)
  Tests/Fixtures/sdxl-pipeline-tiny.safetensors the same pipeline as ONE SGM/LDM-named single file, fp16
  Tests/Fixtures/flux-pipeline-tiny/            FluxPipeline folder, fp32, transformer in 2 shards

The diffusers -> SGM mapping below is written here (diffusers' reverse script is not in the wheel) and is
checked against diffusers' own loader: StableDiffusionXLPipeline.from_single_file(file, config=folder)
must reproduce every component's state dict (rounded to fp16). Tokenizer folders are not written (no
CLIP vocabulary can be fetched offline; tokenizer fixtures are made elsewhere): model_index.json lists
the tokenizers as null.
"""
import json
import os
import shutil
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import diffusers
import transformers
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, T5Config, T5EncoderModel

HERE = os.path.dirname(os.path.abspath(__file__))
SDXL_DIR = os.path.join(HERE, "sdxl-pipeline-tiny")
SDXL_FILE = os.path.join(HERE, "sdxl-pipeline-tiny.safetensors")
FLUX_DIR = os.path.join(HERE, "flux-pipeline-tiny")
assert diffusers.__version__ == "0.42.1", diffusers.__version__
assert transformers.__version__ == "5.23.0", transformers.__version__

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
diffusers.utils.logging.set_verbosity_error()
transformers.utils.logging.set_verbosity_error()

# Hyperparameters the single file's shapes cannot tell (PruneKit reads them from __metadata__).
SDXL_HYPERPARAMETERS = {"unet_attention_head_width": 1, "unet_norm_num_groups": 1, "text_encoder_head_width": 8, "vae_norm_num_groups": 2}


def seeded(model, seed):
    """Overwrite every parameter: matrices/kernels N(0, 1/fan_in), 1-D weights 1+N(0, 0.1^2), biases N(0, 0.05^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                value = torch.randn(p.shape, generator=g) / fan_in ** 0.5
            elif name.endswith("bias"):
                value = torch.randn(p.shape, generator=g) * 0.05
            else:
                value = 1 + torch.randn(p.shape, generator=g) * 0.1
            p.copy_(value)
    return model.eval()


# --------------------------------------------------------------------------------------------------
# SDXL components (diffusers' StableDiffusionXLPipelineFastTests.get_dummy_components, with deviations)
# --------------------------------------------------------------------------------------------------
def sdxl_components():
    # Deviation: text_encoder_2 is 40 wide (5 heads of 8) instead of 32, because diffusers' single-file
    # loader tells the two CLIPs apart by the position-embedding width; cross_attention_dim = 32 + 40.
    unet = UNet2DConditionModel(
        block_out_channels=(2, 4), layers_per_block=2, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 2), projection_class_embeddings_input_dim=80,
        cross_attention_dim=72, norm_num_groups=1,
    )
    # Deviation: a 3-level VAE of widths 4/8/8 (diffusers' dummy: 2 levels of 32/64) keeps the files small
    # and makes the decoder's level reversal non-trivial; SDXL's scaling factor.
    vae = AutoencoderKL(
        block_out_channels=[4, 8, 8], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3,
        latent_channels=4, layers_per_block=2, norm_num_groups=2, sample_size=128, scaling_factor=0.13025,
    )
    common = dict(bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-05, num_hidden_layers=5, pad_token_id=1, vocab_size=1000)
    # Deviation: CLIP-L uses quick_gelu as SDXL's text_encoder does (the dummy uses gelu for both).
    text_encoder = CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4,
                                                hidden_act="quick_gelu", projection_dim=32, **common))
    text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(hidden_size=40, intermediate_size=37, num_attention_heads=5,
                                                                hidden_act="gelu", projection_dim=32, **common))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, steps_offset=1, beta_schedule="scaled_linear", timestep_spacing="leading")
    return dict(unet=seeded(unet, 1), vae=seeded(vae, 2), text_encoder=seeded(text_encoder, 3),
                text_encoder_2=seeded(text_encoder_2, 4), scheduler=scheduler, tokenizer=None, tokenizer_2=None)


# --------------------------------------------------------------------------------------------------
# diffusers / transformers names -> SGM / LDM names (our own mapping; verified by from_single_file)
# --------------------------------------------------------------------------------------------------
def replace_prefix(key, table):
    """Rename by the longest dotted prefix in `table` (diffusers prefix -> SGM prefix)."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        head = ".".join(parts[:n])
        if head in table:
            return table[head] + key[len(head):]
    return key


def unet_table(config):
    layers = config["layers_per_block"]
    levels = len(config["block_out_channels"])
    t = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
         "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
         "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}

    def resnet(d, s):
        t[d] = s
        for a, b in [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
                     ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection")]:
            t[f"{d}.{a}"] = f"{s}.{b}"

    for b in range(levels):
        for l in range(layers):
            i = 1 + b * (layers + 1) + l
            resnet(f"down_blocks.{b}.resnets.{l}", f"input_blocks.{i}.0")
            t[f"down_blocks.{b}.attentions.{l}"] = f"input_blocks.{i}.1"
        if b < levels - 1:
            t[f"down_blocks.{b}.downsamplers.0.conv"] = f"input_blocks.{1 + b * (layers + 1) + layers}.0.op"
    resnet("mid_block.resnets.0", "middle_block.0")
    t["mid_block.attentions.0"] = "middle_block.1"
    resnet("mid_block.resnets.1", "middle_block.2")
    up_types = config["up_block_types"]
    for b in range(levels):
        for l in range(layers + 1):
            i = b * (layers + 1) + l
            resnet(f"up_blocks.{b}.resnets.{l}", f"output_blocks.{i}.0")
            t[f"up_blocks.{b}.attentions.{l}"] = f"output_blocks.{i}.1"
        if b < levels - 1:
            slot = 2 if up_types[b].startswith("CrossAttn") else 1
            t[f"up_blocks.{b}.upsamplers.0.conv"] = f"output_blocks.{b * (layers + 1) + layers}.{slot}.conv"
    return t


def vae_table(config):
    levels = len(config["block_out_channels"])
    layers = config["layers_per_block"]
    t = {"encoder.conv_norm_out": "encoder.norm_out", "decoder.conv_norm_out": "decoder.norm_out"}
    for coder in ("encoder", "decoder"):
        t[f"{coder}.mid_block.resnets.0"] = f"{coder}.mid.block_1"
        t[f"{coder}.mid_block.resnets.1"] = f"{coder}.mid.block_2"
        for a, b in [("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")]:
            t[f"{coder}.mid_block.attentions.0.{a}"] = f"{coder}.mid.attn_1.{b}"
    for i in range(levels):
        for j in range(layers):
            t[f"encoder.down_blocks.{i}.resnets.{j}"] = f"encoder.down.{i}.block.{j}"
            t[f"encoder.down_blocks.{i}.resnets.{j}.conv_shortcut"] = f"encoder.down.{i}.block.{j}.nin_shortcut"
        t[f"encoder.down_blocks.{i}.downsamplers.0"] = f"encoder.down.{i}.downsample"
        for j in range(layers + 1):
            t[f"decoder.up_blocks.{i}.resnets.{j}"] = f"decoder.up.{levels - 1 - i}.block.{j}"
            t[f"decoder.up_blocks.{i}.resnets.{j}.conv_shortcut"] = f"decoder.up.{levels - 1 - i}.block.{j}.nin_shortcut"
        t[f"decoder.up_blocks.{i}.upsamplers.0"] = f"decoder.up.{levels - 1 - i}.upsample"
    return t


def openclip_state(sd):
    """CLIPTextModelWithProjection state dict -> OpenCLIP text tower names (fused in_proj, transposed projection)."""
    out = {}
    for k, v in sd.items():
        if ".self_attn.k_proj." in k or ".self_attn.v_proj." in k:
            continue
        if ".self_attn.q_proj." in k:
            kind = k.rsplit(".", 1)[1]
            fused = torch.cat([v, sd[k.replace("q_proj", "k_proj")], sd[k.replace("q_proj", "v_proj")]], 0)
            n = k.split(".")[3]
            out[f"transformer.resblocks.{n}.attn.in_proj_{kind}"] = fused
            continue
        if k == "text_projection.weight":
            out["text_projection"] = v.t().contiguous()
            continue
        name = (k.replace("text_model.embeddings.token_embedding", "token_embedding")
                 .replace("text_model.embeddings.position_embedding.weight", "positional_embedding")
                 .replace("text_model.final_layer_norm", "ln_final")
                 .replace("text_model.encoder.layers.", "transformer.resblocks.")
                 .replace(".layer_norm1", ".ln_1").replace(".layer_norm2", ".ln_2")
                 .replace(".mlp.fc1", ".mlp.c_fc").replace(".mlp.fc2", ".mlp.c_proj")
                 .replace(".self_attn.out_proj", ".attn.out_proj"))
        out[name] = v
    return out


def classic_clip_names(sd):
    """transformers >= 5.6 saves CLIPTextModel without the `text_model.` prefix; real SDXL repos (and SGM files) have it."""
    return {k if k.startswith("text_model.") else "text_model." + k: v for k, v in sd.items()}


def sgm_state_dict(pipe):
    sd = {}
    for k, v in pipe.unet.state_dict().items():
        sd["model.diffusion_model." + replace_prefix(k, unet_table(pipe.unet.config))] = v
    for k, v in classic_clip_names(pipe.text_encoder.state_dict()).items():
        sd["conditioner.embedders.0.transformer." + k] = v
    for k, v in openclip_state(pipe.text_encoder_2.state_dict()).items():
        sd["conditioner.embedders.1.model." + k] = v
    for k, v in pipe.vae.state_dict().items():
        name = replace_prefix(k, vae_table(pipe.vae.config))
        if ".mid.attn_1." in name and name.endswith("weight") and v.dim() == 2:
            v = v[:, :, None, None]
        sd["first_stage_model." + name] = v
    return {k: v.detach().to(torch.float16).contiguous() for k, v in sd.items()}


def check_single_file(folder_pipe):
    """diffusers' own loader must read the single file into the folder's tensors (fp16-rounded)."""
    loaded = StableDiffusionXLPipeline.from_single_file(SDXL_FILE, config=SDXL_DIR, torch_dtype=torch.float32)
    worst = 0.0
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        ours = getattr(folder_pipe, name).state_dict()
        theirs = getattr(loaded, name).state_dict()
        ours = {k: v for k, v in ours.items() if not k.endswith("position_ids")}
        theirs = {k: v for k, v in theirs.items() if not k.endswith("position_ids")}
        assert set(ours) == set(theirs), (name, sorted(set(ours) ^ set(theirs))[:10])
        for k in ours:
            expected = ours[k].to(torch.float16).to(torch.float32)
            assert theirs[k].shape == expected.shape, (name, k, theirs[k].shape, expected.shape)
            assert torch.equal(theirs[k].float(), expected), (name, k)
            worst = max(worst, (ours[k] - theirs[k]).abs().max().item())
        print(f"  from_single_file {name}: {len(ours)} tensors equal to the folder's, fp16-rounded")
    print(f"  max |fp32 - fp16| over all tensors: {worst:.3g}")


def rewrite_text_encoder_names(folder):
    """Store text_encoder/model.safetensors with `text_model.` names as SDXL repos do, and check it reloads."""
    path = os.path.join(folder, "text_encoder", "model.safetensors")
    sd = load_file(path)
    save_file(classic_clip_names(sd), path, metadata={"format": "pt"})
    model, info = CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder"), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info


def make_sdxl():
    for path in (SDXL_DIR,):
        shutil.rmtree(path, ignore_errors=True)
    pipe = StableDiffusionXLPipeline(**sdxl_components())
    pipe.save_pretrained(SDXL_DIR, safe_serialization=True)
    rewrite_text_encoder_names(SDXL_DIR)
    pipe.unet.to(torch.float16).save_pretrained(os.path.join(SDXL_DIR, "unet"), variant="fp16", safe_serialization=True)
    pipe.unet.to(torch.float32)
    save_file(sgm_state_dict(pipe), SDXL_FILE,
              metadata={"format": "pt", "prunekit.sdxl_hyperparameters": json.dumps(SDXL_HYPERPARAMETERS, sort_keys=True)})
    check_single_file(pipe)


# --------------------------------------------------------------------------------------------------
# FLUX (diffusers' FluxPipelineFastTests.get_dummy_components; deviations: CLIP 2 layers, a 2-level VAE with
# FLUX's 16 latent channels, no quant convs and FLUX's scaling/shift factors)
# --------------------------------------------------------------------------------------------------
def make_flux():
    shutil.rmtree(FLUX_DIR, ignore_errors=True)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8])
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=2, hidden_size=32, intermediate_size=37, layer_norm_eps=1e-05, num_attention_heads=4,
        num_hidden_layers=2, pad_token_id=1, vocab_size=1000, hidden_act="gelu", projection_dim=32))
    # Deviation: a T5 config written out (diffusers' test downloads hf-internal-testing/tiny-random-t5).
    text_encoder_2 = T5EncoderModel(T5Config(
        vocab_size=1000, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu", is_encoder_decoder=False, use_cache=False))
    vae = AutoencoderKL(
        sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4, 8), layers_per_block=1, latent_channels=16,
        norm_num_groups=2, use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.1159, scaling_factor=0.3611)
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=seeded(text_encoder, 12), text_encoder_2=seeded(text_encoder_2, 13),
        tokenizer=None, tokenizer_2=None, transformer=seeded(transformer, 11), vae=seeded(vae, 14))
    pipe.save_pretrained(FLUX_DIR, safe_serialization=True)
    tdir = os.path.join(FLUX_DIR, "transformer")
    os.remove(os.path.join(tdir, "diffusion_pytorch_model.safetensors"))
    pipe.transformer.save_pretrained(tdir, max_shard_size="150KB", safe_serialization=True)
    shards = sorted(f for f in os.listdir(tdir) if f.endswith(".safetensors"))
    assert len(shards) == 2, shards
    back = FluxTransformer2DModel.from_pretrained(tdir)
    for k, v in pipe.transformer.state_dict().items():
        assert torch.equal(back.state_dict()[k], v), k


def main():
    make_sdxl()
    make_flux()
    total = 0
    for root, _, files in os.walk(HERE):
        for f in files:
            p = os.path.join(root, f)
            if "pipeline-tiny" in p:
                total += os.path.getsize(p)
    print(f"pipeline fixtures: {total:,} bytes")


if __name__ == "__main__":
    main()
