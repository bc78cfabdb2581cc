// GPU checks, built only with CUDA: the device forward against a float64 CPU
// reference, decoding on the device against the CPU, the NCCL allreduce on
// one rank, and bf16 training with float32 masters on the device.
//
// Tolerances, as relative L2 error ‖gpu − ref‖ / ‖ref‖: float32 with TF32
// off lands near 1e-6 (1e-4 allowed); bfloat16 has 8 mantissa bits and
// lands near 4e-3 on this model (2e-2 allowed).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <memory>

#include "rso/dist/dist_context.hpp"
#include "rso/model/batching.hpp"
#include "rso/model/generate.hpp"
#include "rso/model/logprob.hpp"
#include "rso/train/master_weights.hpp"
#include "rso/train/optimizer.hpp"
#include "rso/train/trainer.hpp"

namespace {

rso::DistContext* g_context = nullptr;
const c10::Device kGpu(c10::kCUDA, 0);

rso::model::TransformerOptions small_options() {
  return rso::model::TransformerOptions()
      .vocab_size(1000)
      .hidden_size(256)
      .num_layers(4)
      .num_heads(4)
      .num_kv_heads(2)  // grouped-query attention on the device too
      .intermediate_size(512)
      .max_positions(128);
}

// The same weights on two devices/dtypes: float64 CPU copy of `model`.
rso::model::Transformer copy_of(rso::model::Transformer& model, c10::Device device, c10::ScalarType dtype) {
  rso::model::Transformer copy(model->options());
  at::NoGradGuard no_grad;
  auto source = model->named_parameters();
  for (auto& p : copy->named_parameters()) p.value().copy_(source[p.key()]);
  copy->to(device, dtype);
  return copy;
}

double relative_error(const at::Tensor& value, const at::Tensor& reference) {
  const at::Tensor v = value.to(at::kCPU, at::kDouble), r = reference.to(at::kCPU, at::kDouble);
  return (v - r).norm().item<double>() / r.norm().item<double>();
}

std::vector<std::vector<std::int64_t>> random_rows(const std::vector<std::int64_t>& lengths, std::int64_t vocab) {
  std::vector<std::vector<std::int64_t>> rows;
  for (auto length : lengths) {
    const at::Tensor t = at::randint(1, vocab, {length}, at::kLong);
    rows.emplace_back(t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + length);
  }
  return rows;
}

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::manual_seed(11);
    reference_ = rso::model::Transformer(small_options());
    reference_->to(at::kDouble);
  }
  rso::model::Transformer reference_{nullptr};
};

// Logits on real tokens, padded and unpadded batches (the unpadded one takes
// the mask-free causal attention path on LibTorch 2).
TEST_F(Gpu, LogitsMatchTheFloat64CpuForward) {
  at::NoGradGuard no_grad;
  for (const auto& lengths : {std::vector<std::int64_t>{20, 33, 7}, std::vector<std::int64_t>{64, 64}}) {
    const auto [ids, mask] = rso::model::left_pad(random_rows(lengths, 1000), 0);
    const at::Tensor real = mask.to(at::kBool).unsqueeze(-1);
    const at::Tensor expected = reference_->forward(ids, mask).masked_select(real);
    for (const auto& [dtype, tolerance] : {std::pair{at::kFloat, 1e-4}, std::pair{at::kBFloat16, 2e-2}}) {
      auto model = copy_of(reference_, kGpu, dtype);
      const at::Tensor logits = model->forward(ids.to(kGpu), mask.to(kGpu)).to(at::kCPU).masked_select(real);
      const double error = relative_error(logits, expected);
      EXPECT_LT(error, tolerance) << c10::toString(dtype) << " batch of " << lengths.size();
      std::printf("logits %s, %zu rows: relative error %.2e\n", c10::toString(dtype), lengths.size(), error);
    }
  }
}

TEST_F(Gpu, SequenceLogprobsMatchTheFloat64CpuReference) {
  at::NoGradGuard no_grad;
  const auto batch = rso::model::pack_prompt_response(random_rows({9, 17, 4, 30}, 1000), random_rows({12, 5, 20, 8}, 1000), 0);
  const at::Tensor expected = rso::model::sequence_logprob(reference_, batch).total;
  for (const auto& [dtype, tolerance] : {std::pair{at::kFloat, 1e-5}, std::pair{at::kBFloat16, 1e-2}}) {
    auto model = copy_of(reference_, kGpu, dtype);
    const at::Tensor total = rso::model::sequence_logprob(model, batch.input_ids.to(kGpu), batch.attention_mask.to(kGpu),
                                                          batch.response_mask.to(kGpu))
                                 .total;
    const double error = relative_error(total, expected);
    EXPECT_LT(error, tolerance) << c10::toString(dtype);
    std::printf("log-probs %s: relative error %.2e\n", c10::toString(dtype), error);
  }
}

// Float32 decoding on the device draws the CPU's tokens: the uniforms are the
// same, and the distributions differ by rounding only (a flip needs a uniform
// within ~1e-6 of a CDF step). bf16 log-probs of the drawn tokens agree with
// the float64 full forward within bf16 error.
TEST_F(Gpu, DecodingOnTheDeviceMatchesTheCpu) {
  const std::vector<rso::model::PromptToSample> prompts = {{{5, 3, 9, 44}, 0}, {{7}, 1}, {{1, 2, 3, 4, 5, 6, 7, 8}, 2}};
  rso::model::SamplingOptions options;
  options.temperature = 0.7;
  options.top_k = 40;
  options.max_new_tokens = 24;
  options.eos_id = 3;
  auto cpu = copy_of(reference_, at::kCPU, at::kFloat);
  auto gpu = copy_of(reference_, kGpu, at::kFloat);
  const auto on_cpu = rso::model::generate(cpu, prompts, 8, options, 5);
  const auto on_gpu = rso::model::generate(gpu, prompts, 8, options, 5);
  double worst = 0;
  for (std::size_t p = 0; p < prompts.size(); ++p)
    for (std::size_t c = 0; c < 8; ++c) {
      ASSERT_EQ(on_gpu[p][c].tokens, on_cpu[p][c].tokens) << "prompt " << p << " candidate " << c;
      for (std::size_t t = 0; t < on_cpu[p][c].tokens.size(); ++t)
        worst = std::max(worst, std::abs(on_gpu[p][c].policy_logprobs[t] - on_cpu[p][c].policy_logprobs[t]));
    }
  EXPECT_LT(worst, 1e-4);

  auto bf16 = copy_of(reference_, kGpu, at::kBFloat16);
  const auto samples = rso::model::generate(bf16, prompts, 8, options, 5);
  at::NoGradGuard no_grad;
  double worst_bf16 = 0;
  for (std::size_t p = 0; p < prompts.size(); ++p)
    for (const auto& sample : samples[p]) {
      const auto batch = rso::model::pack_prompt_response({prompts[p].tokens}, {sample.tokens}, 0);
      const at::Tensor full = rso::model::sequence_logprob(reference_, batch).per_token[0];
      const auto offset = full.size(0) - static_cast<std::int64_t>(sample.tokens.size());
      for (std::size_t t = 0; t < sample.tokens.size(); ++t)
        worst_bf16 = std::max(worst_bf16, std::abs(full[offset + static_cast<std::int64_t>(t)].item<double>() -
                                                   sample.policy_logprobs[t]));
    }
  // Log-probs near -ln(1000) = -6.9; bf16 rounding of the logits moves them
  // by a few hundredths.
  EXPECT_LT(worst_bf16, 0.1);
  std::printf("decode: float32 tokens equal the CPU's, worst log-prob gap %.2e; bf16 worst gap %.3f\n", worst,
              worst_bf16);
}

// The decode step captured as a CUDA graph and replayed draws what the
// dynamic loop draws, in float32 (tokens equal, log-probs to rounding) and
// bf16, with rows ending at different steps and more steps than the graph's
// warm-up; fixed shapes run eagerly agree too.
TEST_F(Gpu, GraphReplayedDecodingMatchesTheDynamicLoop) {
  const std::vector<rso::model::PromptToSample> prompts = {{{5, 3, 9, 44}, 0}, {{7}, 1}, {{1, 2, 3, 4, 5, 6, 7, 8}, 2}};
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    auto gpu = copy_of(reference_, kGpu, dtype);
    rso::model::SamplingOptions options;
    options.temperature = 0.7;
    options.top_k = 40;
    options.max_new_tokens = 40;
    options.eos_id = 3;
    const auto dynamic = rso::model::generate(gpu, prompts, 8, options, 5);
    double worst = 0;
    int rows_ended = 0;
    for (const auto mode : {rso::model::DecodeMode::fixed, rso::model::DecodeMode::graph}) {
      options.decode = mode;
      const auto other = rso::model::generate(gpu, prompts, 8, options, 5);
      for (std::size_t p = 0; p < prompts.size(); ++p)
        for (std::size_t c = 0; c < 8; ++c) {
          ASSERT_EQ(other[p][c].tokens, dynamic[p][c].tokens)
              << (mode == rso::model::DecodeMode::graph ? "graph" : "fixed") << " prompt " << p << " candidate " << c;
          rows_ended += other[p][c].ended_with_eos ? 1 : 0;
          for (std::size_t t = 0; t < dynamic[p][c].tokens.size(); ++t)
            worst = std::max(worst, std::abs(other[p][c].policy_logprobs[t] - dynamic[p][c].policy_logprobs[t]));
        }
    }
    EXPECT_LT(worst, dtype == at::kFloat ? 1e-4 : 0.1);
    std::printf("decode: %s fixed and graph tokens equal the dynamic loop's, worst log-prob gap %.2e, %d rows ended\n",
                dtype == at::kFloat ? "float32" : "bf16", worst, rows_ended / 2);
  }
}

TEST(GpuCollectives, AllreduceOnOneRankIsTheIdentity) {
#ifdef RSO_WITH_NCCL
  EXPECT_EQ(g_context->backend(), rso::CollectiveBackend::nccl);
#endif
  for (const auto dtype : {at::kFloat, at::kBFloat16, at::kDouble}) {
    at::Tensor tensor = at::randn({(1 << 20) + 3}, at::TensorOptions().dtype(at::kFloat).device(kGpu)).to(dtype);
    const at::Tensor before = tensor.clone();
    g_context->allreduce_(tensor, rso::ReduceOp::sum);
    EXPECT_TRUE(at::equal(tensor, before)) << c10::toString(dtype);
    g_context->allreduce_(tensor, rso::ReduceOp::average);
    EXPECT_TRUE(at::equal(tensor, before)) << c10::toString(dtype);
    EXPECT_TRUE(tensor.is_cuda());
  }
}

// bf16 forward and backward, float32 masters and AdamW on the device: the
// loss of a fixed batch falls, and the masters stay float32 on the GPU.
TEST_F(Gpu, Bfloat16TrainingWithFloat32MastersLowersTheLoss) {
  auto model = copy_of(reference_, kGpu, at::kBFloat16);
  rso::train::MasterWeights masters(rso::train::named_parameters(*model));
  ASSERT_TRUE(masters.separate());
  for (const auto& p : masters.masters()) {
    EXPECT_EQ(p.tensor.scalar_type(), at::kFloat);
    EXPECT_TRUE(p.tensor.is_cuda());
  }
  auto optimizer = rso::train::make_adamw(masters.masters());
  auto batch = rso::model::pack_prompt_response(random_rows({6, 10, 3, 8}, 1000), random_rows({16, 16, 16, 16}, 1000), 0);
  batch.input_ids = batch.input_ids.to(kGpu);
  batch.attention_mask = batch.attention_mask.to(kGpu);
  batch.response_mask = batch.response_mask.to(kGpu);
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    masters.zero_gradients();
    const at::Tensor loss = -rso::model::sequence_logprob(model, batch).total.mean() / 16.0;
    loss.backward();
    masters.collect_gradients();
    optimizer->step(1e-3);
    masters.publish();
    (step == 0 ? first : last) = loss.item<double>();
  }
  std::printf("training: per-token loss %.3f -> %.3f\n", first, last);
  EXPECT_LT(last, 0.5 * first);
}

}  // namespace

int main(int argc, char** argv) {
  auto context = std::make_unique<rso::DistContext>(argc, argv);
  g_context = context.get();
  rso::DistConfig config;
  config.device = rso::DeviceKind::cuda;
  context->configure(config);
  std::printf("device: %s, backend %s\n", context->device_description().c_str(),
              rso::enum_name(context->backend(), rso::kCollectiveBackendNames));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
