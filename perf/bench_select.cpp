// The cost of statistical rejection sampling and pairing per prompt against
// the cost of generating and scoring that prompt's candidates.
//
//   build/perf/bench_select [--candidates 64] [--accept 8] [--prompt-len 32]
//                           [--new-tokens 32] [--beta 0.5] [--threads T]
//
// Generation and scoring use the demo-size model (d 256, 4 layers, vocab
// 8000, random weights) for a batch of 4 prompts; selection (Algorithm 1 and
// both pair strategies, labels by reward) is timed over 20000 prompts with
// the measured rewards' spread. Prints one Markdown row.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "rso/core/random.hpp"
#include "rso/model/batching.hpp"
#include "rso/model/generate.hpp"
#include "rso/model/reward.hpp"
#include "rso/sampling/pairing.hpp"
#include "rso/sampling/rejection_sampling.hpp"

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

int main(int argc, char** argv) {
  std::int64_t candidates = 64, accept = 8, prompt_len = 32, new_tokens = 32, threads = 0;
  double beta = 0.5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--candidates") candidates = std::atoll(argv[i + 1]);
    else if (flag == "--accept") accept = std::atoll(argv[i + 1]);
    else if (flag == "--prompt-len") prompt_len = std::atoll(argv[i + 1]);
    else if (flag == "--new-tokens") new_tokens = std::atoll(argv[i + 1]);
    else if (flag == "--beta") beta = std::atof(argv[i + 1]);
    else if (flag == "--threads") threads = std::atoll(argv[i + 1]);
  }
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  constexpr std::int64_t kPrompts = 4;
  rso::model::TransformerOptions options;
  options.vocab_size(8000).hidden_size(256).num_layers(4).num_heads(4).num_kv_heads(4).intermediate_size(688);
  options.max_positions(prompt_len + new_tokens);
  at::manual_seed(0);
  rso::model::Transformer policy(options);
  rso::model::RewardModel reward(options);
  at::NoGradGuard no_grad;

  std::vector<rso::model::PromptToSample> batch;
  for (std::int64_t p = 0; p < kPrompts; ++p) {
    const at::Tensor tokens = at::randint(options.vocab_size(), {prompt_len}, at::kLong);
    batch.push_back({std::vector<std::int64_t>(tokens.data_ptr<std::int64_t>(), tokens.data_ptr<std::int64_t>() + prompt_len),
                     static_cast<std::uint64_t>(p)});
  }
  rso::model::SamplingOptions sampling;
  sampling.temperature = 0.7;
  sampling.top_k = 40;
  sampling.max_new_tokens = new_tokens;
  auto start = std::chrono::steady_clock::now();
  const auto samples = rso::model::generate(policy, batch, candidates, sampling, 7);
  const double generate_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  std::vector<double> rewards;
  for (std::int64_t p = 0; p < kPrompts; ++p) {
    std::vector<std::vector<std::int64_t>> rows;
    for (const auto& sample : samples[static_cast<std::size_t>(p)]) {
      rows.push_back(batch[static_cast<std::size_t>(p)].tokens);
      rows.back().insert(rows.back().end(), sample.tokens.begin(), sample.tokens.end());
    }
    auto [ids, mask] = rso::model::left_pad(rows, 0);
    const at::Tensor scores = reward->forward(ids, mask).to(at::kDouble).contiguous();
    rewards.insert(rewards.end(), scores.data_ptr<double>(), scores.data_ptr<double>() + scores.numel());
  }
  const double score_seconds = seconds_since(start);
  const double model_per_prompt = (generate_seconds + score_seconds) / kPrompts;

  // Selection over many prompts whose rewards are the measured ones, shuffled.
  constexpr int kSelections = 20000;
  std::vector<std::string> responses;
  for (std::int64_t c = 0; c < candidates; ++c) responses.push_back("response " + std::to_string(c));
  double select_seconds[2] = {0, 0};
  std::size_t pairs = 0;
  for (int strategy = 0; strategy < 2; ++strategy) {
    start = std::chrono::steady_clock::now();
    for (int prompt = 0; prompt < kSelections; ++prompt) {
      rso::RandomStream shuffle({1, rso::Stage::test, static_cast<std::uint64_t>(prompt), 0});
      std::vector<double> prompt_rewards(static_cast<std::size_t>(candidates));
      for (auto& r : prompt_rewards) r = rewards[shuffle.below(rewards.size())];
      rso::RandomStream reject({1, rso::Stage::reject, static_cast<std::uint64_t>(prompt), 0});
      rso::RandomStream pair({1, rso::Stage::pair, static_cast<std::uint64_t>(prompt), 0});
      rso::RandomStream label({1, rso::Stage::label, static_cast<std::uint64_t>(prompt), 0});
      const auto result = rso::sampling::rejection_sample(prompt_rewards, beta, static_cast<std::size_t>(accept), reject);
      pairs += rso::sampling::make_pairs(result.accepted, responses,
                                       strategy == 0 ? rso::PairStrategy::first_round : rso::PairStrategy::tournament,
                                       rso::sampling::label_by_reward(prompt_rewards, label), pair)
                   .size();
    }
    select_seconds[strategy] = seconds_since(start) / kSelections;
  }
  std::printf("| %lld | %lld | %lld+%lld | %d | %.3f | %.3f | %.1f | %.1f | %.4f%% |\n",
              static_cast<long long>(candidates), static_cast<long long>(accept), static_cast<long long>(prompt_len),
              static_cast<long long>(new_tokens), at::get_num_threads(), generate_seconds / kPrompts,
              score_seconds / kPrompts, select_seconds[0] * 1e6, select_seconds[1] * 1e6,
              100.0 * std::max(select_seconds[0], select_seconds[1]) / model_per_prompt);
  return pairs > 0 ? 0 : 1;
}
