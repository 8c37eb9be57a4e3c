"""Projected wall-clock time of EcoDiff's published mask-learning runs on N nodes (docs/scaling-out.md):

    T(N) = ⌈P/N⌉·S·t_f + E·⌈P/K⌉·(⌈K/N⌉·S·t_fb + a)

t_f and t_fb are one denoising step's times measured on one node (Benchmarks/mpi/step-times.py), a the all-reduce
of one optimizer step (its buffer is K·(units + modules + 3) floats; over a network of `--gigabits` a ring
all-reduce sends 2·(N−1)/N of it per rank, plus `--latency-ms` per step). Prints a Markdown table for K = 4
(EcoDiff's step) and K = N (`--prompts-per-step N`, one prompt per rank per step).

    python3 Benchmarks/mpi/projection.py --name "SDXL base, 1024², CFG 5" --t-f 129 --t-fb 400 --units 335400 \
        --modules 210 --prompts 100 --epochs 4 --steps 50
"""
import argparse
import math


def all_reduce_seconds(floats, nodes, gigabits, latency_ms):
    if nodes == 1:
        return 0.0
    bytes_moved = 2 * (nodes - 1) / nodes * floats * 4
    return bytes_moved / (gigabits * 1e9 / 8) + latency_ms / 1e3


def total_seconds(args, nodes, per_step):
    floats = per_step * (args.units + args.modules + 3)
    targets = math.ceil(args.prompts / nodes) * args.steps * args.t_f
    step = math.ceil(per_step / nodes) * args.steps * args.t_fb + all_reduce_seconds(floats, nodes, args.gigabits, args.latency_ms)
    return targets + args.epochs * math.ceil(args.prompts / per_step) * step


def hours(seconds):
    return f"{seconds / 3600:,.1f} h" if seconds >= 3600 else f"{seconds / 60:,.1f} min"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--t-f", type=float, required=True, help="seconds of one unmasked step on one node")
    parser.add_argument("--t-fb", type=float, required=True, help="seconds of one masked step, forward and backward")
    parser.add_argument("--units", type=int, required=True)
    parser.add_argument("--modules", type=int, required=True)
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--gigabits", type=float, default=10)
    parser.add_argument("--latency-ms", type=float, default=0.05)
    args = parser.parse_args()
    print(f"| {args.name} | 1 node | 8 nodes | 64 nodes |")
    print("|---|---|---|---|")
    for label, per_step in (("K = 4 (EcoDiff's step)", lambda n: 4), ("K = N (`--prompts-per-step N`)", lambda n: max(4, n))):
        row = [hours(total_seconds(args, n, per_step(n))) for n in (1, 8, 64)]
        print(f"| {label} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
