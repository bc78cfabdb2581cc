#!/usr/bin/env python3
"""How a sample directory's training pairs are labelled, judged by VADER's lexicon sum with its
negation rule (perf/proxy_ceiling.py's approximation of the gold reward: it orders ~0.96 of pairs
as the gold reward does). Explains where rso-sample-rank's pairs differ from sft-sample-rank's
(perf/RESULTS.md, "Table 1 with learned modifiers").

  /usr/bin/python3 perf/pair_labels.py SAMPLE_DIR TOKENIZER_VOCAB [LEXICON]

SAMPLE_DIR holds `rso sample`'s block-*.h5; TOKENIZER_VOCAB is the run's tokenizer/spm.vocab
(pieces, in id order). Prints the share of pairs the approximate gold reward ties, the share of
the others whose chosen response it scores higher, and the median gap it sees between the two;
then, on the tied pairs, how often the chosen response is the shorter or the longer one: a proxy
without a length preference picks either about equally often (perf/RESULTS.md, "D_hf keeps its
ties").
"""
import glob
import os
import statistics
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_ceiling import lexicon_sum  # noqa: E402 (the script's own folder)


def pieces_to_text(ids, vocab):
    # Ids 0-2 are <unk>, <s>, </s>; "▁" starts a word.
    return "".join(vocab[i] for i in ids if i > 2).replace("\u2581", " ").strip()


def ragged(group, name):
    offsets, values = group[name + ".offsets"][:], group[name + ".values"][:]
    return [values[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def main():
    sample_dir, vocab_path = sys.argv[1], sys.argv[2]
    lexicon_path = sys.argv[3] if len(sys.argv) > 3 else "data/npm/vader-sentiment-1.1.3/vader_lexicon.txt"
    vocab = [line.split("\t")[0] for line in open(vocab_path, encoding="utf-8")]
    lexicon = {}
    for line in open(lexicon_path, encoding="utf-8", errors="replace"):
        parts = line.split("\t")
        if len(parts) > 1:
            try:
                lexicon[parts[0]] = float(parts[1])
            except ValueError:
                pass
    pairs = ties = agree = tie_shorter = tie_longer = 0
    gaps = []
    for path in sorted(glob.glob(f"{sample_dir}/block-*.h5")):
        with h5py.File(path, "r") as block:
            group = block["pairs"]
            for chosen, rejected in zip(ragged(group, "chosen_tokens"), ragged(group, "rejected_tokens")):
                pairs += 1
                a = lexicon_sum(pieces_to_text(chosen, vocab), lexicon, True)
                b = lexicon_sum(pieces_to_text(rejected, vocab), lexicon, True)
                if a == b:
                    ties += 1
                    tie_shorter += len(chosen) < len(rejected)
                    tie_longer += len(chosen) > len(rejected)
                    continue
                agree += a > b
                gaps.append(abs(a - b))
    print(f"{pairs} pairs; ties {ties / pairs:.3f}; chosen scored higher in {agree / max(1, pairs - ties):.3f} "
          f"of the others; median gap {statistics.median(gaps):.2f}")
    print(f"tied pairs: the chosen response is the shorter in {tie_shorter / max(1, ties):.2f}, "
          f"the longer in {tie_longer / max(1, ties):.2f}")


if __name__ == "__main__":
    main()
