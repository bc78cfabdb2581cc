#!/usr/bin/env bash
# make_seed_corpus.sh BUILD_DIR: writes the fuzz targets' seed inputs into
# tests/fuzz/corpus/NAME/ (small valid files of each format, made by rso's own
# tools so they stay in step with the formats). Run once when a format changes;
# long fuzz runs (fuzz_all.sh) add what they find to the same directories.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$corpus/checkpoint"
mkdir -p "$corpus"/{config,jsonl,safetensors,hf_config,sentencepiece,gpt2_tokenizer,checkpoint}

# config: the demo's YAML, an empty one, one with overrides after "--set".
cp "$here/../../input/demo.yaml" "$corpus/config/demo.yaml"
printf '' >"$corpus/config/empty"
printf 'run:\n  seed: 7\nsample:\n  beta: 0.5\n  temperature: 1.0\n--set\nsample.num_candidates=8\ntrain.loss=hinge\neval.prompts=x.jsonl\n' \
  >"$corpus/config/overrides"
printf 'task:\n  vocab_size: 400\nmodel:\n  hidden_size: 64\n  num_heads: 4\nreward:\n  kind: ranking\n  pooling: last\n' \
  >"$corpus/config/sections"

# jsonl: each record shape the commands read.
printf '{"prompt":"All is well that","response":" ends well."}\n{"prompt":"Be","response":" brave."}\n' >"$corpus/jsonl/sft_text"
printf '{"prompt":[1,2,3],"response":[4,5,256]}\n' >"$corpus/jsonl/sft_tokens"
printf '{"id":"a","prompt":"Life is","chosen":" good.","rejected":" hard."}\n{"id":"b","prompt":"x","chosen":"y","rejected":"y"}\n' \
  >"$corpus/jsonl/pairs_text"
printf '{"id":7,"prompt":[1,2],"chosen":[3,4,256],"rejected":[5,256]}\n' >"$corpus/jsonl/pairs_tokens"

# safetensors: two tensors, F32 and BF16, with metadata.
/usr/bin/env python3 - "$corpus/safetensors/two_tensors" <<'PY'
import json, struct, sys
header = {"__metadata__": {"format": "pt"},
          "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
          "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]}}
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
data = struct.pack("<4f", 1.0, -2.0, 0.5, 3.25) + bytes([0x80, 0x3f, 0x00, 0x40, 0x40, 0xc0])
open(sys.argv[1], "wb").write(struct.pack("<Q", len(text)) + text + data)
PY

# hf_config: a Llama config.json as transformers writes it.
cat >"$corpus/hf_config/llama.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 172,
 "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 300,
 "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false,
 "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32", "hidden_act": "silu"}
JSON

# sentencepiece: tiny models trained on a few fortunes: unigram with the
# default NFKC normaliser (its 240 KB character map), BPE without one.
head -c 20000 /usr/share/games/fortunes/fortunes >"$work/corpus.txt"
train() {  # train NAME FLAGS...
  local name=$1
  shift
  "$build/rso-spm" train --input="$work/corpus.txt" --model_prefix="$work/$name" --vocab_size=300 --num_threads=1 \
    "$@" >/dev/null 2>&1
  cp "$work/$name.model" "$corpus/sentencepiece/$name.model"
}
train unigram --model_type=unigram
train bpe --model_type=bpe --normalization_rule_name=identity

# gpt2_tokenizer: the 256 byte symbols and a few merges, as encoder.json +
# vocab.bpe (first byte 0) and as tokenizer.json (first byte 1).
/usr/bin/env python3 - "$corpus/gpt2_tokenizer" <<'PY'
import json, sys
out = sys.argv[1]
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
symbols = [chr(c) for c in cs]
merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a"]
vocab = {s: i for i, s in enumerate(symbols)}
for m in merges:
    vocab[m.replace(" ", "")] = len(vocab)
vocab["<|endoftext|>"] = len(vocab)
open(f"{out}/encoder_vocab", "w", encoding="utf-8").write(
    "\0" + json.dumps(vocab, ensure_ascii=False) + "\n=====\n#version: 0.2\n" + "\n".join(merges) + "\n")
tokenizer = {"version": "1.0", "added_tokens": [{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>", "special": True}],
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False}, "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "vocab": vocab, "merges": merges}}
open(f"{out}/tokenizer_json", "w", encoding="utf-8").write("\1" + json.dumps(tokenizer, ensure_ascii=False))
PY

# checkpoint: programs of edits to the target's own model files (see
# fuzz_checkpoint.cpp): each base file unedited, then a few random programs.
printf '\x00' >"$corpus/checkpoint/policy-unedited"
printf '\x01' >"$corpus/checkpoint/pointwise-unedited"
printf '\x02' >"$corpus/checkpoint/ranking-unedited"
for i in 1 2 3 4 5 6; do head -c 96 /dev/urandom >"$corpus/checkpoint/random-$i"; done
echo "seed corpus in $corpus: $(find "$corpus" -type f | wc -l) files"
