# Settings that make `rso pipeline input/demo.yaml` run every stage of the
# built-in task in seconds (sourced by the cli and Slurm tests; needs
# $source_dir).
# shellcheck disable=SC2034  # used by the scripts that source this file
tiny_pipeline_flags=(--set task.max_quotes=1500 --set task.eval_prompts=8 --set task.pair_prompts=48
  --set task.pairs_per_prompt=1 --set task.early_policy_step=0 --set task.check_pairs_per_prompt=1
  --set task.sample_prompts=8 --set task.vocab_size=400
  --set task.lexicon="$source_dir/data/npm/vader-sentiment-1.1.3/vader_lexicon.txt"
  --set model.hidden_size=32 --set model.num_layers=1 --set model.num_heads=2 --set model.num_kv_heads=2
  --set model.intermediate_size=64 --set sft.steps=8 --set sft.eval_every=0 --set reward.steps=4 --set reward.frozen_layers=0
  --set train.steps=3 --set sample.num_candidates=4 --set sample.num_samples=2 --set sample.max_new_tokens=8
  --set eval.samples_per_prompt=2 --set task.rater_skips_ties=false)
