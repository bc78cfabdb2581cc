#!/usr/bin/env python3
"""The alpha-beta model of rso's collectives, fitted to measured numbers and
extrapolated to large GPU counts (perf/SCALING.md explains every term).

    python3 perf/alpha_beta.py ALLREDUCE_TABLE.md [--ranks 2]
        [--step-ms 133.0] [--params 134e6] [--alpha-us 10] [--busbw-gbs 45]

ALLREDUCE_TABLE.md holds the rows `bench_allreduce` prints for one rank count
(| ranks | backend | device | bytes | dtype | mean ms | ...). The fit is a
least-squares line through (bytes, seconds) weighted by 1/seconds (relative
error, so that the microsecond rows count as much as the 64 MiB ones):

    T_ring(n, p) = 2 (p - 1) alpha + 2 (p - 1) / p * n * beta

so at the measured p the intercept is 2 (p - 1) alpha and the slope
2 (p - 1) / p beta. The all-gather of m bytes per rank (recursive doubling)
costs ceil(log2 p) alpha + (p - 1) m beta.

The extrapolation to 64-1024 GPUs uses alpha and the bus bandwidth given on
the command line (defaults: 10 us and 45 GB/s per GPU, i.e. 400 Gb/s
InfiniBand NDR per GPU at ~90% efficiency: assumptions, not measurements) for
the gradient allreduce of the benchmark model (fp32 gradients, 4 bytes per
parameter) after each step of --step-ms of compute (rso's measured H100 DPO
step), and prints the weak-scaling efficiency T_step / (T_step + T_allreduce).
"""
import argparse
import math
import sys


def read_rows(path):
    rows = []
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 6 or not cells[0].isdigit() or not cells[3].isdigit():
            continue
        rows.append((int(cells[0]), int(cells[3]), float(cells[5]) / 1e3))
    return rows


def weighted_line(points):
    # Minimise sum ((a + b x - y) / y)^2.
    sw = sx = sy = sxx = sxy = 0.0
    for x, y in points:
        w = 1.0 / (y * y)
        sw += w
        sx += w * x
        sy += w * y
        sxx += w * x * x
        sxy += w * x * y
    det = sw * sxx - sx * sx
    slope = (sw * sxy - sx * sy) / det
    intercept = (sy - slope * sx) / sw
    return intercept, slope


def ring_allreduce(n, p, alpha, beta):
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * n * beta


def tree_allreduce(n, p, alpha, beta):
    # Double binary tree (NCCL's choice at scale): logarithmic latency, the
    # same bandwidth term as the ring when pipelined.
    return 2 * math.ceil(math.log2(p)) * alpha + 2 * (p - 1) / p * n * beta


def all_gather(m, p, alpha, beta):
    return math.ceil(math.log2(p)) * alpha + (p - 1) * m * beta


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--step-ms", type=float, default=133.0)
    parser.add_argument("--params", type=float, default=134e6)
    parser.add_argument("--alpha-us", type=float, default=10.0)
    parser.add_argument("--busbw-gbs", type=float, default=45.0)
    parser.add_argument("--stats-bytes", type=int, default=168)
    args = parser.parse_args()

    p = args.ranks
    rows = [(n, t) for ranks, n, t in read_rows(args.table) if ranks == p]
    if len(rows) < 3:
        sys.exit(f"alpha_beta.py: fewer than 3 rows for {p} ranks in {args.table}")
    intercept, slope = weighted_line(rows)
    alpha = intercept / (2 * (p - 1))
    beta = slope / (2 * (p - 1) / p)
    print(f"## Fit on {len(rows)} measured sizes, {p} ranks")
    print(f"alpha = {alpha * 1e6:.2f} us, beta = {beta * 1e9:.4f} ns/byte (bus bandwidth {1 / beta / 1e9:.2f} GB/s)")
    print()
    print("| bytes | measured ms | model ms | error |")
    print("|---|---|---|---|")
    for n, t in rows:
        model = ring_allreduce(n, p, alpha, beta)
        print(f"| {n} | {t * 1e3:.3f} | {model * 1e3:.3f} | {100 * (model - t) / t:+.0f}% |")
    print()

    gpu_alpha = args.alpha_us * 1e-6
    gpu_beta = 1.0 / (args.busbw_gbs * 1e9)
    n = 4 * args.params
    step = args.step_ms * 1e-3
    print(f"## Extrapolation: {args.params / 1e6:.0f}M parameters ({n / 1e6:.0f} MB of fp32 gradients), "
          f"alpha {args.alpha_us:g} us, bus bandwidth {args.busbw_gbs:g} GB/s (assumed), step {args.step_ms:g} ms")
    print()
    print("| GPUs | ring ms | tree ms | weak eff. (ring) | weak eff. (tree) | stats all-gather us |")
    print("|---|---|---|---|---|---|")
    for gpus in (8, 64, 128, 256, 512, 1024):
        ring = ring_allreduce(n, gpus, gpu_alpha, gpu_beta)
        tree = tree_allreduce(n, gpus, gpu_alpha, gpu_beta)
        gather = all_gather(args.stats_bytes, gpus, gpu_alpha, gpu_beta)
        print(f"| {gpus} | {ring * 1e3:.1f} | {tree * 1e3:.1f} | {step / (step + ring):.3f} | "
              f"{step / (step + tree):.3f} | {gather * 1e6:.1f} |")


if __name__ == "__main__":
    main()
