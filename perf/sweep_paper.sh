#!/usr/bin/env bash
# The paper's comparison on the built-in task: losses {sigmoid-norm, hinge-norm,
# hinge} x pair sources {direct, sft-sample-rank, rso-sample-rank} x seeds, plus
# the ablations beta in {0.05, 0.5, 5}, n_c in {8, 64} and first-round vs
# tournament (rso-sample-rank, sigmoid-norm). The shared stages (data,
# tokenizer, SFT, D_hf, reward model) run through `rso pipeline`, once per seed,
# or once for all seeds when SWEEP_BASE names a finished pipeline run; each
# configuration then runs `rso sample`, `rso train` and `rso eval` against them.
# Prints one Markdown row per configuration: mean over seeds of the proxy and
# gold win rates and KL, with the spread of the seeds' means (±1.96 sd /
# sqrt(seeds)); writes OUT_DIR/sweep.png (gold win rate against KL, one point
# per configuration) with `rso plot`.
#
#   perf/sweep_paper.sh [BUILD_DIR] [OUT_DIR] [RANKS] [SEEDS...]
#   e.g. perf/sweep_paper.sh build sweep 2 1 2 3
#
# Environment: SWEEP_BASE=DIR shares one pipeline run's SFT policy, D_hf and
# reward model across seeds (the seeds then vary sampling, training and eval);
# SWEEP_FLAGS="--set k=v ..." is added last to every configuration (smaller
# budgets, a subset of the prompts), so it overrides the flags above.
set -euo pipefail
build=${1:-build}
out=${2:-sweep}
ranks=${3:-2}
shift $(($# > 3 ? 3 : $#))
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
rso="$build/rso"
mpi=(mpirun -np "$ranks" --oversubscribe)
config=input/demo.yaml
common=(--set sample.num_candidates=64 --set sample.num_samples=8 --set sample.beta=0.5 --set train.gamma=0.05)

configurations() {  # name | extra --set flags
  for source in direct sft-sample-rank rso-sample-rank; do
    for loss in sigmoid-norm hinge-norm hinge; do
      echo "$source/$loss|--set sample.source=$source --set train.loss=$loss"
    done
  done
  for beta in 0.05 5; do echo "ablation beta=$beta|--set sample.beta=$beta --set train.loss=sigmoid-norm"; done
  echo "ablation n_c=8|--set sample.num_candidates=8 --set train.loss=sigmoid-norm"
  echo "ablation tournament|--set sample.pairs=tournament --set train.loss=sigmoid-norm"
}

# shellcheck disable=SC2206
extra=(${SWEEP_FLAGS:-})
for seed in "${seeds[@]}"; do
  if [ -n "${SWEEP_BASE:-}" ]; then
    base=$SWEEP_BASE
    [ -s "$base/report.json" ] || { echo "SWEEP_BASE=$base is not a finished pipeline run" >&2; exit 2; }
  else
    base="$out/seed-$seed/base"
    "${mpi[@]}" "$rso" pipeline "$config" --run-dir "$base" --set run.seed="$seed" "${common[@]}"
  fi
  # The list comes on descriptor 3: mpirun reads standard input and would eat it.
  while IFS='|' read -r name flags <&3; do
    dir="$out/seed-$seed/$(echo "$name" | tr ' /=' '__-')"
    # shellcheck disable=SC2086
    shared=(--config "$config" --run-dir "$dir" --set run.seed="$seed" "${common[@]}" $flags
      --set sample.policy="$base/sft/model.h5" --set sample.reward_model="$base/reward/model.h5"
      --set sample.prompts="$base/data/prompts.jsonl" --set sample.human_pairs="$base/data/pairs.jsonl"
      --set train.policy="$base/sft/model.h5" --set eval.reference="$base/sft/model.h5"
      --set eval.reward_model="$base/reward/model.h5" --set eval.prompts="$base/data/eval_prompts.jsonl"
      "${extra[@]}")
    [ -s "$dir/eval/report.json" ] && continue
    "${mpi[@]}" "$rso" sample "${shared[@]}"
    "${mpi[@]}" "$rso" train "${shared[@]}" --resume auto
    "${mpi[@]}" "$rso" eval "${shared[@]}"
  done 3< <(configurations)
done

echo "| configuration | proxy win rate | gold win rate | KL per token | seeds |"
echo "|---|---|---|---|---|"
configurations | while IFS='|' read -r name _; do
  key=$(echo "$name" | tr ' /=' '__-')
  /usr/bin/env python3 - "$out" "$key" "$name" "${seeds[@]}" <<'PY'
import json, math, sys
out, key, name, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rows = {"proxy_win_rate": [], "gold_win_rate": [], "kl_per_token": []}
for s in seeds:
    try:
        m = json.load(open(f"{out}/seed-{s}/{key}/eval/report.json"))["metrics"]
    except OSError:
        continue
    for k in rows:
        rows[k].append(m[k]["mean"])
def cell(v):
    if not v:
        return "-"
    mean = sum(v) / len(v)
    if len(v) < 2:
        return f"{mean:.3f}"
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))
    return f"{mean:.3f} ± {1.96 * sd / math.sqrt(len(v)):.3f}"
print(f"| {name} | {cell(rows['proxy_win_rate'])} | {cell(rows['gold_win_rate'])} | {cell(rows['kl_per_token'])} | {len(rows['gold_win_rate'])} |")
# The configuration's mean over seeds, as a report `rso plot` reads.
if rows["gold_win_rate"]:
    import os
    def summary(v):
        mean = sum(v) / len(v)
        sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
        return {"mean": mean, "ci95": 1.96 * sd / math.sqrt(len(v))}
    os.makedirs(f"{out}/means/{key}", exist_ok=True)
    json.dump({"metrics": {k: summary(v) for k, v in rows.items()}, "seeds": len(rows["gold_win_rate"])},
              open(f"{out}/means/{key}/report.json", "w"), indent=2)
PY
done
plots=()
while IFS='|' read -r name _; do
  key=$(echo "$name" | tr ' /=' '__-')
  [ -s "$out/means/$key/report.json" ] && plots+=("$name=$out/means/$key/report.json")
done < <(configurations)
"$rso" plot --out "$out/sweep.png" "${plots[@]}"
