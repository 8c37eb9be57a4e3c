#!/usr/bin/env python3
"""Build PruneKit's tiny whole-pipeline fixtures (diffusers folders and an SDXL single file).

Run from the repo root:  /work/venv-fixtures/bin/python Tests/Fixtures/make_pipeline_fixtures.py

Writes
  Tests/Fixtures/sdxl-pipeline-tiny/            StableDiffusionXLPipeline folder, fp32 (+ unet fp16 variant),
                                                with tokenizer/ and tokenizer_2/ folders
  Tests/Fixtures/sdxl-pipeline-tiny.safetensors the same pipeline as ONE SGM/LDM-named single file, fp16
  Tests/Fixtures/flux-pipeline-tiny/            FluxPipeline folder, fp32, transformer in 2 shards, with tokenizers
  Tests/Fixtures/{sdxl,flux}-pipeline-tiny/encode_prompt.{safetensors,json}
                                                diffusers' encode_prompt references for a few prompt cases

The diffusers -> SGM mapping below is written here (diffusers' reverse script is not in the wheel) and is
checked against diffusers' own loader: StableDiffusionXLPipeline.from_single_file(file, config=folder)
must reproduce every component's state dict (rounded to fp16) and the folder's encode_prompt output.
The tokenizers are the small CLIP / T5 Unigram tokenizers of Tests/Fixtures/tokenizers/ (made by
make_tokenizer_fixtures.py, which must have been run first); the text encoders' vocabularies fit them.
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
from tokenizers import Tokenizer
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)

HERE = os.path.dirname(os.path.abspath(__file__))
SDXL_DIR = os.path.join(HERE, "sdxl-pipeline-tiny")
SDXL_FILE = os.path.join(HERE, "sdxl-pipeline-tiny.safetensors")
FLUX_DIR = os.path.join(HERE, "flux-pipeline-tiny")
TOKENIZERS = os.path.join(HERE, "tokenizers")
CLIP_VOCAB = 3514  # the clip-small vocabulary: 3,512 BPE tokens, <|startoftext|> 3512, <|endoftext|> 3513
T5_MAX_LENGTH = 512
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
# Prompts of the encode_prompt references, and tokenizers built from Tests/Fixtures/tokenizers/
# --------------------------------------------------------------------------------------------------
PLAIN = "a photo of a cat sitting on a red chair"
PUNCTUATION = "A RED Fox, 3 cats & 12 dogs!! Caf\u00e9 na\u00efve \u201cquotes\u201d \u2014 50% off? (v2.0) \U0001F98A"
LONG = " ".join(["an extremely detailed oil painting of a quiet harbour town at sunset, fishing boats, seagulls,"
                 " warm light on old stone houses, reflections in the water, 4k, trending, masterpiece"] * 6)
SHORT_T5 = "a watercolor painting of a lighthouse on a rocky coast at dusk"


def clip_tokenizer(source):
    """A CLIPTokenizer over one of the small CLIP vocabularies, checked against loading that folder directly."""
    folder = os.path.join(TOKENIZERS, source)
    with open(os.path.join(folder, "tokenizer_config.json")) as f:
        settings = json.load(f)
    tokenizer = CLIPTokenizer(vocab=os.path.join(folder, "vocab.json"), merges=os.path.join(folder, "merges.txt"),
                              pad_token=settings["pad_token"], model_max_length=77, do_lower_case=True)
    assert len(tokenizer) == CLIP_VOCAB and tokenizer.bos_token_id == 3512 and tokenizer.eos_token_id == 3513
    assert tokenizer.pad_token_id == {"<|endoftext|>": 3513, "!": 0}[settings["pad_token"]], tokenizer.pad_token_id
    same_ids(tokenizer, CLIPTokenizer.from_pretrained(folder), 77)
    return tokenizer


def t5_tokenizer():
    """The t5-unigram tokenizer.json as a T5TokenizerFast (transformers 5: the same class as T5Tokenizer)."""
    tokenizer = T5TokenizerFast(tokenizer_object=Tokenizer.from_file(os.path.join(TOKENIZERS, "t5-unigram", "tokenizer.json")),
                                eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0,
                                model_max_length=T5_MAX_LENGTH)
    assert len(tokenizer) == 117 and (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2)
    return tokenizer


def same_ids(tokenizer, reference, max_length):
    for prompt in (PLAIN, PUNCTUATION, LONG, SHORT_T5, "", "blurry, low quality"):
        for kwargs in (dict(), dict(padding="max_length", max_length=max_length, truncation=True)):
            a, b = tokenizer(prompt, **kwargs)["input_ids"], reference(prompt, **kwargs)["input_ids"]
            assert a == b, (prompt, kwargs, a, b)


def finish_clip_folder(folder, source, keep_tokenizer_json):
    """Give a CLIPTokenizer folder saved by transformers 5.23 (tokenizer.json + tokenizer_config.json) the files real
    SDXL/FLUX repositories ship (vocab.json, merges.txt, special_tokens_map.json); drop tokenizer.json unless asked."""
    written = sorted(os.listdir(folder))
    assert written == ["tokenizer.json", "tokenizer_config.json"], written
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(TOKENIZERS, source, name), os.path.join(folder, name))
    reference = CLIPTokenizer.from_pretrained(os.path.join(TOKENIZERS, source))
    write_json(os.path.join(folder, "special_tokens_map.json"), reference.special_tokens_map)
    if not keep_tokenizer_json:
        os.remove(os.path.join(folder, "tokenizer.json"))
    reloaded = CLIPTokenizer.from_pretrained(folder)
    assert reloaded.model_max_length == 77 and reloaded.pad_token == reference.pad_token
    same_ids(reloaded, reference, 77)


def finish_t5_folder(folder, tokenizer):
    written = sorted(os.listdir(folder))
    assert written == ["tokenizer.json", "tokenizer_config.json"], written
    write_json(os.path.join(folder, "special_tokens_map.json"), tokenizer.special_tokens_map)
    reloaded = T5TokenizerFast.from_pretrained(folder)
    assert reloaded.model_max_length == T5_MAX_LENGTH
    same_ids(reloaded, tokenizer, T5_MAX_LENGTH)


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def edit_model_index(folder, **slots):
    path = os.path.join(folder, "model_index.json")
    with open(path) as f:
        index = json.load(f)
    index.update(slots)
    write_json(path, index)


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
    # eos_token_id 2 (not the vocabulary's EOS) selects transformers' legacy argmax pooling, as real SDXL configs do.
    common = dict(bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-05, num_hidden_layers=5, pad_token_id=1,
                  vocab_size=CLIP_VOCAB, max_position_embeddings=77)
    # Deviation: CLIP-L uses quick_gelu as SDXL's text_encoder does (the dummy uses gelu for both).
    text_encoder = CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4,
                                                hidden_act="quick_gelu", projection_dim=32, **common))
    text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(hidden_size=40, intermediate_size=37, num_attention_heads=5,
                                                                hidden_act="gelu", projection_dim=32, **common))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, steps_offset=1, beta_schedule="scaled_linear", timestep_spacing="leading")
    return dict(unet=seeded(unet, 1), vae=seeded(vae, 2), text_encoder=seeded(text_encoder, 3),
                text_encoder_2=seeded(text_encoder_2, 4), scheduler=scheduler,
                tokenizer=clip_tokenizer("clip-small-files"), tokenizer_2=clip_tokenizer("clip-small-pad2"))


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
    loaded = StableDiffusionXLPipeline.from_single_file(SDXL_FILE, config=SDXL_DIR, torch_dtype=torch.float32,
                                                        tokenizer=folder_pipe.tokenizer, tokenizer_2=folder_pipe.tokenizer_2)
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
    return loaded


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
    # tokenizer/ as SDXL repositories ship it (no tokenizer.json); tokenizer_2/ keeps the tokenizer.json that
    # transformers 5.23's save_pretrained writes, next to the legacy files.
    finish_clip_folder(os.path.join(SDXL_DIR, "tokenizer"), "clip-small-files", keep_tokenizer_json=False)
    finish_clip_folder(os.path.join(SDXL_DIR, "tokenizer_2"), "clip-small-pad2", keep_tokenizer_json=True)
    pipe.unet.to(torch.float16).save_pretrained(os.path.join(SDXL_DIR, "unet"), variant="fp16", safe_serialization=True)
    pipe.unet.to(torch.float32)
    save_file(sgm_state_dict(pipe), SDXL_FILE,
              metadata={"format": "pt", "prunekit.sdxl_hyperparameters": json.dumps(SDXL_HYPERPARAMETERS, sort_keys=True)})
    with open(os.path.join(SDXL_DIR, "model_index.json")) as f:
        index = json.load(f)
    assert index["tokenizer"] == ["transformers", "CLIPTokenizer"] == index["tokenizer_2"], index
    assert index["force_zeros_for_empty_prompt"] is True
    folder = StableDiffusionXLPipeline.from_pretrained(SDXL_DIR, torch_dtype=torch.float32)
    single = check_single_file(folder)
    sdxl_references(folder, single)


# --------------------------------------------------------------------------------------------------
# encode_prompt references
# --------------------------------------------------------------------------------------------------
SDXL_CASES = [
    dict(name="plain", prompt=PLAIN, negative_prompt=None, clip_skip=None),
    dict(name="punctuation", prompt=PUNCTUATION, negative_prompt=None, clip_skip=None),
    dict(name="long", prompt=LONG, negative_prompt=None, clip_skip=None),
    dict(name="negative", prompt=SHORT_T5, negative_prompt="blurry, low quality, watermark", clip_skip=None),
    dict(name="empty_negative", prompt="a bowl of ramen, studio lighting", negative_prompt="", clip_skip=None),
    dict(name="clip_skip_1", prompt="an astronaut riding a horse on Mars", negative_prompt="ugly, deformed", clip_skip=1),
]

FLUX_CASES = [
    dict(name="plain", prompt=PLAIN, negative_prompt=None, max_sequence_length=512),
    dict(name="punctuation", prompt=PUNCTUATION, negative_prompt=None, max_sequence_length=512),
    dict(name="long", prompt=LONG, negative_prompt=None, max_sequence_length=512),
    dict(name="short_sequence", prompt=SHORT_T5, negative_prompt=None, max_sequence_length=16),
    dict(name="negative", prompt="a bowl of ramen, studio lighting", negative_prompt="blurry, low quality, watermark",
         max_sequence_length=512),
    dict(name="empty", prompt="", negative_prompt=None, max_sequence_length=16),
]


class InputCapture:
    """Records the input_ids every text encoder forward receives (the ids the pipeline's tokenizers gave)."""

    def __init__(self, **encoders):
        self.calls = {name: [] for name in encoders}
        self.handles = [module.register_forward_pre_hook(self._hook(name), with_kwargs=True)
                        for name, module in encoders.items()]

    def _hook(self, name):
        def hook(module, args, kwargs):
            ids = args[0] if args else kwargs["input_ids"]
            self.calls[name].append(ids.detach().clone())
        return hook

    def close(self):
        for handle in self.handles:
            handle.remove()


def sdxl_encode(pipe, case):
    capture = InputCapture(input_ids_1=pipe.text_encoder, input_ids_2=pipe.text_encoder_2)
    with torch.no_grad():
        prompt_embeds, negative_prompt_embeds, pooled, negative_pooled = pipe.encode_prompt(
            case["prompt"], device=torch.device("cpu"), num_images_per_prompt=1, do_classifier_free_guidance=True,
            negative_prompt=case["negative_prompt"], clip_skip=case["clip_skip"])
    capture.close()
    out = {"prompt_embeds": prompt_embeds, "pooled_prompt_embeds": pooled,
           "negative_prompt_embeds": negative_prompt_embeds, "negative_pooled_prompt_embeds": negative_pooled}
    for name, calls in capture.calls.items():
        assert len(calls) == (1 if case["negative_prompt"] is None else 2), (case["name"], name, len(calls))
        out[name] = calls[0]
        if len(calls) == 2:
            out["negative_" + name] = calls[1]
    return out


def flux_encode(pipe, case):
    capture = InputCapture(input_ids_1=pipe.text_encoder, input_ids_2=pipe.text_encoder_2)
    with torch.no_grad():
        prompt_embeds, pooled, text_ids = pipe.encode_prompt(
            case["prompt"], prompt_2=None, device=torch.device("cpu"), num_images_per_prompt=1,
            max_sequence_length=case["max_sequence_length"])
        out = {"prompt_embeds": prompt_embeds, "pooled_prompt_embeds": pooled}
        assert text_ids.shape == (case["max_sequence_length"], 3) and not text_ids.any()
        if case["negative_prompt"] is not None:
            # FluxPipeline.__call__ with true CFG encodes the negative prompt with the same encode_prompt.
            negative, negative_pooled, _ = pipe.encode_prompt(
                case["negative_prompt"], prompt_2=None, device=torch.device("cpu"), num_images_per_prompt=1,
                max_sequence_length=case["max_sequence_length"])
            out.update(negative_prompt_embeds=negative, negative_pooled_prompt_embeds=negative_pooled)
    capture.close()
    for name, calls in capture.calls.items():
        out[name] = calls[0]
        if len(calls) == 2:
            out["negative_" + name] = calls[1]
    return out


def untruncated_lengths(pipe, prompt):
    return {"tokenizer": len(pipe.tokenizer(prompt)["input_ids"]), "tokenizer_2": len(pipe.tokenizer_2(prompt)["input_ids"])}


def max_relative_error(actual, expected):
    """max|a - b| / max|b| over all tensors with max|b| > 0 (all-zero tensors must match exactly)."""
    worst = 0.0
    for name, b in expected.items():
        a = actual[name]
        assert a.shape == b.shape, (name, a.shape, b.shape)
        if name.startswith(("input_ids", "negative_input_ids")):
            assert torch.equal(a, b), name
            continue
        scale = b.abs().max().item()
        if scale == 0:
            assert not a.any(), name
            continue
        worst = max(worst, (a - b).abs().max().item() / scale)
    return worst


def write_references(folder, pipe_name, cases, results, extra):
    tensors, listed = {}, []
    for case, result in zip(cases, results):
        names = []
        for key in sorted(result):
            value = result[key]
            # token ids are stored as float32 (exact below 2^24), as in the text-encoder fixtures' inputs
            tensors[f"{case['name']}.{key}"] = value.detach().to(torch.float32).contiguous()
            names.append(f"{case['name']}.{key}")
        listed.append(dict(case, tensors=names, shapes={n: list(tensors[n].shape) for n in names}))
    save_file(tensors, os.path.join(folder, "encode_prompt.safetensors"), metadata={"format": "pt"})
    back = load_file(os.path.join(folder, "encode_prompt.safetensors"))
    assert all(torch.equal(back[k], v) for k, v in tensors.items())
    document = {"generator": {"script": "Tests/Fixtures/make_pipeline_fixtures.py", "pipeline": pipe_name,
                              "diffusers": diffusers.__version__, "transformers": transformers.__version__,
                              "torch": torch.__version__,
                              "input_ids_dtype": "float32 (exact); shape [1, L]",
                              "embeddings_dtype": "float32"},
                "cases": listed, **extra}
    write_json(os.path.join(folder, "encode_prompt.json"), document)


def sdxl_references(folder_pipe, single_pipe):
    results, single_errors = [], {}
    for case in SDXL_CASES:
        result = sdxl_encode(folder_pipe, case)
        case["untruncated_lengths"] = untruncated_lengths(folder_pipe, case["prompt"])
        zeros = case["negative_prompt"] is None
        assert (not result["negative_prompt_embeds"].any()) == zeros, case["name"]
        assert (not result["negative_pooled_prompt_embeds"].any()) == zeros, case["name"]
        assert result["prompt_embeds"].shape == (1, 77, 72) and result["pooled_prompt_embeds"].shape == (1, 32)
        single_errors[case["name"]] = max_relative_error(sdxl_encode(single_pipe, case), result)
        results.append(result)
    assert SDXL_CASES[2]["untruncated_lengths"]["tokenizer"] > 77
    worst = max(single_errors.values())
    print(f"  SDXL encode_prompt, single file vs folder: max relative error {worst:.3g}")
    assert worst < 1e-2, single_errors
    write_references(SDXL_DIR, "StableDiffusionXLPipeline", SDXL_CASES, results, {
        "notes": ["do_classifier_free_guidance=True; negative_prompt=None with force_zeros_for_empty_prompt gives zero "
                  "negatives (no negative_input_ids); negative_prompt='' is encoded",
                  "diffusers encodes the negative prompt from hidden_states[-2] whatever clip_skip is (see clip_skip_1)"],
        "single_file_vs_folder": {
            "call": "StableDiffusionXLPipeline.from_single_file(sdxl-pipeline-tiny.safetensors, config=sdxl-pipeline-tiny, "
                    "tokenizer=..., tokenizer_2=...) against from_pretrained(sdxl-pipeline-tiny)",
            "metric": "max|a-b|/max|b| over each case's embedding tensors (all-zero ones must match exactly; ids equal)",
            "max_relative_error": worst, "per_case": single_errors}})


def flux_references(pipe):
    results = []
    for case in FLUX_CASES:
        result = flux_encode(pipe, case)
        case["untruncated_lengths"] = untruncated_lengths(pipe, case["prompt"])
        assert result["prompt_embeds"].shape == (1, case["max_sequence_length"], 32), result["prompt_embeds"].shape
        assert result["pooled_prompt_embeds"].shape == (1, 32)
        results.append(result)
    long = FLUX_CASES[2]["untruncated_lengths"]
    assert long["tokenizer"] > 77 and long["tokenizer_2"] > 512, long
    assert FLUX_CASES[3]["untruncated_lengths"]["tokenizer_2"] > 16
    write_references(FLUX_DIR, "FluxPipeline", FLUX_CASES, results, {
        "notes": ["negative_* tensors: FluxPipeline's true-CFG path, encode_prompt(negative_prompt) with the same "
                  "max_sequence_length", "text_ids (all zeros, [max_sequence_length, 3]) are not stored"]})


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
        num_hidden_layers=2, pad_token_id=1, vocab_size=CLIP_VOCAB, max_position_embeddings=77, hidden_act="gelu",
        projection_dim=32))
    # Deviation: a T5 config written out (diffusers' test downloads a tiny random T5). Its 1000-row table is larger
    # than the 117-piece Unigram tokenizer needs (real T5 tables are larger than their vocabularies too).
    text_encoder_2 = T5EncoderModel(T5Config(
        vocab_size=1000, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu", is_encoder_decoder=False, use_cache=False))
    vae = AutoencoderKL(
        sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4, 8), layers_per_block=1, latent_channels=1,
        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
        norm_num_groups=2, use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.1159, scaling_factor=0.3611)
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=seeded(text_encoder, 12), text_encoder_2=seeded(text_encoder_2, 13),
        tokenizer=clip_tokenizer("clip-small-files"), tokenizer_2=t5_tokenizer(), transformer=seeded(transformer, 11),
        vae=seeded(vae, 14))
    pipe.save_pretrained(FLUX_DIR, safe_serialization=True)
    tdir = os.path.join(FLUX_DIR, "transformer")
    os.remove(os.path.join(tdir, "diffusion_pytorch_model.safetensors"))
    pipe.transformer.save_pretrained(tdir, max_shard_size="150KB", safe_serialization=True)
    shards = sorted(f for f in os.listdir(tdir) if f.endswith(".safetensors"))
    assert len(shards) == 2, shards
    back = FluxTransformer2DModel.from_pretrained(tdir)
    for k, v in pipe.transformer.state_dict().items():
        assert torch.equal(back.state_dict()[k], v), k
    finish_clip_folder(os.path.join(FLUX_DIR, "tokenizer"), "clip-small-files", keep_tokenizer_json=False)
    finish_t5_folder(os.path.join(FLUX_DIR, "tokenizer_2"), pipe.tokenizer_2)
    # transformers 5 has one T5 tokenizer class (T5TokenizerFast is T5Tokenizer); name it as FLUX repositories do.
    edit_model_index(FLUX_DIR, tokenizer_2=["transformers", "T5TokenizerFast"])
    loaded = FluxPipeline.from_pretrained(FLUX_DIR, torch_dtype=torch.float32)
    assert loaded.tokenizer_max_length == 77 and loaded.tokenizer_2.model_max_length == T5_MAX_LENGTH
    flux_references(loaded)


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
