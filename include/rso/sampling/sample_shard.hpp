// One block of the sampling stage's output: an HDF5 file (format
// "rso.samples", version 1) holding, for a contiguous range of global prompt
// indices, the candidates, their rewards, what rejection sampling accepted
// and the labelled pairs with their pi_sft log-probabilities.
//
//   /                       @format, @format_version, @source, @first_prompt, @num_prompts
//   /prompts/index          [P] int64 global prompt index
//   /prompts/tokens.values  ragged token lists: values + offsets [P + 1]
//   /candidates/prompt      [C] int64 row of /prompts each candidate belongs to
//   /candidates/tokens.*    ragged response tokens
//   /candidates/reward      [C] float64
//   /candidates/accepted    [C] int64: acceptance order (0 = first), -1 when rejected
//   /pairs/prompt           [Q] int64 global prompt index
//   /pairs/prompt_tokens.*, /pairs/chosen_tokens.*, /pairs/rejected_tokens.*
//   /pairs/chosen_candidate, /pairs/rejected_candidate  [Q] int64 rows of /candidates (-1: given pairs)
//   /pairs/chosen_probability  [Q] float64: the labeller's P(chosen ≻ rejected)
//   /pairs/chosen_sft_logprob, /pairs/rejected_sft_logprob  [Q] float64: log pi_sft(y|x)
//
// The direct source has no candidates (C = 0): its pairs are given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rso::sampling {

constexpr const char* kSamplesFormat = "rso.samples";
constexpr std::int64_t kSamplesFormatVersion = 1;

using TokenLists = std::vector<std::vector<std::int64_t>>;

struct SampleShard {
  std::string source;  // direct, sft-sample-rank, rso-sample-rank
  std::int64_t first_prompt = 0, num_prompts = 0;
  std::vector<std::int64_t> prompt_index;
  TokenLists prompt_tokens;
  std::vector<std::int64_t> candidate_prompt;
  TokenLists candidate_tokens;
  std::vector<double> candidate_reward;
  std::vector<std::int64_t> candidate_accepted;
  std::vector<std::int64_t> pair_prompt;
  TokenLists pair_prompt_tokens, pair_chosen_tokens, pair_rejected_tokens;
  std::vector<std::int64_t> pair_chosen_candidate, pair_rejected_candidate;
  std::vector<double> pair_chosen_probability, pair_chosen_sft_logprob, pair_rejected_sft_logprob;
};

// Written to a temporary and renamed into place.
void write_sample_shard(const std::string& path, const SampleShard& shard);
SampleShard read_sample_shard(const std::string& path);

}  // namespace rso::sampling
