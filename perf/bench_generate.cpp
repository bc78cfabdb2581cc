// Candidate sampling throughput of model::generate (KV cache, top-k,
// temperature), random weights, no early EOS.
//
//   build/perf/bench_generate [--preset demo|bench] [--prompts P] [--candidates C]
//                             [--prompt-len L] [--new-tokens N] [--threads T]
//
// Prints one Markdown row: new tokens per second over the whole call
// (prefill included), as perf/peer_generate.py does for the Python peer.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <torch/version.h>

#include "rso/dist/host_memory.hpp"
#include "rso/model/generate.hpp"

int main(int argc, char** argv) {
  std::string preset = "demo";
  std::int64_t prompts = 4, candidates = 16, prompt_len = 32, new_tokens = 32;
  int threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--preset") preset = argv[i + 1];
    else if (flag == "--prompts") prompts = std::atoll(argv[i + 1]);
    else if (flag == "--candidates") candidates = std::atoll(argv[i + 1]);
    else if (flag == "--prompt-len") prompt_len = std::atoll(argv[i + 1]);
    else if (flag == "--new-tokens") new_tokens = std::atoll(argv[i + 1]);
    else if (flag == "--threads") threads = std::atoi(argv[i + 1]);
  }
  if (threads > 0) at::set_num_threads(threads);
  rso::keep_freed_host_memory();  // as the rso binary does
  rso::model::TransformerOptions options;  // defaults: the benchmark model
  if (preset == "demo")
    options.vocab_size(8000).hidden_size(256).num_layers(4).num_heads(4).num_kv_heads(4).intermediate_size(688);
  options.max_positions(prompt_len + new_tokens);
  at::manual_seed(0);
  rso::model::Transformer model(options);
  std::int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();

  std::vector<rso::model::PromptToSample> batch;
  for (std::int64_t p = 0; p < prompts; ++p) {
    const at::Tensor tokens = at::randint(options.vocab_size(), {prompt_len}, at::kLong);
    batch.push_back({std::vector<std::int64_t>(tokens.data_ptr<std::int64_t>(),
                                               tokens.data_ptr<std::int64_t>() + prompt_len),
                     static_cast<std::uint64_t>(p)});
  }
  rso::model::SamplingOptions sampling;
  sampling.temperature = 0.7;
  sampling.top_k = 40;
  sampling.max_new_tokens = new_tokens;
  rso::model::generate(model, {batch.front()}, 1, sampling, 1);  // warm-up
  const auto start = std::chrono::steady_clock::now();
  const auto samples = rso::model::generate(model, batch, candidates, sampling, 7);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::int64_t generated = 0;
  for (const auto& per_prompt : samples)
    for (const auto& sample : per_prompt) generated += static_cast<std::int64_t>(sample.tokens.size());
  std::printf("| rso (LibTorch %s) | %s | %.1fM | %lld x %lld | %lld | %lld | %d | %.2f | %.1f |\n", TORCH_VERSION,
              preset.c_str(), parameters / 1e6, static_cast<long long>(prompts), static_cast<long long>(candidates),
              static_cast<long long>(prompt_len), static_cast<long long>(new_tokens), at::get_num_threads(), seconds,
              generated / seconds);
  return 0;
}
