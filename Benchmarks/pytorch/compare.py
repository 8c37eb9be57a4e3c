"""Runs the side-by-side benchmark of PruneKit and PyTorch (see compare.sh, which sets everything up).

Every row runs `--rounds` times per side (default once), each time in its own child process (PruneKit:
`prunekit-bench compare-row`, PyTorch: torch_rows.py), the two sides one after the other and in alternating
order, with the same thread count. The parent reads each child's peak resident set size from `wait4`
(ru_maxrss), and the child reports the wall time of every timed call (after untimed warm-ups); the row's time
is the median over all rounds. The pruned rows also time the unpruned model in the same child, call by call
alternately, which gives the pruning speedup.
Outputs of both sides are compared, so a row whose two sides disagree is flagged rather than timed blind.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

import comparison_report as report
import numpy as np
from safetensors.numpy import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def rows(quick):
    """(model, row, batch, percent, warmups, iterations) of every row, in running order."""
    def policy(row):
        if quick:
            return (0, 1) if row == "iteration" else (1, 2)
        return {"forward": (3, 7), "pruned": (3, 7), "backward": (2, 5), "iteration": (1, 3)}[row]
    plan = []
    for model in ("sdxl", "flux"):
        for batch in (1, 2):
            plan.append((model, "forward", batch, 0) + policy("forward"))
        plan.append((model, "backward", 1, 0) + policy("backward"))
        plan.append((model, "iteration", 1, 0) + policy("iteration"))
        for percent in (10, 20, 30):
            plan.append((model, "pruned", 1, percent) + policy("pruned"))
    return plan


def row_name(model, row, batch, percent):
    return f"{model}-{row}-" + (f"p{percent}" if row == "pruned" else f"b{batch}")


def run_child(command, environment):
    """Runs `command`; returns (exit status, peak RSS in bytes, stderr text)."""
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss * 1024, stderr


def side_command(side, args, work, model, row, batch, percent, warmups, iterations, result, output):
    common = ["--work", work, "--model", model, "--row", row, "--batch", str(batch), "--percent", str(percent),
              "--warmups", str(warmups), "--iterations", str(iterations), "--result", result, "--output", output]
    if side == "prunekit":
        return [args.bench, "compare-row"] + common
    return [sys.executable, os.path.join(HERE, "torch_rows.py"), "--threads", str(args.threads)] + common


def environment(threads, blas_kernels):
    """The children's environment: `threads` threads on both sides; with `blas_kernels == "auto"` without
    OPENBLAS_CORETYPE, so that OpenBLAS picks its kernels for this CPU as PyTorch's MKL and oneDNN pick theirs
    (a pinned kernel set, e.g. the AVX2 `Haswell` one on an AVX-512 CPU, would hold back only PruneKit's side)."""
    env = dict(os.environ)
    for name in ("PRUNEKIT_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    if blas_kernels == "auto":
        env.pop("OPENBLAS_CORETYPE", None)
    return env


def max_relative(a, b):
    """max|a - b| / max|b| over all elements (the fixtures' definition)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        return float("inf")
    scale = max(np.abs(b).max(initial=0.0), 1e-30)
    return float(np.abs(a - b).max(initial=0.0) / scale)


def agreement(prunekit_path, torch_path):
    """How closely the two sides' outputs of the row agree (max relative difference per quantity)."""
    ours, theirs = load_file(prunekit_path), load_file(torch_path)
    if set(ours) != set(theirs):
        return {"error": f"different outputs: {sorted(set(ours) ^ set(theirs))[:4]}"}
    result = {}
    if "output" in ours:
        result["output"] = max_relative(ours["output"], theirs["output"])
    gradients = sorted(key for key in ours if key.startswith("grad."))
    if gradients:
        result["mask_gradients"] = max_relative(np.concatenate([ours[k].ravel() for k in gradients]),
                                                np.concatenate([theirs[k].ravel() for k in gradients]))
    if "loss" in ours:
        result["loss"] = max_relative(ours["loss"], theirs["loss"])
    return result


def run_side(args, env, outputs, side, spec, round_index):
    """One child of one side for the row `spec`; returns its result (times, peak RSS) or {"error": …}."""
    model, row, batch, percent, warmups, iterations = spec
    name = row_name(model, row, batch, percent)
    result, output = (os.path.join(outputs, f"{name}.{side}.{round_index}.{suffix}") for suffix in ("json", "safetensors"))
    for path in (result, output):
        if os.path.exists(path):
            os.remove(path)
    command = side_command(side, args, args.work, model, row, batch, percent, warmups, iterations, result, output)
    status, peak, stderr = run_child(command, env)
    if status != 0 or not os.path.exists(result):
        return {"error": stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {status}"}
    with open(result) as handle:
        child = json.load(handle)
    return {"samples": child["seconds"], "peak_rss_bytes": peak, "load_seconds": child["load_seconds"],
            "parameters": child["parameters"], "threads": child["threads"],
            "baseline_rss_bytes": child["baseline_rss_bytes"], "dense_samples": child.get("dense_seconds"), "output": output,
            "gemm_operations": child.get("gemm_operations"), "dense_gemm_operations": child.get("dense_gemm_operations")}


def measure(args, outputs, plan):
    """Runs every selected row: `args.rounds` rounds, each running both sides in alternating order.
    A side's time is the median of its timed calls over all rounds; its peak RSS the largest of its rounds."""
    env = environment(args.threads, args.blas_kernels)
    measured = []
    for index, spec in enumerate(plan):
        model, row, batch, percent, warmups, iterations = spec
        name = row_name(model, row, batch, percent)
        if args.only and not any(pattern in name for pattern in args.only):
            continue
        entry = {"name": name, "model": model, "row": row, "batch": batch, "percent": percent,
                 "warmups": warmups, "iterations": iterations, "rounds": args.rounds}
        runs = {"prunekit": [], "pytorch": []}
        for round_index in range(args.rounds):
            sides = ("prunekit", "pytorch") if (index + round_index) % 2 == 0 else ("pytorch", "prunekit")
            for side in sides:
                runs[side].append(run_side(args, env, outputs, side, spec, round_index))
        for side, results in runs.items():
            failed = [r for r in results if "error" in r]
            if failed:
                entry[side] = {"error": failed[0]["error"]}
                print(f"  {name} {side}: FAILED: {failed[0]['error']}", flush=True)
                continue
            samples = [value for r in results for value in r["samples"]]
            peak = max(r["peak_rss_bytes"] for r in results)
            baseline = min(r["baseline_rss_bytes"] for r in results)
            entry[side] = {"seconds": statistics.median(samples), "samples": samples, "peak_rss_bytes": peak,
                           "baseline_rss_bytes": baseline, "working_set_bytes": peak - baseline,
                           "load_seconds": results[0]["load_seconds"], "parameters": results[0]["parameters"],
                           "threads": results[0]["threads"]}
            if results[0]["dense_samples"] is not None:
                dense = [value for r in results for value in r["dense_samples"]]
                entry[side]["dense_seconds"] = statistics.median(dense)
                entry[side]["dense_samples"] = dense
                entry[side]["speedup"] = entry[side]["dense_seconds"] / entry[side]["seconds"]
            if results[0].get("gemm_operations"):
                entry[side]["gemm_operations"] = results[0]["gemm_operations"]
            if results[0].get("dense_gemm_operations"):
                entry[side]["dense_gemm_operations"] = results[0]["dense_gemm_operations"]
        if "seconds" in entry["prunekit"] and "seconds" in entry["pytorch"]:
            entry["time_ratio"] = entry["prunekit"]["seconds"] / entry["pytorch"]["seconds"]
            entry["rss_ratio"] = entry["prunekit"]["peak_rss_bytes"] / entry["pytorch"]["peak_rss_bytes"]
            entry["working_set_ratio"] = entry["prunekit"]["working_set_bytes"] / entry["pytorch"]["working_set_bytes"]
            entry["agreement"] = agreement(runs["prunekit"][0]["output"], runs["pytorch"][0]["output"])
        report.print_row(entry)
        measured.append(entry)
    return measured


def pruning_speedups(measured):
    """Per model and side: unpruned / pruned batch-1 forward time at each percentage, both timed in the pruned
    row's process, call by call alternately; under "gemm_bound", unpruned / pruned GEMM operations (PruneKit's
    count), the speed-up if time followed the matrix-product work."""
    speedups = {}
    for entry in measured:
        if entry["row"] != "pruned":
            continue
        for side in ("prunekit", "pytorch"):
            if "speedup" in entry.get(side, {}):
                speedups.setdefault(entry["model"], {}).setdefault(side, {})[str(entry["percent"])] = entry[side]["speedup"]
        ours = entry.get("prunekit", {})
        if ours.get("gemm_operations") and ours.get("dense_gemm_operations"):
            bound = ours["dense_gemm_operations"] / ours["gemm_operations"]
            speedups.setdefault(entry["model"], {}).setdefault("gemm_bound", {})[str(entry["percent"])] = bound
    return speedups


def machine_info(args, setup):
    import diffusers
    import safetensors
    import torch
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) * 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    return {
        "cpu": cpu, "logical_cpus": os.cpu_count(), "memory_bytes": memory, "kernel": platform.release(),
        "threads": args.threads, "niceness": os.nice(0), "swift": swift[0] if swift else "unknown", "openblas": setup.get("openblas_config", "unknown"),
        "blas_kernels": args.blas_kernels, "caller_openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
        "safetensors": safetensors.__version__, "torch_parallel": torch.__config__.parallel_info().strip().splitlines()[:6],
    }


def passed_arguments(argv):
    """The command-line arguments a user gave compare.sh (compare.sh adds --bench itself)."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--bench":
            skip = True
        elif not argument.startswith("--bench="):
            kept.append(argument)
    return kept


def write_atomically(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def main(argv):
    parser = argparse.ArgumentParser(description="PruneKit vs PyTorch, side by side")
    parser.add_argument("--bench", required=True, help="the prunekit-bench executable (release build)")
    parser.add_argument("--work", default=os.path.join(ROOT, ".build-compare"), help="where models and outputs go")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8, help="denoising steps of the mask-learning iteration")
    parser.add_argument("--quick", action="store_true", help="one or two timed calls per row (development)")
    parser.add_argument("--rounds", type=int, default=1, help="run both sides of every row this many times, alternating")
    parser.add_argument("--blas-kernels", choices=("auto", "inherit"), default="auto",
                        help="auto: OpenBLAS picks its kernels for the CPU (OPENBLAS_CORETYPE removed for the run); "
                             "inherit: keep the caller's OPENBLAS_CORETYPE")
    parser.add_argument("--only", action="append", help="run only rows whose name contains this; repeatable")
    parser.add_argument("--json", default=os.path.join(ROOT, "docs/benchmarks/pytorch-comparison.json"))
    parser.add_argument("--markdown", default=os.path.join(ROOT, "docs/benchmarks/pytorch-comparison.md"))
    parser.add_argument("--command", default="bash Benchmarks/pytorch/compare.sh", help="the command recorded in the report")
    args = parser.parse_args(argv)

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    work = args.work = os.path.abspath(args.work)
    outputs = os.path.join(work, "outputs")
    os.makedirs(outputs, exist_ok=True)
    print(f"writing the models and inputs to {work}", flush=True)
    setup = subprocess.run([args.bench, "compare-setup", work, "--steps", str(args.steps)], env=environment(args.threads, args.blas_kernels))
    if setup.returncode != 0:
        sys.exit(f"compare: prunekit-bench compare-setup failed with status {setup.returncode}")
    with open(os.path.join(work, "setup.json")) as handle:
        setup_summary = json.load(handle)
    report.print_header()
    measured = measure(args, outputs, rows(args.quick))
    document = {
        "command": " ".join([args.command] + passed_arguments(argv)), "date": started.isoformat(timespec="seconds"),
        "quick": args.quick, "rounds": args.rounds, "steps": args.steps, "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()), "machine": machine_info(args, setup_summary), "setup": setup_summary,
        "rows": measured, "pruning_speedups": pruning_speedups(measured),
        "targets": {"time_ratio_max": 1.0, "rss_ratio_max": 1.0, "pruned_20_speedup_min": 1.15},
    }
    report.print_summary(document)
    write_atomically(args.json, json.dumps(document, indent=1, sort_keys=True) + "\n")
    write_atomically(args.markdown, report.markdown(document))
    print(f"wrote {os.path.relpath(args.json, ROOT)} and {os.path.relpath(args.markdown, ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
