#!/usr/bin/env python3
"""GPU peer of bench_generate, bench_train and bench_reward: Hugging Face transformers
(LlamaForCausalLM, LlamaForSequenceClassification; SDPA attention) on the benchmark
model, random weights.

    python3 perf/peer_gpu.py generate --prompts 8 --candidates 64 --prompt-len 128 --new-tokens 128
    python3 perf/peer_gpu.py train --pairs 32 --prompt-len 256 --response-len 256
    python3 perf/peer_gpu.py reward --sequences 512 --batch 64 --length 256

generate: `model.generate` with sampling (temperature 0.7, top-k 40), no EOS
(every candidate gets all new tokens), bf16 weights, once with the default
dynamic cache and once with cache_implementation="static"; prefill included,
the median of --repeats timed calls after one untimed call.

train: one DPO (sigmoid-norm) step as TRL runs it: chosen and rejected in one
concatenated forward, log-probs of the response tokens only (logits_to_keep),
reference log-probs given, backward, fused AdamW over float32 weights, bf16
autocast.

reward: one score per sequence (LlamaForSequenceClassification, one label, bf16,
no padding), in batches, under inference mode. Prints the rows bench_generate /
bench_train / bench_reward print.
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import LlamaConfig, LlamaForCausalLM


def benchmark_model(max_positions, dtype):
    config = LlamaConfig(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                         num_attention_heads=12, num_key_value_heads=12, max_position_embeddings=max_positions,
                         tie_word_embeddings=False)
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to("cuda", dtype)
    return model, sum(p.numel() for p in model.parameters())


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def run_generate(a):
    model, params = benchmark_model(a.prompt_len + a.new_tokens, torch.bfloat16)
    model.eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    ids = torch.randint(32000, (a.prompts, a.prompt_len), device="cuda")
    mask = torch.ones_like(ids)
    for cache in ("dynamic", "static"):
        kwargs = dict(attention_mask=mask, do_sample=True, temperature=0.7, top_k=40, top_p=1.0,
                      max_new_tokens=a.new_tokens, num_return_sequences=a.candidates)
        if cache == "static":
            kwargs["cache_implementation"] = "static"
        label = f"transformers {transformers.__version__} (torch {torch.__version__}, {cache} cache)"
        try:
            with torch.no_grad():
                model.generate(ids, **kwargs)  # untimed: kernels, allocator
                seconds, out = timed(lambda: model.generate(ids, **kwargs), a.repeats)
            new = (out.shape[1] - a.prompt_len) * out.shape[0]
            print(f"| {label} | bench | {params / 1e6:.1f}M | cuda bfloat16 | {a.prompts} x {a.candidates} "
                  f"| {a.prompt_len} | {a.new_tokens} | - | {seconds:.3f} | {1000 * seconds / a.new_tokens:.2f} "
                  f"| {new / seconds:.0f} |", flush=True)
        except Exception as error:  # report, keep going with the other cache
            print(f"| {label} | failed: {type(error).__name__}: {str(error)[:200]} |", flush=True)


def matmul_flops(n=8192):
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    a @ b
    seconds, _ = timed(lambda: a @ b, 10)
    return 2 * n ** 3 / seconds


def run_train(a):
    length = a.prompt_len + a.response_len
    model, params = benchmark_model(length, torch.float32)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0, fused=True)
    prompts = torch.randint(32000, (a.pairs, a.prompt_len), device="cuda")
    chosen = torch.cat([prompts, torch.randint(32000, (a.pairs, a.response_len), device="cuda")], 1)
    rejected = torch.cat([prompts, torch.randint(32000, (a.pairs, a.response_len), device="cuda")], 1)
    both = torch.cat([chosen, rejected], 0)
    targets = both[:, a.prompt_len:]
    reference = torch.zeros(2 * a.pairs, device="cuda")

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            # Logits of the columns that predict response tokens only.
            logits = model(both, logits_to_keep=a.response_len + 1).logits[:, :-1].float()
        picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, -1)
        logp = picked.sum(-1) - reference
        delta = logp[:a.pairs] - logp[a.pairs:]
        loss = -F.logsigmoid(0.05 * delta).mean()
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(3):
        step()
    seconds, _ = timed(step, a.steps)
    # PaLM's count, as rso's model_flops: 6 P T for the matrices (embedding
    # lookup excluded) + 12 L d T^2 per sequence for attention.
    matrices = params - 32000 * 768
    flops = 2 * a.pairs * (6 * matrices * length + 12 * 12 * 768 * length * length)
    peak = matmul_flops()
    print(f"| transformers {transformers.__version__} (torch {torch.__version__}, autocast bf16, fused AdamW) | bench "
          f"| {params / 1e6:.1f}M | cuda bf16 autocast | {a.pairs} | {a.prompt_len} + {a.response_len} | - "
          f"| {1000 * seconds:.1f} | {2 * a.pairs * length / seconds:.0f} | {flops / seconds / 1e12:.1f} "
          f"| {100 * flops / seconds / peak:.1f}% of {peak / 1e12:.0f} |", flush=True)


def run_reward(a):
    """Scores --sequences sequences of --length tokens in batches of --batch with
    LlamaForSequenceClassification (one label), bf16, no padding."""
    from transformers import LlamaForSequenceClassification
    config = LlamaConfig(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                         num_attention_heads=12, num_key_value_heads=12, max_position_embeddings=a.length,
                         tie_word_embeddings=False, num_labels=1, pad_token_id=0)
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    model = LlamaForSequenceClassification(config).to("cuda", torch.bfloat16).eval()
    params = sum(p.numel() for p in model.parameters())
    ids = torch.randint(1, 32000, (a.sequences, a.length), device="cuda")
    mask = torch.ones_like(ids)

    def score_all():
        return torch.cat([model(input_ids=ids[i:i + a.batch], attention_mask=mask[i:i + a.batch]).logits[:, 0]
                          for i in range(0, a.sequences, a.batch)])

    with torch.inference_mode():
        score_all()  # untimed
        seconds, _ = timed(score_all, a.repeats)
    print(f"| transformers {transformers.__version__} (torch {torch.__version__}, LlamaForSequenceClassification) "
          f"| bench | {params / 1e6:.1f}M | cuda bfloat16 | {a.sequences} | {a.length} | {a.batch} | - | {seconds:.3f} "
          f"| {a.sequences / seconds:.0f} | {a.sequences * a.length / seconds:.0f} |", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["generate", "train", "reward"])
    p.add_argument("--sequences", type=int, default=512)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--length", type=int, default=256)
    p.add_argument("--prompts", type=int, default=8)
    p.add_argument("--candidates", type=int, default=64)
    p.add_argument("--prompt-len", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=128)
    p.add_argument("--pairs", type=int, default=32)
    p.add_argument("--response-len", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    {"generate": run_generate, "train": run_train, "reward": run_reward}[a.what](a)


if __name__ == "__main__":
    main()
