#!/usr/bin/env python3
"""trials_table.py RECORD.tsv COMMAND: docs/KILL_TRIALS.md's tables from the
records test_kill.sh writes (seed, trial, delay ms, rank, stage, exit, reruns,
verdict), to stdout."""
import collections
import sys

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
command = sys.argv[2]
verdicts = collections.Counter(r[7] for r in rows)
killed = [r for r in rows if r[4] != "(finished)"]
print("# Kill trials")
print()
print("A small pipeline of the built-in task on 2 ranks (every stage; checkpoints every 2 steps,")
print("sampling 24 prompts in blocks of 2: `tests/kill/test_kill.sh`) is killed with SIGKILL in a")
print("random stage, at a random moment within that stage's duration in the uninterrupted run, on a")
print("random rank (or, when no rank runs, the launcher), then run again with the same command until")
print("it finishes. Each trial's run directory must then equal the uninterrupted run's byte for")
print("byte: every file but the lock and the timing records (metrics.jsonl, summary.json,")
print("sample/stats.json), 62 files with the checkpoints. CI runs 5 trials (`ctest -R kill`; CMake `-DRSO_KILL_TRIALS=N` for more; a")
print("new seed each time, printed); the record below is one longer run:")
print()
print("    " + command)
print()
print(f"**{len(rows)} trials, {len(killed)} of them killing a running job: "
      + ", ".join(f"{n} {v}" for v, n in verdicts.most_common()) + ".** Seeds "
      + ", ".join(dict.fromkeys(r[0] for r in rows)) + " (trials numbered per seed).")
print()
print("| stage running at the kill | trials | rank 0 | rank 1 | launcher | identical after the rerun |")
print("|---|---|---|---|---|---|")
order = ["data", "tokenizer", "init", "sft", "pairs", "reward", "sample", "train", "eval", "(launcher)", "(finished)", "none yet"]
by_stage = collections.defaultdict(list)
for r in rows:
    by_stage[r[4]].append(r)
for stage in sorted(by_stage, key=lambda s: order.index(s) if s in order else len(order)):
    rs = by_stage[stage]
    print(f"| {stage} | {len(rs)} | {sum(r[3] == '0' for r in rs)} | {sum(r[3] == '1' for r in rs)} | "
          f"{sum(r[3] == '-1' for r in rs)} | {sum(r[7] == 'identical' for r in rs)} |")
print()
print("\"(finished)\": the moment came after the job had ended (later trials ran faster than the")
print("reference, which was timed while other work shared the cores); such a trial checks only")
print("that a finished run is left alone. \"(launcher)\": no rank was running (mpirun starting")
print("or tearing down), so mpirun itself was killed.")
print()
print("| seed | trial | kill at (s) | rank | stage | job's exit | reruns | result |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    rank = "launcher" if r[3] == "-1" else r[3]
    print(f"| {r[0]} | {r[1]} | {int(r[2]) / 1000:.3f} | {rank} | {r[4]} | {r[5]} | {r[6]} | {r[7]} |")
