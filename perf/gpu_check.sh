#!/usr/bin/env bash
# One call on a GPU host: build rso against the CUDA LibTorch there, run the
# GPU checks, a short pipeline on the GPU (1 rank with NCCL, 2 ranks sharing
# the GPU over the MPI fallback), and both sides of the GPU benchmarks;
# prints a table last and writes logs and perf/results/gpu.json.
#
#   perf/gpu_check.sh [RESULT_DIR]     (RESULT_DIR: $OUT if set, else build-gpu/results)
#
# RESULT_DIR receives summary.txt, sampling.md, training.md, reward.md, gpu.json and
# every log in gpu-logs.tar.gz.
#
# What it expects on the host: CUDA LibTorch 2.x in the python3 on PATH
# (torch.utils.cmake_prefix_path), nvcc, NCCL, Open MPI, HDF5, yaml-cpp,
# CLI11, nlohmann-json, spdlog, SentencePiece, GoogleTest, and transformers
# for the peer. Without a Boost.MPI library it extracts
# .deps/boost-mpi-1.74-debian12-amd64.tar.xz (copy it there first). The
# built-in task's data travel as .deps/fortunes (a copy of
# /usr/share/games/fortunes) and data/npm (setup.sh). Each phase has its own
# time limit so that a hang in one still leaves the others' results.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
results=${1:-${OUT:-$root/build-gpu/results}}
build=$root/build-gpu
logs=$build/logs
rm -rf "$logs"
mkdir -p "$logs" "$results" perf/results
pack() {
  cp "$logs"/summary.txt "$logs"/sampling.md "$logs"/training.md "$logs"/reward.md "$logs"/gpu.json "$results"/ 2>/dev/null
  tar -czf "$results/gpu-logs.tar.gz" -C "$logs" .
}
trap pack EXIT
summary=$logs/summary.txt
: >"$summary"
note() { echo "[$(date +%T)] $*" | tee -a "$summary"; }
# Every phase ends by the deadline (seconds from the start): the call that
# runs this script has a hard limit, and the logs must come back.
deadline=${GPU_CHECK_SECONDS:-420}
limit() {  # limit WANTED: WANTED seconds, or what is left before the deadline
  local left=$((deadline - SECONDS - 10))
  [ "$left" -lt "$1" ] && echo $((left > 1 ? left : 1)) || echo "$1"
}
time_left() { [ $((deadline - SECONDS)) -gt "$1" ]; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 PYTHONUNBUFFERED=1

# --- host -------------------------------------------------------------------------
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >"$logs/gpu.txt" 2>&1
gpu=$(head -1 "$logs/gpu.txt" | cut -d, -f1)
note "GPU: $(head -1 "$logs/gpu.txt")"
torch_prefix=$(python3 -c "import torch;print(torch.utils.cmake_prefix_path)")
note "torch $(python3 -c 'import torch;print(torch.__version__)') at $torch_prefix"

# --- Boost.MPI: the system's, or the relocatable bundle ---------------------------------
boost_args=()
if ! ls /usr/lib/x86_64-linux-gnu/libboost_mpi.so* >/dev/null 2>&1; then
  bundle=.deps/boost-mpi-1.74-debian12-amd64.tar.xz
  if [ ! -f "$bundle" ]; then note "no Boost.MPI library and no $bundle"; exit 69; fi
  prefix=$root/.deps/boost-prefix
  mkdir -p "$prefix" && tar -xJf "$bundle" -C "$prefix"
  boost_args=(-DBoost_DIR="$prefix/usr/lib/x86_64-linux-gnu/cmake/Boost-1.74.0" -DRSO_BOOST_VERSION_REQUEST=1.74.0)
  export LD_LIBRARY_PATH=$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  note "Boost.MPI from the bundle"
fi

# --- PCRE2 headers: hosts with the library but not its -dev package -----------------------
if ! pkg-config --exists libpcre2-8 && [ -f .deps/include/pcre2.h ]; then
  library=$(ls /usr/lib/x86_64-linux-gnu/libpcre2-8.so* 2>/dev/null | head -1)
  mkdir -p "$build/pkgconfig/lib"
  ln -sf "$library" "$build/pkgconfig/lib/libpcre2-8.so"
  printf 'Name: libpcre2-8\nDescription: PCRE2 (headers carried)\nVersion: 10.42\nCflags: -I%s\nLibs: -L%s -lpcre2-8\n' \
    "$root/.deps/include" "$build/pkgconfig/lib" >"$build/pkgconfig/libpcre2-8.pc"
  export PKG_CONFIG_PATH=$build/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  note "PCRE2: carried header, library $library"
fi

# --- configure and build -------------------------------------------------------------------
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
start=$SECONDS
rm -f "$build/CMakeCache.txt"  # pkg-config results are cached: ask again
timeout $(limit 300) cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix" \
  -DCMAKE_CUDA_COMPILER="$nvcc" -DRSO_CCACHE=OFF "${boost_args[@]}" >"$logs/configure.log" 2>&1
configure_status=$?
note "configure: exit $configure_status ($((SECONDS - start)) s)"
grep -E "RSO_WITH_(CUDA|NCCL)|LibTorch|Boost" "$logs/configure.log" | tee -a "$summary"
if [ $configure_status -ne 0 ]; then tail -40 "$logs/configure.log"; exit 1; fi
start=$SECONDS
targets=(rso rso-spm rso_gpu_tests bench_generate bench_train bench_reward bench_allreduce)
timeout $(limit 330) cmake --build "$build" --target "${targets[@]}" -- -k 0 >"$logs/build.log" 2>&1
build_status=$?
note "build: exit $build_status ($((SECONDS - start)) s)"
if [ $build_status -ne 0 ]; then grep -E "error|Error" "$logs/build.log" | head -40; fi

ran() { [ -x "$build/$1" ] || [ -x "$build/tests/$1" ] || [ -x "$build/perf/$1" ]; }

# --- GPU checks -------------------------------------------------------------------------------
if ran rso_gpu_tests; then
  timeout $(limit 300) "$build/tests/rso_gpu_tests" >"$logs/gpu_tests.log" 2>&1
  note "gpu tests: exit $? — $(grep -E '^\[  (PASSED|FAILED)' "$logs/gpu_tests.log" | tr '\n' ' ')"
  grep -E "relative error|decode:|training:|device:|FAILED|Failure|error" "$logs/gpu_tests.log" | head -30 | tee -a "$summary"
fi

# --- benchmarks: rso and the peer, alternately, same GPU ------------------------------------------
gen=(--preset bench --prompts 8 --candidates 64 --prompt-len 128 --new-tokens 128)
train=(--preset bench --pairs 32 --prompt-len 256 --response-len 256)
{
  echo "| implementation | preset | params | device | prompts x candidates | prompt | new | threads | s | ms/step | new tokens/s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
} >"$logs/sampling.md"
{
  echo "| implementation | preset | params | device | pairs | tokens | threads | ms/step | tokens/s | model TFLOP/s | MFU |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
} >"$logs/training.md"
if ran bench_generate; then
  timeout $(limit 180) "$build/perf/bench_generate" "${gen[@]}" --device cuda --dtype bfloat16 --repeats 3 >>"$logs/sampling.md" 2>>"$logs/bench.err"
  note "bench_generate: exit $?"
  # The decode step replayed as a CUDA graph (dist.decode=graph), same configuration.
  timeout $(limit 150) "$build/perf/bench_generate" "${gen[@]}" --device cuda --dtype bfloat16 --repeats 3 --decode graph \
    >>"$logs/sampling.md" 2>>"$logs/bench.err"
  note "bench_generate --decode graph: exit $?"
  # Fewer and more rows per step: how much of a step is fixed (host) cost.
  for candidates in 8 128; do
    time_left 200 || break
    timeout $(limit 120) "$build/perf/bench_generate" --preset bench --prompts 8 --candidates $candidates --prompt-len 128 \
      --new-tokens 128 --device cuda --dtype bfloat16 --repeats 3 >>"$logs/sampling-rows.md" 2>>"$logs/bench.err"
  done
fi
timeout $(limit 300) python3 perf/peer_gpu.py generate --prompts 8 --candidates 64 --prompt-len 128 --new-tokens 128 \
  >>"$logs/sampling.md" 2>>"$logs/peer.err"
note "peer generate: exit $?"
if ran bench_train; then
  timeout $(limit 180) "$build/perf/bench_train" "${train[@]}" --device cuda --dtype bfloat16 --steps 10 >>"$logs/training.md" 2>>"$logs/bench.err"
  note "bench_train: exit $?"
fi
timeout $(limit 240) python3 perf/peer_gpu.py train --pairs 32 --prompt-len 256 --response-len 256 --steps 10 \
  >>"$logs/training.md" 2>>"$logs/peer.err"
note "peer train: exit $?"
if ran bench_allreduce; then
  timeout $(limit 60) "$build/perf/bench_allreduce" --min-bytes 1048576 --max-bytes 268435456 >"$logs/allreduce.md" 2>&1
  note "bench_allreduce (1 rank, NCCL): exit $?"
fi

# --- a short pipeline on the GPU: generate, select, train, eval ---------------------------------
if ran rso && [ -d .deps/fortunes ] && [ -f data/npm/vader-sentiment-1.1.3/vader_lexicon.txt ]; then
  small=(--set task.fortunes="$root/.deps/fortunes" --set task.max_quotes=3000 --set task.eval_prompts=32
    --set task.pair_prompts=128 --set task.sample_prompts=32 --set task.vocab_size=400 --set dist.device=cuda
    --set model.hidden_size=128 --set model.num_layers=2 --set model.num_heads=4 --set model.num_kv_heads=4
    --set model.intermediate_size=256 --set sft.steps=60 --set sft.eval_every=0 --set sft.checkpoint_every=20
    --set task.early_policy_step=20 --set task.early_pair_prompts=128 --set reward.steps=30
    --set train.steps=20 --set sample.num_candidates=16 --set sample.num_samples=4 --set sample.max_new_tokens=24
    --set eval.samples_per_prompt=2 --set sft.micro_batch=16 --set sft.grad_accumulation=1
    --set reward.micro_batch=16 --set reward.grad_accumulation=1 --set train.micro_batch=8 --set train.grad_accumulation=1)
  for ranks in 1 2; do
    if ! time_left 60; then note "pipeline on $ranks rank(s) skipped: past the deadline"; continue; fi
    start=$SECONDS
    timeout $(limit 100) mpirun --allow-run-as-root --oversubscribe -np $ranks "$build/rso" pipeline input/demo.yaml \
      --run-dir "$build/pipeline-$ranks" "${small[@]}" >"$logs/pipeline-$ranks.log" 2>&1
    status=$?
    note "pipeline on $ranks rank(s), cuda: exit $status ($((SECONDS - start)) s); report: $( [ -f "$build/pipeline-$ranks/report.json" ] && echo present || echo MISSING)"
    grep -E "backend|device|win rate|gold" "$logs/pipeline-$ranks.log" | head -8 | tee -a "$summary"
  done
  cp "$build/pipeline-1/report.json" "$logs/pipeline-report.json" 2>/dev/null
else
  note "pipeline skipped (no rso binary, or no .deps/fortunes / data/npm)"
fi

# --- reward scoring, rso and the peer, with the time that is left ----------------------------
{
  echo "| implementation | preset | params | device | sequences | tokens each | batch | threads | s | sequences/s | tokens/s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
} >"$logs/reward.md"
if time_left 90; then
  if ran bench_reward; then
    timeout $(limit 90) "$build/perf/bench_reward" --preset bench --sequences 512 --batch 64 --length 256 --device cuda \
      --dtype bfloat16 --repeats 3 >>"$logs/reward.md" 2>>"$logs/bench.err"
    note "bench_reward: exit $?"
  fi
  timeout $(limit 120) python3 perf/peer_gpu.py reward --sequences 512 --batch 64 --length 256 >>"$logs/reward.md" \
    2>>"$logs/peer.err"
  note "peer reward: exit $?"
else
  note "reward scoring skipped: past the deadline"
fi

# --- perf/results/gpu.json from the rows above ------------------------------------------------------
python3 - "$logs" "$gpu" <<'EOF' | tee -a "$summary"
import json, re, sys, datetime
logs, gpu = sys.argv[1], sys.argv[2].strip()
def rows(path):
    try:
        return [[c.strip() for c in l.strip().strip("|").split("|")] for l in open(path) if l.startswith("| ") and "---" not in l]
    except OSError:
        return []
def number(text):
    m = re.match(r"[-0-9.]+", text or "")
    return float(m.group()) if m else None
sampling, training = rows(f"{logs}/sampling.md")[1:], rows(f"{logs}/training.md")[1:]
# The fastest of rso's decode modes on the benchmark configuration (the row says which).
ours = sorted([r for r in sampling if r[0].startswith("rso") and len(r) > 10 and number(r[10]) is not None],
              key=lambda r: -number(r[10]))
static = [r for r in sampling if "static cache" in r[0] and len(r) > 10]
ours_t = [r for r in training if r[0].startswith("rso")]
peer_t = [r for r in training if r[0].startswith("transformers") and len(r) > 10]
result = {
    "date": datetime.date.today().isoformat(), "gpu": gpu,
    "sampling_new_tokens_per_s": number(ours[0][10]) if ours else None,
    "sampling_implementation": ours[0][0] if ours else None,
    "peer_sampling_new_tokens_per_s": number(static[0][10]) if static else None,
    "dpo_step_ms": number(ours_t[0][7]) if ours_t else None,
    "peer_dpo_step_ms": number(peer_t[0][7]) if peer_t else None,
    "mfu": round(number(ours_t[0][10]) / 100, 4) if ours_t and number(ours_t[0][10]) is not None else None,
}
json.dump(result, open(f"{logs}/gpu.json", "w"), indent=2)
print(json.dumps(result))
EOF
cp "$logs/gpu.json" perf/results/gpu.json 2>/dev/null

echo
cat "$logs/sampling.md" "$logs/sampling-rows.md" "$logs/training.md" "$logs/reward.md"
[ -f "$logs/allreduce.md" ] && tail -4 "$logs/allreduce.md"
