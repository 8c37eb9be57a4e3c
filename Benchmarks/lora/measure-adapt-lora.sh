#!/usr/bin/env bash
# Times `prunekit adapt-lora` on the sdxl-bench and flux-bench presets (SDXL / FLUX block structure at bench widths):
# prune each by magnitude (20 % of maskable parameters), write a rank-32 fp16 LoRA on every attention and FFN linear
# of the unpruned model, slice it, and report wall time and peak RSS (/usr/bin/time -v).
#
#   Benchmarks/lora/measure-adapt-lora.sh [PRUNEKIT] [PYTHON]     # defaults: .build/release/prunekit, python3
set -euo pipefail
PRUNEKIT=${1:-.build/release/prunekit}
PYTHON=${2:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/prunekit-adapt-lora-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for preset in sdxl-bench flux-bench; do
    prefix=unet.; [ "$preset" = flux-bench ] && prefix=transformer.
    "$PRUNEKIT" prune --preset "$preset" --criterion magnitude --target 0 --random-prompts 1 --seed 0 --out "$WORK/$preset-full" > /dev/null 2>&1
    "$PRUNEKIT" prune --preset "$preset" --criterion magnitude --target 0.2 --random-prompts 1 --seed 0 --out "$WORK/$preset-pruned" > /dev/null 2>&1
    "$PYTHON" "$HERE/make_lora.py" "$WORK/$preset-full" "$WORK/$preset-lora.safetensors" --rank 32 --prefix "$prefix" --dtype fp16
    rm -rf "$WORK/$preset-full"
    /usr/bin/time -v "$PRUNEKIT" adapt-lora --lora "$WORK/$preset-lora.safetensors" --pruned "$WORK/$preset-pruned" \
        --output "$WORK/$preset-sliced.safetensors" 2> "$WORK/time.txt"
    grep -E "Elapsed \(wall|Maximum resident" "$WORK/time.txt"
    ls -l "$WORK/$preset-lora.safetensors" "$WORK/$preset-sliced.safetensors" | awk '{print $5, $9}'
done
