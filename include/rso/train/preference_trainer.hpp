// `rso train`: preference optimisation of a policy on labelled pairs with
// the losses of train/losses.hpp, data-parallel over ranks.
//
// Global batch G = micro_batch x grad_accumulation x ranks pairs per step
// (train.global_batch, when set, must equal it). Pairs are visited in one
// random order per epoch keyed by (seed, epoch), so step s always sees the
// same G pairs whatever the rank count; rank r takes its micro-batches from
// that slice. Reference log-probs come with sampled pairs; for JSONL pairs
// they are computed once by the initial policy (pi_sft) before training.
// Metrics are reduced once per step and written to <output>/metrics.jsonl;
// the trained policy goes to <output>/model.h5 with the policy's tokenizer.
// Checkpoints (train/train_checkpoint.hpp) every train.checkpoint_every
// steps and on SIGUSR1/SIGTERM; a resumed run gives the uninterrupted run's
// weights bit for bit on the same rank count.
#pragma once

#include "rso/core/config.hpp"
#include "rso/dist/dist_context.hpp"

namespace rso::train {

// Learning rate at step s (0-based): linear warm-up, then constant or cosine.
double learning_rate_at(const TrainConfig& config, std::int64_t step);

struct TrainingControl {
  bool resume = false;              // continue from <output>/checkpoints/latest when there is one
  std::int64_t stop_after_step = -1;  // checkpoint and stop after this step, as on SIGUSR1 (-1: never)
};

// Returns true when every step ran; false when stopped by SIGUSR1/SIGTERM or
// stop_after_step, after writing a checkpoint (the caller exits 75).
bool run_preference_training(DistContext& context, const Config& config, const TrainingControl& control = {});

}  // namespace rso::train
