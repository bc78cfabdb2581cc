// Preference losses on sequence log-probs (RSO, Liu et al. 2024, section 3;
// DESIGN.md "Losses"), one small function each:
//
//   Δ = [log πθ(y_w) − log π_sft(y_w)] − [log πθ(y_l) − log π_sft(y_l)]
//   sigmoid-norm (DPO)  −log σ(γ·Δ)
//   hinge-norm  (RSO)   max(0, 1 − γ·Δ)
//   hinge       (SLiC)  max(0, 1 − γ·(log πθ(y_w) − log πθ(y_l)))
//   sigmoid             −log σ(γ·(log πθ(y_w) − log πθ(y_l)))
//
// plus, for any of them, the SFT term −λ·log πθ(y_ref) with the chosen
// response as y_ref (SLiC's regulariser; λ = train.sft_weight). γ is the
// loss's own scale, separate from the sampling β.
#pragma once

#include <ATen/core/Tensor.h>

#include "rso/core/config.hpp"

namespace rso::train {

// Sequence log-probs of a batch of pairs, each [B].
struct PairLogprobs {
  at::Tensor policy_chosen, policy_rejected;
  at::Tensor reference_chosen, reference_rejected;  // unused by hinge and sigmoid
};

struct PreferenceLoss {
  at::Tensor per_pair;  // [B] loss of each pair (SFT term included); mean it for the batch
  at::Tensor margin;    // [B] γ times the loss's argument (γΔ for the -norm losses), detached
};

// The log-ratio difference Δ.
at::Tensor log_ratio_difference(const PairLogprobs& logprobs);

PreferenceLoss preference_loss(LossKind kind, const PairLogprobs& logprobs, double gamma, double sft_weight = 0.0);

}  // namespace rso::train
