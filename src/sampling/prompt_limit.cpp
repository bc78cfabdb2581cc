#include "rso/sampling/prompt_limit.hpp"

#include "rso/core/error.hpp"

namespace rso {

PromptLimit prompt_limit(std::int64_t policy_positions, const model::RewardModel* reward, const model::RewardHead& head,
                         std::int64_t new_tokens) {
  const std::string responses = " up to sample.max_new_tokens " + std::to_string(new_tokens) + " tokens";
  PromptLimit limit{policy_positions - new_tokens,
                    "the policy's max_positions " + std::to_string(policy_positions) + " with responses of" + responses};
  if (reward) {
    const bool ranking = head.kind == "ranking";
    const std::int64_t scorable = model::longest_scorable_prompt((*reward)->options(), ranking, head.separators, new_tokens);
    if (scorable < limit.tokens)
      limit = {scorable, "the reward model's max_positions " + std::to_string((*reward)->options().max_positions()) +
                             (ranking ? " with two responses of" + responses + " and the separators"
                                      : " with responses of" + responses)};
  }
  return limit;
}

std::string prompt_too_long(std::size_t prompt_tokens, const PromptLimit& limit) {
  return std::to_string(prompt_tokens) + " tokens; " + limit.reason + " allows at most " + std::to_string(limit.tokens);
}

void require_room_for_a_prompt(const PromptLimit& limit, std::int64_t new_tokens) {
  if (limit.tokens < 1)
    RSO_THROW(ConfigError, "sample.max_new_tokens " + std::to_string(new_tokens) + " leaves no room for a prompt (" +
                               limit.reason + ")");
}

}  // namespace rso
