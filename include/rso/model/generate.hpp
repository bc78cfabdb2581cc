// Batched sampling from a Transformer with a preallocated KV cache.
//
// Each prompt is prefilled once and its cache repeated for its candidates.
// Candidate c of the prompt with global index i draws its randomness from
// the stream (seed, Stage::generate, i, c) — one uniform per generated
// token — so its tokens do not depend on which other prompts share the
// batch, on the batch order or on the rank that runs it.
#pragma once

#include <cstdint>
#include <vector>

#include "rso/model/transformer.hpp"

namespace rso::model {

// How the decode loop issues its steps; the draws agree up to rounding.
enum class DecodeMode {
  dynamic,  // shapes grow with the sequence: attention reads the filled columns only
  fixed,    // fixed shapes: attention reads the cache's whole capacity under a mask, the step's
            // column and positions live in device tensors (what `graph` replays; any device)
  graph,    // fixed shapes, captured once as a CUDA graph and replayed (CUDA builds, GPU models)
};

struct SamplingOptions {
  double temperature = 1.0;
  std::int64_t top_k = 0;  // 0: no top-k filter
  double top_p = 1.0;      // 1: no nucleus filter
  bool greedy = false;     // argmax (lowest index on ties); ignores the above
  std::int64_t max_new_tokens = 64;
  std::int64_t eos_id = -1;  // -1: no end-of-sequence token
  std::int64_t pad_id = 0;
  DecodeMode decode = DecodeMode::dynamic;
};

// The distribution tokens are drawn from, per row of `logits` [N, V]:
// softmax(logits / temperature), then top-k (ties at the k-th value kept),
// then top-p on the renormalised result (the smallest prefix, by descending
// probability, whose mass reaches top_p), renormalised. float32, or
// float64 for float64 logits.
at::Tensor sampling_distribution(const at::Tensor& logits, const SamplingOptions& options);

// One token per row by inverse CDF: the first token whose cumulative mass
// reaches (1 - u)·total, u in [0, 1) from `uniforms` [N]. Never
// picks a token of probability zero.
at::Tensor sample_from(const at::Tensor& probabilities, const at::Tensor& uniforms);

struct PromptToSample {
  std::vector<std::int64_t> tokens;
  std::uint64_t index = 0;  // global prompt index: keys the random streams
};

struct Sample {
  std::vector<std::int64_t> tokens;       // generated tokens, EOS included when drawn
  std::vector<double> sampling_logprobs;  // log q(token) under the sampling distribution
  std::vector<double> policy_logprobs;    // log π(token), untempered and unfiltered
  bool ended_with_eos = false;
};

// result[p][c]: candidate c of prompts[p]. Prompts are left-padded into one
// batch; callers bound the batch size.
std::vector<std::vector<Sample>> generate(Transformer& model, const std::vector<PromptToSample>& prompts,
                                          std::int64_t num_samples, const SamplingOptions& options,
                                          std::uint64_t seed);

}  // namespace rso::model
