// Pieces of the shared training loop: float32 master weights under a
// bfloat16 model, the model-FLOPs count, the held-out split, ranking markers.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "rso/core/error.hpp"
#include "rso/model/transformer.hpp"
#include "rso/train/master_weights.hpp"
#include "rso/train/model_flops.hpp"
#include "rso/train/reward_trainer.hpp"
#include "rso/train/trainer.hpp"

namespace rso::train {
namespace {

TEST(MasterWeights, Float32ModelsAreTheirOwnMasters) {
  at::Tensor w = at::ones({2, 2}).requires_grad_(true);
  MasterWeights weights({{"w", w}});
  EXPECT_FALSE(weights.separate());
  EXPECT_TRUE(weights.masters()[0].tensor.is_same(w));
}

// Updates far below bfloat16's resolution (1 + 2^-8 is its next value after
// 1) must accumulate in the masters and reach the model once they add up.
TEST(MasterWeights, SmallUpdatesAccumulateInFloat32) {
  at::Tensor w = at::ones({3}, at::kBFloat16).requires_grad_(true);
  MasterWeights weights({{"w", w}});
  ASSERT_TRUE(weights.separate());
  const at::Tensor master = weights.masters()[0].tensor;
  EXPECT_EQ(master.scalar_type(), at::kFloat);
  for (int step = 0; step < 100; ++step) {
    {
      at::NoGradGuard no_grad;
      master.add_(1e-4);  // an optimiser step of 1e-4 per step
    }
    weights.publish();
  }
  EXPECT_NEAR(master[0].item<double>(), 1.01, 1e-5);  // 100 float32 roundings near 1 (ulp 1.2e-7)
  // 1.01 rounds to bfloat16's 1.0078125; a bfloat16-only update would have stayed at 1.
  EXPECT_DOUBLE_EQ(w[0].item<double>(), 1.0078125);
  weights.restore_float32();
  EXPECT_EQ(w.scalar_type(), at::kFloat);
  EXPECT_DOUBLE_EQ(w[0].item<double>(), master[0].item<double>());
}

TEST(MasterWeights, GradientsOfMicroBatchesAddUpInFloat32) {
  at::Tensor w = at::full({2}, 2.0, at::kBFloat16).requires_grad_(true);
  MasterWeights weights({{"w", w}});
  weights.zero_gradients();
  (w * at::tensor({1.0, 3.0}).to(at::kBFloat16)).sum().backward();
  weights.collect_gradients();
  EXPECT_FALSE(w.grad().defined());  // cleared for the next micro-batch
  (w * at::tensor({0.5, 0.25}).to(at::kBFloat16)).sum().backward();
  weights.collect_gradients();
  const at::Tensor grad = weights.masters()[0].tensor.grad();
  EXPECT_EQ(grad.scalar_type(), at::kFloat);
  EXPECT_DOUBLE_EQ(grad[0].item<double>(), 1.5);
  EXPECT_DOUBLE_EQ(grad[1].item<double>(), 3.25);
  // A new step zeroes the masters' gradients in place (they may be views into
  // the gradient synchroniser's buckets) and drops the model's.
  const void* storage = grad.data_ptr();
  weights.zero_gradients();
  const at::Tensor zeroed = weights.masters()[0].tensor.grad();
  ASSERT_TRUE(zeroed.defined());
  EXPECT_EQ(zeroed.data_ptr(), storage);
  EXPECT_EQ(zeroed.abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(w.grad().defined());
}

// P counted by hand: per layer q, o (d x d), k, v (d x kv·hd), gate, up, down
// (d x I); the LM head V x d; the embedding is a lookup and does not count.
TEST(ModelFlops, CountsMatmulWeightsAndAttention) {
  const auto options = model::TransformerOptions()
                           .vocab_size(50)
                           .hidden_size(32)
                           .num_layers(2)
                           .num_heads(4)
                           .num_kv_heads(2)
                           .intermediate_size(64);
  model::Transformer model(options);
  const double per_layer = 2.0 * 32 * 32 + 2.0 * 32 * 16 + 3.0 * 32 * 64;
  const double p = 2 * per_layer + 50.0 * 32;
  const FlopModel flops = flop_model(named_parameters(*model), options, false);
  EXPECT_DOUBLE_EQ(flops.matmul_weights, p);
  EXPECT_DOUBLE_EQ(flops.sequence(10), 6.0 * p * 10 + 12.0 * 2 * 32 * 10 * 10);
  model::Transformer tied(model::TransformerOptions(options).tie_embeddings(true));
  EXPECT_DOUBLE_EQ(flop_model(named_parameters(*tied), tied->options(), true).matmul_weights, p);
}

TEST(ModelFlops, PeakByDeviceName) {
  EXPECT_DOUBLE_EQ(peak_flops_per_second("cuda:0 NVIDIA H100 80GB HBM3", "bfloat16", 0), 989.4e12);
  EXPECT_DOUBLE_EQ(peak_flops_per_second("cuda:1 NVIDIA H100 PCIe", "bfloat16", 0), 756e12);
  EXPECT_DOUBLE_EQ(peak_flops_per_second("cuda:0 NVIDIA H200", "bfloat16", 0), 989.4e12);
  EXPECT_DOUBLE_EQ(peak_flops_per_second("cuda:0 NVIDIA H100 80GB HBM3", "float32", 0), 0.0);
  EXPECT_DOUBLE_EQ(peak_flops_per_second("cpu (2 threads)", "float32", 0), 0.0);
  EXPECT_DOUBLE_EQ(peak_flops_per_second("cpu (2 threads)", "float32", 2.5), 2.5e12);
}

TEST(HoldoutSplit, PartitionsDeterministically) {
  const auto [train, eval] = holdout_split(100, 0.2, 7, Stage::sft);
  EXPECT_EQ(train.size(), 80u);
  EXPECT_EQ(eval.size(), 20u);
  std::vector<std::size_t> all = train;
  all.insert(all.end(), eval.begin(), eval.end());
  std::sort(all.begin(), all.end());
  std::vector<std::size_t> expected(100);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);
  EXPECT_EQ(holdout_split(100, 0.2, 7, Stage::sft).second, eval);
  EXPECT_NE(holdout_split(100, 0.2, 8, Stage::sft).second, eval);
  EXPECT_TRUE(holdout_split(10, 0.0, 7, Stage::sft).second.empty());
}

TEST(LearningRate, GlobalBatchMustBeHonoured) {
  OptimizationConfig c;
  c.micro_batch = 2;
  c.grad_accumulation = 3;
  EXPECT_EQ(global_batch_size(c, 4, "sft"), 24);
  c.global_batch = 24;
  EXPECT_EQ(global_batch_size(c, 4, "sft"), 24);
  c.global_batch = 16;
  try {
    global_batch_size(c, 4, "sft");
    FAIL() << "accepted a global batch it cannot honour";
  } catch (const ConfigError& e) {
    EXPECT_NE(e.message().find("sft.global_batch = 16 cannot be honoured"), std::string::npos) << e.message();
  }
}

TEST(RankingSeparators, IdsOrTextThroughTheTokenizer) {
  RewardConfig c;
  c.first_marker = "ids:49";
  c.second_marker = "ids:48,3";
  const model::RankingSeparators s = ranking_separators(c, nullptr, 50);
  EXPECT_EQ(s.before_first, (std::vector<std::int64_t>{49}));
  EXPECT_EQ(s.before_second, (std::vector<std::int64_t>{48, 3}));
  c.second_marker = "ids:50";
  EXPECT_THROW(ranking_separators(c, nullptr, 50), ConfigError);  // beyond the vocabulary
  c.second_marker = "ids:4,x";
  EXPECT_THROW(ranking_separators(c, nullptr, 50), ConfigError);
  c.second_marker = "[B]";
  EXPECT_THROW(ranking_separators(c, nullptr, 50), ConfigError);  // text without a tokenizer
}

}  // namespace
}  // namespace rso::train
