#!/usr/bin/env python3
"""Python peer of bench_generate: the same Llama architecture and sampling loop
(prefill once, repeat the KV cache per candidate, temperature 0.7, top-k 40, no
early EOS) written against PyTorch.

    /usr/bin/python3 perf/peer_generate.py --preset demo --prompts 4 --candidates 16 \
        --prompt-len 32 --new-tokens 32 --threads 2
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F


def config(preset):
    if preset == "demo":
        return dict(vocab=8000, hidden=256, layers=4, heads=4, kv_heads=4, inter=688)
    return dict(vocab=32000, hidden=768, layers=12, heads=12, kv_heads=12, inter=2048)


class Llama(torch.nn.Module):
    def __init__(self, c, max_positions):
        super().__init__()
        self.c = c
        h, d = c["hidden"], c["hidden"] // c["heads"]
        self.head_dim = d
        self.embed = torch.nn.Embedding(c["vocab"], h)
        self.layers = torch.nn.ModuleList()
        for _ in range(c["layers"]):
            layer = torch.nn.Module()
            layer.q = torch.nn.Linear(h, c["heads"] * d, bias=False)
            layer.k = torch.nn.Linear(h, c["kv_heads"] * d, bias=False)
            layer.v = torch.nn.Linear(h, c["kv_heads"] * d, bias=False)
            layer.o = torch.nn.Linear(c["heads"] * d, h, bias=False)
            layer.gate = torch.nn.Linear(h, c["inter"], bias=False)
            layer.up = torch.nn.Linear(h, c["inter"], bias=False)
            layer.down = torch.nn.Linear(c["inter"], h, bias=False)
            layer.n1 = torch.nn.Parameter(torch.ones(h))
            layer.n2 = torch.nn.Parameter(torch.ones(h))
            self.layers.append(layer)
        self.norm = torch.nn.Parameter(torch.ones(h))
        self.head = torch.nn.Linear(h, c["vocab"], bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, 0.0, 0.02)
        inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2).float() / d))
        angles = torch.outer(torch.arange(max_positions).float(), inv)
        both = torch.cat([angles, angles], -1)
        self.cos, self.sin = both.cos(), both.sin()

    @staticmethod
    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))

    def rope(self, x, pos):
        cos, sin = self.cos[pos][:, None], self.sin[pos][:, None]  # [T, 1, d] -> broadcast
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos.transpose(0, 1) + rotated * sin.transpose(0, 1)

    def forward(self, ids, cache, start):
        b, t = ids.shape
        pos = torch.arange(start, start + t)
        x = self.embed(ids)
        for i, l in enumerate(self.layers):
            y = self.rms(x, l.n1)
            q = l.q(y).view(b, t, -1, self.head_dim).transpose(1, 2)
            k = l.k(y).view(b, t, -1, self.head_dim).transpose(1, 2)
            v = l.v(y).view(b, t, -1, self.head_dim).transpose(1, 2)
            q, k = self.rope(q, pos), self.rope(k, pos)
            cache[i][0][:, :, start:start + t] = k
            cache[i][1][:, :, start:start + t] = v
            k, v = cache[i][0][:, :, :start + t], cache[i][1][:, :, :start + t]
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
            if t > 1:
                mask = torch.ones(t, start + t, dtype=torch.bool).tril(start)
                scores = scores.masked_fill(~mask, float("-inf"))
            attn = torch.softmax(scores, -1) @ v
            x = x + l.o(attn.transpose(1, 2).reshape(b, t, -1))
            y = self.rms(x, l.n2)
            x = x + l.down(F.silu(l.gate(y)) * l.up(y))
        return self.head(self.rms(x, self.norm))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="demo")
    p.add_argument("--prompts", type=int, default=4)
    p.add_argument("--candidates", type=int, default=16)
    p.add_argument("--prompt-len", type=int, default=32)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = config(a.preset)
    total = a.prompt_len + a.new_tokens
    model = Llama(c, total).eval()
    params = sum(q.numel() for q in model.parameters())
    prompts = torch.randint(c["vocab"], (a.prompts, a.prompt_len))

    def run(batch_prompts):
        d = c["hidden"] // c["heads"]
        n = batch_prompts.shape[0]
        cache = [[torch.zeros(n, c["kv_heads"], total, d) for _ in range(2)] for _ in range(c["layers"])]
        logits = model(batch_prompts, cache, 0)[:, -1]
        cache = [[t.repeat_interleave(a.candidates, 0) for t in kv] for kv in cache]
        logits = logits.repeat_interleave(a.candidates, 0)
        produced = 0
        for step in range(a.new_tokens):
            scaled = logits.double() / 0.7
            top = torch.topk(scaled, 40, -1)
            probs = torch.softmax(top.values, -1)
            pick = torch.multinomial(probs, 1)
            token = top.indices.gather(-1, pick)
            produced += token.numel()
            if step + 1 < a.new_tokens:
                logits = model(token, cache, a.prompt_len + step)[:, -1]
        return produced

    with torch.no_grad():
        run(prompts[:1])  # warm-up
        start = time.perf_counter()
        produced = run(prompts)
        seconds = time.perf_counter() - start
    print(f"| python peer (torch {torch.__version__}) | {a.preset} | {params / 1e6:.1f}M | cpu float32 "
          f"| {a.prompts} x {a.candidates} | {a.prompt_len} | {a.new_tokens} | {torch.get_num_threads()} "
          f"| {seconds:.3f} | {1000 * seconds / a.new_tokens:.2f} | {produced / seconds:.0f} |")


if __name__ == "__main__":
    main()
