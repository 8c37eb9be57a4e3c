"""EcoDiff's λ over training on a demo model (issue 18).

Mask noise depends only on (seed, epoch, prompt) and the learning rate is constant, so the λ after epoch k of a
4-epoch run are the λ of a k-epoch run. This runs `prunekit prune --criterion ecodiff --epochs k --save-scores …`
for k = 1 … --epochs, and prints, as Markdown:
- the objective per epoch (mean reconstruction and penalty over the epoch's prompts, from the last run's log);
- per unit kind and module, the λ distribution after each epoch (min, 10 %, median, 90 %, max, share ≤ 0, and the
  share above the gate's always-open bound when --open-above is given);
- each attention head's λ per epoch, and with --oracle the Spearman correlation between the head λ and the
  measured damage of removing each head alone (single-head-oracle.json, written from single-head-oracle.py).

    python3 docs/experiments/ecodiff-flux/lambda-over-training.py --prunekit .build-release/release/prunekit \
        --model Models/demo-flux --work /tmp/lambda-flux --oracle docs/experiments/ecodiff-flux/single-head-oracle.json

Needs numpy only (safetensors files are read directly).
"""
import argparse
import json
import os
import re
import struct
import subprocess

import numpy as np


def read_safetensors(path):
    """Tensors of a float32 safetensors file, by name."""
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
        data = file.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {entry['dtype']}, expected F32")
        start, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype=np.float32).reshape(entry["shape"])
    return tensors


def ranks(values):
    return np.argsort(np.argsort(np.asarray(values)))


def spearman(a, b):
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def kind_of(module):
    if module.endswith(".attn") or module.endswith("attn1") or module.endswith("attn2"):
        return "heads"
    return "neurons"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prunekit", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--oracle", help="single-head-oracle.json: {\"<module>.<head>\": {\"adherence\": %, \"psnr\": dB}}")
    parser.add_argument("--open-above", type=float,
                        help="λ above which every gate draw is 1 (no gradient reaches the unit); reported as a share")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)

    lambdas = []
    log = ""
    for epochs in range(1, args.epochs + 1):
        scores = os.path.join(args.work, f"lambda-epoch-{epochs}.safetensors")
        run = subprocess.run(
            [args.prunekit, "prune", "--model", args.model, "--criterion", "ecodiff", "--epochs", str(epochs),
             "--seed", str(args.seed), "--save-scores", scores, "--out", os.path.join(args.work, f"out-{epochs}"),
             "--overwrite"], capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"prune --epochs {epochs} failed:\n{run.stderr}")
        log = run.stderr + run.stdout
        lambdas.append({key[len("score."):]: value for key, value in read_safetensors(scores).items()})

    print("### Objective per epoch\n")
    print("| epoch | reconstruction (mean over prompts) | penalty (mean) |")
    print("|---|---|---|")
    pattern = re.compile(r"epoch (\d+) prompt \d+: loss \S+ = reconstruction (\S+) \+ penalty (\S+);")
    per_epoch = {}
    for epoch, reconstruction, penalty in pattern.findall(log):
        per_epoch.setdefault(int(epoch), []).append((float(reconstruction), float(penalty)))
    for epoch in sorted(per_epoch):
        values = np.array(per_epoch[epoch])
        print(f"| {epoch} | {values[:, 0].mean():.4g} | {values[:, 1].mean():.4g} |")

    print("\n### λ per unit kind and module after each epoch\n")
    header = "| kind | module | epoch | min | 10 % | median | 90 % | max | share ≤ 0 |"
    if args.open_above is not None:
        header += f" share > {args.open_above:g} |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    modules = sorted(lambdas[0], key=lambda module: (kind_of(module), module))
    for kind in ("heads", "neurons"):
        chosen = [module for module in modules if kind_of(module) == kind]
        for module in chosen + ["(all)"]:
            for epoch, values in enumerate(lambdas, start=1):
                data = np.concatenate([values[m] for m in chosen]) if module == "(all)" else values[module]
                q = np.quantile(data, [0, 0.1, 0.5, 0.9, 1])
                row = (f"| {kind} | {module} | {epoch} | " + " | ".join(f"{v:.2f}" for v in q)
                       + f" | {100 * np.mean(data <= 0):.1f} % |")
                if args.open_above is not None:
                    row += f" {100 * np.mean(data > args.open_above):.1f} % |"
                print(row)

    heads = [module for module in modules if kind_of(module) == "heads"]
    print("\n### Head λ per epoch\n")
    print("| module | " + " | ".join(f"epoch {e}" for e in range(1, len(lambdas) + 1)) + " |")
    print("|---" * (len(lambdas) + 1) + "|")
    for module in heads:
        print(f"| {module} | " + " | ".join(" ".join(f"{v:.2f}" for v in values[module]) for values in lambdas) + " |")

    if args.oracle:
        with open(args.oracle) as file:
            oracle = json.load(file)
        keys = sorted(oracle)
        damage_adherence = [-oracle[k]["adherence"] for k in keys]
        damage_psnr = [-oracle[k]["psnr"] for k in keys]
        print("\n### Head λ against the single-head oracle (Spearman with damage; +1: the λ order is the oracle's)\n")
        print("| epoch | by adherence | by PSNR |")
        print("|---|---|---|")
        for epoch, values in enumerate(lambdas, start=1):
            scores = [float(values[k.rsplit(".", 1)[0]][int(k.rsplit(".", 1)[1])]) for k in keys]
            print(f"| {epoch} | {spearman(scores, damage_adherence):+.2f} | {spearman(scores, damage_psnr):+.2f} |")


if __name__ == "__main__":
    main()
