"""The PyTorch side of one row of the comparison, run in a fresh process by compare.py.

    python torch_rows.py --work WORK --model sdxl|flux --row forward|backward|iteration|pruned
        [--batch N] [--percent P] [--warmups N] [--iterations N] [--threads N] --result PATH --output PATH

Mirrors `prunekit-bench compare-row` (Sources/PruneBenchmarks/Comparison/ComparisonRows.swift): the same
files, the same work per timed call, the same untimed warm-ups. The output of the first call goes to
--output (safetensors, the same names as PruneKit's), the times and the resident size before loading (after
the imports) to --result (JSON). Exits 1 with one line
on stderr when a file is missing or malformed.
"""
import argparse
import json
import os
import sys
import time

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import torch_ecodiff
import torch_masks
import torch_models

ROWS = ("forward", "backward", "iteration", "pruned")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--model", required=True, choices=("sdxl", "flux"))
    parser.add_argument("--row", required=True, choices=ROWS)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--percent", type=int, default=0)
    parser.add_argument("--warmups", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--result", required=True)
    parser.add_argument("--output", required=True)
    return parser.parse_args(argv)


def tensors(path):
    """Every tensor of a safetensors file, copied into fresh (aligned) memory."""
    if not os.path.exists(path):
        raise torch_ecodiff.TrajectoryError(f"{path}: not found (run the setup first)")
    return {key: value.clone() for key, value in load_file(path).items()}


def wall_seconds(body):
    """(seconds, result) of one call of `body`."""
    begin = time.perf_counter()
    produced = body()
    return time.perf_counter() - begin, produced


def resident_bytes():
    """VmRSS of this process: after the imports, before the model loads (the runtime's own footprint)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def forward_body(model, kind, inputs):
    forward = torch_ecodiff.sdxl_forward if kind == "sdxl" else torch_ecodiff.flux_forward

    def body():
        with torch.inference_mode():
            return {"output": forward(model, inputs)}
    return body


def backward_body(model, kind, inputs, masks_path):
    forward = torch_ecodiff.sdxl_forward if kind == "sdxl" else torch_ecodiff.flux_forward
    stored = tensors(masks_path)
    slot = torch_masks.MaskSlot()
    specs = torch_masks.install_masks(model, slot)
    leaves = {}
    for key, units, _, _ in specs:
        name = f"mask.{key}"
        if name not in stored or stored[name].shape != (units,):
            raise torch_ecodiff.TrajectoryError(f"{masks_path}: expected {name} of shape [{units}]")
        leaves[key] = stored[name].requires_grad_(True)
    if len(leaves) != sum(1 for key in stored if key.startswith("mask.")):
        raise torch_ecodiff.TrajectoryError(f"{masks_path}: its masks name other modules than diffusers' model has")
    weights = stored["loss_weights"]

    def body():
        slot.masks = leaves
        output = forward(model, inputs)
        gradients = torch.autograd.grad((output * weights).sum(), list(leaves.values()))
        slot.masks = None
        produced = {"output": output.detach()}
        produced.update({f"grad.{key}": gradient for key, gradient in zip(leaves, gradients)})
        return produced
    return body


def iteration_body(model, kind, trajectory_path):
    if not os.path.exists(trajectory_path):
        raise torch_ecodiff.TrajectoryError(f"{trajectory_path}: not found (run the setup first)")
    with safe_open(trajectory_path, "pt") as handle:
        metadata = handle.metadata() or {}
    settings = torch_ecodiff.parse_metadata(metadata, "trajectory", trajectory_path)
    ecodiff = torch_ecodiff.parse_metadata(metadata, "ecodiff", trajectory_path)
    modules = [tuple(entry) for entry in torch_ecodiff.parse_metadata(metadata, "modules", trajectory_path)]
    stored = tensors(trajectory_path)
    slot = torch_masks.MaskSlot()
    specs = torch_masks.install_masks(model, slot)
    if {(key, units) for key, units, _, _ in specs} != {(key, units) for key, units, _ in modules}:
        raise torch_ecodiff.TrajectoryError(f"{trajectory_path}: its modules differ from diffusers' maskable modules")
    trajectory = torch_ecodiff.Trajectory(model, kind, stored, settings)
    uniforms = {key: value for key, value in stored.items() if key.startswith("u.")}
    learner = torch_ecodiff.MaskLearner(modules, ecodiff, uniforms)
    noise = stored["noise"]

    def body():
        loss, reconstruction, penalty, gradients = torch_ecodiff.iteration(trajectory, learner, slot, noise)
        produced = {"loss": torch.tensor([loss]), "reconstruction": torch.tensor([reconstruction]),
                    "penalty": torch.tensor([penalty])}
        produced.update({f"grad.{key}": gradient for key, gradient in gradients.items()})
        return produced
    return body


def main(argv):
    args = parse_arguments(argv)
    torch.set_num_threads(args.threads)
    model_dir = os.path.join(args.work, args.model, f"pruned-{args.percent}" if args.row == "pruned" else "model")
    baseline = resident_bytes()
    start = time.perf_counter()
    model = torch_models.load_model(model_dir)
    load_seconds = time.perf_counter() - start
    inputs_path = os.path.join(args.work, args.model, f"inputs-b{1 if args.row in ('pruned', 'backward') else args.batch}.safetensors")
    if args.row in ("forward", "pruned"):
        body = forward_body(model, args.model, tensors(inputs_path))
    elif args.row == "backward":
        body = backward_body(model, args.model, tensors(inputs_path), os.path.join(args.work, args.model, "masks.safetensors"))
    else:
        body = iteration_body(model, args.model, os.path.join(args.work, args.model, "trajectory.safetensors"))
    # The pruned row also times the unpruned model in this process, alternating calls (as PruneKit's side does).
    dense_body = None
    if args.row == "pruned":
        dense_body = forward_body(torch_models.load_model(os.path.join(args.work, args.model, "model")), args.model,
                                  tensors(inputs_path))
    seconds, dense_seconds, first = [], [], None
    for call in range(args.warmups + max(args.iterations, 1)):
        if dense_body is not None and call % 2 == 1:
            elapsed = wall_seconds(dense_body)[0]
            if call >= args.warmups:
                dense_seconds.append(elapsed)
        elapsed, produced = wall_seconds(body)
        if call == 0:
            first = produced
        if call >= args.warmups:
            seconds.append(elapsed)
        if dense_body is not None and call % 2 == 0:
            elapsed = wall_seconds(dense_body)[0]
            if call >= args.warmups:
                dense_seconds.append(elapsed)
    save_file({key: value.detach().contiguous() for key, value in first.items()}, args.output)
    result = {"seconds": seconds, "load_seconds": load_seconds, "parameters": sum(p.numel() for p in model.parameters()),
              "threads": torch.get_num_threads(), "baseline_rss_bytes": baseline}
    if dense_body is not None:
        result["dense_seconds"] = dense_seconds
    with open(args.result + ".tmp", "w") as handle:
        json.dump(result, handle, sort_keys=True)
    os.replace(args.result + ".tmp", args.result)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (torch_ecodiff.TrajectoryError, torch_models.PrunedModelError, OSError) as error:
        print(f"torch_rows: {error}", file=sys.stderr)
        sys.exit(1)
