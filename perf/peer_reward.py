#!/usr/bin/env python3
"""Python peer of bench_reward: the same Llama architecture (perf/peer_generate.py's)
with a one-output score head read at the last token, scoring sequences of one length
in batches under torch.inference_mode.

    /usr/bin/python3 perf/peer_reward.py --preset demo --sequences 64 --batch 16 \
        --length 64 --threads 2
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_generate import Llama, config  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="demo")
    p.add_argument("--sequences", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = config(a.preset)
    model = Llama(c, a.length)
    # LlamaForSequenceClassification's head: one score from the final hidden state.
    model.head = torch.nn.Linear(c["hidden"], 1, bias=False)
    params = sum(q.numel() for q in model.parameters())
    ids = torch.randint(c["vocab"], (a.sequences, a.length))
    d = c["hidden"] // c["heads"]

    def score_all():
        scores = []
        for first in range(0, a.sequences, a.batch):
            rows = ids[first:first + a.batch]
            cache = [[torch.zeros(rows.shape[0], c["kv_heads"], a.length, d) for _ in range(2)]
                     for _ in range(c["layers"])]
            scores.append(model(rows, cache, 0)[:, -1, 0])
        return torch.cat(scores)

    with torch.inference_mode():
        score_all()  # untimed
        times = []
        for _ in range(a.repeats):
            start = time.perf_counter()
            score_all()
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(f"| python peer (torch {torch.__version__}) | {a.preset} | {params / 1e6:.1f}M | cpu float32 "
          f"| {a.sequences} | {a.length} | {a.batch} | {torch.get_num_threads()} | {seconds:.3f} "
          f"| {a.sequences / seconds:.0f} | {a.sequences * a.length / seconds:.0f} |")


if __name__ == "__main__":
    main()
