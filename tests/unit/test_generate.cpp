// Sampling with the KV cache: agreement with the full forward, independence
// from batch composition, and the exact target distribution of the filters.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "rso/core/error.hpp"
#include "rso/core/random.hpp"
#include "rso/model/generate.hpp"
#include "rso/model/logprob.hpp"

namespace rso::model {
namespace {

Transformer small_model(c10::ScalarType dtype) {
  at::manual_seed(3);
  Transformer model(TransformerOptions()
                        .vocab_size(29)
                        .hidden_size(32)
                        .num_layers(2)
                        .num_heads(4)
                        .num_kv_heads(2)
                        .intermediate_size(48)
                        .max_positions(64)
                        .init_std(0.2));
  model->to(dtype);
  return model;
}

const std::vector<PromptToSample> kPrompts = {{{5, 3, 9}, 0}, {{7}, 1}, {{1, 2, 3, 4, 5, 6}, 2}};

// Every generated token's log-prob under the cached decode equals the one
// the full forward assigns to the finished sequence.
void expect_cache_matches_full_forward(c10::ScalarType dtype, double tolerance) {
  Transformer model = small_model(dtype);
  SamplingOptions options;
  options.temperature = 0.9;
  options.top_k = 10;
  options.max_new_tokens = 12;
  const auto samples = generate(model, kPrompts, /*num_samples=*/3, options, /*seed=*/17);
  double worst = 0;
  for (std::size_t p = 0; p < kPrompts.size(); ++p)
    for (const Sample& sample : samples[p]) {
      ASSERT_EQ(sample.tokens.size(), 12u);
      const PromptResponseBatch batch = pack_prompt_response({kPrompts[p].tokens}, {sample.tokens}, 0);
      at::NoGradGuard no_grad;
      const at::Tensor full = sequence_logprob(model, batch).per_token[0];
      const auto offset = full.size(0) - static_cast<std::int64_t>(sample.tokens.size());
      for (std::size_t t = 0; t < sample.tokens.size(); ++t)
        worst = std::max(worst, std::abs(full[offset + static_cast<std::int64_t>(t)].item<double>() -
                                         sample.policy_logprobs[t]));
    }
  EXPECT_LT(worst, tolerance);
}

TEST(Generate, CachedDecodingMatchesTheFullForwardFloat64) { expect_cache_matches_full_forward(at::kDouble, 1e-10); }
TEST(Generate, CachedDecodingMatchesTheFullForwardFloat32) { expect_cache_matches_full_forward(at::kFloat, 1e-4); }

// The batched, cached decode draws exactly what a naive loop draws: one
// candidate at a time, the full forward over its whole context each step,
// draw s of the candidate's own stream at step s, stop after EOS.
void expect_naive_loop_draws(DecodeMode decode) {
  Transformer model = small_model(at::kDouble);
  SamplingOptions options;
  options.decode = decode;
  options.temperature = 1.5;
  options.top_k = 20;
  options.top_p = 0.98;
  options.max_new_tokens = 16;
  const std::uint64_t seed = 23;
  // EOS: a token one candidate draws at step 4, so that rows end at
  // different steps (or not at all) and finished rows sit beside live ones.
  options.eos_id = generate(model, kPrompts, 3, options, seed)[1][2].tokens[4];
  const auto samples = generate(model, kPrompts, 3, options, seed);
  at::NoGradGuard no_grad;
  int ended = 0;
  for (std::size_t p = 0; p < kPrompts.size(); ++p)
    for (std::uint32_t c = 0; c < 3; ++c) {
      RandomStream stream({seed, Stage::generate, kPrompts[p].index, c});
      std::vector<std::int64_t> context = kPrompts[p].tokens, expected;
      for (std::int64_t s = 0; s < options.max_new_tokens; ++s) {
        const at::Tensor logits = model->forward(at::tensor(context, at::kLong).unsqueeze(0))[0][-1];
        const at::Tensor distribution = sampling_distribution(logits.unsqueeze(0), options);
        const auto token = sample_from(distribution, at::tensor({stream.uniform()}, at::kDouble))[0].item<std::int64_t>();
        expected.push_back(token);
        context.push_back(token);
        if (token == options.eos_id) break;
      }
      const Sample& sample = samples[p][c];
      EXPECT_EQ(sample.tokens, expected) << "prompt " << p << " candidate " << c;
      EXPECT_EQ(sample.ended_with_eos, expected.back() == options.eos_id);
      ended += sample.ended_with_eos ? 1 : 0;
    }
  // The case of rows finishing at different steps is exercised.
  EXPECT_GT(ended, 0);
  EXPECT_LT(ended, 9);
}

TEST(Generate, EqualsANaiveLoopOverTheFullForward) { expect_naive_loop_draws(DecodeMode::dynamic); }
TEST(Generate, FixedShapesEqualANaiveLoopOverTheFullForward) { expect_naive_loop_draws(DecodeMode::fixed); }

// Fixed shapes (attention over the whole cache under a mask, the step in
// device tensors: what a CUDA graph replays) give the dynamic loop's tokens
// and log-probs, for every length including one token, with rows ending at
// different steps, with and without padding among the prompts.
TEST(Generate, FixedShapesAgreeWithTheDynamicLoop) {
  for (const auto dtype : {at::kDouble, at::kFloat}) {
    Transformer model = small_model(dtype);
    const double tolerance = dtype == at::kDouble ? 1e-10 : 1e-4;
    for (const std::int64_t length : {1, 2, 5, 20}) {
      for (const bool padded : {false, true}) {
        SamplingOptions options;
        options.temperature = 1.3;
        options.top_k = 12;
        options.max_new_tokens = length;
        options.eos_id = 6;
        const std::vector<PromptToSample> prompts = padded ? kPrompts : std::vector{kPrompts[0]};
        const auto dynamic = generate(model, prompts, 4, options, 31);
        options.decode = DecodeMode::fixed;
        const auto fixed = generate(model, prompts, 4, options, 31);
        for (std::size_t p = 0; p < prompts.size(); ++p)
          for (std::size_t c = 0; c < 4; ++c) {
            const Sample &a = dynamic[p][c], &b = fixed[p][c];
            ASSERT_EQ(a.tokens, b.tokens) << "length " << length << " prompt " << p << " candidate " << c;
            EXPECT_EQ(a.ended_with_eos, b.ended_with_eos);
            for (std::size_t t = 0; t < a.tokens.size(); ++t) {
              EXPECT_NEAR(a.policy_logprobs[t], b.policy_logprobs[t], tolerance);
              EXPECT_NEAR(a.sampling_logprobs[t], b.sampling_logprobs[t], tolerance);
            }
          }
      }
    }
  }
}

// A generation longer than the model's positions is a data error before any
// work, in every mode; one that just fits runs.
TEST(Generate, TooLongGenerationsAreRefusedUpFront) {
  Transformer model = small_model(at::kFloat);  // max_positions 64; the longest prompt has 6 tokens
  for (const auto decode : {DecodeMode::dynamic, DecodeMode::fixed}) {
    SamplingOptions options;
    options.decode = decode;
    options.max_new_tokens = 60;
    EXPECT_THROW(generate(model, kPrompts, 2, options, 1), DataError);
    options.max_new_tokens = 59;
    EXPECT_EQ(generate(model, kPrompts, 2, options, 1)[2][1].tokens.size(), 59u);
  }
}

// Graph replay is refused clearly where it cannot run.
TEST(Generate, GraphDecodingNeedsACudaModel) {
  Transformer model = small_model(at::kFloat);
  SamplingOptions options;
  options.max_new_tokens = 8;
  options.decode = DecodeMode::graph;
  EXPECT_THROW(generate(model, kPrompts, 2, options, 1), UsageError);
}

TEST(Generate, TokensDoNotDependOnTheBatch) {
  Transformer model = small_model(at::kFloat);
  SamplingOptions options;
  options.temperature = 1.0;
  options.max_new_tokens = 10;
  const auto together = generate(model, kPrompts, 4, options, 99);
  // Prompt 2 alone, and prompt 2 batched after others in reverse order.
  const auto alone = generate(model, {kPrompts[2]}, 4, options, 99);
  const auto reversed = generate(model, {kPrompts[2], kPrompts[1], kPrompts[0]}, 4, options, 99);
  for (std::size_t c = 0; c < 4; ++c) {
    EXPECT_EQ(alone[0][c].tokens, together[2][c].tokens) << c;
    EXPECT_EQ(reversed[0][c].tokens, together[2][c].tokens) << c;
    EXPECT_EQ(reversed[2][c].tokens, together[0][c].tokens) << c;
  }
  // Candidates of one prompt differ from each other, and seeds matter.
  EXPECT_NE(together[2][0].tokens, together[2][1].tokens);
  EXPECT_NE(generate(model, {kPrompts[2]}, 1, options, 100)[0][0].tokens, alone[0][0].tokens);
}

TEST(Generate, StopsAtEndOfSequencePerRow) {
  Transformer model = small_model(at::kFloat);
  SamplingOptions options;
  options.temperature = 2.0;  // flat: EOS comes soon for some rows
  options.max_new_tokens = 30;
  options.eos_id = 4;
  const auto samples = generate(model, kPrompts, 8, options, 5);
  int ended = 0;
  for (const auto& per_prompt : samples)
    for (const Sample& sample : per_prompt) {
      const auto eos = std::find(sample.tokens.begin(), sample.tokens.end(), 4);
      if (sample.ended_with_eos) {
        ++ended;
        EXPECT_EQ(eos + 1, sample.tokens.end());  // EOS is the last token
      } else {
        EXPECT_EQ(eos, sample.tokens.end());
        EXPECT_EQ(sample.tokens.size(), 30u);
      }
      EXPECT_EQ(sample.policy_logprobs.size(), sample.tokens.size());
    }
  EXPECT_GT(ended, 0);
}

TEST(Generate, GreedyTakesTheArgmax) {
  Transformer model = small_model(at::kDouble);
  SamplingOptions options;
  options.greedy = true;
  options.max_new_tokens = 6;
  const auto samples = generate(model, {kPrompts[0]}, 2, options, 1);
  EXPECT_EQ(samples[0][0].tokens, samples[0][1].tokens);
  for (double q : samples[0][0].sampling_logprobs) EXPECT_EQ(q, 0.0);
  std::vector<std::int64_t> context = kPrompts[0].tokens;
  at::NoGradGuard no_grad;
  for (std::int64_t token : samples[0][0].tokens) {
    const at::Tensor logits = model->forward(at::tensor(context, at::kLong).unsqueeze(0))[0][-1];
    EXPECT_EQ(logits.argmax().item<std::int64_t>(), token);
    context.push_back(token);
  }
}

// The distribution the filters define, computed independently with plain loops.
std::vector<double> target_distribution(const std::vector<double>& logits, double temperature, std::int64_t top_k,
                                        double top_p) {
  const std::size_t V = logits.size();
  std::vector<double> p(V);
  const double top = *std::max_element(logits.begin(), logits.end());
  for (std::size_t i = 0; i < V; ++i) p[i] = std::exp((logits[i] - top) / temperature);
  auto normalise = [&] {
    const double z = std::accumulate(p.begin(), p.end(), 0.0);
    for (double& x : p) x /= z;
  };
  normalise();
  std::vector<std::size_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
  if (top_k > 0 && static_cast<std::size_t>(top_k) < V) {
    const double kth = p[order[static_cast<std::size_t>(top_k) - 1]];
    for (double& x : p) if (x < kth) x = 0;
    normalise();
  }
  double before = 0;
  std::vector<bool> keep(V, false);
  for (std::size_t i : order) {
    keep[i] = before < top_p;
    before += p[i];
  }
  for (std::size_t i = 0; i < V; ++i) if (!keep[i]) p[i] = 0;
  normalise();
  return p;
}

TEST(Sampling, EmpiricalFrequenciesMatchTheFilteredTarget) {
  const std::vector<double> logits = {1.0, 2.5, -0.5, 0.3, 2.4, -3.0, 0.9, 1.7, 0.0, -1.2, 2.0, 0.6};
  struct Case {
    double temperature;
    std::int64_t top_k;
    double top_p;
  };
  const int draws = 200000;
  for (const Case& c : {Case{1.0, 0, 1.0}, Case{0.7, 0, 1.0}, Case{1.0, 5, 1.0}, Case{1.0, 0, 0.8},
                        Case{0.7, 4, 0.9}, Case{1.3, 40, 0.95}}) {
    SamplingOptions options;
    options.temperature = c.temperature;
    options.top_k = c.top_k;
    options.top_p = c.top_p;
    const at::Tensor row = at::tensor(logits, at::kDouble).to(at::kFloat);
    const at::Tensor distribution = sampling_distribution(row.unsqueeze(0).expand({draws, -1}), options);
    at::Tensor uniforms = at::empty({draws}, at::kDouble);
    RandomStream stream({21, Stage::test, 0, 0});
    auto* u = uniforms.data_ptr<double>();
    for (int i = 0; i < draws; ++i) u[i] = stream.uniform();
    const at::Tensor tokens = sample_from(distribution, uniforms);
    const at::Tensor counts = at::bincount(tokens, {}, static_cast<std::int64_t>(logits.size())).to(at::kDouble);
    const std::vector<double> target = target_distribution(logits, c.temperature, c.top_k, c.top_p);
    double total_variation = 0;
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const double empirical = counts[static_cast<std::int64_t>(i)].item<double>() / draws;
      total_variation += 0.5 * std::abs(empirical - target[i]);
      if (target[i] == 0) EXPECT_EQ(empirical, 0.0) << "token " << i << " is filtered out";
      // The computed distribution itself equals the target (float32 logits).
      EXPECT_NEAR(distribution[0][static_cast<std::int64_t>(i)].item<double>(), target[i], 1e-6);
    }
    // 12 categories, 200k draws: E[TV] is about 0.002; 0.01 is > 5 sigma.
    EXPECT_LT(total_variation, 0.01) << "T " << c.temperature << " k " << c.top_k << " p " << c.top_p;
  }
}

TEST(Sampling, NeverPicksAZeroProbabilityToken) {
  const at::Tensor probabilities = at::tensor({0.0, 0.5, 0.0, 0.5, 0.0}, at::kDouble).unsqueeze(0).expand({5, -1});
  const at::Tensor uniforms = at::tensor({0.0, 0.25, 0.5, 0.75, 0.9999999999}, at::kDouble);
  const at::Tensor tokens = sample_from(probabilities, uniforms);
  for (std::int64_t i = 0; i < 5; ++i) {
    const auto t = tokens[i].item<std::int64_t>();
    EXPECT_TRUE(t == 1 || t == 3) << "u " << uniforms[i].item<double>() << " gave " << t;
  }
}

}  // namespace
}  // namespace rso::model
