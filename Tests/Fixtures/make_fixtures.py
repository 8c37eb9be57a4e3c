#!/usr/bin/env python3
"""Generate PruneKit's numerical reference fixtures with PyTorch + diffusers.

Run from anywhere:  python Tests/Fixtures/make_fixtures.py
Everything is seeded; re-running on the same machine/CPU rewrites every file
byte-identically. See README.md in this folder for the file formats.
"""
import copy
import json
import math
import os
import re
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import diffusers
from diffusers import (
    DDIMScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    LCMScheduler,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.embeddings import apply_rotary_emb
from diffusers.models.transformers.transformer_flux import (
    FluxPosEmbed,
    FluxSingleTransformerBlock,
    FluxTransformerBlock,
)
from diffusers.pipelines.flux.pipeline_flux import calculate_shift

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED_VERSIONS = {"diffusers": "0.42.1"}

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def gen(seed):
    return torch.Generator().manual_seed(seed)


def randn(shape, g, std=1.0, dtype=torch.float64):
    return (torch.randn(shape, generator=g, dtype=torch.float64) * std).to(dtype)


def jdump(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def save_st(path, tensors, metadata=None):
    """Save with safetensors, then reload and check bit-exactness."""
    tensors = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    for k, v in tensors.items():
        assert v.dtype in (torch.float32, torch.float64), (k, v.dtype)
        assert torch.isfinite(v).all(), k
    meta = None if metadata is None else {k: (v if isinstance(v, str) else jdump(v)) for k, v in metadata.items()}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(tensors, path, metadata=meta)
    canonicalize_header(path)
    back = load_file(path)
    assert set(back) == set(tensors), path
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and torch.equal(back[k], v), (path, k)
    with safe_open(path, "pt") as f:
        assert (f.metadata() or {}) == (meta or {}), path
    return tensors


def canonicalize_header(path):
    """safetensors writes __metadata__ in hash-map order (differs from run to run); rewrite the header
    with the metadata keys sorted so that files are byte-identical across runs. Same length, same data."""
    with open(path, "rb") as fh:
        raw = fh.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    if "__metadata__" not in header:
        return
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    new = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert len(new) <= n, "header grew"
    new = new + b" " * (n - len(new))
    with open(path, "wb") as fh:
        fh.write(raw[:8] + new + raw[8 + n:])


def f32(t):
    return t.detach().to(torch.float32)


def randomize_weights(model, seed):
    """Overwrite every parameter (diffusers zero-inits several layers) with non-trivial values.

    matrices / conv kernels: N(0, 1/fan_in); 1-D weights (all norms): 1 + N(0, 0.1^2); biases: N(0, 0.05^2).
    """
    g = gen(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2:
                fan_in = p[0].numel()
                v = randn(p.shape, g, 1.0 / math.sqrt(fan_in))
            elif name.endswith("weight"):
                v = 1.0 + randn(p.shape, g, 0.1)
            else:
                v = randn(p.shape, g, 0.05)
            p.copy_(v.to(p.dtype))


def max_rel(a, b):
    a = a.detach().double()
    b = b.detach().double()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


# --------------------------------------------------------------------------------------------------
# 1. op-level goldens (float64 in torch, stored as float32)
# --------------------------------------------------------------------------------------------------
def with_grads(name, fn, inputs, g, out, meta, params=None):
    """inputs: dict of float64 tensors. Computes output, upstream, and grads of sum(out*upstream)."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    up = randn(y.shape, g)
    grads = torch.autograd.grad((y * up).sum(), list(leaves.values()))
    for k, v in inputs.items():
        out[f"{name}.{k}"] = f32(v)
    out[f"{name}.output"] = f32(y)
    out[f"{name}.upstream"] = f32(up)
    for k, gr in zip(leaves, grads):
        out[f"{name}.grad_{k}"] = f32(gr)
    meta[name] = params or {}


def make_ops():
    g = gen(1000)
    out, meta = {}, {}
    # The float64 computation uses the float32-rounded inputs so that the stored inputs are exact.
    r = lambda shape, std=1.0: randn(shape, g, std, torch.float32).double()

    # conv2d
    for name, cin, cout, k, stride, pad, hw in [
        ("conv3x3_s1", 3, 4, 3, 1, 1, (5, 6)),
        ("conv3x3_s2", 3, 4, 3, 2, 1, (7, 6)),
        ("conv1x1", 5, 3, 1, 1, 0, (4, 4)),
    ]:
        inputs = {
            "input": r((2, cin) + hw),
            "weight": r((cout, cin, k, k), 1 / math.sqrt(cin * k * k)),
            "bias": r((cout,), 0.1),
        }
        with_grads(
            name,
            lambda input, weight, bias, s=stride, p=pad: F.conv2d(input, weight, bias, stride=s, padding=p),
            inputs, g, out, meta, {"op": "conv2d", "stride": stride, "padding": pad, "layout": "NCHW, weight OIHW"},
        )

    # group norm
    with_grads(
        "group_norm",
        lambda input, weight, bias: F.group_norm(input, 4, weight, bias, eps=1e-5),
        {"input": r((2, 8, 3, 5), 2.0) + 0.5, "weight": 1 + r((8,), 0.2), "bias": r((8,), 0.2)},
        g, out, meta, {"op": "group_norm", "num_groups": 4, "eps": 1e-5},
    )
    # layer norm
    with_grads(
        "layer_norm",
        lambda input, weight, bias: F.layer_norm(input, (16,), weight, bias, eps=1e-6),
        {"input": r((2, 3, 16), 2.0) - 0.3, "weight": 1 + r((16,), 0.2), "bias": r((16,), 0.2)},
        g, out, meta, {"op": "layer_norm", "normalized_shape": [16], "eps": 1e-6, "affine": True},
    )
    with_grads(
        "layer_norm_noaffine",
        lambda input: F.layer_norm(input, (16,), None, None, eps=1e-6),
        {"input": r((2, 3, 16), 2.0) + 0.7},
        g, out, meta, {"op": "layer_norm", "normalized_shape": [16], "eps": 1e-6, "affine": False},
    )
    # rms norm: y = x * rsqrt(mean(x^2, -1) + eps) * weight  (torch.nn.RMSNorm, as used by FLUX QK-norm)
    with_grads(
        "rms_norm",
        lambda input, weight: F.rms_norm(input, (16,), weight, eps=1e-6),
        {"input": r((2, 3, 16), 1.5), "weight": 1 + r((16,), 0.2)},
        g, out, meta, {"op": "rms_norm", "normalized_shape": [16], "eps": 1e-6},
    )
    # scaled dot product attention
    with_grads(
        "sdpa",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
        {"q": r((2, 3, 5, 8)), "k": r((2, 3, 5, 8)), "v": r((2, 3, 5, 8))},
        g, out, meta, {"op": "scaled_dot_product_attention", "layout": "[B, heads, S, head_dim]",
                       "scale": "1/sqrt(head_dim)", "mask": None, "causal": False},
    )
    # elementwise / row-wise activations (input covers +-6, and one value above softplus' threshold 20)
    x = r((4, 9), 2.5)
    x[0, 0] = 25.0
    x[0, 1] = -25.0
    for name, fn, params in [
        ("gelu_erf", lambda input: F.gelu(input), {"approximate": "none"}),
        ("gelu_tanh", lambda input: F.gelu(input, approximate="tanh"), {"approximate": "tanh"}),
        ("silu", lambda input: F.silu(input), {}),
        ("softplus", lambda input: F.softplus(input), {"beta": 1, "threshold": 20}),
        ("softmax", lambda input: F.softmax(input, dim=-1), {"dim": -1}),
        ("log_softmax", lambda input: F.log_softmax(input, dim=-1), {"dim": -1}),
    ]:
        with_grads(name, fn, {"input": x}, g, out, meta, dict(params, op=name))
    # nearest 2x upsample
    with_grads(
        "upsample_nearest2x",
        lambda input: F.interpolate(input, scale_factor=2.0, mode="nearest"),
        {"input": r((2, 3, 4, 5))},
        g, out, meta, {"op": "interpolate", "mode": "nearest", "scale_factor": 2},
    )

    # FLUX rotary embedding. cos/sin come from diffusers' FluxPosEmbed (float64 math, returned as float32).
    ids = torch.tensor(
        [[0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 2, 3], [1.0, 3.5, 5]], dtype=torch.float32
    )
    cos, sin = FluxPosEmbed(theta=10000, axes_dim=[2, 2, 4])(ids)
    assert cos.dtype == torch.float32 and cos.shape == (6, 8)
    x = r((1, 2, 6, 8))
    # diffusers' apply_rotary_emb upcasts to float32 internally, so the float64 golden uses the same
    # formula written out (out[2j] = x[2j]cos - x[2j+1]sin, out[2j+1] = x[2j+1]cos + x[2j]sin) and is
    # checked against apply_rotary_emb.
    def rope64(input):
        xr = torch.stack([-input[..., 1::2], input[..., 0::2]], dim=-1).flatten(3)
        return input * cos.double()[None, None] + xr * sin.double()[None, None]

    ref32 = apply_rotary_emb(x.float(), (cos, sin), use_real=True, use_real_unbind_dim=-1)
    assert (ref32.double() - rope64(x)).abs().max() < 1e-6
    with_grads("flux_rope", rope64, {"input": x}, g, out, meta,
               {"op": "apply_rotary_emb", "use_real": True, "use_real_unbind_dim": -1, "sequence_dim": 2,
                "layout": "x [B, heads, S, head_dim]; cos/sin [S, head_dim]",
                "pos_embed": {"class": "FluxPosEmbed", "theta": 10000, "axes_dim": [2, 2, 4]}})
    out["flux_rope.ids"] = ids
    out["flux_rope.cos"] = cos
    out["flux_rope.sin"] = sin
    out["flux_rope.output_diffusers_f32"] = ref32

    # nearest upsampling to an explicit size (the U-Net's path for latents not divisible by 2^upsamplers)
    with_grads(
        "upsample_nearest_size",
        lambda input: F.interpolate(input, size=(7, 9), mode="nearest"),
        {"input": r((2, 3, 4, 5))},
        g, out, meta, {"op": "interpolate", "mode": "nearest", "size": [7, 9]},
    )

    path = os.path.join(HERE, "ops", "ops.safetensors")
    save_st(path, out, {"cases": meta, "generator": "torch float64, stored float32"})
    print("ops:", len(out), "tensors")


# --------------------------------------------------------------------------------------------------
# 2. masks (implemented with forward hooks at the exact points of the EcoDiff semantics)
# --------------------------------------------------------------------------------------------------
def maskable_modules(model):
    """Return list of (key, size, kind, info) in module order."""
    specs = []
    for name, mod in model.named_modules():
        if isinstance(mod, BasicTransformerBlock):
            for a in ("attn1", "attn2"):
                attn = getattr(mod, a)
                specs.append((f"{name}.{a}", attn.heads, "sdxl_attn", attn))
            specs.append((f"{name}.ff", mod.ff.net[2].in_features, "ffn", mod.ff))
        elif isinstance(mod, FluxTransformerBlock):
            specs.append((f"{name}.attn", mod.attn.heads, "flux_double_attn", mod.attn))
            specs.append((f"{name}.ff", mod.ff.net[2].in_features, "ffn", mod.ff))
            specs.append((f"{name}.ff_context", mod.ff_context.net[2].in_features, "ffn", mod.ff_context))
        elif isinstance(mod, FluxSingleTransformerBlock):
            specs.append((f"{name}.attn", mod.attn.heads, "flux_single_attn", mod.attn))
            specs.append((f"{name}.mlp", mod.mlp_hidden_dim, "flux_single_mlp", mod))
    return specs


def make_masks(specs, seed):
    g = gen(seed)
    masks = {}
    for i, (key, n, _, _) in enumerate(specs):
        m = torch.rand(n, generator=g, dtype=torch.float64).to(torch.float32)
        if i % 2 == 0:  # a few exact zeros: every other module gets max(1, n // 8) zeroed units
            idx = torch.randperm(n, generator=g)[: max(1, n // 8)]
            m[idx] = 0.0
        masks[key] = m
    return masks


def _scale_last(mask_expanded):
    def pre_hook(mod, args):
        x = args[0]
        return (x * mask_expanded.to(x.dtype),) + tuple(args[1:])
    return pre_hook


def _scale_output(mask_expanded):
    def hook(mod, args, output):
        return output * mask_expanded.to(output.dtype)
    return hook


def install_masks(specs, masks):
    """masks: key -> 1-D tensor (may require grad). Returns hook handles."""
    handles = []
    for key, n, kind, mod in specs:
        m = masks[key]
        if kind == "sdxl_attn":
            # head output x m right before to_out.0 (heads are contiguous blocks of head_dim channels)
            hd = mod.to_out[0].in_features // n
            handles.append(mod.to_out[0].register_forward_pre_hook(_scale_last(m.repeat_interleave(hd))))
        elif kind == "flux_double_attn":
            hd = mod.to_out[0].in_features // n
            e = m.repeat_interleave(hd)
            handles.append(mod.to_out[0].register_forward_pre_hook(_scale_last(e)))   # image stream
            handles.append(mod.to_add_out.register_forward_pre_hook(_scale_last(e)))  # context stream
        elif kind == "ffn":
            # activation (GEGLU value*gelu(gate) / GELU-tanh) x m right before ff.net.2
            handles.append(mod.net[2].register_forward_pre_hook(_scale_last(m)))
        elif kind == "flux_single_attn":
            # pre_only attention returns the merged heads [B, S, inner]; mask before the concat with the MLP
            hd = mod.to_q.out_features // n
            handles.append(mod.register_forward_hook(_scale_output(m.repeat_interleave(hd))))
        elif kind == "flux_single_mlp":
            handles.append(mod.act_mlp.register_forward_hook(_scale_output(m)))
        else:
            raise ValueError(kind)
    return handles


def fold_masks_into_weights(model, specs, masks):
    """Independent check of the hooks: W' = W diag(m) on the consuming projection's input columns."""
    model = copy.deepcopy(model)
    mods = dict(model.named_modules())
    with torch.no_grad():
        for key, n, kind, _ in specs:
            m = masks[key].detach().double()
            if kind == "sdxl_attn":
                lin = mods[key].to_out[0]
                lin.weight.mul_(m.repeat_interleave(lin.in_features // n).to(lin.weight.dtype))
            elif kind == "flux_double_attn":
                for lin in (mods[key].to_out[0], mods[key].to_add_out):
                    lin.weight.mul_(m.repeat_interleave(lin.in_features // n).to(lin.weight.dtype))
            elif kind == "ffn":
                lin = mods[key].net[2]
                lin.weight.mul_(m.to(lin.weight.dtype))
            elif kind == "flux_single_attn":
                blk = mods[key.rsplit(".", 1)[0]]
                inner = blk.attn.to_q.out_features
                blk.proj_out.weight[:, :inner].mul_(m.repeat_interleave(inner // n).to(blk.proj_out.weight.dtype))
            elif kind == "flux_single_mlp":
                blk = mods[key.rsplit(".", 1)[0]]
                inner = blk.attn.to_q.out_features
                blk.proj_out.weight[:, inner:].mul_(m.to(blk.proj_out.weight.dtype))
    return model


# --------------------------------------------------------------------------------------------------
# 3. model cases
# --------------------------------------------------------------------------------------------------
SDXL_SCHEDULER = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
    prediction_type="epsilon", interpolation_type="linear", steps_offset=1, timestep_spacing="leading",
    use_karras_sigmas=False,
)
FLUX_DEV_SCHEDULER = dict(
    num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
    base_image_seq_len=256, max_image_seq_len=4096,
)
FLUX_SCHNELL_SCHEDULER = dict(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False)

CASES = {
    # diffusers tests/pipelines/stable_diffusion_xl/test_stable_diffusion_xl.py get_dummy_components()
    "sdxl-tiny": dict(
        kind="sdxl", seed=11,
        config=dict(
            block_out_channels=(2, 4), layers_per_block=2, time_cond_proj_dim=None, sample_size=32,
            in_channels=4, out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
            addition_time_embed_dim=8, transformer_layers_per_block=(1, 2),
            projection_class_embeddings_input_dim=80, cross_attention_dim=64, norm_num_groups=1,
        ),
        latent_hw=(16, 16), text_len=77, pooled_dim=32,
        grad_weights=[
            "down_blocks.1.resnets.0.conv1.weight",
            "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight",
            "mid_block.attentions.0.transformer_blocks.1.ff.net.2.weight",
            "up_blocks.0.attentions.2.transformer_blocks.0.norm2.weight",
        ],
    ),
    # SDXL-shaped, 3 levels, several heads per block, non-power-of-two top width
    "sdxl-small": dict(
        kind="sdxl", seed=12,
        config=dict(
            block_out_channels=(8, 16, 24), layers_per_block=2, sample_size=16, in_channels=4, out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            mid_block_type="UNetMidBlock2DCrossAttn",
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            attention_head_dim=(1, 2, 3), use_linear_projection=True, addition_embed_type="text_time",
            addition_time_embed_dim=8, transformer_layers_per_block=(1, 1, 2),
            projection_class_embeddings_input_dim=6 * 8 + 16, cross_attention_dim=32, norm_num_groups=4,
        ),
        latent_hw=(16, 16), text_len=12, pooled_dim=16,
        grad_weights=[
            "down_blocks.2.resnets.0.conv2.weight",
            "down_blocks.2.attentions.1.transformer_blocks.1.attn2.to_q.weight",
            "up_blocks.0.attentions.1.transformer_blocks.0.ff.net.2.weight",
            "mid_block.attentions.0.norm.weight",
        ],
    ),
    # diffusers tests/models/transformers/test_models_transformer_flux.py get_init_dict()
    "flux-tiny": dict(
        kind="flux", seed=13,
        config=dict(
            patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16,
            num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8],
        ),
        image_hw=(64, 64), text_len=48, random_ids=True, scheduler=FLUX_SCHNELL_SCHEDULER,
        grad_weights=[
            "transformer_blocks.0.attn.to_q.weight",
            "transformer_blocks.0.ff.net.2.weight",
            "single_transformer_blocks.0.proj_out.weight",
            "transformer_blocks.0.attn.norm_added_k.weight",
        ],
    ),
    "flux-small": dict(
        kind="flux", seed=14,
        config=dict(
            patch_size=1, in_channels=64, num_layers=2, num_single_layers=2, attention_head_dim=16,
            num_attention_heads=4, joint_attention_dim=32, pooled_projection_dim=24, guidance_embeds=True,
            axes_dims_rope=[4, 6, 6],
        ),
        image_hw=(64, 96), text_len=10, random_ids=False, scheduler=FLUX_DEV_SCHEDULER,
        grad_weights=[
            "transformer_blocks.1.attn.add_q_proj.weight",
            "transformer_blocks.0.ff_context.net.2.weight",
            "single_transformer_blocks.1.proj_mlp.weight",
            "single_transformer_blocks.0.attn.norm_q.weight",
        ],
    ),
}


def sdxl_forward(model, inp):
    return model(
        inp["sample"], inp["timestep"], encoder_hidden_states=inp["encoder_hidden_states"],
        added_cond_kwargs={"text_embeds": inp["text_embeds"], "time_ids": inp["time_ids"]},
    ).sample


def flux_forward(model, inp):
    return model(
        hidden_states=inp["hidden_states"], encoder_hidden_states=inp["encoder_hidden_states"],
        pooled_projections=inp["pooled_projections"], timestep=inp["timestep"], img_ids=inp["img_ids"],
        txt_ids=inp["txt_ids"], guidance=inp.get("guidance"),
    ).sample


def image_ids(h2, w2):
    ids = torch.zeros(h2, w2, 3)
    ids[..., 1] = ids[..., 1] + torch.arange(h2)[:, None]
    ids[..., 2] = ids[..., 2] + torch.arange(w2)[None, :]
    return ids.reshape(h2 * w2, 3)


def make_inputs(case, model, g):
    cfg = model.config
    B = 2
    if case["kind"] == "sdxl":
        h, w = case["latent_hw"]
        return {
            "sample": randn((B, cfg.in_channels, h, w), g, dtype=torch.float32),
            "timestep": torch.tensor([980.5, 17.0], dtype=torch.float32),
            "encoder_hidden_states": randn((B, case["text_len"], cfg.cross_attention_dim), g, dtype=torch.float32),
            "text_embeds": randn((B, case["pooled_dim"]), g, dtype=torch.float32),
            "time_ids": torch.tensor([[1024, 1024, 0, 0, 1024, 1024], [512, 768, 16, 32, 512, 640]],
                                     dtype=torch.float32),
        }
    H, W = case["image_hw"]
    h2, w2 = H // 16, W // 16  # packed token grid (vae_scale_factor 8, 2x2 packing)
    N, T = h2 * w2, case["text_len"]
    inp = {
        "hidden_states": randn((B, N, cfg.in_channels), g, dtype=torch.float32),
        "timestep": torch.tensor([1.0, 0.37], dtype=torch.float32),
        "encoder_hidden_states": randn((B, T, cfg.joint_attention_dim), g, dtype=torch.float32),
        "pooled_projections": randn((B, cfg.pooled_projection_dim), g, dtype=torch.float32),
    }
    if case["random_ids"]:  # like diffusers' own model test: randn ids (exercises RoPE on text tokens too)
        inp["img_ids"] = randn((N, 3), g, dtype=torch.float32)
        inp["txt_ids"] = randn((T, 3), g, dtype=torch.float32)
    else:  # like the pipeline
        inp["img_ids"] = image_ids(h2, w2)
        inp["txt_ids"] = torch.zeros(T, 3)
    if cfg.guidance_embeds:
        inp["guidance"] = torch.tensor([3.5, 2.0], dtype=torch.float32)
    return inp


def build_model(case):
    cls = UNet2DConditionModel if case["kind"] == "sdxl" else FluxTransformer2DModel
    torch.manual_seed(0)
    model = cls(**case["config"])
    randomize_weights(model, case["seed"])
    return model.eval()


def run_model_case(name, case):
    d = os.path.join(HERE, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    fwd = sdxl_forward if case["kind"] == "sdxl" else flux_forward
    model = build_model(case)
    model.save_pretrained(d, safe_serialization=True)
    # reload check
    cls = type(model)
    reloaded = cls.from_pretrained(d)
    sd0, sd1 = model.state_dict(), reloaded.state_dict()
    assert set(sd0) == set(sd1) and all(torch.equal(sd0[k], sd1[k]) for k in sd0)
    n_params = sum(p.numel() for p in model.parameters())

    g = gen(case["seed"] * 100 + 1)
    inp = make_inputs(case, model, g)
    save_st(os.path.join(d, "inputs.safetensors"), inp)

    specs = maskable_modules(model)
    masks = make_masks(specs, case["seed"] * 100 + 2)
    save_st(os.path.join(d, "masks.safetensors"), {f"mask.{k}": v for k, v in masks.items()},
            {"modules": [[k, n, kind] for k, n, kind, _ in specs]})

    exp = {}
    with torch.no_grad():
        out32 = fwd(model, inp)
        model64 = copy.deepcopy(model).double()
        inp64 = {k: v.double() for k, v in inp.items()}
        out64 = fwd(model64, inp64)
    exp["output"] = out32
    exp["output_f64"] = out64.float()
    exp["output_f64_raw"] = out64
    assert max_rel(out32, out64) < 1e-4, max_rel(out32, out64)

    # masked forward + gradients (float32)
    mask_leaves = {k: v.clone().requires_grad_(True) for k, v in masks.items()}
    handles = install_masks(specs, mask_leaves)
    params = dict(model.named_parameters())
    wnames = case["grad_weights"]
    mout = fwd(model, inp)
    R = randn(mout.shape, g, dtype=torch.float32)
    loss = (mout * R).sum()
    grads = torch.autograd.grad(loss, list(mask_leaves.values()) + [params[w] for w in wnames])
    for h in handles:
        h.remove()
    exp["masked_output"] = mout.detach()
    exp["loss_weights"] = R
    for k, gr in zip(list(mask_leaves) + wnames, grads):
        exp[("grad.mask." if k in mask_leaves else "grad.") + k] = gr
    assert max_rel(mout, out32) > 1e-3  # masks do something

    # float64 masked forward + gradients (stored as float32), useful for tolerances
    mask64 = {k: v.double().requires_grad_(True) for k, v in masks.items()}
    specs64 = maskable_modules(model64)
    handles = install_masks(specs64, mask64)
    p64 = dict(model64.named_parameters())
    mout64 = fwd(model64, inp64)
    grads64 = torch.autograd.grad((mout64 * R.double()).sum(), list(mask64.values()) + [p64[w] for w in wnames])
    for h in handles:
        h.remove()
    exp["masked_output_f64"] = mout64.detach().float()
    for k, gr in zip(list(mask64) + wnames, grads64):
        exp[("grad_f64.mask." if k in mask64 else "grad_f64.") + k] = gr.float()

    # independent checks of the masking hooks
    with torch.no_grad():
        folded = fold_masks_into_weights(model64, specs64, masks)
        fo = fwd(folded, inp64)
        assert max_rel(mout64, fo) < 1e-10, ("fold", max_rel(mout64, fo))
        assert max_rel(mout, mout64) < 1e-4
        ones = {k: torch.ones_like(v) for k, v in masks.items()}
        handles = install_masks(specs, ones)
        o1 = fwd(model, inp)
        for h in handles:
            h.remove()
        assert torch.equal(o1, out32)
    # float32 vs float64 discrepancy of every stored float32 result, recorded as a tolerance hint
    f32_vs_f64 = {"output": max_rel(out32, out64), "masked_output": max_rel(mout, mout64)}
    for k in list(mask_leaves) + wnames:
        pre = "grad.mask." if k in mask_leaves else "grad."
        f32_vs_f64[pre + k] = max_rel(exp[pre + k], exp[pre.replace("grad", "grad_f64", 1) + k])
    assert max(f32_vs_f64.values()) < 1e-2, f32_vs_f64
    worst = max(f32_vs_f64, key=f32_vs_f64.get)
    print(f"  {name}: worst f32-vs-f64 rel diff {f32_vs_f64[worst]:.2e} ({worst})")

    save_st(os.path.join(d, "expected.safetensors"), exp,
            {"loss": "sum(masked_output * loss_weights)", "grad_weights": wnames,
             "f32_vs_f64_max_rel": {k: float(f"{v:.3e}") for k, v in f32_vs_f64.items()},
             "max_rel_definition": "max|a-b| / max|b| over the tensor"})

    # end-to-end reload check: model + inputs from disk reproduce the stored output bit for bit
    with torch.no_grad():
        m2 = type(model).from_pretrained(d).eval()
        # clone: load_file's tensors are not 64-byte aligned, and unaligned buffers take different SIMD
        # paths in torch's CPU kernels (results then differ in the last bits)
        inp2 = {k: v.clone() for k, v in load_file(os.path.join(d, "inputs.safetensors")).items()}
        assert torch.equal(fwd(m2, inp2), load_file(os.path.join(d, "expected.safetensors"))["output"])

    # sampling trace
    if case["kind"] == "sdxl":
        samp = sdxl_sampling(model, case, g)
    else:
        samp = flux_sampling(model, case, g)
    save_st(os.path.join(d, "sampling.safetensors"), samp[0], samp[1])

    print(f"{name}: {n_params} params, {len(specs)} maskable modules, "
          f"|out| max {out32.abs().max():.3f}, f32-vs-f64 rel {max_rel(out32, out64):.2e}")


# ------------------------------------------------------------------------------- sampling: SDXL
def sdxl_sampling(unet, case, g):
    steps, guidance = 4, 5.0
    h, w = case["latent_hw"]
    height, width = h * 8, w * 8  # no VAE given -> pipeline's vae_scale_factor is 8
    original_size, crops, target_size = (96, 128), (4, 8), (height, width)
    T, D, P = case["text_len"], unet.config.cross_attention_dim, case["pooled_dim"]
    emb = {
        "prompt_embeds": randn((1, T, D), g, dtype=torch.float32),
        "negative_prompt_embeds": randn((1, T, D), g, dtype=torch.float32),
        "pooled_prompt_embeds": randn((1, P), g, dtype=torch.float32),
        "negative_pooled_prompt_embeds": randn((1, P), g, dtype=torch.float32),
    }
    noise = randn((1, unet.config.in_channels, h, w), g, dtype=torch.float32)

    scheduler = EulerDiscreteScheduler(**SDXL_SCHEDULER)
    pipe = StableDiffusionXLPipeline(vae=None, text_encoder=None, text_encoder_2=None, tokenizer=None,
                                     tokenizer_2=None, unet=unet, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    trace, unet_out = [], []
    hook = unet.register_forward_hook(lambda m, a, o: unet_out.append(o[0].detach().clone()))

    def cb(p, i, t, kw):
        trace.append(kw["latents"].detach().clone())
        return {}

    with torch.no_grad():
        res = pipe(prompt_embeds=emb["prompt_embeds"], negative_prompt_embeds=emb["negative_prompt_embeds"],
                   pooled_prompt_embeds=emb["pooled_prompt_embeds"],
                   negative_pooled_prompt_embeds=emb["negative_pooled_prompt_embeds"],
                   height=height, width=width, num_inference_steps=steps, guidance_scale=guidance,
                   original_size=original_size, crops_coords_top_left=crops, target_size=target_size,
                   latents=noise.clone(), output_type="latent", callback_on_step_end=cb,
                   callback_on_step_end_tensor_inputs=["latents"], return_dict=False)
    hook.remove()
    final = res[0]
    sched = pipe.scheduler
    time_ids = torch.tensor([list(original_size + crops + target_size)], dtype=torch.float32)

    # independent re-implementation of the loop (Euler, epsilon, CFG) must match the pipeline
    with torch.no_grad():
        x = noise * sched.init_noise_sigma
        ctx = torch.cat([emb["negative_prompt_embeds"], emb["prompt_embeds"]])
        te = torch.cat([emb["negative_pooled_prompt_embeds"], emb["pooled_prompt_embeds"]])
        tid = torch.cat([time_ids, time_ids])
        for i, t in enumerate(sched.timesteps):
            s, s_next = sched.sigmas[i], sched.sigmas[i + 1]
            xin = torch.cat([x, x]) / (s**2 + 1) ** 0.5
            e = unet(xin, t, encoder_hidden_states=ctx, added_cond_kwargs={"text_embeds": te, "time_ids": tid}).sample
            e = e[:1] + guidance * (e[1:] - e[:1])
            x = x + e * (s_next - s)  # x0 = x - s e ; d = (x - x0)/s = e
            assert max_rel(x, trace[i]) < 1e-5, ("sdxl loop", i, max_rel(x, trace[i]))
    assert torch.equal(final, trace[-1])

    t = dict(emb)
    t["noise"] = noise
    t["latents"] = noise * sched.init_noise_sigma
    t["time_ids"] = time_ids
    t["timesteps"] = sched.timesteps.to(torch.float32)
    t["sigmas"] = sched.sigmas.to(torch.float32)
    for i, x in enumerate(trace):
        t[f"trace.{i}"] = x
    for i, o in enumerate(unet_out):
        t[f"unet_output.{i}"] = o
    t["final"] = final
    meta = {
        "scheduler_class": type(sched).__name__,
        "scheduler_config": {k: v for k, v in dict(sched.config).items() if not k.startswith("_")},
        "pipeline": {
            "class": "StableDiffusionXLPipeline (real pipeline, vae/text encoders None, output_type='latent')",
            "height": height, "width": width, "num_inference_steps": steps, "guidance_scale": guidance,
            "original_size": list(original_size), "crops_coords_top_left": list(crops),
            "target_size": list(target_size), "init_noise_sigma": float(sched.init_noise_sigma),
            "cfg_batch_order": "[negative, positive]",
        },
    }
    return t, meta


# ------------------------------------------------------------------------------- sampling: FLUX
def flux_sampling(transformer, case, g):
    steps = 4
    guidance = 3.5 if transformer.config.guidance_embeds else None
    H, W = case["image_hw"]
    cin = transformer.config.in_channels // 4
    lh, lw = 2 * (H // 16), 2 * (W // 16)
    T = case["text_len"]
    emb = {
        "prompt_embeds": randn((1, T, transformer.config.joint_attention_dim), g, dtype=torch.float32),
        "pooled_prompt_embeds": randn((1, transformer.config.pooled_projection_dim), g, dtype=torch.float32),
    }
    noise_unpacked = randn((1, cin, lh, lw), g, dtype=torch.float32)
    noise = FluxPipeline._pack_latents(noise_unpacked, 1, cin, lh, lw)

    scheduler = FlowMatchEulerDiscreteScheduler(**case["scheduler"])
    pipe = FluxPipeline(scheduler=scheduler, vae=None, text_encoder=None, tokenizer=None, text_encoder_2=None,
                        tokenizer_2=None, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    trace, outs, calls = [], [], []
    def record(m, a, kw, o):
        outs.append(o[0].detach().clone())
        calls.append(kw)

    hook = transformer.register_forward_hook(record, with_kwargs=True)

    def cb(p, i, t, kw):
        trace.append(kw["latents"].detach().clone())
        return {}

    with torch.no_grad():
        res = pipe(prompt_embeds=emb["prompt_embeds"], pooled_prompt_embeds=emb["pooled_prompt_embeds"],
                   height=H, width=W, num_inference_steps=steps,
                   guidance_scale=guidance if guidance is not None else 3.5,
                   latents=noise.clone(), output_type="latent", callback_on_step_end=cb,
                   callback_on_step_end_tensor_inputs=["latents"], return_dict=False)
    hook.remove()
    final = res[0]
    sched = pipe.scheduler
    N = noise.shape[1]
    mu = calculate_shift(N, sched.config.get("base_image_seq_len", 256), sched.config.get("max_image_seq_len", 4096),
                         sched.config.get("base_shift", 0.5), sched.config.get("max_shift", 1.15))
    img_ids = calls[0]["img_ids"].detach().clone()
    txt_ids = calls[0]["txt_ids"].detach().clone()
    assert torch.equal(img_ids, image_ids(lh // 2, lw // 2)) and torch.equal(txt_ids, torch.zeros(T, 3))

    # independent re-implementation of the loop
    with torch.no_grad():
        x = noise.clone()
        gvec = None if guidance is None else torch.full([1], guidance, dtype=torch.float32)
        for i, t in enumerate(sched.timesteps):
            v = transformer(hidden_states=x, timestep=t.expand(1).to(x.dtype) / 1000, guidance=gvec,
                            pooled_projections=emb["pooled_prompt_embeds"],
                            encoder_hidden_states=emb["prompt_embeds"], txt_ids=txt_ids, img_ids=img_ids).sample
            x = x + (sched.sigmas[i + 1] - sched.sigmas[i]) * v
            assert max_rel(x, trace[i]) < 1e-6, ("flux loop", i)
    assert torch.equal(final, trace[-1])

    t = dict(emb)
    t["noise_unpacked"] = noise_unpacked
    t["noise"] = noise
    t["latents"] = noise.clone()
    t["img_ids"] = img_ids
    t["txt_ids"] = txt_ids
    t["timesteps"] = sched.timesteps.to(torch.float32)
    t["sigmas"] = sched.sigmas.to(torch.float32)
    if guidance is not None:
        t["guidance"] = calls[0]["guidance"].detach().clone()
    for i, x in enumerate(trace):
        t[f"trace.{i}"] = x
    for i, o in enumerate(outs):
        t[f"transformer_output.{i}"] = o
    t["final"] = final
    meta = {
        "scheduler_class": type(sched).__name__,
        "scheduler_config": {k: v for k, v in dict(sched.config).items() if not k.startswith("_")},
        "pipeline": {
            "class": "FluxPipeline (real pipeline, vae/text encoders None, output_type='latent')",
            "height": H, "width": W, "num_inference_steps": steps, "guidance_scale": guidance,
            "guidance_embeds": bool(transformer.config.guidance_embeds),
            "latent_channels": cin, "latent_hw": [lh, lw], "image_seq_len": N, "mu": mu,
            "sigmas_passed": np.linspace(1.0, 1 / steps, steps).tolist(),
            "timestep_passed_to_model": "timesteps[i] / 1000 (float32)",
        },
    }
    return t, meta


# --------------------------------------------------------------------------------------------------
# 4. schedulers
# --------------------------------------------------------------------------------------------------
STEP_COUNTS = [1, 2, 4, 8, 25]


def fl(t):
    return [float(v) for v in torch.as_tensor(t).flatten().tolist()]


def sched_entry(s, **extra):
    e = {"timesteps": fl(s.timesteps)}
    if hasattr(s, "sigmas") and s.sigmas is not None:
        e["sigmas"] = fl(s.sigmas)
    # FlowMatchEulerDiscreteScheduler has no init_noise_sigma (FLUX uses unscaled N(0, I) latents): null
    e["init_noise_sigma"] = float(s.init_noise_sigma) if hasattr(s, "init_noise_sigma") else None
    e.update(extra)
    return e


class NoiseRecorder:
    """Temporarily wraps randn_tensor inside a scheduler module and records what it returns."""

    def __init__(self, module):
        self.module, self.drawn = module, []

    def __enter__(self):
        self.orig = self.module.randn_tensor

        def wrapped(*a, **k):
            z = self.orig(*a, **k)
            self.drawn.append(fl(z))
            return z

        self.module.randn_tensor = wrapped
        return self

    def __exit__(self, *exc):
        self.module.randn_tensor = self.orig


def step_case(s, n, sample, model_outputs, *, seed=None, set_kwargs=None, scale_input=True, eta=None, mod=None):
    set_kwargs = set_kwargs or {}
    s.set_timesteps(n, **set_kwargs) if "sigmas" not in set_kwargs else s.set_timesteps(**set_kwargs)
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    x = torch.tensor(sample, dtype=torch.float32)
    steps = []
    rec = NoiseRecorder(mod) if mod is not None else None
    if rec:
        rec.__enter__()
    try:
        for i in range(2):
            t = s.timesteps[i]
            st = {"index": i, "timestep": float(t), "sample": fl(x), "model_output": model_outputs[i]}
            if scale_input:
                st["scaled_model_input"] = fl(s.scale_model_input(x, t))
            n_before = len(rec.drawn) if rec else 0
            kw = {"generator": generator} if seed is not None else {}
            if eta is not None:
                kw["eta"] = eta
            o = s.step(torch.tensor(model_outputs[i], dtype=torch.float32), t, x, return_dict=True, **kw)
            x = o.prev_sample
            st["prev_sample"] = fl(x)
            if getattr(o, "pred_original_sample", None) is not None:
                st["pred_original_sample"] = fl(o.pred_original_sample)
            if getattr(o, "denoised", None) is not None:
                st["denoised"] = fl(o.denoised)
            if rec:
                st["noise"] = rec.drawn[n_before:] [0] if len(rec.drawn) > n_before else None
            steps.append(st)
    finally:
        if rec:
            rec.__exit__()
    return {"num_inference_steps": n, "generator_seed": seed, "set_timesteps_kwargs": set_kwargs,
            "timesteps": fl(s.timesteps), "steps": steps}


def make_schedulers():
    import diffusers.schedulers.scheduling_euler_ancestral_discrete as m_anc
    import diffusers.schedulers.scheduling_lcm as m_lcm

    g = gen(4000)
    sample = [round(v, 4) for v in fl(randn((8,), g, 1.0, torch.float32) * 10)]
    sample = fl(torch.tensor(sample, dtype=torch.float32))
    mo = [fl(torch.tensor([round(v, 4) for v in fl(randn((8,), g))], dtype=torch.float32)) for _ in range(2)]

    out = {
        "generator": {"diffusers": diffusers.__version__, "torch": torch.__version__},
        "notes": "timesteps/sigmas exactly as diffusers stores them (float32 tensors, written as float64 "
                 "decimal of the float32 value). 'sigmas' includes the final appended sigma.",
        "step_inputs": {"sample": sample, "model_outputs": mo},
        "schedulers": {},
        "step_cases": {},
        "calculate_shift": {},
    }
    S = out["schedulers"]

    def add(key, cls, config, per_n=None, note=None):
        entry = {"class": cls.__name__, "config": config, "by_steps": {}}
        if note:
            entry["note"] = note
        base = cls(**config)
        entry["resolved_config"] = {k: v for k, v in dict(base.config).items() if not k.startswith("_")}
        for n in STEP_COUNTS:
            s = cls(**config)
            if per_n is None:
                s.set_timesteps(n)
                entry["by_steps"][str(n)] = sched_entry(s)
            else:
                entry["by_steps"][str(n)] = per_n(s, n)
        S[key] = entry
        return base

    sdxl = dict(SDXL_SCHEDULER)
    base = add("euler_leading", EulerDiscreteScheduler, sdxl, note="SDXL base scheduler config")
    out["tables"] = {
        "betas": fl(base.betas),
        "alphas_cumprod": fl(base.alphas_cumprod),
        "note": "scaled_linear betas 0.00085..0.012, 1000 steps; train sigmas = sqrt((1-acp)/acp)",
    }
    add("euler_trailing", EulerDiscreteScheduler, dict(sdxl, timestep_spacing="trailing"))
    add("euler_linspace", EulerDiscreteScheduler, dict(sdxl, timestep_spacing="linspace"))
    add("euler_ancestral_leading", EulerAncestralDiscreteScheduler,
        {k: v for k, v in sdxl.items() if k not in ("interpolation_type", "use_karras_sigmas")})
    add("euler_ancestral_trailing", EulerAncestralDiscreteScheduler,
        {k: v for k, v in dict(sdxl, timestep_spacing="trailing").items()
         if k not in ("interpolation_type", "use_karras_sigmas")})
    ddim_cfg = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                    clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon",
                    timestep_spacing="leading")

    def ddim_n(s, n):
        s.set_timesteps(n)
        ts = [int(t) for t in s.timesteps]
        step = s.config.num_train_timesteps // n
        prev = [t - step for t in ts]
        return dict(sched_entry(s),
                    alphas_cumprod_t=[float(s.alphas_cumprod[t]) for t in ts],
                    prev_timesteps=prev,
                    alphas_cumprod_prev=[float(s.alphas_cumprod[p]) if p >= 0 else float(s.final_alpha_cumprod)
                                         for p in prev],
                    final_alpha_cumprod=float(s.final_alpha_cumprod))

    add("ddim_leading", DDIMScheduler, ddim_cfg, ddim_n)
    add("ddim_trailing", DDIMScheduler, dict(ddim_cfg, timestep_spacing="trailing"), ddim_n)
    lcm_cfg = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                   set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon", timestep_spacing="leading",
                   original_inference_steps=50, timestep_scaling=10.0, clip_sample=False)

    def lcm_n(s, n):
        s.set_timesteps(n)
        ts = [int(t) for t in s.timesteps]
        return dict(sched_entry(s), alphas_cumprod_t=[float(s.alphas_cumprod[t]) for t in ts],
                    final_alpha_cumprod=float(s.final_alpha_cumprod))

    add("lcm", LCMScheduler, lcm_cfg, lcm_n)

    def fm_pipeline(mu=None):
        def f(s, n):
            sig = np.linspace(1.0, 1 / n, n)
            if mu is None:
                s.set_timesteps(sigmas=sig)
            else:
                s.set_timesteps(sigmas=sig, mu=mu)
            return dict(sched_entry(s), sigmas_passed=sig.tolist(), mu=mu)
        return f

    fm3 = dict(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
    add("flowmatch_shift3_pipeline_sigmas", FlowMatchEulerDiscreteScheduler, fm3, fm_pipeline(),
        note="set_timesteps(sigmas=linspace(1, 1/n, n)) as FluxPipeline does; static shift 3.0")
    add("flowmatch_shift3_default", FlowMatchEulerDiscreteScheduler, fm3,
        note="plain set_timesteps(n) (no sigmas passed)")
    add("flowmatch_shift1_pipeline_sigmas", FlowMatchEulerDiscreteScheduler, FLUX_SCHNELL_SCHEDULER,
        fm_pipeline(), note="FLUX.1-schnell-style: shift 1.0, no dynamic shifting")
    for seq in (256, 1024, 4096):
        mu = calculate_shift(seq, 256, 4096, 0.5, 1.15)
        add(f"flowmatch_dynamic_seq{seq}", FlowMatchEulerDiscreteScheduler, FLUX_DEV_SCHEDULER, fm_pipeline(mu),
            note=f"FLUX.1-dev config; mu = calculate_shift({seq}) = {mu!r}; sigmas=linspace(1, 1/n, n)")

    for seq in (16, 24, 256, 1024, 4080, 4096, 6144):
        out["calculate_shift"][str(seq)] = calculate_shift(seq, 256, 4096, 0.5, 1.15)
    out["calculate_shift_defaults"] = {"base_seq_len": 256, "max_seq_len": 4096, "base_shift": 0.5,
                                       "max_shift": 1.15, "formula": "m=(max_shift-base_shift)/(max_seq_len-"
                                       "base_seq_len); b=base_shift-m*base_seq_len; mu=seq*m+b"}

    # step cases: first two steps of a 4-step schedule
    C = out["step_cases"]
    C["euler_leading"] = dict(step_case(EulerDiscreteScheduler(**sdxl), 4, sample, mo), config="euler_leading")
    C["euler_trailing"] = dict(step_case(EulerDiscreteScheduler(**dict(sdxl, timestep_spacing="trailing")), 4,
                                         sample, mo), config="euler_trailing")
    anc = {k: v for k, v in dict(sdxl, timestep_spacing="trailing").items()
           if k not in ("interpolation_type", "use_karras_sigmas")}
    C["euler_ancestral_trailing"] = dict(
        step_case(EulerAncestralDiscreteScheduler(**anc), 4, sample, mo, seed=0, mod=m_anc),
        config="euler_ancestral_trailing",
        note="noise[i] = the N(0,1) vector drawn inside step i (randn_tensor with the seeded generator)")
    C["ddim_leading"] = dict(step_case(DDIMScheduler(**ddim_cfg), 4, sample, mo, eta=0.0), config="ddim_leading",
                             note="eta = 0")
    C["lcm"] = dict(step_case(LCMScheduler(**lcm_cfg), 4, sample, mo, seed=0, mod=m_lcm), config="lcm",
                    note="noise[i] = N(0,1) vector drawn in step i (not drawn at the last step)")
    mu = calculate_shift(1024, 256, 4096, 0.5, 1.15)
    C["flowmatch_dynamic_seq1024"] = dict(
        step_case(FlowMatchEulerDiscreteScheduler(**FLUX_DEV_SCHEDULER), 4, sample, mo, scale_input=False,
                  set_kwargs={"sigmas": np.linspace(1.0, 0.25, 4).tolist(), "mu": mu}),
        config="flowmatch_dynamic_seq1024")
    for c in C.values():  # every case starts from the same inputs
        assert c["steps"][0]["sample"] == sample

    path = os.path.join(HERE, "schedulers", "schedulers.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = json.dumps(out, indent=1, sort_keys=False) + "\n"
    with open(path, "w") as f:
        f.write(text)
    assert json.load(open(path)) == json.loads(text)
    print("schedulers:", len(S), "configs,", len(C), "step cases")


def make_odd_size_case():
    """sdxl-small at an 18 x 22 latent: not divisible by 2^(upsamplers) = 4, so diffusers passes each up block
    the next skip's size (`forward_upsample_size`) and upsamples to it, after stride-2 convs that round up."""
    case = CASES["sdxl-small"]
    model = build_model(case)
    g = gen(case["seed"] * 100 + 9)
    inp = make_inputs(dict(case, latent_hw=(18, 22)), model, g)
    with torch.no_grad():
        out = sdxl_forward(model, inp)
    save_st(os.path.join(HERE, "sdxl-small", "odd_size.safetensors"), dict(inp, output=out),
            {"latent_hw": [18, 22], "note": "forward only; inputs named as diffusers' forward arguments"})
    print("sdxl-small odd size:", tuple(out.shape))


def main():
    if diffusers.__version__ != EXPECTED_VERSIONS["diffusers"]:
        print(f"warning: diffusers {diffusers.__version__} (fixtures were made with "
              f"{EXPECTED_VERSIONS['diffusers']})", file=sys.stderr)
    make_ops()
    for name, case in CASES.items():
        run_model_case(name, case)
    make_odd_size_case()
    make_schedulers()


if __name__ == "__main__":
    main()
