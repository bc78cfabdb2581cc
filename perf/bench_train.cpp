// Preference-training step throughput: the work of one `rso train` micro-batch
// on one rank (sequence log-probs of chosen and rejected responses, the
// sigmoid-norm loss, backward, AdamW), random weights and tokens, no padding.
//
//   build/perf/bench_train [--preset demo|bench] [--pairs B] [--prompt-len L]
//                          [--response-len R] [--steps S] [--threads T]
//
// Prints one Markdown row: ms per step and tokens/s (prompt + response of both
// responses), as perf/peer_train.py does for the Python peer.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <torch/version.h>

#include "rso/dist/host_memory.hpp"
#include "rso/model/logprob.hpp"
#include "rso/train/losses.hpp"
#include "rso/train/optimizer.hpp"
#include "rso/train/trainer.hpp"

namespace {

std::vector<std::vector<std::int64_t>> random_rows(std::int64_t rows, std::int64_t length, std::int64_t vocab) {
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t r = 0; r < rows; ++r) {
    const at::Tensor t = at::randint(vocab, {length}, at::kLong);
    out.emplace_back(t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + length);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "demo";
  std::int64_t pairs = 8, prompt_len = 32, response_len = 32, steps = 5;
  int threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--preset") preset = argv[i + 1];
    else if (flag == "--pairs") pairs = std::atoll(argv[i + 1]);
    else if (flag == "--prompt-len") prompt_len = std::atoll(argv[i + 1]);
    else if (flag == "--response-len") response_len = std::atoll(argv[i + 1]);
    else if (flag == "--steps") steps = std::atoll(argv[i + 1]);
    else if (flag == "--threads") threads = std::atoi(argv[i + 1]);
  }
  if (threads > 0) at::set_num_threads(threads);
  rso::keep_freed_host_memory();  // as the rso binary does
  rso::model::TransformerOptions options;  // defaults: the benchmark model
  if (preset == "demo")
    options.vocab_size(8000).hidden_size(256).num_layers(4).num_heads(4).num_kv_heads(4).intermediate_size(688);
  options.max_positions(prompt_len + response_len);
  at::manual_seed(0);
  rso::model::Transformer policy(options);
  std::int64_t parameters = 0;
  for (const auto& p : policy->parameters()) parameters += p.numel();
  auto optimizer = rso::train::make_adamw(rso::train::named_parameters(*policy));

  const auto prompts = random_rows(pairs, prompt_len, options.vocab_size());
  const auto chosen = random_rows(pairs, response_len, options.vocab_size());
  const auto rejected = random_rows(pairs, response_len, options.vocab_size());
  const at::Tensor reference = at::zeros({pairs}, at::kDouble);
  auto step = [&] {
    for (auto& p : policy->parameters()) p.mutable_grad() = at::Tensor();
    rso::train::PairLogprobs logprobs;
    logprobs.policy_chosen = rso::model::sequence_logprob(policy, rso::model::pack_prompt_response(prompts, chosen, 0)).total;
    logprobs.policy_rejected =
        rso::model::sequence_logprob(policy, rso::model::pack_prompt_response(prompts, rejected, 0)).total;
    logprobs.reference_chosen = reference;
    logprobs.reference_rejected = reference;
    rso::train::preference_loss(rso::LossKind::sigmoid_norm, logprobs, 0.05).per_pair.mean().backward();
    optimizer->step(1e-5);
  };
  step();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t s = 0; s < steps; ++s) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double tokens = static_cast<double>(steps * pairs * 2 * (prompt_len + response_len));
  std::printf("| rso (LibTorch %s) | %s | %.1fM | %lld | %lld + %lld | %d | %.1f | %.0f |\n", TORCH_VERSION,
              preset.c_str(), parameters / 1e6, static_cast<long long>(pairs), static_cast<long long>(prompt_len),
              static_cast<long long>(response_len), at::get_num_threads(), 1000 * seconds / steps, tokens / seconds);
  return 0;
}
