#!/usr/bin/env bash
# End-to-end checks of the rso binary: help, exit codes, one-message errors,
# rank tables, and a job that must end when one rank fails alone.
#
#   test_cli.sh RSO_BINARY ABORT_TEST_BINARY MPIEXEC "MPIEXEC_FLAGS" MAKE_TEST_MODEL
set -u
rso=$1
abort_binary=$2
mpiexec=$3
make_test_model=$5
# CMake passes a ;-list; per-line rank tags would spoil the table checks.
read -r -a mpi_flags <<<"$(echo "${4:-}" | tr ';' ' ' | sed 's/--tag-output//')"
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'umount "$work/small-disk" 2>/dev/null; rm -rf "$work"' EXIT

source "$source_dir/tests/checks.sh"
mpi() { "$mpiexec" -n "$1" "${mpi_flags[@]}" "${@:2}"; }

# --- help and usage -----------------------------------------------------------
run "$rso" --help
check "rso --help exits 0" status_is 0
check "rso --help lists subcommands" stdout_has "select"
for command in pipeline tokenizer sft reward generate sample select train eval inspect import-hf export-hf env; do
  run "$rso" "$command" --help
  check "rso $command --help exits 0" status_is 0
  check "rso $command --help shows usage" stdout_has "Usage:"
done
run "$rso"
check "rso without a command exits 2" status_is 2
run "$rso" frobnicate
check "an unknown command exits 2" status_is 2
run "$rso" --version
check "--version prints the version" stdout_has "rso 0."

# --- config errors: one clear message, exit 2 --------------------------------------
run "$rso" train --config missing.yaml
check "missing config exits 2" status_is 2
check "missing config is named" stderr_has "rso: config error: cannot open config file 'missing.yaml'"
check "missing config gives one line" [ "$(wc -l <"$work/err")" -eq 1 ]

printf 'run:\n  seed: 3\nsample:\n  num_candidates: 16\n  betta: 0.3\n' >"$work/unknown.yaml"
run "$rso" train --config "$work/unknown.yaml"
check "unknown key exits 2" status_is 2
check "unknown key names key, file:line and suggestion" \
  stderr_has "unknown config key 'sample.betta' ($work/unknown.yaml:5); did you mean 'sample.beta'?"

run "$rso" sample --set sample.beta=-1
check "out-of-range --set exits 2" status_is 2
check "out-of-range --set is named" stderr_has "'sample.beta' = -1 is out of range: must be > 0 (--set sample.beta=-1)"

run "$rso" sample --set sample.top_k=many
check "wrong type exits 2" status_is 2
check "wrong type is named" stderr_has "'sample.top_k' = 'many' must be an integer"

run mpi 2 "$rso" train --config "$work/unknown.yaml"
check "2 ranks: config error exits 2" status_is 2
check "2 ranks: config error reported once" [ "$(stderr_count "unknown config key")" -eq 1 ]

run mpi 3 "$rso" train --config missing.yaml
check "3 ranks: config error exits 2" status_is 2
check "3 ranks: config error reported once" [ "$(stderr_count "cannot open config file")" -eq 1 ]

# --- eval needs its models ------------------------------------------------------------
run "$rso" eval --run-dir "$work/noeval"
check "rso eval without a trained policy exits 4" status_is 4

# --- env: one row per rank from rank 0 ------------------------------------------------
for ranks in 1 2 3; do
  run mpi "$ranks" "$rso" env
  check "env on $ranks ranks exits 0" status_is 0
  rows=$(grep -cE '^[0-9]+ ' "$work/out")
  check "env on $ranks ranks prints $ranks rank rows" [ "$rows" -eq "$ranks" ]
  check "env names the backend" stdout_has "mpi"
  for library in LibTorch MPI Boost HDF5 NCCL CUDA; do
    check "env on $ranks ranks reports $library" stdout_has "$library"
  done
done

# Ranks launched with different settings are refused, by the first differing key.
run "$mpiexec" "${mpi_flags[@]}" -n 1 "$rso" env --set sample.beta=0.5 : -n 1 "$rso" env --set sample.beta=0.9
check "ranks with different configs exit 2" status_is 2
check "ranks with different configs are told which key differs" \
  stderr_has "the ranks were given different configs: sample.beta is 0.5 on rank 0 and 0.9 on rank 1"
check "ranks with different configs are told once" [ "$(stderr_count "different configs")" -eq 1 ]

# --- one rank fails alone: the job ends, and says which rank -----------------------
run timeout 120 "$mpiexec" -n 2 "${mpi_flags[@]}" "$abort_binary"
check "one-rank failure ends the job (no hang)" [ "$status" -ne 124 ]
check "one-rank failure fails the job" [ "$status" -ne 0 ]
check "one-rank failure names the rank" stderr_has "[rank 1] rso: data error: shard 1 of prompts.jsonl is corrupt"

# --- pipeline: every stage of the built-in task, tiny settings, 2 ranks ------------------
source "$source_dir/tests/tiny_pipeline.sh"
tiny=("${tiny_pipeline_flags[@]}")
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/run" "${tiny[@]}"
check "pipeline on 2 ranks exits 0" status_is 0
for file in config.yaml data/task.json data/corpus.txt data/sft.jsonl data/eval_prompts.jsonl data/prompts.jsonl \
  tokenizer/spm.model init/model.h5 sft/model.h5 sft/metrics.jsonl data/pairs.jsonl reward/model.h5 \
  sample/manifest.json sample/stats.json train/model.h5 train/metrics.jsonl eval/report.md eval/samples.jsonl \
  report.json; do
  check "pipeline writes $file" [ -s "$work/run/$file" ]
done
check "pipeline: D_hf has one pair per pair prompt" [ "$(wc -l <"$work/run/data/pairs.jsonl")" -eq 48 ]
check "pipeline: the sampling stage completed" grep -q '"complete": true' "$work/run/sample/manifest.json"
check "pipeline: eval judges every prompt twice" [ "$(wc -l <"$work/run/eval/samples.jsonl")" -eq 16 ]
check "pipeline: the report holds the gold win rate" grep -q '"gold_win_rate"' "$work/run/report.json"
check "pipeline: eval draws its point as a PNG" [ "$(head -c 8 "$work/run/eval/win_rate_vs_kl.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
check "pipeline: the report names the run's pair source and loss" grep -q '"source": "rso-sample-rank"' "$work/run/report.json"
run "$rso" plot "$work/run" "again=$work/run/eval/report.json" --out "$work/plot.png"
check "plot of two reports exits 0" status_is 0
check "plot writes a PNG" [ "$(head -c 4 "$work/plot.png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ]
run "$rso" plot "$work/absent" --out "$work/plot2.png"
check "plot of a missing report exits 4" status_is 4
check "plot names the missing report" stderr_has "$work/absent"
printf 'stage,ranks,efficiency\ntrain,1,1.0\ntrain,2,0.9\nsample,2,0.8\n' >"$work/eff.csv"
run "$rso" plot --csv "$work/eff.csv" --x ranks --y efficiency --series stage --reference-y 1 --out "$work/eff.png"
check "plot of CSV columns exits 0" status_is 0
check "plot of CSV columns writes a PNG" [ "$(head -c 4 "$work/eff.png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ]
run "$rso" plot --csv "$work/eff.csv" --x ranks --y speedup --out "$work/eff2.png"
check "plot of a missing CSV column exits 3" status_is 3
check "plot names the missing CSV column" stderr_has "has no column 'speedup'"
printf 'ranks,efficiency\n1,fast\n' >"$work/bad.csv"
run "$rso" plot --csv "$work/bad.csv" --x ranks --y efficiency --out "$work/eff2.png"
check "plot of a non-number names file:line" stderr_has "bad.csv:2: 'fast' is not a number"
run "$rso" plot --csv "$work/eff.csv" --out "$work/eff2.png"
check "plot --csv without --x and --y exits 2" status_is 2
check "pipeline leaves no temporaries" [ "$(find "$work/run" -name '*.tmp*' -o -name '*.part-*' | wc -l)" -eq 0 ]
cp "$work/run/report.json" "$work/report-first.json"
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/run" "${tiny[@]}"
check "pipeline run again exits 0" status_is 0
check "pipeline run again does no work" [ "$(stderr_count "already done")" -eq 9 ]
check "pipeline run again keeps the report" cmp -s "$work/report-first.json" "$work/run/report.json"
# An interrupted run continues: the stages after the reward model are redone, the rest kept.
rm -rf "$work/run/reward/model.h5" "$work/run/sample" "$work/run/train" "$work/run/eval" "$work/run/report.json"
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/run" "${tiny[@]}"
check "pipeline continues after a partial run" status_is 0
check "pipeline keeps the finished stages" [ "$(stderr_count "already done")" -eq 5 ]
check "pipeline continued writes the report" [ -s "$work/run/report.json" ]
# A changed parameter redoes its stage and every stage after it; the earlier outputs are kept aside.
# In a copy: the stage records travel with it, and later checks compare with $work/run.
cp -r "$work/run" "$work/redo"
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/redo" "${tiny[@]}" --set train.loss=hinge
check "pipeline with a changed train.loss exits 0" status_is 0
check "pipeline names the redone stage and the changed key" \
  stderr_has "stage train is redone, and every stage after it: train.loss: sigmoid-norm -> hinge"
check "pipeline redoes the stages after it" stderr_has "stage eval is redone, and every stage after it: train.loss: sigmoid-norm -> hinge; the output of stage train changed"
check "pipeline keeps the stages before it" [ "$(stderr_count "already done")" -eq 7 ]
check "the redone report names the new loss" grep -q '"loss": "hinge"' "$work/redo/report.json"
check "the earlier policy is kept aside" [ -n "$(find "$work/redo/superseded" -path '*/train/model.h5')" ]
check "config.yaml records the new loss" grep -q "^  loss: hinge" "$work/redo/config.yaml"
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/redo" "${tiny[@]}" --set train.loss=hinge
check "pipeline run again with the same change does no work" [ "$(stderr_count "already done")" -eq 9 ]
# A refused command leaves the run directory as it was.
cp "$work/redo/config.yaml" "$work/config-before.yaml"
run mpi 2 "$rso" sample --config "$work/redo/config.yaml" --run-dir "$work/redo" --set sample.beta=0.9
check "sample into a finished sample directory of other parameters exits 2" status_is 2
check "a refused sample leaves config.yaml as it was" cmp -s "$work/config-before.yaml" "$work/redo/config.yaml"
# One writer per run directory.
if command -v flock >/dev/null; then
  # The holder keeps the lock until told to let go (at most 120 s), however
  # slowly the machine runs the second command.
  flock "$work/redo/.lock" bash -c 'touch "$1"; for _ in $(seq 1200); do [ -e "$2" ] && break; sleep 0.1; done' \
    _ "$work/lock-held" "$work/lock-release" &
  holder=$!
  for _ in $(seq 1200); do [ -e "$work/lock-held" ] && break; sleep 0.1; done
  run "$rso" eval --config "$work/redo/config.yaml" --run-dir "$work/redo"
  touch "$work/lock-release"
  wait "$holder"
  check "a second writer of a run directory exits 4" status_is 4
  check "a second writer is told the directory is in use" stderr_has "is in use by"
fi
run "$rso" pipeline --config "$work/run/config.yaml" --print-config
check "the resolved config loads back" status_is 0
check "the resolved config keeps the run directory" stdout_has "dir: $work/run"
# --print-config on any command: only the config, whatever else the command would need.
for command in generate select "tokenizer train" inspect plot env sample; do
  # shellcheck disable=SC2086
  run "$rso" $command --print-config
  check "$command --print-config exits 0" status_is 0
  check "$command --print-config prints the config" stdout_has "max_new_tokens:"
done
run "$rso" generate --print-config --set sample.beta=2.5
check "generate --print-config applies --set" stdout_has "beta: 2.5"
run "$rso" generate --print-config --set sample.nope=1
check "generate --print-config still refuses an unknown key" status_is 2
# D_hf holds people's text (the quotes' continuations), not the SFT policy's samples.
check "pipeline: D_hf responses come from the corpus" grep -q '"chosen_source":"\(own\|other\)"' "$work/run/data/pairs.jsonl"
check "pipeline: the report has the exact KL per token" grep -q '"kl_per_token"' "$work/run/report.json"
check "pipeline: the report has the share of responses with a gold reward" \
  grep -q '"nonzero_gold_share_reference"' "$work/run/report.json"
check "pipeline: the report has the proxy's agreement on reference pairs" grep -q '"proxy_on_reference_pairs"' "$work/run/report.json"
if [ -s /usr/share/dict/words ]; then
  check "pipeline: the report has the share of dictionary words" grep -q '"dictionary_words"' "$work/run/report.json"
fi
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/until" "${tiny[@]}" --until pairs
check "pipeline --until pairs exits 0" status_is 0
check "pipeline --until pairs stops there" stderr_has "stopped after stage pairs (--until)"
check "pipeline --until pairs trains no reward model" [ ! -e "$work/until/reward/model.h5" ]
# D_hf with an early SFT checkpoint's samples; more check pairs; a reward model with frozen lower layers.
early=(--set sft.checkpoint_every=4 --set task.early_policy_step=4 --set task.early_pair_prompts=16
  --set task.early_pairs_per_prompt=2 --set task.check_pairs_per_prompt=3 --set reward.frozen_layers=1
  --set reward.checkpoint_every=2)
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/early" "${tiny[@]}" "${early[@]}" --until reward
check "pipeline with an early policy in D_hf exits 0" status_is 0
check "D_hf: 48 corpus pairs, then 2 pairs of the early checkpoint on each of 16 prompts" \
  [ "$(wc -l <"$work/early/data/pairs.jsonl")" -eq 80 -a "$(grep -c '"chosen_ids"' "$work/early/data/pairs.jsonl")" -eq 32 ]
check "D_hf's early pairs come after the corpus pairs" \
  [ "$(tail -n 32 "$work/early/data/pairs.jsonl" | grep -c '"chosen_ids"')" -eq 32 ]
check "D_hf leaves no early-pairs file behind" [ "$(find "$work/early/data" -name '*.early*' | wc -l)" -eq 0 ]
# 3 pairs on each of the 8 check prompts: kept plus tied ones make 24.
check_line=$(grep -o 'pairs: [0-9]* pairs of SFT samples on 8 sampling prompts with a gold preference ([0-9]* ties' "$work/err")
check "the check pairs: 3 per check prompt, kept or tied" \
  [ "$(echo "$check_line" | grep -o '[0-9]\+' | awk 'NR == 1 || NR == 3 { s += $1 } END { print s }')" = 24 ]
check "the check pairs file holds the kept ones" \
  [ "$(wc -l <"$work/early/data/policy_pairs.jsonl")" -eq "$(echo "$check_line" | grep -o '[0-9]\+' | head -1)" ]
check "a frozen reward model says what trains" stderr_has "the lowest 1 layers keep their weights"
run "$rso" inspect "$work/early/reward/checkpoints/step_00000002/state.h5"
check "inspect reads the reward checkpoint" status_is 0
check "the frozen layers are not in the reward checkpoint" [ "$(grep -c 'embed_tokens\|layers\.0\.' "$work/out")" -eq 0 ]
check "the score head and the valences are in the reward checkpoint" \
  [ "$(grep -c 'score\.weight\|token_valence\.weight' "$work/out")" -ge 2 ]
# The tiny model has one layer, so reward.frozen_layers=1 freezes all of it: the backbone's states of D_hf
# are computed once (FrozenStateCache). The same training as recomputing them every step, to rounding
# (1e-5 relative: only the padding of the products differs); the same bytes after a resume, and the
# same to rounding on 3 ranks, which deal the states' chunks out differently.
summary_number() { grep -o "\"$2\": *[-0-9.e]*" "$1" | head -1 | sed 's/.*: *//'; }
close_to() { awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); exit !(a != "" && d <= tol * (m > 1 ? m : 1)) }'; }
frozen_reward=(--config "$source_dir/input/demo.yaml" --run-dir "$work/early" "${tiny[@]}" "${early[@]}" --set dist.threads=1)
run mpi 2 "$rso" reward "${frozen_reward[@]}" --set reward.output="$work/frozen-kept"
check "reward with the states kept exits 0" status_is 0
check "every layer frozen: the backbone's states are computed once" \
  stderr_has "every layer is frozen: the backbone's states of the pairs are computed once"
run mpi 2 "$rso" reward "${frozen_reward[@]}" --set reward.output="$work/frozen-recomputed" --set reward.frozen_state_cache_mib=0
check "reward with the states recomputed exits 0" status_is 0
check "reward.frozen_state_cache_mib=0 keeps no states" [ "$(stderr_count "computed once")" -eq 0 ]
for key in loss accuracy eval_loss eval_accuracy chosen_reward rejected_reward; do
  check "kept states train as recomputed ones: $key" close_to "$(summary_number "$work/frozen-kept/summary.json" "$key")" \
    "$(summary_number "$work/frozen-recomputed/summary.json" "$key")" 1e-5
done
run mpi 2 "$rso" reward "${frozen_reward[@]}" --set reward.output="$work/frozen-interrupted" --stop-after-step 2
check "reward with kept states stopped after step 2 exits 75" status_is 75
run mpi 2 "$rso" reward "${frozen_reward[@]}" --set reward.output="$work/frozen-interrupted" --resume auto
check "reward with kept states resumed exits 0" status_is 0
check "reward with kept states resumed gives the uninterrupted weights bit for bit" \
  cmp -s "$work/frozen-kept/model.h5" "$work/frozen-interrupted/model.h5"
# 3 ranks deal the chunks unevenly (a global batch of 3 ranks is another training: compared on 3).
run mpi 3 "$rso" reward "${frozen_reward[@]}" --set reward.output="$work/frozen-3"
check "reward with kept states on 3 ranks exits 0" status_is 0
run mpi 3 "$rso" reward "${frozen_reward[@]}" --set reward.output="$work/frozen-3-recomputed" --set reward.frozen_state_cache_mib=0
for key in loss eval_loss chosen_reward; do
  check "kept states on 3 ranks train as recomputed ones: $key" close_to "$(summary_number "$work/frozen-3/summary.json" "$key")" \
    "$(summary_number "$work/frozen-3-recomputed/summary.json" "$key")" 1e-5
done
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/early2" "${tiny[@]}" "${early[@]}" \
  --set task.early_policy_step=5 --until pairs
check "an early policy step without a checkpoint exits 2" status_is 2
check "an early policy step without a checkpoint is named" stderr_has "task.early_policy_step = 5: no SFT checkpoint of that step"
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/early4" "${tiny[@]}" "${early[@]}" \
  --set task.human_responses=sft-policy --until pairs
check "an early policy with on-policy D_hf exits 2" status_is 2
check "an early policy with on-policy D_hf is named" stderr_has "task.early_policy_step adds to corpus D_hf only"
check "an early policy with on-policy D_hf writes no D_hf" [ ! -e "$work/early4/data/pairs.jsonl" ]
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/early3" "${tiny[@]}" "${early[@]}" \
  --set reward.frozen_layers=2 --until reward
check "more frozen layers than the model has exits 2" status_is 2
check "more frozen layers than the model has is named" stderr_has "reward.frozen_layers = 2 but the model has 1 layers"
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/early5" "${tiny[@]}" "${early[@]}" \
  --set reward.valence_l2=1e-4 --set reward.pooling=sum --until reward
check "a valence prior without valences exits 2" status_is 2
check "a valence prior without valences is named" stderr_has "reward.valence_l2 > 0 needs reward.pooling = lexicon"
run "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/until" "${tiny[@]}" --until rewards
check "pipeline --until with an unknown stage exits 2" status_is 2
check "pipeline --until names the stages" stderr_has "the stages are data, tokenizer"

# --- reward functions in place of the reward model (sample.scorer) -----------------------
# In a copy of the run: these commands record their config in their run directory.
cp -r "$work/run" "$work/gold"
run mpi 2 "$rso" sample --config "$work/gold/config.yaml" --run-dir "$work/gold" --set sample.scorer=gold \
  --set sample.output="$work/gold/gold-sample"
check "sample with the gold reward as scorer exits 0" status_is 0
check "sample says what scores the candidates" stderr_has "candidates scored by the gold reward"
check "sample with the gold reward counts the pairs it cannot decide" grep -q '"tied_pairs_dropped"' "$work/gold/gold-sample/stats.json"
# A block of another run placed in a sample directory is refused, by name.
cp -r "$work/run" "$work/foreign"
cp "$work/gold/gold-sample/block-000000.h5" "$work/foreign/sample/block-000000.h5"
run mpi 2 "$rso" train --config "$work/foreign/config.yaml" --run-dir "$work/foreign" --set train.output="$work/foreign/train2"
check "train on a sample directory with a foreign block exits 3" status_is 3
check "train names the foreign block" stderr_has "foreign/sample/block-000000.h5 is not the block"

run mpi 2 "$rso" eval --config "$work/gold/config.yaml" --run-dir "$work/gold" --set sample.scorer=gold \
  --set eval.output="$work/gold/gold-eval"
check "eval with the gold reward as the proxy exits 0" status_is 0
check "eval: the gold proxy is a function" grep -q '"reward_kind": "function"' "$work/gold/gold-eval/report.json"
# report.json's "mean" of a metric (dump(2): the key, then "mean" on its own line).
mean_of() { awk -v key="\"$2\":" '$1 == key { found = 1 } found && $1 == "\"mean\":" { sub(",", "", $2); print $2; exit }' "$1"; }
check "eval: the gold proxy's win rate is the gold win rate" \
  [ "$(mean_of "$work/gold/gold-eval/report.json" proxy_win_rate)" = "$(mean_of "$work/gold/gold-eval/report.json" gold_win_rate)" ]
# "PAIRS AGREEMENT" of the proxy's check on reference pairs: all of them, or none to check.
gold_check=$(awk '/"proxy_on_reference_pairs"/ { f = 1 } f && /"pairs"/ { gsub(",", "", $2); p = $2 }
  f && /"agreement"/ { print p, $2; exit }' "$work/gold/gold-eval/report.json")
check "eval: the gold proxy agrees with the gold reward on every reference pair it checks ($gold_check)" \
  [ "${gold_check#* }" = "1.0" -o "$gold_check" = "0.0 0.0" ]
cp "$work/gold/config.yaml" "$work/gold-config-before.yaml"
run "$rso" sample --config "$work/gold/config.yaml" --run-dir "$work/gold" --set sample.scorer=vader
check "an unknown scorer exits 2" status_is 2
check "an unknown scorer names the key" stderr_has "sample.scorer = 'vader' is none of model, gold, exec:COMMAND"
check "an unknown scorer is refused before the run's config is rewritten" cmp -s "$work/gold-config-before.yaml" "$work/gold/config.yaml"
# A prompt the models cannot read with a full response is refused with its line, before any sampling.
{
  echo '{"id": "short", "prompt": "a b c"}'
  printf '{"id": "long", "prompt": "%s"}\n' "$(printf 'word %.0s' {1..300})"
} >"$work/long-eval.jsonl"
run "$rso" eval --config "$work/run/config.yaml" --set eval.prompts="$work/long-eval.jsonl" \
  --set eval.output="$work/eval-long"
check "eval: a prompt too long for max_new_tokens exits 3" status_is 3
check "eval: names the prompt's line" stderr_has "long-eval.jsonl:2: field \"prompt\""
check "eval: says which limit" stderr_has "max_positions 256 with responses of up to sample.max_new_tokens 8 tokens"
check "eval: refused before writing samples" [ ! -e "$work/eval-long/samples.jsonl" ]
run "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/nofortunes" "${tiny[@]}" \
  --set task.fortunes="$work/absent"
check "pipeline without the fortunes exits 4" status_is 4
check "pipeline says where the fortunes come from" stderr_has "Debian's 'fortunes' package"
# The tiny policy writes no sentiment words: raters who skip ties decline every pair of its samples.
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/ties" "${tiny[@]}" --set task.rater_skips_ties=true \
  --set task.human_responses=sft-policy
check "pipeline with every pair declined exits 3" status_is 3
check "pipeline says every pair was declined" stderr_has "declined every pair"

# --- generate: sharded by line, the same tokens on any rank count -------------------
"$make_test_model" "$work/model.h5" 5
for i in 0 1 2 3 4 5 6; do
  echo "{\"id\": \"p$i\", \"prompt_ids\": [$((i + 1)), $((i * 3 % 50)), 7]}"
done >"$work/prompts.jsonl"
for ranks in 1 2 3; do
  run mpi "$ranks" "$rso" generate --model "$work/model.h5" --in "$work/prompts.jsonl" --out "$work/gen$ranks.jsonl" \
    --num-samples 3 --max-new-tokens 6 --top-k 20 --seed 11
  check "generate on $ranks ranks exits 0" status_is 0
  check "generate on $ranks ranks writes one line per prompt" [ "$(wc -l <"$work/gen$ranks.jsonl")" -eq 7 ]
  grep -o '"tokens":\[[^]]*\]' "$work/gen$ranks.jsonl" >"$work/tokens$ranks"
  grep -o '"id":"[^"]*"' "$work/gen$ranks.jsonl" | tr '\n' ' ' >"$work/ids$ranks"
  check "generate on $ranks ranks gives 3 samples of 6 tokens per prompt" \
    [ "$(grep -c '^"tokens":\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*\]$' "$work/tokens$ranks")" -eq 21 ]
  check "generate on $ranks ranks keeps input order" \
    [ "$(cat "$work/ids$ranks")" = '"id":"p0" "id":"p1" "id":"p2" "id":"p3" "id":"p4" "id":"p5" "id":"p6" ' ]
  check "generate on $ranks ranks leaves no part files" [ "$(find "$work" -name 'gen*.part-*' | wc -l)" -eq 0 ]
done
check "generate: 1 and 2 ranks draw the same tokens" cmp -s "$work/tokens1" "$work/tokens2"
check "generate: 1 and 3 ranks draw the same tokens" cmp -s "$work/tokens1" "$work/tokens3"
run "$rso" generate --model "$work/model.h5" --in "$work/prompts.jsonl" --out "$work/gen-seed.jsonl" \
  --num-samples 3 --max-new-tokens 6 --top-k 20 --seed 12
grep -o '"tokens":\[[^]]*\]' "$work/gen-seed.jsonl" >"$work/tokens-seed"
check "generate: another seed draws other tokens" differs "$work/tokens1" "$work/tokens-seed"
run mpi 2 "$rso" generate --model "$work/model.h5" --in "$work/prompts.jsonl" --out "$work/gen-fixed.jsonl" \
  --num-samples 3 --max-new-tokens 6 --top-k 20 --seed 11 --set dist.decode=fixed
grep -o '"tokens":\[[^]]*\]' "$work/gen-fixed.jsonl" >"$work/tokens-fixed"
check "generate: fixed-shape decoding draws the same tokens" cmp -s "$work/tokens1" "$work/tokens-fixed"
run "$rso" generate --model "$work/model.h5" --in "$work/prompts.jsonl" --out "$work/x.jsonl" --set dist.decode=graph
check "generate: graph decoding on a CPU exits 2" status_is 2
check "generate: says graphs need CUDA" stderr_has "CUDA graphs need"
# The test model holds 128 positions; these prompts have 3 tokens.
run "$rso" generate --model "$work/model.h5" --in "$work/prompts.jsonl" --out "$work/x.jsonl" --max-new-tokens 127
check "generate: prompts too long for --max-new-tokens exit 3" status_is 3
check "generate: names the first such prompt's line" stderr_has "prompts.jsonl:1: field \"prompt_ids\": 3 tokens"
run "$rso" generate --model "$work/model.h5" --in "$work/prompts.jsonl" --out "$work/x.jsonl" --max-new-tokens 129
check "generate: --max-new-tokens without room for a prompt exits 2" status_is 2
check "generate: no output on these errors" [ ! -e "$work/x.jsonl" ]

printf '{"id": 1, "prompt_ids": [1, 2]}\n{"id": 2, "prompt_ids": [3, 99]}\n' >"$work/bad-prompts.jsonl"
run mpi 2 "$rso" generate --model "$work/model.h5" --in "$work/bad-prompts.jsonl" --out "$work/x.jsonl"
check "generate: out-of-vocabulary id exits 3" status_is 3
check "generate: names file, line and field" stderr_has "$work/bad-prompts.jsonl:2: field \"prompt_ids\": token 99"
check "generate: reported once" [ "$(stderr_count "bad-prompts.jsonl:2")" -eq 1 ]
check "generate: no output on error" [ ! -e "$work/x.jsonl" ]
printf '{"id": 1, "prompt": "hello"}\n' >"$work/hello.jsonl"
run "$rso" generate --model "$work/model.h5" --in "$work/hello.jsonl" --out "$work/x.jsonl"
check "generate: text prompts without a tokenizer exit 3" status_is 3
run "$rso" generate --model "$work/prompts.jsonl" --in "$work/prompts.jsonl" --out "$work/x.jsonl"
check "generate: a model that is not HDF5 exits 3" status_is 3
run "$rso" generate --model "$work/model.h5" --in "$work/prompts.jsonl" --out "$work/x.jsonl" --top-p 0
check "generate: bad --top-p exits 2" status_is 2
# An output over an input would replace the input with its own samples.
cp "$work/prompts.jsonl" "$work/prompts-kept.jsonl"
ln -sf "$work/prompts-kept.jsonl" "$work/prompts-link.jsonl"
run "$rso" generate --model "$work/model.h5" --in "$work/prompts-kept.jsonl" --out "$work/prompts-link.jsonl"
check "generate: --out onto --in (by a link) exits 2" status_is 2
check "generate: --out onto --in names both" stderr_has "is the same file as --in"
check "generate: --out onto --in leaves the input" cmp -s "$work/prompts.jsonl" "$work/prompts-kept.jsonl"
run "$rso" inspect "$work/model.h5"
check "inspect shows a model checkpoint" stdout_has "format: rso.model, version 1"
check "inspect lists parameters with dtype and shape" stdout_has "model.layers.1.self_attn.k_proj.weight  float32 [16 x 32]"

# --- Hugging Face round trip: the imported model samples the same tokens -----------
run "$rso" export-hf "$work/model.h5" --out "$work/hf"
check "export-hf exits 0" status_is 0
check "export-hf writes config.json" [ -s "$work/hf/config.json" ]
check "export-hf writes model.safetensors" [ -s "$work/hf/model.safetensors" ]
run "$rso" import-hf "$work/hf" --out "$work/model2.h5"
check "import-hf exits 0" status_is 0
run "$rso" generate --model "$work/model2.h5" --in "$work/prompts.jsonl" --out "$work/gen-hf.jsonl" \
  --num-samples 3 --max-new-tokens 6 --top-k 20 --seed 11
grep -o '"tokens":\[[^]]*\]' "$work/gen-hf.jsonl" >"$work/tokens-hf"
check "a model exported and imported again samples the same tokens" cmp -s "$work/tokens1" "$work/tokens-hf"
printf '\x10\x00\x00\x00\x00\x00\x00\x00{"a":{"dtype":"F32","shape":[9],"data_offsets":[0,36]}}' \
  >"$work/hf/model.safetensors"
run "$rso" import-hf "$work/hf" --out "$work/model3.h5"
check "import-hf of a malformed safetensors file exits 3" status_is 3
check "import-hf says what is malformed" stderr_has "malformed safetensors file"
check "import-hf writes nothing on error" [ ! -e "$work/model3.h5" ]

# --- select: Algorithm 1 over given candidates, the same bytes on any rank count -----
for i in $(seq 0 10); do
  printf '{"id": %d, "prompt": "prompt %d", "responses": [' "$i" "$i"
  for j in 0 1 2 3 4 5; do printf '%s"response %d-%d"' "$([ "$j" -gt 0 ] && echo ,)" "$i" "$j"; done
  printf '], "rewards": ['
  for j in 0 1 2 3 4 5; do printf '%s%d.%d' "$([ "$j" -gt 0 ] && echo ,)" "$(((i * 7 + j * 3) % 5))" "$j"; done
  printf ']}\n'
done >"$work/candidates.jsonl"
for ranks in 1 2 3; do
  run mpi "$ranks" "$rso" select --in "$work/candidates.jsonl" --out "$work/selected$ranks.jsonl" --beta 0.5 \
    --num-samples 4 --seed 5 --pairs tournament --pairs-out "$work/pairs$ranks.jsonl"
  check "select on $ranks ranks exits 0" status_is 0
  check "select on $ranks ranks writes one line per prompt" [ "$(wc -l <"$work/selected$ranks.jsonl")" -eq 11 ]
  check "select on $ranks ranks: tournament of 4 gives 3 pairs per prompt" [ "$(wc -l <"$work/pairs$ranks.jsonl")" -eq 33 ]
done
check "select: 1 and 2 ranks write the same bytes" cmp -s "$work/selected1.jsonl" "$work/selected2.jsonl"
check "select: 1 and 3 ranks write the same bytes" cmp -s "$work/selected1.jsonl" "$work/selected3.jsonl"
check "select: pairs are the same on 1 and 3 ranks" cmp -s "$work/pairs1.jsonl" "$work/pairs3.jsonl"
check "select: accepted holds 4 distinct indices" \
  [ "$(grep -c '"accepted":\[[0-5],[0-5],[0-5],[0-5]\],"rounds":[1-9]' "$work/selected1.jsonl")" -eq 11 ]
check "select: pairs are {prompt, chosen, rejected}" \
  [ "$(grep -c '^{"prompt":"prompt [0-9]*","chosen":"response [0-9-]*","rejected":"response [0-9-]*"}$' "$work/pairs1.jsonl")" -eq 33 ]
run "$rso" select --in "$work/candidates.jsonl" --out "$work/sel-fr.jsonl" --num-samples 4 --pairs first-round \
  --pairs-out "$work/pairs-fr.jsonl"
check "select: first-round gives n_d/2 pairs per prompt" [ "$(wc -l <"$work/pairs-fr.jsonl")" -eq 22 ]
run "$rso" select --in "$work/candidates.jsonl" --out "$work/sel-all.jsonl" --num-samples 9
check "select: n_d above the candidates takes all and says so once" [ "$(stderr_count "all of theirs were accepted")" -eq 1 ]
cp "$work/candidates.jsonl" "$work/candidates-kept.jsonl"
run mpi 2 "$rso" select --in "$work/candidates-kept.jsonl" --out "$work/./candidates-kept.jsonl" --num-samples 4
check "select: --out onto --in exits 2" status_is 2
check "select: --out onto --in leaves the input" cmp -s "$work/candidates.jsonl" "$work/candidates-kept.jsonl"
run "$rso" select --in "$work/candidates.jsonl" --out "$work/x.jsonl" --pairs-out "$work/x.jsonl" --num-samples 4
check "select: --pairs-out onto --out exits 2" status_is 2
check "select: --pairs-out onto --out names both" stderr_has "--pairs-out '$work/x.jsonl' is the same file as --out"
printf '{"id": "p1", "prompt": "x", "responses": ["a", "b"], "rewards": [0.5, NaN]}\n' >"$work/nan.jsonl"
run mpi 2 "$rso" select --in "$work/nan.jsonl" --out "$work/x.jsonl"
check "select: a NaN reward exits 3" status_is 3
check "select: a NaN reward names the prompt" stderr_has 'reward 1 of prompt "p1" is NaN'
# An external scorer: the reward of "response i-j" is j (the given rewards are not read).
cat >"$work/digit-scorer.sh" <<'SCORER'
while IFS= read -r line; do d=${line%\"\}}; echo "${d##*-}"; done
SCORER
run mpi 2 "$rso" select --in "$work/candidates.jsonl" --out "$work/sel-ext.jsonl" --num-samples 4 --pairs first-round \
  --pairs-out "$work/pairs-ext.jsonl" --scorer "exec:sh $work/digit-scorer.sh"
check "select with an external scorer exits 0" status_is 0
check "select with an external scorer writes its pairs" [ "$(wc -l <"$work/pairs-ext.jsonl")" -eq 22 ]
check "select with an external scorer: the chosen response has the higher score" \
  awk '{ match($0, /"chosen":"response [0-9]+-[0-9]+"/); c = substr($0, RSTART, RLENGTH); gsub(/.*-|"/, "", c);
         match($0, /"rejected":"response [0-9]+-[0-9]+"/); r = substr($0, RSTART, RLENGTH); gsub(/.*-|"/, "", r);
         if (c + 0 <= r + 0) bad = 1 } END { exit bad }' "$work/pairs-ext.jsonl"
run mpi 2 "$rso" select --in "$work/candidates.jsonl" --out "$work/sel-bad.jsonl" --scorer "exec:read x; exit 7"
check "select: a scorer that ends early exits 69" status_is 69
check "select: a scorer that ends early is named, with its exit status" stderr_has "'read x; exit 7' (exit status 7)"
run "$rso" select --in "$work/candidates.jsonl" --out "$work/sel-bad.jsonl" --scorer model
check "select --scorer model exits 2" status_is 2
run "$rso" select --in "$work/candidates.jsonl" --out "$work/x.jsonl" --beta 0
check "select: beta 0 exits 2" status_is 2
check "select: no output on error" [ ! -e "$work/x.jsonl" ]

# --- sample: the sampling stage, resumable, the same files on any rank count -------
"$make_test_model" "$work/reward.h5" 6 - pointwise
"$make_test_model" "$work/ranker.h5" 7 - ranking
# Bitwise comparisons hold at a fixed thread count per rank (BLAS splits sums by threads).
sample_flags=(--set sample.prompts="$work/prompts.jsonl" --set sample.policy="$work/model.h5"
  --set sample.num_candidates=8 --set sample.num_samples=4 --set sample.max_new_tokens=5
  --set sample.block_size=2 --set dist.threads=1 --set sample.pairs=tournament)
for ranks in 1 2 3; do
  run mpi "$ranks" "$rso" sample --run-dir "$work/sample$ranks" "${sample_flags[@]}" --set sample.reward_model="$work/ranker.h5"
  check "sample on $ranks ranks exits 0" status_is 0
  check "sample on $ranks ranks writes 4 blocks for 7 prompts" [ "$(ls "$work/sample$ranks/sample/"block-*.h5 | wc -l)" -eq 4 ]
  check "sample on $ranks ranks writes stats" grep -q '"first_round_acceptance"' "$work/sample$ranks/sample/stats.json"
done
same_blocks() { for f in "$1"/block-*.h5; do cmp -s "$f" "$2/$(basename "$f")" || return 1; done; }
check "sample: 1 and 2 ranks write the same blocks" same_blocks "$work/sample1/sample" "$work/sample2/sample"
check "sample: 1 and 3 ranks write the same blocks" same_blocks "$work/sample1/sample" "$work/sample3/sample"
run "$rso" inspect "$work/sample1/sample/block-000000.h5"
check "sample: blocks are rso.samples files" stdout_has "format: rso.samples, version 1"
check "sample: tournament of 4 gives 3 pairs per prompt (2 prompts a block)" \
  [ "$(h5dump -d /pairs/prompt "$work/sample1/sample/block-000000.h5" | grep -c 'SIMPLE { ( 6 )')" -eq 1 ]
run mpi 2 "$rso" sample --run-dir "$work/resumed" "${sample_flags[@]}" --set sample.reward_model="$work/ranker.h5" \
  --max-blocks 1
check "sample stopped by --max-blocks exits 75" status_is 75
check "sample stopped early leaves blocks to do" [ "$(ls "$work/resumed/sample/"block-*.h5 | wc -l)" -eq 2 ]
run mpi 3 "$rso" sample --run-dir "$work/resumed" "${sample_flags[@]}" --set sample.reward_model="$work/ranker.h5"
check "sample resumed on 3 ranks exits 0" status_is 0
check "sample resumed says what was done before" stderr_has "2 done before, 2 to do"
check "sample resumed gives the uninterrupted blocks" same_blocks "$work/sample1/sample" "$work/resumed/sample"
# Blocks are dealt longest first: the first round on 2 ranks takes the two longest prompts.
printf '{"prompt_ids": [%s]}\n' 1,2 1,2,3,4,5,6 1,2,3 1,2,3,4,5,6,7,8,9 1 >"$work/uneven-prompts.jsonl"
run mpi 2 "$rso" sample --run-dir "$work/uneven" "${sample_flags[@]}" --set sample.reward_model="$work/ranker.h5" \
  --set sample.prompts="$work/uneven-prompts.jsonl" --set sample.block_size=1 --max-blocks 1
check "sample: the first round takes the longest prompts" \
  [ "$(cd "$work/uneven/sample" && echo block-*.h5)" = "block-000001.h5 block-000003.h5" ]
run "$rso" sample --run-dir "$work/resumed" "${sample_flags[@]}" --set sample.reward_model="$work/ranker.h5" \
  --set sample.beta=0.3
check "sample with other parameters over old output exits 2" status_is 2
check "sample says which parameters differ" stderr_has "was written for config_hash"
run "$rso" sample --run-dir "$work/sft-rank" "${sample_flags[@]}" --set sample.reward_model="$work/reward.h5" \
  --set sample.source=sft-sample-rank --set sample.pairs=first-round
check "sample sft-sample-rank exits 0" status_is 0
check "sample sft-sample-rank: n_d/2 pairs per prompt" grep -q '"pairs": 14' "$work/sft-rank/sample/stats.json"
printf '{"prompt_ids": [1, 2], "chosen_ids": [3, 4], "rejected_ids": [5]}\n{"prompt_ids": [6], "chosen_ids": [7], "rejected_ids": [8, 9]}\n' \
  >"$work/human.jsonl"
run mpi 2 "$rso" sample --run-dir "$work/direct" "${sample_flags[@]}" --set sample.source=direct \
  --set sample.human_pairs="$work/human.jsonl"
check "sample direct exits 0" status_is 0
check "sample direct keeps the given pairs" grep -q '"pairs": 2' "$work/direct/sample/stats.json"
run "$rso" sample --run-dir "$work/missing" "${sample_flags[@]}" --set sample.reward_model="$work/absent.h5"
check "sample without its reward model exits 4" status_is 4
run "$rso" sample --run-dir "$work/wrong" "${sample_flags[@]}" --set sample.reward_model="$work/model.h5"
check "sample with a policy as reward model exits 3" status_is 3
# The test policy and reward models hold 128 positions; the prompts have 3 tokens.
# The policy reads prompt + response (the pairs' π_sft log-probs): 128 - 126 = 2.
"$make_test_model" "$work/reward-wide.h5" 6 - pointwise positions=1024
run "$rso" sample --run-dir "$work/long" "${sample_flags[@]}" --set sample.reward_model="$work/reward-wide.h5" \
  --set sample.max_new_tokens=126
check "sample: prompts too long for max_new_tokens exit 3" status_is 3
check "sample: names the first such prompt's line" stderr_has "prompts.jsonl:1: field \"prompt\": 3 tokens; the policy's"
run "$rso" sample --run-dir "$work/long-fits" "${sample_flags[@]}" --set sample.reward_model="$work/reward-wide.h5" \
  --set sample.max_new_tokens=125 --set sample.num_candidates=2 --set sample.num_samples=2 --set sample.top_k=0
check "sample: prompts that just fit run (responses of up to 125 tokens)" status_is 0
# The ranking model reads x sep y1 sep y2: 128 - 2*62 - 2 = 2.
run "$rso" sample --run-dir "$work/long" "${sample_flags[@]}" --set sample.reward_model="$work/ranker.h5" \
  --set sample.max_new_tokens=62
check "sample: prompts too long for the ranking model exit 3" status_is 3
check "sample: says the ranking model sets the limit" \
  stderr_has "3 tokens; the reward model's max_positions 128 with two responses of up to sample.max_new_tokens 62"
run "$rso" sample --run-dir "$work/long" "${sample_flags[@]}" --set sample.reward_model="$work/ranker.h5" \
  --set sample.max_new_tokens=129
check "sample: max_new_tokens without room for a prompt exits 2" status_is 2
check "sample: says max_new_tokens leaves no room" stderr_has "leaves no room for a prompt"
long_ids=$(printf '1,%.0s' {1..130})
printf '{"prompt_ids": [1, 2], "chosen_ids": [3], "rejected_ids": [5]}\n{"prompt_ids": [6], "chosen_ids": [7], "rejected_ids": [%s]}\n' \
  "${long_ids%,}" >"$work/human-long.jsonl"
run mpi 2 "$rso" sample --run-dir "$work/direct-long" "${sample_flags[@]}" --set sample.source=direct \
  --set sample.human_pairs="$work/human-long.jsonl"
check "sample direct: a pair longer than the policy's context exits 3" status_is 3
check "sample direct: names the pair's line and side" stderr_has "human-long.jsonl:2: field \"rejected\": the prompt and this response are 131 tokens"

# --- train: preference optimisation on the sampled pairs --------------------------------
train_flags=(--set train.policy="$work/model.h5" --set train.steps=25 --set train.micro_batch=2
  --set train.learning_rate=1e-3 --set train.pairs="$work/sample1/sample")
run mpi 2 "$rso" train --run-dir "$work/train" "${train_flags[@]}"
check "train on 2 ranks exits 0" status_is 0
check "train writes one metrics line per step" [ "$(wc -l <"$work/train/train/metrics.jsonl")" -eq 25 ]
check "train writes the policy" [ -s "$work/train/train/model.h5" ]
# The policy starts as the reference: Δ = 0, so the DPO loss starts at log 2.
check "train starts at loss log 2" grep -q '^{"step":1,"loss":0.69314' "$work/train/train/metrics.jsonl"
first_margin=$(head -1 "$work/train/train/metrics.jsonl" | grep -o '"margin":[-0-9.e]*' | cut -d: -f2)
last_margin=$(tail -1 "$work/train/train/metrics.jsonl" | grep -o '"margin":[-0-9.e]*' | cut -d: -f2)
check "train raises the chosen-vs-rejected margin" awk -v a="$first_margin" -v b="$last_margin" 'BEGIN { exit !(b > a + 0.05) }'
run mpi 2 "$rso" train --run-dir "$work/train-bad" "${train_flags[@]}" --set train.global_batch=6
check "train with a global batch it cannot honour exits 2" status_is 2
check "train says why" stderr_has "cannot be honoured: micro_batch 2 x grad_accumulation 1 x 2 ranks = 4"
run "$rso" train --run-dir "$work/train-jsonl" "${train_flags[@]}" --set train.pairs="$work/human.jsonl" \
  --set train.loss=hinge-norm --set train.optimizer=adafactor --set train.steps=3
check "train on JSONL pairs (reference computed) with adafactor exits 0" status_is 0
check "train computes the reference once" stderr_has "computing pi_sft log-probs of 2 pairs once"
run "$rso" train --run-dir "$work/train-jsonl" "${train_flags[@]}" --set train.pairs="$work/human.jsonl" \
  --set train.loss=hinge-norm --set train.optimizer=adafactor --set train.steps=3
check "train run again reads the cached reference log-probs" stderr_has "pi_sft log-probs of 2 pairs read from"
check "train run again computes nothing" [ "$(stderr_count "computing pi_sft")" -eq 0 ]
run "$rso" train --run-dir "$work/train-long" "${train_flags[@]}" --set train.pairs="$work/human-long.jsonl"
check "train: a pair longer than the policy's context exits 3" status_is 3
check "train: names the pair's line" stderr_has "human-long.jsonl:2: the pair is read as 131 tokens; the policy's max_positions 128"
run "$rso" reward --run-dir "$work/reward-long" --set reward.init="$work/model.h5" --set reward.pairs="$work/human-long.jsonl" \
  --set reward.kind=pointwise --set reward.steps=1
check "reward: a pair longer than the model's context exits 3" status_is 3
check "reward: names the pair's line" stderr_has "human-long.jsonl:2: the pair is read as 131 tokens; the reward model's max_positions 128"
"$make_test_model" "$work/model-other.h5" 9
run "$rso" train --run-dir "$work/train-jsonl" "${train_flags[@]}" --set train.pairs="$work/human.jsonl" \
  --set train.loss=hinge-norm --set train.steps=3 --set train.policy="$work/model-other.h5"
check "train with another policy recomputes the reference" stderr_has "computing pi_sft log-probs of 2 pairs once"
# Legal but suspicious pairs: trained on, and said once.
printf '%s\n' '{"id": 1, "prompt_ids": [1, 2], "chosen_ids": [3, 4], "rejected_ids": [5]}' \
  '{"id": 2, "prompt_ids": [6], "chosen_ids": [7, 8], "rejected_ids": [7, 8]}' \
  '{"id": 1, "prompt_ids": [6], "chosen_ids": [7], "rejected_ids": [8, 9]}' >"$work/odd-pairs.jsonl"
run mpi 2 "$rso" train --run-dir "$work/train-odd" "${train_flags[@]}" --set train.pairs="$work/odd-pairs.jsonl" \
  --set train.steps=2
check "train on pairs with a tie and a repeated id exits 0" status_is 0
check "train counts the pairs whose chosen equals rejected" \
  stderr_has "1 of 3 pairs in $work/odd-pairs.jsonl have the chosen response equal to the rejected one (the first: $work/odd-pairs.jsonl:2)"
check "train names the repeated id" stderr_has "(the first: id 1 at $work/odd-pairs.jsonl:1 and $work/odd-pairs.jsonl:3)"
check "train says it once, not once per rank" [ "$(stderr_count "repeat an id")" -eq 1 ]

# Checkpoint-restart: stopped after step 6 (as on SIGUSR1), a checkpoint write
# killed half-way at step 8, then resumed: the uninterrupted run's bytes.
resume_flags=("${train_flags[@]}" --set train.steps=12 --set train.checkpoint_every=4 --set dist.threads=1)
run mpi 2 "$rso" train --run-dir "$work/uninterrupted" "${resume_flags[@]}"
check "train with checkpoints exits 0" status_is 0
run mpi 2 "$rso" train --run-dir "$work/interrupted" "${resume_flags[@]}" --stop-after-step 6
check "train stopped after a checkpoint exits 75" status_is 75
check "train stopped writes its checkpoint" [ -s "$work/interrupted/train/checkpoints/step_00000006/state.h5" ]
mkdir -p "$work/interrupted/train/checkpoints/step_00000008.tmp"
printf 'half-written' >"$work/interrupted/train/checkpoints/step_00000008.tmp/state.h5"
run mpi 2 "$rso" train --run-dir "$work/interrupted" "${resume_flags[@]}" --resume auto
check "train resumed exits 0" status_is 0
check "train resumed from the committed checkpoint" stderr_has "(step 6)"
check "train resumed gives the uninterrupted weights bit for bit" \
  cmp -s "$work/uninterrupted/train/model.h5" "$work/interrupted/train/model.h5"
strip_speed() { sed 's/,"tokens_per_second":[^}]*//' "$1"; }
check "train resumed gives the uninterrupted metrics" \
  [ "$(strip_speed "$work/uninterrupted/train/metrics.jsonl")" = "$(strip_speed "$work/interrupted/train/metrics.jsonl")" ]
check "train removes the half-written checkpoint" [ ! -e "$work/interrupted/train/checkpoints/step_00000008.tmp" ]
# Resumed on another rank count with the same global batch (1 rank x 2 micro-batches
# of 2 instead of 2 ranks x 2): the same run up to summation order.
run mpi 2 "$rso" train --run-dir "$work/other-ranks" "${resume_flags[@]}" --stop-after-step 6
run "$rso" train --run-dir "$work/other-ranks" "${resume_flags[@]}" --resume auto --set train.grad_accumulation=2
check "train resumed on 1 rank exits 0" status_is 0
check "train resumed on 1 rank continues from step 6" stderr_has "(step 6)"
last_loss() { tail -1 "$1" | grep -o '"loss":[-0-9.e]*' | cut -d: -f2; }
check "train resumed on 1 rank ends with the same loss (relative 1e-4)" \
  awk -v a="$(last_loss "$work/uninterrupted/train/metrics.jsonl")" -v b="$(last_loss "$work/other-ranks/train/metrics.jsonl")" \
  'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4 * (a < 0 ? -a : a)) }'
run "$rso" train --run-dir "$work/other-ranks" "${resume_flags[@]}" --resume auto
check "train refuses to resume with another global batch" status_is 2
run mpi 2 "$rso" train --run-dir "$work/interrupted" "${resume_flags[@]}" --resume auto --set train.gamma=0.1
check "train refuses to resume with other parameters" status_is 2
# A real signal: Open MPI's launcher forwards SIGUSR1 to the ranks.
# signal_when SIGNAL READY COMMAND...: runs COMMAND on 2 ranks, sends SIGNAL to
# the launcher once the shell test READY holds (tried for up to 30 s), and sets
# $status to the launcher's exit status.
signal_when() {
  local signal=$1 ready=$2 launcher
  shift 2
  "$mpiexec" -n 2 "${mpi_flags[@]}" "$@" >"$work/out" 2>"$work/err" &
  launcher=$!
  for _ in $(seq 1 1500); do
    eval "$ready" && break
    sleep 0.02
  done
  kill "-$signal" "$launcher"
  wait "$launcher"
  status=$?
}
usr1_when() { signal_when USR1 "$@"; }
usr1_when '[ "$(wc -l 2>/dev/null <"$work/signalled/train/metrics.jsonl" || echo 0)" -ge 3 ]' \
  "$rso" train --run-dir "$work/signalled" "${train_flags[@]}" --set train.steps=100000
check "train on SIGUSR1 checkpoints and exits 75" status_is 75
check "train on SIGUSR1 leaves a committed checkpoint" [ -s "$work/signalled/train/checkpoints/latest" ]
check "train on SIGUSR1 stops every rank at one step" grep -qE "stop requested on [12] of 2 ranks" "$work/err"
# Ctrl-C on a run without a launcher checkpoints as SIGUSR1 does.
"$rso" train --run-dir "$work/interrupted-int" "${train_flags[@]}" --set train.steps=100000 >"$work/out" 2>"$work/err" &
single=$!
for _ in $(seq 1 1500); do
  [ "$(wc -l 2>/dev/null <"$work/interrupted-int/train/metrics.jsonl" || echo 0)" -ge 3 ] && break
  sleep 0.02
done
kill -INT "$single"
wait "$single"
status=$?
check "train on SIGINT checkpoints and exits 75" status_is 75
check "train on SIGINT leaves a committed checkpoint" [ -s "$work/interrupted-int/train/checkpoints/latest" ]
# SIGTERM to mpirun (scancel): it passes the signal on and exits 1 however the
# ranks end, so rank 0 writes its exit code to RSO_EXIT_CODE_FILE for the job
# script; with the kill grace the job scripts give mpirun, the ranks checkpoint.
RSO_EXIT_CODE_FILE="$work/exit-code" signal_when TERM \
  '[ "$(wc -l 2>/dev/null <"$work/terminated/train/metrics.jsonl" || echo 0)" -ge 3 ]' \
  --mca odls_base_sigkill_timeout 5 "$rso" train --run-dir "$work/terminated" "${train_flags[@]}" \
  --set train.steps=100000
check "train under mpirun on SIGTERM: rank 0 writes 75 to RSO_EXIT_CODE_FILE" \
  [ "$(cat "$work/exit-code" 2>/dev/null)" = 75 ]
check "train under mpirun on SIGTERM leaves a committed checkpoint" [ -s "$work/terminated/train/checkpoints/latest" ]
# A rank that stops answering (SIGSTOP here; a node gone) ends the job within
# dist.timeout_seconds, named, instead of holding the others in their next
# collective until the time limit.
"$mpiexec" -n 2 "${mpi_flags[@]}" "$rso" train --run-dir "$work/stopped-rank" "${train_flags[@]}" \
  --set train.steps=100000 --set dist.timeout_seconds=4 >"$work/out" 2>"$work/err" &
launcher=$!
rank_one=""
for _ in $(seq 1 1500); do
  if [ "$(wc -l 2>/dev/null <"$work/stopped-rank/train/metrics.jsonl" || echo 0)" -ge 3 ]; then
    for pid in $(pgrep -P "$launcher"); do
      tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && rank_one=$pid
    done
    break
  fi
  sleep 0.02
done
stopped_at=$SECONDS
[ -n "$rank_one" ] && kill -STOP "$rank_one"
wait "$launcher"
status=$?
waited=$((SECONDS - stopped_at))
[ -n "$rank_one" ] && { kill -CONT "$rank_one"; kill -KILL "$rank_one"; } 2>/dev/null
check "a stopped rank ends the job with exit 5" status_is 5
check "a stopped rank is named" stderr_has "rank 1 ("
check "a stopped rank is said not to answer" stderr_has "has not answered for"
echo "cli: the job ended $waited s after its rank 1 was stopped (dist.timeout_seconds 4)"
# A full disk: exit 4 naming the file and the reason, the last whole checkpoint
# kept, and no crash in the HDF5 library's exit handler (it used to segfault).
small_disk=$work/small-disk
mkdir -p "$small_disk"
if mount -t tmpfs -o size=2M tmpfs "$small_disk" 2>/dev/null; then
  run "$rso" train --run-dir "$small_disk/run" "${train_flags[@]}" --set train.steps=100000 \
    --set train.checkpoint_every=20
  check "a full disk is exit 4, not a crash" status_is 4
  check "a full disk names the file and the reason" stderr_has "No space left on device (errno 28)"
  check "a full disk keeps the last whole checkpoint" [ -s "$small_disk/run/train/checkpoints/latest" ]
  umount "$small_disk"
else
  echo "cli: the full-disk case needs to mount a 2 MB tmpfs (root in a privileged container): not run here"
fi

# The sampling stage stops after the round in which a rank got the signal.
for _ in $(seq 200); do cat "$work/prompts.jsonl"; done >"$work/many-prompts.jsonl"
usr1_when '[ "$(ls "$work/sample-signalled/sample/" 2>/dev/null | grep -c "^block-.*h5$")" -ge 4 ]' \
  "$rso" sample --run-dir "$work/sample-signalled" "${sample_flags[@]}" --set sample.reward_model="$work/ranker.h5" \
  --set sample.prompts="$work/many-prompts.jsonl"
check "sample on SIGUSR1 exits 75" status_is 75
check "sample on SIGUSR1 says so" stderr_has "sample: stopped on request"
check "sample on SIGUSR1 leaves blocks to do" grep -q '"complete": false' "$work/sample-signalled/sample/manifest.json"

# The pipeline finishes the stage it is in (data here), then stops.
usr1_when 'grep -q "pipeline: stage data" "$work/err"' \
  "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/run-signalled" "${tiny[@]}"
check "pipeline on SIGUSR1 exits 75" status_is 75
check "pipeline on SIGUSR1 stops between stages or after a checkpoint" grep -qE "stopped (on request before|in) stage" "$work/err"
# Signalled while SentencePiece trains: the launcher signals the helper too,
# which must finish its stage rather than die with the signal.
usr1_when 'grep -q "pipeline: stage tokenizer" "$work/err"' \
  "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/run-signalled-spm" "${tiny[@]}"
check "pipeline on SIGUSR1 during SentencePiece training exits 75" status_is 75
check "pipeline on SIGUSR1 during SentencePiece training finishes that stage" stderr_has "pipeline: stage tokenizer done"
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/run-signalled" "${tiny[@]}"
check "pipeline run again after SIGUSR1 completes" status_is 0
check "pipeline run again after SIGUSR1 gives the uninterrupted report" \
  cmp -s <(sed -n '/"metrics"/,$p' "$work/run/report.json") <(sed -n '/"metrics"/,$p' "$work/run-signalled/report.json")

# kill -9 half-way through writing a checkpoint (RSO_KILL_DURING_CHECKPOINT=N: the
# process SIGKILLs itself with the weights of step N written and the file open),
# then resume: the previous checkpoint is used and the run ends as if never killed.
run env RSO_KILL_DURING_CHECKPOINT=8 "$rso" train --run-dir "$work/killed" "${resume_flags[@]}"
check "train killed in a checkpoint write dies by SIGKILL" status_is 137
check "train killed in a checkpoint write leaves it uncommitted" [ -d "$work/killed/train/checkpoints/step_00000008.tmp" ]
check "train killed in a checkpoint write keeps the previous one as latest" \
  grep -qx step_00000004 "$work/killed/train/checkpoints/latest"
run "$rso" train --run-dir "$work/single" "${resume_flags[@]}"
run "$rso" train --run-dir "$work/killed" "${resume_flags[@]}" --resume auto
check "train resumed after kill -9 exits 0" status_is 0
check "train resumed after kill -9 starts from step 4" stderr_has "(step 4)"
check "train resumed after kill -9 gives the uninterrupted weights bit for bit" \
  cmp -s "$work/single/train/model.h5" "$work/killed/train/model.h5"

# --- sft: the LM loss on responses; held-out loss falls ----------------------------------
# Responses copy the prompt shifted by 20 ids: learnable, so held-out loss must fall.
awk 'BEGIN { srand(7); for (i = 0; i < 200; i++) { n = 2 + int(rand() * 4); p = ""; r = "";
  for (j = 0; j < n; j++) { t = 1 + int(rand() * 19); p = p (j ? ", " : "") t; r = r (j ? ", " : "") (t + 20) }
  printf "{\"prompt_ids\": [%s], \"response_ids\": [%s]}\n", p, r } }' >"$work/sft.jsonl"
sft_flags=(--set sft.init="$work/model.h5" --set sft.data="$work/sft.jsonl" --set sft.steps=40
  --set sft.micro_batch=4 --set sft.learning_rate=3e-3 --set sft.eval_fraction=0.2 --set sft.eval_every=20
  --set dist.threads=1)
run mpi 2 "$rso" sft --run-dir "$work/sft2" "${sft_flags[@]}"
check "sft on 2 ranks exits 0" status_is 0
check "sft writes the policy" [ -s "$work/sft2/sft/model.h5" ]
check "sft writes one metrics line per step" [ "$(wc -l <"$work/sft2/sft/metrics.jsonl")" -eq 40 ]
json_number() { grep -o "\"$2\": *[-0-9.e]*" "$1" | head -1 | sed 's/.*: *//'; }
eval_before=$(json_number "$work/sft2/sft/eval_before.json" eval_loss)
eval_after=$(json_number "$work/sft2/sft/summary.json" eval_loss)
check "sft lowers the held-out loss by a quarter ($eval_before -> $eval_after)" \
  awk -v a="$eval_before" -v b="$eval_after" 'BEGIN { exit !(b < 0.75 * a) }'
check "sft holds out 40 of 200 examples" grep -q '"held_out": 40' "$work/sft2/sft/summary.json"
# 2 ranks x micro-batch 4 = 1 rank x 2 micro-batches of 4: every step's loss within relative 1e-5.
run "$rso" sft --run-dir "$work/sft1" "${sft_flags[@]}" --set sft.grad_accumulation=2
check "sft on 1 rank with accumulation 2 exits 0" status_is 0
losses() { grep -o '"loss":[-0-9.e]*' "$1" | cut -d: -f2; }
check "sft: 2 ranks x b equals 1 rank x accumulation 2 (relative 1e-5 each step)" \
  bash -c "paste <(printf '%s\n' \"\$1\") <(printf '%s\n' \"\$2\") | awk '{ d = \$1 - \$2; if (d < 0) d = -d;
    if (d > 1e-5 * (\$1 < 0 ? -\$1 : \$1)) bad = 1; n++ } END { exit bad || n != 40 }'" _ \
  "$(losses "$work/sft2/sft/metrics.jsonl")" "$(losses "$work/sft1/sft/metrics.jsonl")"
run "$rso" sft --run-dir "$work/sft-bf16" "${sft_flags[@]}" --set dist.precision=bfloat16 --set sft.steps=20
check "sft in bfloat16 exits 0" status_is 0
check "sft in bfloat16 keeps float32 master weights" stderr_has "bfloat16 forward with float32 master weights"
run "$rso" inspect "$work/sft-bf16/sft/model.h5"
check "sft in bfloat16 saves the float32 masters" stdout_has "lm_head.weight  float32"
eval_bf16=$(json_number "$work/sft-bf16/sft/summary.json" eval_loss)
check "sft in bfloat16 lowers the held-out loss ($eval_before -> $eval_bf16)" \
  awk -v a="$eval_before" -v b="$eval_bf16" 'BEGIN { exit !(b < 0.9 * a) }'
run "$rso" sft --run-dir "$work/sft-stop" "${sft_flags[@]}" --stop-after-step 10
check "sft stopped exits 75" status_is 75
run "$rso" sft --run-dir "$work/sft-stop" "${sft_flags[@]}" --resume auto
check "sft resumed exits 0" status_is 0
run "$rso" sft --run-dir "$work/sft-whole" "${sft_flags[@]}"
check "sft resumed gives the uninterrupted weights bit for bit" \
  cmp -s "$work/sft-whole/sft/model.h5" "$work/sft-stop/sft/model.h5"
run "$rso" sft --run-dir "$work/sft-nodata" "${sft_flags[@]}" --set sft.data="$work/absent.jsonl"
check "sft without its data exits 4" status_is 4
printf '{"prompt_ids": [1], "response_ids": []}\n' >"$work/sft-empty.jsonl"
run "$rso" sft --run-dir "$work/sft-bad" "${sft_flags[@]}" --set sft.data="$work/sft-empty.jsonl"
check "sft with an empty response exits 3" status_is 3
check "sft names the line of the empty response" stderr_has "sft-empty.jsonl:1"

# --- reward: pointwise and ranking models on separable pairs ---------------------------
# Chosen responses use ids 20-29, rejected ones 30-39: clearly separable.
awk 'BEGIN { srand(11); for (i = 0; i < 200; i++) { n = 2 + int(rand() * 3); p = ""; c = ""; r = "";
  for (j = 0; j < n; j++) { p = p (j ? ", " : "") (1 + int(rand() * 19)); c = c (j ? ", " : "") (20 + int(rand() * 10));
    r = r (j ? ", " : "") (30 + int(rand() * 10)) }
  printf "{\"prompt_ids\": [%s], \"chosen_ids\": [%s], \"rejected_ids\": [%s]}\n", p, c, r } }' >"$work/rm-pairs.jsonl"
reward_flags=(--set reward.init="$work/model.h5" --set reward.pairs="$work/rm-pairs.jsonl" --set reward.steps=40
  --set reward.micro_batch=4 --set reward.learning_rate=1e-3 --set reward.first_marker=ids:49
  --set reward.second_marker=ids:48 --set dist.threads=1)
for kind in pointwise ranking; do
  run mpi 2 "$rso" reward --run-dir "$work/rm-$kind" "${reward_flags[@]}" --set reward.kind=$kind
  check "reward $kind on 2 ranks exits 0" status_is 0
  # The score head starts at zero: every pair starts at loss log 2.
  check "reward $kind starts at loss log 2" grep -q '^{"step":1,"loss":0.69314' "$work/rm-$kind/reward/metrics.jsonl"
  accuracy=$(json_number "$work/rm-$kind/reward/summary.json" eval_accuracy)
  check "reward $kind reaches held-out accuracy >= 0.9 ($accuracy)" awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.9) }'
  run "$rso" inspect "$work/rm-$kind/reward/model.h5"
  check "reward $kind writes a $kind reward model" stdout_has "\"$kind\""
done
# The ranking model's order flips are keyed by the visit, so a resume flips alike.
run mpi 2 "$rso" reward --run-dir "$work/rm-resumed" "${reward_flags[@]}" --set reward.kind=ranking --stop-after-step 15
check "reward stopped exits 75" status_is 75
run mpi 2 "$rso" reward --run-dir "$work/rm-resumed" "${reward_flags[@]}" --set reward.kind=ranking --resume auto
check "reward ranking resumed gives the uninterrupted weights bit for bit" \
  cmp -s "$work/rm-ranking/reward/model.h5" "$work/rm-resumed/reward/model.h5"
run "$rso" reward --run-dir "$work/rm-mismatch" "${reward_flags[@]}" --set reward.kind=ranking \
  --set reward.init="$work/rm-pointwise/reward/model.h5"
check "reward refuses to continue a pointwise model as ranking" status_is 2
run "$rso" reward --run-dir "$work/rm-text" "${reward_flags[@]}" --set reward.kind=ranking --set reward.first_marker="[A]"
check "reward with text markers and no tokenizer exits 2" status_is 2
# The trained ranking model labels pairs in the sampling stage.
run mpi 2 "$rso" sample --run-dir "$work/sample-rm" "${sample_flags[@]}" \
  --set sample.reward_model="$work/rm-ranking/reward/model.h5"
check "sample with the trained ranking model exits 0" status_is 0

# --- tokenizers: train through the SentencePiece helper, text in and out -------------
for i in $(seq 1 400); do
  echo "the policy samples $((i % 7)) candidates and the reward ranks them; rejection keeps the best"
  echo "a tokenizer splits text into pieces, pieces into ids, ids back into text"
done >"$work/corpus.txt"
run mpi 2 "$rso" tokenizer train --corpus "$work/corpus.txt" --out "$work/tok/spm.model" --vocab-size 60 \
  --spm hard_vocab_limit=false
check "tokenizer train exits 0" status_is 0
check "tokenizer train writes the model" [ -s "$work/tok/spm.model" ]
check "tokenizer train keeps the library's log" [ -s "$work/tok/spm.train.log" ]
run "$rso" tokenizer train --corpus "$work/corpus.txt" --out "$work/tok/x.bin"
check "tokenizer train wants a .model output" status_is 2
run "$rso" tokenizer train --corpus "$work/missing.txt" --out "$work/tok/x.model"
check "tokenizer train of a missing corpus exits 4" status_is 4
run "$rso" tokenizer encode --tokenizer "$work/tok/spm.model" "the policy ranks text"
check "tokenizer encode exits 0" status_is 0
ids=$(grep -o '"ids":\[[^]]*\]' "$work/out" | sed 's/"ids":\[//; s/\]//; s/,/ /g')
run "$rso" tokenizer decode --tokenizer "$work/tok/spm.model" $ids
check "tokenizer decode inverts encode" stdout_has '"text":"the policy ranks text"'

"$make_test_model" "$work/model-tok.h5" 5 "$work/tok/spm.model"
printf '{"id": "a", "prompt": "the policy"}\n{"id": "b", "prompt_ids": [5, 6]}\n{"id": "c", "prompt": "a tokenizer splits"}\n' \
  >"$work/text-prompts.jsonl"
for ranks in 1 2; do
  run mpi "$ranks" "$rso" generate --model "$work/model-tok.h5" --in "$work/text-prompts.jsonl" \
    --out "$work/text$ranks.jsonl" --num-samples 2 --max-new-tokens 5 --seed 3
  check "generate with text prompts on $ranks ranks exits 0" status_is 0
  check "generate with text prompts on $ranks ranks writes texts" [ "$(grep -o '"text":' "$work/text$ranks.jsonl" | wc -l)" -eq 6 ]
done
# Tokens and texts are exact; log-probs may differ in the last bits with batch shapes.
texts_of() { grep -o '"text":"[^"]*","tokens":\[[^]]*\]' "$1"; }
check "generate with text prompts: 1 and 2 ranks agree" [ "$(texts_of "$work/text1.jsonl")" = "$(texts_of "$work/text2.jsonl")" ]
run "$rso" tokenizer encode --tokenizer "$work/model-tok.h5" "the policy"
check "a model's own tokenizer encodes like the file it came from" stdout_has "$(
  "$rso" tokenizer encode --tokenizer "$work/tok/spm.model" "the policy")"
run "$rso" export-hf "$work/model-tok.h5" --out "$work/hf-tok"
check "export-hf writes the tokenizer" cmp -s "$work/hf-tok/tokenizer.model" "$work/tok/spm.model"
run "$rso" import-hf "$work/hf-tok" --out "$work/model-tok2.h5"
run "$rso" inspect "$work/model-tok2.h5"
check "import-hf stores the tokenizer it finds" stdout_has "tokenizer.model"
run "$rso" generate --model "$work/model-tok2.h5" --in "$work/text-prompts.jsonl" --out "$work/text-hf.jsonl" \
  --num-samples 2 --max-new-tokens 5 --seed 3
check "a re-imported model with its tokenizer generates the same text" \
  [ "$(texts_of "$work/text1.jsonl")" = "$(texts_of "$work/text-hf.jsonl")" ]
run "$rso" tokenizer encode --tokenizer "$work/model.h5" "x"
check "encode with a model that has no tokenizer exits 3" status_is 3

# --- inspect ----------------------------------------------------------------------------
printf 'not hdf5' >"$work/plain.h5"
run "$rso" inspect "$work/plain.h5"
check "inspect of a non-HDF5 file exits 3" status_is 3
check "inspect says it is not HDF5" stderr_has "is not an HDF5 file"
run "$rso" inspect "$work/absent.h5"
check "inspect of a missing file exits 4" status_is 4
if command -v h5mkgrp >/dev/null; then
  h5mkgrp -p "$work/foreign.h5" /models/policy
  run "$rso" inspect "$work/foreign.h5"
  check "inspect of a foreign HDF5 file exits 0" status_is 0
  check "inspect shows groups" stdout_has "policy/"
  check "inspect says who wrote it" stdout_has "not written by rso"
fi

finish_checks cli
