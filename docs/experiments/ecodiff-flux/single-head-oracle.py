"""Single-head removal oracle for a demo model (issue 18).

For every attention head of the model, writes a masks file that removes that head alone, runs
`prunekit prune --masks … --report …` (export, reload, 72 prompts from the evaluation noise) and prints its strict
adherence and PSNR to the original. Then prints, for each given scores file (`--save-scores` output), the Spearman
rank correlation between the criterion's head scores and the measured damage. The measurements are also written to
`<work>/single-head-oracle.json` (the committed one beside this script is the FLUX demo's, for
lambda-over-training.py).

    python docs/experiments/ecodiff-flux/single-head-oracle.py --prunekit .build-release/release/prunekit \
        --model Models/demo-flux --scores /tmp/e18/base.safetensors --work /tmp/oracle

Needs numpy and safetensors (python/requirements-test.txt has both).
"""
import argparse
import json
import os
import subprocess

import numpy as np
from safetensors.numpy import load_file, save_file


def ranks(values):
    return np.argsort(np.argsort(np.asarray(values)))


def spearman(a, b):
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prunekit", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--scores", action="append", required=True,
                        help="a --save-scores file; the first one also names the model's modules")
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)

    reference = load_file(args.scores[0])
    modules = {key[len("score."):]: value.shape[0] for key, value in reference.items()}
    heads = sorted(key for key in modules if key.endswith(".attn"))
    measured = {}
    for module in heads:
        for head in range(modules[module]):
            name = f"{module}.{head}"
            masks = {f"mask.{key}": np.ones(count, dtype=np.float32) for key, count in modules.items()}
            masks[f"mask.{module}"][head] = 0
            masks_path = os.path.join(args.work, name + ".safetensors")
            save_file(masks, masks_path)
            out, report = os.path.join(args.work, "o-" + name), os.path.join(args.work, "r-" + name)
            subprocess.run([args.prunekit, "prune", "--model", args.model, "--masks", masks_path, "--out", out,
                            "--report", report, "--overwrite"], check=True, capture_output=True)
            with open(os.path.join(report, "report.json")) as file:
                data = json.load(file)
            measured[(module, head)] = data
            print(name, json.dumps(summary(data)), flush=True)

    keys = sorted(measured)
    with open(os.path.join(args.work, "single-head-oracle.json"), "w") as file:
        json.dump({f"{m}.{h}": summary(measured[(m, h)]) for m, h in keys}, file, indent=1)
    damage_adherence = [-summary(measured[k])["adherence"] for k in keys]
    damage_psnr = [-summary(measured[k])["psnr"] for k in keys]
    for path in args.scores:
        scores = load_file(path)
        values = [float(scores["score." + module][head]) for module, head in keys]
        print(f"{path}: Spearman(score, damage) by adherence {spearman(values, damage_adherence):+.2f}, "
              f"by PSNR {spearman(values, damage_psnr):+.2f}")


def summary(report):
    """Strict adherence (%) and PSNR (dB) of a `prune --report` report.json."""
    pruned = report["pruned"]
    return {"adherence": 100 * pruned["adherence"]["strict"]["all"], "psnr": report["fidelity"]["psnr"]}


if __name__ == "__main__":
    main()
