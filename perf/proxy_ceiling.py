#!/usr/bin/env python3
"""What a proxy that sums word valences can reach on a run's pi_sft check pairs, and what
negation adds (perf/RESULTS.md, "A proxy that tracks the gold reward").

  /usr/bin/python3 perf/proxy_ceiling.py RUN_DIR [LEXICON]

RUN_DIR holds data/policy_pairs.jsonl (pi_sft pairs, gold rewards) and data/pairs.jsonl
(D_hf). Prints the agreement with the gold ordering of
  1. VADER's lexicon summed over words, no rules, and with VADER's negation rule alone;
  2. a bag-of-words Bradley-Terry model fit on D_hf (full-batch Adam, L2 on the valences),
     plain and with one learned multiplier 1 + m on valences preceded by a negation word.
"""
import json
import sys

import numpy as np

NEGATIONS = set("aint arent cannot cant couldnt didnt doesnt dont hadnt hasnt havent isnt never none nor "
                "not nothing nowhere without wont wouldnt rarely seldom".split())


def words(text):
    out = [w.strip('.,!?;:"()').lower() for w in text.split()]
    return [w for w in out if w]


def negated(ws):
    """VADER's window: a negation word among the 3 words before."""
    return [any(v in NEGATIONS or v.endswith("n't") for v in ws[max(0, i - 3):i]) for i in range(len(ws))]


def lexicon_sum(text, lexicon, with_negation):
    ws = words(text)
    flags = negated(ws)
    return sum(lexicon.get(w, 0.0) * (-0.74 if with_negation and f else 1.0) for w, f in zip(ws, flags))


def agreement(scores_chosen, scores_rejected, pairs):
    gold = np.array([np.sign(p["gold_chosen"] - p["gold_rejected"]) for p in pairs])
    return float(np.mean((np.array(scores_chosen) - np.array(scores_rejected)) * gold > 0))


def fit_bag_of_words(train, test, with_negation, l2=1e-4, steps=2000, lr=0.05):
    vocab = {}

    def encode(pairs, grow):
        index, word, sign, neg = [], [], [], []
        for k, p in enumerate(pairs):
            for side, s in (("chosen", 1.0), ("rejected", -1.0)):
                ws = words(p[side])
                for w, f in zip(ws, negated(ws)):
                    if grow:
                        vocab.setdefault(w, len(vocab))
                    if w in vocab:
                        index.append(k), word.append(vocab[w]), sign.append(s), neg.append(float(f))
        return np.array(index), np.array(word), np.array(sign), np.array(neg), len(pairs)

    a = encode(train, True)
    b = encode(test, False)
    v = np.zeros(len(vocab))
    m = 0.0
    moments = [np.zeros(len(vocab)), np.zeros(len(vocab)), 0.0, 0.0]

    def margin(batch):
        i, w, s, n, count = batch
        return np.bincount(i, weights=s * v[w] * (1 + m * n), minlength=count)

    for t in range(1, steps + 1):
        i, w, s, n, count = a
        g = -1.0 / (1.0 + np.exp(margin(a)))  # d(-log sigmoid(z))/dz
        gv = np.bincount(w, weights=g[i] * s * (1 + m * n), minlength=len(vocab)) / count + l2 * v
        gm = float(np.sum(g[i] * s * v[w] * n)) / count
        moments[0] = 0.9 * moments[0] + 0.1 * gv
        moments[1] = 0.999 * moments[1] + 0.001 * gv * gv
        v -= lr * (moments[0] / (1 - 0.9 ** t)) / (np.sqrt(moments[1] / (1 - 0.999 ** t)) + 1e-8)
        if with_negation:
            moments[2] = 0.9 * moments[2] + 0.1 * gm
            moments[3] = 0.999 * moments[3] + 0.001 * gm * gm
            m -= lr * (moments[2] / (1 - 0.9 ** t)) / (np.sqrt(moments[3] / (1 - 0.999 ** t)) + 1e-8)
    z = margin(b)
    gold = np.array([np.sign(p["gold_chosen"] - p["gold_rejected"]) for p in test])
    return float(np.mean(z * gold > 0)), m


def main():
    run = sys.argv[1]
    lexicon_path = sys.argv[2] if len(sys.argv) > 2 else "data/npm/vader-sentiment-1.1.3/vader_lexicon.txt"
    lexicon = {}
    for line in open(lexicon_path, encoding="utf-8", errors="ignore"):
        parts = line.split("\t")
        if len(parts) > 1:
            lexicon[parts[0]] = float(parts[1])
    check = [json.loads(l) for l in open(f"{run}/data/policy_pairs.jsonl")]
    d_hf = [json.loads(l) for l in open(f"{run}/data/pairs.jsonl")]
    for with_negation in (False, True):
        chosen = [lexicon_sum(p["chosen"], lexicon, with_negation) for p in check]
        rejected = [lexicon_sum(p["rejected"], lexicon, with_negation) for p in check]
        print(f"VADER lexicon sum{' + negation rule' if with_negation else ', no rules'}: "
              f"{agreement(chosen, rejected, check):.3f} of {len(check)} pi_sft pairs")
    for with_negation in (False, True):
        score, m = fit_bag_of_words(d_hf, check, with_negation)
        print(f"bag of words on D_hf ({len(d_hf)} pairs){' + learned negation multiplier' if with_negation else ''}: "
              f"{score:.3f}" + (f" (m = {m:.2f})" if with_negation else ""))


if __name__ == "__main__":
    main()
