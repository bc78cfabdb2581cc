#!/usr/bin/env bash
# The bad-input table: each case runs one rso command on a bad input and
# records its exit code and the first line of its error. The cases' expected
# exit codes are checked here, and the table they make must equal
# docs/BAD_INPUTS.md, so that the document cannot drift from the program.
#
#   bad_inputs.sh RSO MAKE_TEST_MODEL [--write]
#
# --write regenerates docs/BAD_INPUTS.md instead of comparing (after a
# deliberate change of a message; the expected exit codes still must hold).
set -uo pipefail
rso=$(realpath "$1") make_test_model=$(realpath "$2")
write=${3:-}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
doc=$source_dir/docs/BAD_INPUTS.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/checks.sh
source "$source_dir/tests/checks.sh"
export OMP_NUM_THREADS=1
cd "$work" || exit 1

# --- Inputs, good and bad, all made here -------------------------------------------
"$make_test_model" model.h5 1 >/dev/null                # a policy: vocabulary 50, 128 positions, no tokenizer
"$make_test_model" reward.h5 2 - pointwise >/dev/null    # a pointwise reward model
printf '{"id":"a","prompt_ids":[1,2,3]}\n' >prompts.jsonl
printf '{"id":"a","prompt_ids":[1,2,3]}\n{"id":"b","prompt_ids":[4,99]}\n' >prompts-oov.jsonl
printf '{"id":"a","prompt_ids":[1,2,3]}\n{"id":"b","prompt_ids":[4,5\n' >prompts-cut.jsonl
printf '{"id":"a","prompt_ids":"1 2 3"}\n' >prompts-type.jsonl
printf '{"id":"a","prompt":"Hello there"}\n' >prompts-text.jsonl
printf '{"id":"a","prompt_ids":[]}\n' >prompts-empty.jsonl
printf '{"id":"a","prompt":"x","responses":["a","b"],"rewards":[0.5,NaN]}\n' >candidates-nan.jsonl
printf '{"id":"a","prompt":"x","responses":["a","b"],"rewards":[0.5,1e999]}\n' >candidates-inf.jsonl
printf '{"id":"a","prompt":"x","responses":["a","b"],"rewards":[0.5]}\n' >candidates-short.jsonl
printf '{"id":"a","prompt":"x","responses":["a","b"],"rewards":[0.5,0.1]}\n' >candidates.jsonl
printf '{"prompt_ids":[1,2],"chosen_ids":[3,4]}\n' >pairs-missing.jsonl
printf '{"prompt_ids":[1,2],"chosen_ids":7,"rejected_ids":[5]}\n' >pairs-type.jsonl
printf '{"prompt_ids":[1,2],"chosen_ids":[3,-4],"rejected_ids":[5]}\n' >pairs-negative.jsonl
printf '{"prompt_ids":[1],"chosen_ids":[2.5],"rejected_ids":[5]}\n' >pairs-fraction.jsonl
printf '{"prompt":"caf\xe9","chosen_ids":[3],"rejected_ids":[5]}\n' >pairs-utf8.jsonl
printf 'sample:\n  beta: 1\n  beta: 2\n' >duplicate-key.yaml
printf 'sample:\n  beta: 1\nsample:\n  top_k: 2\n' >duplicate-section.yaml
printf 'sample: [\n' >syntax.yaml
printf 'run:\n  ? {a: 1}\n  : 2\n' >map-key.yaml
printf -- '- a\n- b\n' >list.yaml
printf 'sample:\n  beta: 1\n' >good.yaml
mkdir -p config-dir.yaml
printf 'not an HDF5 file\n' >text.h5
cp model.h5 flipped.h5
# Bytes changed inside the stored weights (the first layer's attention
# projection, found by its bytes: HDF5 stores them as they are): Fletcher32 must catch them.
weights=/parameters/model.layers.0.self_attn.q_proj.weight
h5dump -d "$weights" -b LE -o weights.bin model.h5 >/dev/null
offset=$(/usr/bin/env python3 -c "print(open('model.h5', 'rb').read().find(open('weights.bin', 'rb').read(64)) + 16)")
[ "$offset" -gt 16 ] || { echo "bad_inputs.sh: the weights of $weights are not stored as they are in model.h5"; exit 1; }
printf '\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a' | dd of=flipped.h5 bs=1 seek="$offset" conv=notrunc status=none
printf 'ranks,efficiency\n1,1.0\n2,fast\n' >bad.csv
printf 'ranks,efficiency\n1,1.0\n2,0.9\n' >good.csv
"$rso" export-hf model.h5 --out hf >/dev/null 2>&1
hf_with() {  # hf_with DIR JSON-EDIT: a copy of hf/ whose config.json has EDIT applied (python3 expression on c)
  cp -r hf "$1"
  /usr/bin/env python3 -c "import json,sys; c=json.load(open('$1/config.json')); $2; json.dump(c, open('$1/config.json','w'))"
}
hf_with hf-heads0 "c['num_attention_heads']=0"
hf_with hf-positions "c['max_position_embeddings']=1e11"
hf_with hf-type "c['model_type']='gpt2'"
hf_with hf-hidden "c['hidden_size']=-64"
cp -r hf hf-notjson && printf '{"hidden_size": 64,' >hf-notjson/config.json
cp -r hf hf-truncated && truncate -s 100 hf-truncated/model.safetensors
cp -r hf hf-header && printf '\xff\xff\xff\xff\xff\xff\x00\x00' | dd of=hf-header/model.safetensors bs=1 conv=notrunc status=none
mkdir -p not-a-tokenizer && printf 'garbage' >not-a-tokenizer/tokenizer.model
printf 'garbage' >garbage.model

# --- The cases ------------------------------------------------------------------
rows=()
case_n=0
# bad EXPECTED_EXIT "what is wrong" rso ARGS...: runs it, checks the exit code, adds a row.
bad() {
  local expected=$1 what=$2
  shift 2
  run "$rso" "$@"
  case_n=$((case_n + 1))
  local message
  # The error, not the progress log before it: rso's own line, else the
  # first line that is not a timestamped log line (CLI11's usage errors).
  message=$(grep -m1 '^rso: ' "$work/err" || grep -m1 -v -e '^\s*$' -e '^\[[0-9:]*\] ' "$work/err")
  message=$(printf '%s' "$message" | cut -c1-260)
  [ -n "$message" ] || message="(nothing on stderr)"
  check "case $case_n ($what): exit $expected" status_is "$expected"
  local shown="rso $*"
  rows+=("| $case_n | \`${shown//|/\\|}\` | $what | $status | ${message//|/\\|} |")
}

bad 2 "no command"
bad 2 "an unknown command" frobnicate
bad 2 "an unknown option" train --betta 1
bad 2 "a missing config file" train --config missing.yaml
bad 2 "a config path that is a directory" train --config config-dir.yaml
bad 2 "a YAML syntax error" train --config syntax.yaml
bad 2 "a config that is a list, not sections" train --config list.yaml
bad 2 "a key that is a map, not a name" train --config map-key.yaml
bad 2 "a key twice in one section" train --config duplicate-key.yaml
bad 2 "a section twice" train --config duplicate-section.yaml
bad 2 "a misspelt key (the near one suggested)" train --config good.yaml --set sample.betta=1
bad 2 "a value out of range" train --set sample.beta=-1
bad 2 "a value of the wrong type" train --set sample.num_candidates=abc
bad 2 "--set without =" train --set sample.beta
bad 2 "an unknown loss" train --set train.loss=dpo2
bad 2 "an unknown pipeline stage" pipeline --until nosuchstage
bad 2 "--out onto --in" generate --model model.h5 --in prompts.jsonl --out prompts.jsonl
bad 2 "top-p above 1" generate --model model.h5 --in prompts.jsonl --out out.jsonl --top-p 1.5
bad 3 "a prompt longer than the room --max-new-tokens leaves" generate --model model.h5 --in prompts.jsonl --out out.jsonl --max-new-tokens 127
bad 2 "--max-new-tokens beyond the model's positions" generate --model model.h5 --in prompts.jsonl --out out.jsonl --max-new-tokens 500
bad 2 "beta 0" select --in candidates.jsonl --out selected.jsonl --beta 0
bad 2 "a scorer that needs a model" select --in candidates.jsonl --out selected.jsonl --scorer model
bad 2 "an unknown scorer" select --in candidates.jsonl --out selected.jsonl --scorer magic
bad 2 "a CSV plot without columns" plot --csv good.csv --out plot.png
bad 3 "a token id outside the vocabulary" generate --model model.h5 --in prompts-oov.jsonl --out out.jsonl
bad 3 "a JSONL line cut short" generate --model model.h5 --in prompts-cut.jsonl --out out.jsonl
bad 3 "token ids given as a string" generate --model model.h5 --in prompts-type.jsonl --out out.jsonl
bad 3 "a text prompt and no tokenizer" generate --model model.h5 --in prompts-text.jsonl --out out.jsonl
bad 3 "an empty prompt" generate --model model.h5 --in prompts-empty.jsonl --out out.jsonl
bad 3 "a model file that is not HDF5" generate --model text.h5 --in prompts.jsonl --out out.jsonl
bad 3 "weights changed on disk (checksum)" generate --model flipped.h5 --in prompts.jsonl --out out.jsonl
bad 3 "a reward model where a policy belongs" generate --model reward.h5 --in prompts.jsonl --out out.jsonl
bad 3 "a NaN reward" select --in candidates-nan.jsonl --out selected.jsonl
bad 3 "a reward too large for a double" select --in candidates-inf.jsonl --out selected.jsonl
bad 3 "fewer rewards than responses" select --in candidates-short.jsonl --out selected.jsonl
bad 3 "a pair without its rejected response" train --set train.pairs=pairs-missing.jsonl --set train.policy=model.h5 --run-dir run-a
bad 3 "a response that is a number" train --set train.pairs=pairs-type.jsonl --set train.policy=model.h5 --run-dir run-b
bad 3 "a negative token id" train --set train.pairs=pairs-negative.jsonl --set train.policy=model.h5 --run-dir run-c
bad 3 "a token id that is not an integer" train --set train.pairs=pairs-fraction.jsonl --set train.policy=model.h5 --run-dir run-e
bad 3 "text that is not UTF-8" train --set train.pairs=pairs-utf8.jsonl --set train.policy=model.h5 --run-dir run-d
bad 3 "import-hf: zero attention heads" import-hf hf-heads0 --out imported.h5
bad 3 "import-hf: 10^11 positions" import-hf hf-positions --out imported.h5
bad 3 "import-hf: a negative hidden size" import-hf hf-hidden --out imported.h5
bad 3 "import-hf: config.json cut short" import-hf hf-notjson --out imported.h5
bad 3 "import-hf: safetensors cut short" import-hf hf-truncated --out imported.h5
bad 3 "import-hf: a safetensors header larger than the file" import-hf hf-header --out imported.h5
bad 69 "import-hf: a model type other than Llama" import-hf hf-type --out imported.h5
bad 3 "a tokenizer .model that is not one" tokenizer encode --tokenizer garbage.model hello
bad 3 "a CSV value that is not a number" plot --csv bad.csv --x ranks --y efficiency --out plot.png
bad 3 "a CSV column that is not there" plot --csv good.csv --x ranks --y speedup --out plot.png
bad 3 "inspect of a file that is not HDF5" inspect text.h5
bad 4 "a model file that does not exist" generate --model absent.h5 --in prompts.jsonl --out out.jsonl
bad 4 "a prompts file that does not exist" generate --model model.h5 --in absent.jsonl --out out.jsonl
bad 4 "an output under a file, not a directory" generate --model model.h5 --in prompts.jsonl --out model.h5/out.jsonl
bad 4 "an output that is a device" generate --model model.h5 --in prompts.jsonl --out /dev/null
bad 4 "an output that is a directory" generate --model model.h5 --in prompts.jsonl --out hf
bad 4 "eval before anything was trained" eval --run-dir empty-run
bad 4 "a report that does not exist" plot --out plot.png absent/report.json
bad 69 "an external scorer that ends early" select --in candidates.jsonl --out selected.jsonl --scorer "exec:read x; exit 7"

# --- The table ------------------------------------------------------------------
{
  echo "# Bad inputs: what rso answers"
  echo
  echo "Generated by \`tests/bad_inputs/bad_inputs.sh\` (ctest \`bad_inputs\`), which runs every case and fails"
  echo "when an exit code differs from the one expected or this file differs from what the cases print:"
  echo "the table cannot drift from the program. Exit codes: README.md, \"Exit codes\". W is the"
  echo "test's scratch directory; model.h5 is a small policy without a tokenizer (vocabulary 50)."
  echo
  echo "| # | command | what is wrong | exit | first line of the error |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | sed "s|$work|W|g" >"$work/table.md"
if [ "$write" = --write ]; then
  cp "$work/table.md" "$doc"
  echo "wrote $doc ($case_n cases)"
else
  check "docs/BAD_INPUTS.md is what the cases print (tests/bad_inputs/bad_inputs.sh ... --write to update)" \
    diff -u "$doc" "$work/table.md"
  [ "$failed" -eq 0 ] || diff -u "$doc" "$work/table.md" | head -40
fi
finish_checks "bad inputs ($case_n cases)"
