// The Llama-style transformer against an independent float64 reference,
// finite differences, and the padding and naming contracts.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "rso/io/hdf5.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/logprob.hpp"
#include "rso/model/transformer.hpp"
#include "test_helpers.hpp"

namespace rso::model {
namespace {

TransformerOptions tiny(bool tied = false, std::int64_t kv_heads = 2) {
  return TransformerOptions()
      .vocab_size(23)
      .hidden_size(16)
      .num_layers(2)
      .num_heads(4)
      .num_kv_heads(kv_heads)
      .intermediate_size(24)
      .max_positions(64)
      .rope_theta(500.0)
      .tie_embeddings(tied)
      .init_std(0.3);  // large enough that attention is far from uniform
}

Transformer make_model(const TransformerOptions& options, c10::ScalarType dtype, std::uint64_t seed = 7) {
  at::manual_seed(seed);
  Transformer model(options);
  model->to(dtype);
  return model;
}

at::Tensor parameter(Transformer& model, const std::string& name) {
  // named_parameters() returns the dict by value: keep it alive while its
  // entry is read.
  const auto parameters = model->named_parameters();
  const auto* found = parameters.find(name);
  EXPECT_NE(found, nullptr) << name;
  return found ? *found : at::Tensor();
}

// A direct transcription of the Llama equations, one position and one head
// at a time, sharing nothing with the module code but the parameters.
at::Tensor reference_logits(Transformer& model, const std::vector<std::int64_t>& tokens) {
  const TransformerOptions& o = model->options();
  const auto T = static_cast<std::int64_t>(tokens.size());
  const std::int64_t d = o.head_dim(), H = o.num_heads(), Hkv = o.num_kv_heads();
  auto rms = [&](const at::Tensor& x, const at::Tensor& w) {
    return w * x / at::sqrt(x.pow(2).mean() + o.rms_norm_eps());
  };
  auto rope = [&](at::Tensor v, std::int64_t position) {  // v [d]
    at::Tensor out = v.clone();
    for (std::int64_t i = 0; i < d / 2; ++i) {
      const double angle = position * std::pow(o.rope_theta(), -2.0 * i / d);
      const at::Tensor a = v[i], b = v[i + d / 2];
      out[i] = a * std::cos(angle) - b * std::sin(angle);
      out[i + d / 2] = b * std::cos(angle) + a * std::sin(angle);
    }
    return out;
  };
  const at::Tensor embed = parameter(model, "model.embed_tokens.weight");
  std::vector<at::Tensor> h;
  for (auto token : tokens) h.push_back(embed[token].clone());
  for (std::int64_t l = 0; l < o.num_layers(); ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const at::Tensor wq = parameter(model, p + "self_attn.q_proj.weight"), wk = parameter(model, p + "self_attn.k_proj.weight"),
                     wv = parameter(model, p + "self_attn.v_proj.weight"), wo = parameter(model, p + "self_attn.o_proj.weight");
    std::vector<at::Tensor> q(T), k(T), v(T);
    for (std::int64_t t = 0; t < T; ++t) {
      const at::Tensor x = rms(h[t], parameter(model, p + "input_layernorm.weight"));
      q[t] = at::mv(wq, x).view({H, d});
      k[t] = at::mv(wk, x).view({Hkv, d});
      v[t] = at::mv(wv, x).view({Hkv, d});
      for (std::int64_t head = 0; head < H; ++head) q[t][head] = rope(q[t][head], t);
      for (std::int64_t head = 0; head < Hkv; ++head) k[t][head] = rope(k[t][head], t);
    }
    std::vector<at::Tensor> next(T);
    for (std::int64_t t = 0; t < T; ++t) {
      std::vector<at::Tensor> heads;
      for (std::int64_t head = 0; head < H; ++head) {
        const std::int64_t kv = head / (H / Hkv);
        std::vector<double> scores;
        for (std::int64_t s = 0; s <= t; ++s)
          scores.push_back(at::dot(q[t][head], k[s][kv]).item<double>() / std::sqrt(static_cast<double>(d)));
        const double top = *std::max_element(scores.begin(), scores.end());
        double z = 0;
        for (double& sc : scores) z += (sc = std::exp(sc - top));
        at::Tensor mixed = at::zeros({d}, at::kDouble);
        for (std::int64_t s = 0; s <= t; ++s) mixed += scores[s] / z * v[s][kv];
        heads.push_back(mixed);
      }
      const at::Tensor attn_out = at::mv(wo, at::cat(heads));
      const at::Tensor mid = h[t] + attn_out;
      const at::Tensor x = rms(mid, parameter(model, p + "post_attention_layernorm.weight"));
      const at::Tensor gate = at::mv(parameter(model, p + "mlp.gate_proj.weight"), x);
      const at::Tensor up = at::mv(parameter(model, p + "mlp.up_proj.weight"), x);
      next[t] = mid + at::mv(parameter(model, p + "mlp.down_proj.weight"), gate / (1 + at::exp(-gate)) * up);
    }
    h = next;
  }
  const at::Tensor head = o.tie_embeddings() ? embed : parameter(model, "lm_head.weight");
  std::vector<at::Tensor> logits;
  for (auto& x : h) logits.push_back(at::mv(head, rms(x, parameter(model, "model.norm.weight"))));
  return at::stack(logits);
}

TEST(Transformer, MatchesTheFloat64ReferenceWithGroupedQueryAttention) {
  for (bool tied : {false, true}) {
    for (std::int64_t kv_heads : {4, 2, 1}) {
      Transformer model = make_model(tiny(tied, kv_heads), at::kDouble);
      const std::vector<std::int64_t> tokens = {3, 17, 0, 22, 5, 5, 9};
      at::NoGradGuard no_grad;
      const at::Tensor logits = model->forward(at::tensor(tokens, at::kLong).unsqueeze(0))[0];
      const at::Tensor expected = reference_logits(model, tokens);
      const double diff = (logits - expected).abs().max().item<double>();
      EXPECT_LT(diff, 1e-10) << "tied " << tied << " kv_heads " << kv_heads;
      EXPECT_GT(expected.abs().max().item<double>(), 0.5);  // not a trivially small output
    }
  }
}

// The decode path's concatenated projections compute what the separate ones
// do, with any number of kv heads, under the float64 reference; with
// gradients on, the layers train their own parameters.
TEST(Transformer, FusedProjectionsMatchTheSeparateOnesAndNeverTrain) {
  for (std::int64_t kv_heads : {4, 2, 1}) {
    Transformer model = make_model(tiny(false, kv_heads), at::kDouble);
    const std::vector<std::int64_t> tokens = {3, 17, 0, 22, 5, 5, 9};
    const at::Tensor ids = at::tensor(tokens, at::kLong).unsqueeze(0);
    const at::Tensor expected = reference_logits(model, tokens);
    {
      const FusedProjections fused(*model);
      at::NoGradGuard no_grad;
      EXPECT_LT((model->forward(ids)[0] - expected).abs().max().item<double>(), 1e-10) << "kv_heads " << kv_heads;
    }
    at::Tensor q_weight = parameter(model, "model.layers.0.self_attn.q_proj.weight");
    at::Tensor up_weight = parameter(model, "model.layers.1.mlp.up_proj.weight");
    {
      const FusedProjections fused(*model);
      model->forward(ids).sum().backward();
    }
    ASSERT_TRUE(q_weight.grad().defined());
    ASSERT_TRUE(up_weight.grad().defined());
    EXPECT_GT(q_weight.grad().abs().max().item<double>(), 0.0);
    // Once released, nothing of the copies is left behind.
    for (const auto& layer : *model->model->layers)
      EXPECT_FALSE(layer->as<DecoderLayer>()->self_attn->fused_qkv_weight.defined());
  }
}

// The rotary tables are cached per device and dtype: after a change of
// dtype the model still matches the reference.
TEST(Transformer, RotaryTablesFollowTheModelsDtype) {
  Transformer model = make_model(tiny(), at::kFloat);
  const std::vector<std::int64_t> tokens = {3, 17, 0, 22, 5, 5, 9, 1, 2};
  const at::Tensor ids = at::tensor(tokens, at::kLong).unsqueeze(0);
  at::NoGradGuard no_grad;
  model->forward(ids);  // fills the cache in float32
  model->to(at::kDouble);
  EXPECT_LT((model->forward(ids)[0] - reference_logits(model, tokens)).abs().max().item<double>(), 1e-10);
}

TEST(Transformer, LeftPaddingDoesNotChangeARowsLogits) {
  Transformer model = make_model(tiny(), at::kFloat);
  at::NoGradGuard no_grad;
  const std::vector<std::int64_t> short_prompt = {4, 8, 15, 16}, long_prompt = {1, 2, 3, 4, 5, 6, 7};
  const at::Tensor alone = model->forward(at::tensor(short_prompt, at::kLong).unsqueeze(0))[0];
  const PromptResponseBatch batch = pack_prompt_response({long_prompt, short_prompt}, {{}, {}}, /*pad_id=*/0);
  const at::Tensor together = model->forward(batch.input_ids, batch.attention_mask);
  const at::Tensor padded_row = together[1].narrow(0, 3, 4);  // three pads on the left
  // float32, same operations on different tensor shapes: a few ulps apart.
  EXPECT_LT((padded_row - alone).abs().max().item<double>(), 1e-5);
  EXPECT_FALSE(together.isnan().any().item<bool>());
}

TEST(SequenceLogprob, SumsResponseTokensOnly) {
  Transformer model = make_model(tiny(), at::kDouble);
  const PromptResponseBatch batch = pack_prompt_response({{1, 2, 3}, {4}}, {{5, 6}, {7, 8, 9}}, 0);
  const SequenceLogprobs result = sequence_logprob(model, batch);
  at::NoGradGuard no_grad;
  for (std::int64_t b = 0; b < 2; ++b) {
    // Recompute each row unpadded, by hand.
    std::vector<std::int64_t> row;
    std::vector<bool> is_response;
    for (std::int64_t t = 0; t < batch.input_ids.size(1); ++t) {
      if (batch.attention_mask[b][t].item<std::int64_t>() == 0) continue;
      row.push_back(batch.input_ids[b][t].item<std::int64_t>());
      is_response.push_back(batch.response_mask[b][t].item<std::int64_t>() == 1);
    }
    const at::Tensor log_probs = at::log_softmax(model->forward(at::tensor(row, at::kLong).unsqueeze(0))[0], -1);
    double expected = 0;
    for (std::size_t t = 1; t < row.size(); ++t)
      if (is_response[t]) expected += log_probs[t - 1][row[t]].item<double>();
    EXPECT_NEAR(result.total[b].item<double>(), expected, 1e-10);
    EXPECT_LT(expected, 0.0);
  }
  EXPECT_EQ(result.per_token.ne(0).sum().item<std::int64_t>(), 5);  // 2 + 3 response tokens
}

// Chosen and rejected packed as one batch give each side's own log-probs,
// also where their lengths differ (more padding in the shared batch).
TEST(SequenceLogprob, PackedPairsEqualEachSideAlone) {
  Transformer model = make_model(tiny(), at::kDouble);
  const std::vector<std::vector<std::int64_t>> prompts = {{1, 2, 3}, {4}, {5, 6}};
  const std::vector<std::vector<std::int64_t>> chosen = {{7, 8}, {9, 10, 11, 12}, {13}};
  const std::vector<std::vector<std::int64_t>> rejected = {{14}, {15, 16}, {17, 18, 19, 20, 21}};
  at::NoGradGuard no_grad;
  const at::Tensor both = sequence_logprob(model, pack_pairs(prompts, chosen, rejected, 0)).total;
  ASSERT_EQ(both.size(0), 6);
  const at::Tensor c = sequence_logprob(model, pack_prompt_response(prompts, chosen, 0)).total;
  const at::Tensor r = sequence_logprob(model, pack_prompt_response(prompts, rejected, 0)).total;
  EXPECT_LT((both.narrow(0, 0, 3) - c).abs().max().item<double>(), 1e-12);
  EXPECT_LT((both.narrow(0, 3, 3) - r).abs().max().item<double>(), 1e-12);
  EXPECT_GT((c - r).abs().min().item<double>(), 1e-3);  // the two sides differ: the split is checked
}

// Logits are computed only from the first column holding a response token;
// a mask with tokens in the middle (not only trailing responses) still
// counts exactly the marked tokens.
TEST(SequenceLogprob, AnyMaskCountsExactlyItsTokens) {
  Transformer model = make_model(tiny(), at::kDouble);
  const at::Tensor ids = at::tensor({1, 2, 3, 4, 5, 6}, at::kLong).view({1, 6});
  const at::Tensor mask = at::tensor({0, 0, 1, 0, 1, 0}, at::kLong).view({1, 6});
  const SequenceLogprobs result = sequence_logprob(model, ids, at::ones_like(ids), mask);
  at::NoGradGuard no_grad;
  const at::Tensor log_probs = at::log_softmax(model->forward(ids)[0], -1);
  const double expected = log_probs[1][3].item<double>() + log_probs[3][5].item<double>();
  EXPECT_NEAR(result.total[0].item<double>(), expected, 1e-12);
  EXPECT_EQ(result.per_token.sizes(), ids.sizes());
  EXPECT_NEAR(result.per_token[0][4].item<double>(), log_probs[3][5].item<double>(), 1e-12);
  const SequenceLogprobs none = sequence_logprob(model, ids, at::ones_like(ids), at::zeros_like(ids));
  EXPECT_EQ(none.total[0].item<double>(), 0.0);
}

TEST(SequenceLogprob, Bfloat16StaysCloseToFloat64) {
  // The precision CUDA runs use by default: the same weights rounded to
  // bfloat16 (8 significant bits) give per-token log-probs within 0.1 nat on
  // this tiny model, whose log-probs are around -3.
  Transformer reference = make_model(tiny(), at::kDouble);
  Transformer reduced = make_model(tiny(), at::kBFloat16);
  const PromptResponseBatch batch = pack_prompt_response({{1, 2, 3}, {4}}, {{5, 6}, {7, 8, 9}}, 0);
  at::NoGradGuard no_grad;
  const at::Tensor exact = sequence_logprob(reference, batch).per_token;
  const at::Tensor approximate = sequence_logprob(reduced, batch).per_token;
  EXPECT_EQ(approximate.scalar_type(), at::kFloat);  // log-probs come back in float32
  EXPECT_LT((approximate.to(at::kDouble) - exact).abs().max().item<double>(), 0.1);
}

TEST(SequenceLogprob, GradientsMatchFiniteDifferencesInFloat64) {
  Transformer model = make_model(tiny(/*tied=*/true, 2), at::kDouble, 11);
  const PromptResponseBatch batch = pack_prompt_response({{1, 2, 3}, {4, 5}}, {{6, 7}, {8, 9, 10}}, 0);
  auto objective = [&] { return sequence_logprob(model, batch).total.sum(); };
  model->zero_grad();
  objective().backward();
  const std::vector<std::string> names = {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                                          "model.layers.1.self_attn.k_proj.weight", "model.layers.0.mlp.up_proj.weight",
                                          "model.layers.1.input_layernorm.weight", "model.norm.weight"};
  at::NoGradGuard no_grad;
  for (const auto& name : names) {
    at::Tensor weight = parameter(model, name);
    const at::Tensor flat = weight.view(-1), grad = weight.grad().view(-1);
    for (std::int64_t i : {std::int64_t{0}, flat.numel() / 3, flat.numel() - 1}) {
      const double saved = flat[i].item<double>(), eps = 1e-6;
      flat[i] = saved + eps;
      const double up = objective().item<double>();
      flat[i] = saved - eps;
      const double down = objective().item<double>();
      flat[i] = saved;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(grad[i].item<double>(), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << name << "[" << i << "]";
    }
  }
}

TEST(Transformer, ParameterNamesFollowHuggingFace) {
  Transformer model = make_model(tiny(), at::kFloat);
  const auto names = model->named_parameters().keys();
  EXPECT_EQ(names.size(), 2u + 2 * 9 + 1);
  for (const char* name : {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                           "model.layers.1.self_attn.o_proj.weight", "model.layers.1.mlp.gate_proj.weight",
                           "model.layers.0.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  EXPECT_EQ(parameter(model, "model.layers.0.self_attn.k_proj.weight").sizes(), (at::IntArrayRef{8, 16}));

  Transformer tied = make_model(tiny(/*tied=*/true), at::kFloat);
  const auto tied_names = tied->named_parameters().keys();
  EXPECT_EQ(std::find(tied_names.begin(), tied_names.end(), "lm_head.weight"), tied_names.end());
}

TEST(Transformer, InconsistentSizesAreConfigErrors) {
  const std::string message = testing::error_message(
      [] { Transformer model(tiny().num_heads(4).num_kv_heads(3)); }, ErrorKind::config);
  EXPECT_NE(message.find("num_heads 4 is not a multiple of num_kv_heads 3"), std::string::npos) << message;
  testing::error_message([] { Transformer model(tiny().hidden_size(18)); }, ErrorKind::config);
}

TEST(Transformer, TooLongSequencesAreDataErrors) {
  Transformer model = make_model(tiny().max_positions(4), at::kFloat);
  testing::error_message([&] { model->forward(at::zeros({1, 5}, at::kLong)); }, ErrorKind::data);
}

}  // namespace
}  // namespace rso::model

// --- checkpoints ------------------------------------------------------------------

namespace rso::model {
namespace {

TEST(ModelCheckpoint, RoundTripIsBitwiseInEveryDtype) {
  testing::TempDir dir;
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kDouble}) {
    Transformer model = make_model(tiny(/*tied=*/dtype == at::kBFloat16), dtype);
    const std::string path = (dir / "model.h5").string();
    save_model(model, path);
    Transformer loaded = load_model(path);
    EXPECT_EQ(loaded->options().tie_embeddings(), dtype == at::kBFloat16);
    EXPECT_EQ(loaded->options().num_kv_heads(), 2);
    EXPECT_EQ(loaded->options().rope_theta(), 500.0);
    const auto expected = model->named_parameters();
    const auto got = loaded->named_parameters();
    ASSERT_EQ(got.size(), expected.size());
    for (const auto& item : expected) {
      const at::Tensor& other = got[item.key()];
      ASSERT_EQ(other.scalar_type(), dtype) << item.key();
      const auto bytes = static_cast<std::size_t>(other.numel()) * other.element_size();
      EXPECT_EQ(std::memcmp(other.data_ptr(), item.value().data_ptr(), bytes), 0) << item.key();
    }
  }
}

TEST(ModelCheckpoint, MismatchesAreAllReported) {
  testing::TempDir dir;
  const std::string path = (dir / "model.h5").string();
  Transformer saved = make_model(tiny(), at::kFloat);
  save_model(saved, path);
  // A wider MLP (three mismatched matrices in each of two layers) and a tied
  // head (the file's lm_head.weight is then unexpected): 7 problems.
  Transformer other = make_model(tiny(/*tied=*/true).intermediate_size(32), at::kFloat);
  const std::string message = testing::error_message([&] { load_parameters(other, path); }, ErrorKind::data);
  EXPECT_NE(message.find("model.layers.0.mlp.up_proj.weight: shape [24, 16] in the file, [32, 16] in the model"),
            std::string::npos) << message;
  EXPECT_NE(message.find("model.layers.1.mlp.down_proj.weight: shape"), std::string::npos) << message;
  EXPECT_NE(message.find("unexpected lm_head.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("(7 problems)"), std::string::npos) << message;

  Transformer wrong_dtype = make_model(tiny(), at::kBFloat16);
  const std::string dtype_message =
      testing::error_message([&] { load_parameters(wrong_dtype, path); }, ErrorKind::data);
  EXPECT_NE(dtype_message.find("model.norm.weight: dtype float32 in the file, bfloat16 in the model"),
            std::string::npos) << dtype_message;
}

// A checkpoint holding NaN or Inf weights is a data error naming the tensor
// and the count, not a model whose every output is NaN.
TEST(ModelCheckpoint, NonFiniteWeightsAreRefusedByName) {
  testing::TempDir dir;
  const std::string path = (dir / "model.h5").string();
  Transformer model = make_model(tiny(), at::kFloat);
  {
    at::NoGradGuard no_grad;
    auto weight = model->named_parameters()["model.layers.1.mlp.up_proj.weight"];
    weight.view(-1)[3] = std::numeric_limits<float>::quiet_NaN();
    weight.view(-1)[7] = std::numeric_limits<float>::infinity();
  }
  save_model(model, path);
  const std::string message = testing::error_message([&] { load_model(path); }, ErrorKind::data);
  EXPECT_NE(message.find("model.layers.1.mlp.up_proj.weight holds 2 non-finite values"), std::string::npos) << message;
}

TEST(ModelCheckpoint, OtherFilesAreRefused) {
  testing::TempDir dir;
  const std::string path = (dir / "other.h5").string();
  h5::File::create(path, "rso.pairs", 1).close();
  const std::string message = testing::error_message([&] { load_model(path); }, ErrorKind::data);
  EXPECT_NE(message.find("is a 'rso.pairs' file, expected 'rso.model'"), std::string::npos) << message;
}

}  // namespace
}  // namespace rso::model
