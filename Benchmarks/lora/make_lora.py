"""Write a LoRA with random factors for every attention and FFN linear of a diffusers denoiser folder.

Used by measure-adapt-lora.sh to time `prunekit adapt-lora` on bench-size models. Names are diffusers/PEFT
(`<prefix><module>.lora_A.weight` / `.lora_B.weight`), or kohya-style (`lora_unet_<module with _>`, with `alpha`).

    python make_lora.py MODEL_DIR OUT.safetensors [--rank 32] [--prefix unet.] [--kohya] [--dtype fp16|bf16|fp32]
"""
import argparse
import json
import os
import struct

import torch
from safetensors.torch import save_file


def header(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(length))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--rank", type=int, default=32)
    parser.add_argument("--prefix", default="unet.")
    parser.add_argument("--kohya", action="store_true")
    parser.add_argument("--dtype", default="fp16", choices=["fp16", "bf16", "fp32"])
    args = parser.parse_args()
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype]
    entries = header(os.path.join(args.model, "diffusion_pytorch_model.safetensors"))
    generator = torch.Generator().manual_seed(0)
    tensors = {}
    for key, info in sorted(entries.items()):
        if key == "__metadata__" or not key.endswith(".weight") or len(info["shape"]) != 2:
            continue
        module = key[: -len(".weight")]
        if not any(part in module for part in (".attn", ".ff", "proj_mlp", "proj_out")):
            continue
        out, inp = info["shape"]
        down = (torch.randn(args.rank, inp, generator=generator) * 0.02).to(dtype)
        up = (torch.randn(out, args.rank, generator=generator) * 0.02).to(dtype)
        if args.kohya:
            name = "lora_unet_" + module.replace(".", "_")
            tensors[name + ".lora_down.weight"], tensors[name + ".lora_up.weight"] = down, up
            tensors[name + ".alpha"] = torch.tensor(float(args.rank)).to(dtype)
        else:
            tensors[args.prefix + module + ".lora_A.weight"], tensors[args.prefix + module + ".lora_B.weight"] = down, up
    save_file(tensors, args.out, metadata={"format": "pt"})
    count = sum(t.numel() for t in tensors.values())
    print(f"{args.out}: {len(tensors)} tensors, {count} parameters, {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
