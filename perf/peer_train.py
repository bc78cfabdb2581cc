#!/usr/bin/env python3
"""Python peer of bench_train: one preference-training step in PyTorch on the same
Llama architecture (perf/peer_generate.py's), sequence log-probs of chosen and
rejected responses (one concatenated forward), the DPO (sigmoid-norm) loss, backward, torch.optim.AdamW.

    /usr/bin/python3 perf/peer_train.py --preset demo --pairs 8 --prompt-len 32 \
        --response-len 32 --steps 5 --threads 2
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_generate import Llama, config  # noqa: E402


def sequence_logprob(model, c, prompts, responses):
    ids = torch.cat([prompts, responses], 1)
    b, t = ids.shape
    d = c["hidden"] // c["heads"]
    cache = [[torch.zeros(b, c["kv_heads"], t, d) for _ in range(2)] for _ in range(c["layers"])]
    logits = model(ids, cache, 0)[:, :-1].float()
    logp = F.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return logp[:, prompts.shape[1] - 1:].sum(-1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="demo")
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--prompt-len", type=int, default=32)
    p.add_argument("--response-len", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = config(a.preset)
    model = Llama(c, a.prompt_len + a.response_len)
    params = sum(q.numel() for q in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0)
    prompts = torch.randint(c["vocab"], (a.pairs, a.prompt_len))
    chosen = torch.randint(c["vocab"], (a.pairs, a.response_len))
    rejected = torch.randint(c["vocab"], (a.pairs, a.response_len))

    def step():
        opt.zero_grad(set_to_none=True)
        # Chosen and rejected in one forward, as rso (and TRL's concatenated_forward) do.
        both = sequence_logprob(model, c, torch.cat([prompts, prompts]), torch.cat([chosen, rejected]))
        delta = both[:a.pairs] - both[a.pairs:]
        F.softplus(-0.05 * delta).mean().backward()
        opt.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    seconds = time.perf_counter() - start
    tokens = a.steps * a.pairs * 2 * (a.prompt_len + a.response_len)
    print(f"| python peer (torch {torch.__version__}) | {a.preset} | {params / 1e6:.1f}M | {a.pairs} "
          f"| {a.prompt_len} + {a.response_len} | {torch.get_num_threads()} | {1000 * seconds / a.steps:.1f} "
          f"| {tokens / seconds:.0f} |")


if __name__ == "__main__":
    main()
