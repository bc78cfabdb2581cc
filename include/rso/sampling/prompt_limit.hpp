// How long a prompt may be when every model that reads it with a sampled
// response must fit prompt and response into its max_positions: the
// policies (log-probs of prompt + response) and the reward model ("x y"
// pointwise, "x sep_a y1 sep_b y2" ranking). Checked when prompts are read,
// so that no block or batch fails half-way through a run.
#pragma once

#include <cstdint>
#include <string>

#include "rso/model/checkpoint.hpp"
#include "rso/model/reward.hpp"

namespace rso {

struct PromptLimit {
  std::int64_t tokens = 0;  // the longest prompt; below 1 when none fits
  std::string reason;       // which model's max_positions sets it, and with what
};

// `policy_positions`: the smallest max_positions of the policies that read
// prompt + response; `reward` may be null (no reward model reads them).
PromptLimit prompt_limit(std::int64_t policy_positions, const model::RewardModel* reward, const model::RewardHead& head,
                         std::int64_t new_tokens);

// "N tokens; <reason> allows at most M", for a prompt over the limit.
std::string prompt_too_long(std::size_t prompt_tokens, const PromptLimit& limit);

// Throws ConfigError when no prompt fits at all.
void require_room_for_a_prompt(const PromptLimit& limit, std::int64_t new_tokens);

}  // namespace rso
