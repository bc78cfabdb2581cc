// `rso train`: preference optimisation of a policy on labelled pairs with
// the losses of train/losses.hpp, through the shared loop of train/trainer.hpp
// (an example is a pair).
//
// Reference log-probs come with sampled pairs; for JSONL pairs they are
// computed once by the initial policy (π_sft, frozen at that point) before
// training. Metrics per step: loss, accuracy of Δ > 0, margin (γ times the
// loss's argument), chosen and rejected log-probs. The trained policy goes to
// <output>/model.h5 with the policy's tokenizer.
#pragma once

#include "rso/core/config.hpp"
#include "rso/dist/dist_context.hpp"
#include "rso/train/trainer.hpp"

namespace rso::train {

// Returns true when every step ran; false when stopped by SIGUSR1/SIGTERM or
// stop_after_step, after writing a checkpoint (the caller exits 75).
bool run_preference_training(DistContext& context, const Config& config, const TrainingControl& control = {});

}  // namespace rso::train
