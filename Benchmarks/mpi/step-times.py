"""Times the two kinds of denoising step mask learning is made of, on one process, for a model preset:
t_f, one unmasked step (the target's, CFG included) and t_fb, one masked step forward and backward (time-step
checkpointed), from a `prunekit prune` run of one prompt, one step, one epoch whose progress lines are
timestamped as they arrive. Prints one Markdown row; docs/scaling-out.md uses them. A run the kernel kills
during the masked step (out of memory) still reports t_f.

    python3 Benchmarks/mpi/step-times.py --prunekit .build-release/release/prunekit --preset sdxl-base --size 512
"""
import argparse
import subprocess
import tempfile
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prunekit", required=True)
    parser.add_argument("--preset", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--guidance", type=float, help="guidance scale (default: the preset's; 1 turns SDXL's CFG batch of 2 into 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        command = [args.prunekit, "prune", "--preset", args.preset, "--criterion", "ecodiff", "--random-prompts", "1",
                   "--steps", "1", "--epochs", "1", "--height", str(args.size), "--width", str(args.size),
                   "--checkpoint-every", "0", "--out", work + "/out"]
        if args.guidance is not None:
            command += ["--guidance", str(args.guidance)]
        start = time.monotonic()
        process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        marks = {}
        for line in process.stderr:
            now = time.monotonic() - start
            if "calibrating on" in line:
                marks["targets start"] = now
            if "calibration prompt 1/1" in line:
                marks["targets end"] = now
            if "training" in line and "masks" in line:
                marks["training start"] = now
            if "epoch 1 prompt 1:" in line:
                marks["training end"] = now
        status = process.wait()
    if "targets end" not in marks:
        raise SystemExit(f"{' '.join(command)} failed (exit {status}) before its unmasked step ended")
    t_f = f'{marks["targets end"] - marks["targets start"]:.2f}'
    if status == 0:
        t_fb = f'{marks["training end"] - marks["training start"]:.2f}'
    elif status < 0:
        # Killed by a signal: on Linux the out-of-memory killer sends SIGKILL.
        t_fb = f"killed by signal {-status} (out of memory?) after its unmasked step"
    else:
        raise SystemExit(f"{' '.join(command)} failed (exit {status})")
    guidance = "preset's" if args.guidance is None else f"{args.guidance:g}"
    print(f"| {args.preset} | {args.size}² | guidance {guidance} | {t_f} | {t_fb} |")


if __name__ == "__main__":
    main()
