#!/usr/bin/env python3
"""Peer for bench_allreduce: torch.distributed all_reduce on the same sizes.

    /usr/bin/python3 perf/peer_allreduce.py --ranks 2 [--backend gloo|nccl|mpi]

Prints rows in bench_allreduce's table format, so both land in one table.
"""
import argparse
import os
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def worker(rank, args):
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(args.port))
    torch.set_num_threads(1)
    dist.init_process_group(args.backend, rank=rank, world_size=args.ranks)
    device = torch.device("cuda", rank) if args.backend == "nccl" else torch.device("cpu")
    nbytes = args.min_bytes
    while nbytes <= args.max_bytes:
        tensor = torch.ones(nbytes // 4, dtype=torch.float32, device=device)
        dist.all_reduce(tensor)  # warm-up
        dist.barrier()
        start = time.perf_counter()
        for _ in range(args.iters):
            dist.all_reduce(tensor)
        dist.barrier()
        seconds = (time.perf_counter() - start) / args.iters
        algbw = nbytes / seconds / 1e9
        if rank == 0:
            busbw = algbw * 2.0 * (args.ranks - 1) / args.ranks
            print(f"| {args.ranks} | torch {torch.__version__} {args.backend} | {device.type} | {nbytes} "
                  f"| float32 | {seconds * 1e3:.3f} | {algbw:.3f} | {busbw:.3f} |", flush=True)
        nbytes *= 4
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--backend", default="gloo")
    parser.add_argument("--min-bytes", type=int, default=1 << 10)
    parser.add_argument("--max-bytes", type=int, default=64 << 20)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--port", type=int, default=29533)
    args = parser.parse_args()
    mp.spawn(worker, args=(args,), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
