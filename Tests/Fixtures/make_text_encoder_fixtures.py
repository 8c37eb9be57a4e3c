#!/usr/bin/env python3
"""Generate PruneKit's text-encoder reference fixtures with PyTorch + transformers.

Run from the repo root:  /work/venv-fixtures/bin/python Tests/Fixtures/make_text_encoder_fixtures.py
Writes Tests/Fixtures/text-encoders/<case>/ (config.json and weights via save_pretrained, inputs.safetensors,
expected.safetensors). Seeded and deterministic; see README.md ("Text encoders") for the formats.
"""
import json
import os
import shutil

import torch
from safetensors.torch import load_file, save_file

import transformers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, T5Config, T5EncoderModel
from transformers.models.t5.modeling_t5 import T5Attention

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "text-encoders")
EXPECTED_VERSIONS = {"transformers": "5.23.0"}

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
transformers.utils.logging.set_verbosity_error()


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randomize_weights(model, seed):
    """Overwrite every parameter in named_parameters() order from one seeded generator.

    embedding tables (token, position, shared, relative_attention_bias): N(0, 1); other matrices: N(0, 1/fan_in);
    1-D weights (norms): 1 + N(0, 0.1^2); biases: N(0, 0.05^2).
    """
    g = gen(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if name.endswith("bias"):
                value = noise * 0.05
            elif p.dim() == 1:
                value = 1 + noise * 0.1
            elif "embedding" in name or "shared" in name or "embed_tokens" in name or "relative_attention_bias" in name:
                value = noise
            else:
                value = noise / p.shape[1] ** 0.5
            p.copy_(value.to(p.dtype))


def save_tensors(path, tensors, metadata):
    tensors = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in tensors.items()}
    for k, v in tensors.items():
        assert torch.isfinite(v).all(), k
    save_file(tensors, path, metadata={k: json.dumps(v, sort_keys=True) for k, v in metadata.items()})
    # safetensors writes __metadata__ in hash order: rewrite the header sorted so reruns are byte-identical.
    with open(path, "rb") as fh:
        raw = fh.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    new = json.dumps(header, separators=(",", ":")).encode("utf-8")
    new = new + b" " * (n - len(new))
    with open(path, "wb") as fh:
        fh.write(raw[:8] + new + raw[8 + n:])
    back = load_file(path)
    for k, v in tensors.items():
        assert torch.equal(back[k], v), (path, k)


def max_rel(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30))


def clip_ids(rows, length, bos, eos, pad_ids, seed):
    """Rows of [BOS, random words, EOS, padding...]; word counts and padding ids per row."""
    g = gen(seed)
    ids = []
    for words, pad in zip(rows, pad_ids):
        body = torch.randint(1, bos - 1, (words,), generator=g).tolist()
        row = [bos] + body + [eos]
        row += [pad] * (length - len(row))
        ids.append(row[:length])
    return torch.tensor(ids, dtype=torch.long)


def write_case(name, model, dtype, inputs, outputs_fn, save_kwargs, notes):
    """Round the weights to `dtype`, save them, compute the references in float32 (and float64) from the saved
    (rounded) weights, and check that from_pretrained reproduces them."""
    directory = os.path.join(ROOT, name)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    model = model.to(dtype).eval()
    model.save_pretrained(directory, safe_serialization=True, **save_kwargs)
    reference = model.to(torch.float32)
    with torch.no_grad():
        expected = outputs_fn(reference, inputs)
        expected64 = outputs_fn(reference.to(torch.float64), inputs)
    reference.to(torch.float32)
    # The saved folder must reproduce the references through transformers' own loader.
    reloaded = type(model).from_pretrained(directory, **({"variant": save_kwargs["variant"]} if "variant" in save_kwargs else {}))
    reloaded = reloaded.to(torch.float32).eval()
    with torch.no_grad():
        again = outputs_fn(reloaded, inputs)
    for k in expected:
        assert torch.equal(again[k], expected[k]), (name, k)
    f64_rel = {k: max_rel(expected[k], expected64[k]) for k in expected}
    save_tensors(os.path.join(directory, "inputs.safetensors"), {k: v.to(torch.float32) for k, v in inputs.items()},
                 {"note": "token ids and masks stored as float32 (exact)"})
    save_tensors(os.path.join(directory, "expected.safetensors"), expected,
                 {"f32_vs_f64_max_rel": f64_rel, "stored_dtype": str(dtype).replace("torch.", ""), "notes": notes,
                  "max_rel_definition": "max|a-b| / max|b| over the tensor"})
    print(f"{name}: {sorted(os.listdir(directory))}; worst f32 vs f64 {max(f64_rel.values()):.2e}")


def clip_outputs(model, inputs):
    out = model(input_ids=inputs["input_ids"], output_hidden_states=True)
    result = {f"hidden_states.{i}": h for i, h in enumerate(out.hidden_states)}
    result["last_hidden_state"] = out.last_hidden_state
    if hasattr(out, "text_embeds"):
        result["text_embeds"] = out.text_embeds
        # CLIPTextModelWithProjection returns no pooler_output: take it from the inner text model.
        result["pooler_output"] = model.text_model(input_ids=inputs["input_ids"]).pooler_output
    else:
        result["pooler_output"] = out.pooler_output
    n_layers = model.config.num_hidden_layers
    assert len(out.hidden_states) == n_layers + 1, len(out.hidden_states)
    return {k: v.detach() for k, v in result.items()}


def t5_outputs(model, inputs):
    result = {"last_hidden_state": model(input_ids=inputs["input_ids"]).last_hidden_state}
    if "attention_mask" in inputs:
        result["last_hidden_state_masked"] = model(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
    return {k: v.detach() for k, v in result.items()}


def clip_config(layers, act, eos, projection=32):
    # transformers' CLIPTextModelTester-style tiny config.
    return CLIPTextConfig(
        vocab_size=1000, hidden_size=32, intermediate_size=37, num_hidden_layers=layers, num_attention_heads=4,
        max_position_embeddings=77, hidden_act=act, layer_norm_eps=1e-5, projection_dim=projection,
        bos_token_id=998, eos_token_id=eos, pad_token_id=1)


def t5_config(layers, proj):
    # transformers' T5 test-style tiny v1.1 config.
    return T5Config(
        vocab_size=1000, d_model=32, d_kv=8, d_ff=37, num_layers=layers, num_decoder_layers=layers, num_heads=4,
        relative_attention_num_buckets=32, relative_attention_max_distance=128, feed_forward_proj=proj,
        layer_norm_epsilon=1e-6, dropout_rate=0.0, tie_word_embeddings=False, is_encoder_decoder=False,
        use_cache=False, eos_token_id=1, pad_token_id=0, decoder_start_token_id=0)


def main():
    for package, version in EXPECTED_VERSIONS.items():
        found = __import__(package).__version__
        assert found == version, f"{package} {found}, expected {version}"
    os.makedirs(ROOT, exist_ok=True)

    # CLIP inputs: 3 rows of 77; BOS 998, EOS 999 (the largest id, as 49407 is for real CLIP). Row 0 pads with EOS
    # (SDXL tokenizer/), row 1 with 0 (tokenizer_2/ pads with "!"), row 2 fills all 77 positions.
    clip_inputs = {"input_ids": clip_ids([5, 12, 80], 77, bos=998, eos=999, pad_ids=[999, 0, 999], seed=11)}

    # clip-quick-gelu: CLIP-L style (quick_gelu, legacy eos_token_id 2 -> argmax pooling), float32.
    torch.manual_seed(0)
    model = CLIPTextModel(clip_config(5, "quick_gelu", eos=2))
    randomize_weights(model, 101)
    write_case("clip-quick-gelu", model, torch.float32, clip_inputs, clip_outputs, {},
               "CLIPTextModel, 5 layers, quick_gelu, eos_token_id 2 (argmax pooling), float32 weights")

    # clip-gelu-projection: OpenCLIP bigG style (gelu, projection), eos_token_id 999 -> first-EOS pooling.
    model = CLIPTextModelWithProjection(clip_config(3, "gelu", eos=999))
    randomize_weights(model, 102)
    write_case("clip-gelu-projection", model, torch.float32, clip_inputs, clip_outputs, {},
               "CLIPTextModelWithProjection, 3 layers, gelu, eos_token_id 999 (first EOS), float32 weights")

    # clip-fp16: CLIP-L style with projection, weights rounded to float16 and saved as the fp16 variant.
    model = CLIPTextModelWithProjection(clip_config(2, "quick_gelu", eos=2))
    randomize_weights(model, 103)
    write_case("clip-fp16", model, torch.float16, clip_inputs, clip_outputs, {"variant": "fp16"},
               "CLIPTextModelWithProjection, 2 layers, quick_gelu, eos 2; float16 weights in model.fp16.safetensors; "
               "references computed in float32 from the rounded weights")

    # T5 inputs: 2 rows of 40 tokens, words then EOS (1) then padding (0).
    g = gen(21)
    t5_ids, t5_mask = [], []
    for words in (25, 39):
        row = torch.randint(2, 1000, (words,), generator=g).tolist() + [1]
        t5_mask.append([1] * len(row) + [0] * (40 - len(row)))
        t5_ids.append(row + [0] * (40 - len(row)))
    t5_inputs = {"input_ids": torch.tensor(t5_ids), "attention_mask": torch.tensor(t5_mask)}

    model = T5EncoderModel(t5_config(3, "gated-gelu"))
    randomize_weights(model, 201)
    write_case("t5-gated-gelu", model, torch.float32, t5_inputs, t5_outputs, {},
               "T5EncoderModel v1.1, 3 blocks, gated-gelu (gelu_new), float32; masked output with attention_mask")

    model = T5EncoderModel(t5_config(2, "gated-gelu"))
    randomize_weights(model, 202)
    write_case("t5-bf16-sharded", model, torch.bfloat16, {"input_ids": t5_inputs["input_ids"]}, t5_outputs,
               {"max_shard_size": "40KB"},
               "T5EncoderModel v1.1, 2 blocks, gated-gelu, bfloat16 weights in shards with model.safetensors.index.json; "
               "references computed in float32 from the rounded weights")

    model = T5EncoderModel(t5_config(2, "relu"))
    randomize_weights(model, 203)
    write_case("t5-relu", model, torch.float32, {"input_ids": t5_inputs["input_ids"][:, :24]}, t5_outputs, {},
               "T5EncoderModel (original T5 feed-forward: relu, wi/wo), 2 blocks, 24 tokens, float32")

    # Bidirectional relative-position buckets for key - query in -600..600.
    relative = torch.arange(-600, 601)[None, :]
    buckets = {}
    for num_buckets, max_distance in ((32, 128), (16, 64), (64, 256)):
        b = T5Attention._relative_position_bucket(relative, bidirectional=True, num_buckets=num_buckets,
                                                  max_distance=max_distance)
        buckets[f"buckets_{num_buckets}_{max_distance}"] = b[0].to(torch.float32)
    save_tensors(os.path.join(ROOT, "relative_position_buckets.safetensors"), buckets,
                 {"relative_positions": "-600..600 (key - query)", "bidirectional": True})
    print("done")


if __name__ == "__main__":
    main()
