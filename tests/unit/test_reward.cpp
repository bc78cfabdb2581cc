#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>

#include "rso/core/error.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/reward.hpp"
#include "test_helpers.hpp"

namespace rso::model {
namespace {

RewardModel small_reward_model() {
  at::manual_seed(5);
  RewardModel model(TransformerOptions()
                        .vocab_size(31)
                        .hidden_size(16)
                        .num_layers(2)
                        .num_heads(2)
                        .num_kv_heads(1)
                        .intermediate_size(20)
                        .max_positions(64)
                        .init_std(0.3));
  model->to(at::kDouble);
  return model;
}

// The score of `tokens` left-padded with `pad` to 8 columns (the mask marks
// the 5 real ones): padding must change nothing.
double score_left_padded(RewardModel& model, const std::vector<std::int64_t>& tokens, std::int64_t pad) {
  at::Tensor left = at::full({1, 8}, pad, at::kLong), left_mask = at::zeros({1, 8}, at::kLong);
  const auto width = static_cast<std::int64_t>(tokens.size());
  left[0].narrow(0, 8 - width, width).copy_(at::tensor(tokens, at::kLong));
  left_mask[0].narrow(0, 8 - width, width).fill_(1);
  return model->forward(left, left_mask)[0].item<double>();
}

TEST(RewardModel, ScoresTheLastRealTokenWhateverThePadding) {
  RewardModel model = small_reward_model();
  at::NoGradGuard no_grad;
  const std::vector<std::int64_t> tokens = {3, 9, 4, 1, 7};
  const at::Tensor alone = model->forward(at::tensor(tokens, at::kLong).unsqueeze(0));
  // The same row left-padded and right-padded inside larger batches.
  at::Tensor left = at::zeros({2, 8}, at::kLong), left_mask = at::zeros({2, 8}, at::kLong);
  left[0].narrow(0, 3, 5).copy_(at::tensor(tokens, at::kLong));
  left_mask[0].narrow(0, 3, 5).fill_(1);
  left[1].fill_(2);
  left_mask[1].fill_(1);
  EXPECT_NEAR(model->forward(left, left_mask)[0].item<double>(), alone[0].item<double>(), 1e-12);
  at::Tensor right = at::zeros({1, 8}, at::kLong), right_mask = at::zeros({1, 8}, at::kLong);
  right[0].narrow(0, 0, 5).copy_(at::tensor(tokens, at::kLong));
  right_mask[0].narrow(0, 0, 5).fill_(1);
  EXPECT_NEAR(model->forward(right, right_mask)[0].item<double>(), alone[0].item<double>(), 1e-12);
  // Changing the last token changes the score; the head reads the end.
  std::vector<std::int64_t> other = tokens;
  other.back() = 8;
  EXPECT_GT(std::abs(model->forward(at::tensor(other, at::kLong).unsqueeze(0))[0].item<double>() -
                     alone[0].item<double>()),
            1e-6);
}

// Mean pooling: the mean over real tokens of the head applied to each final
// hidden state, computed here by hand; padding changes nothing; a saved model
// keeps its pooling.
TEST(RewardModel, MeanPoolingAveragesPerTokenScoresOverRealTokens) {
  testing::TempDir dir;
  RewardModel model = small_reward_model();
  model->set_pooling("mean");
  at::NoGradGuard no_grad;
  const std::vector<std::int64_t> tokens = {3, 9, 4, 1, 7};
  const at::Tensor ids = at::tensor(tokens, at::kLong).unsqueeze(0);
  const at::Tensor hidden = model->model->forward(ids, at::ones_like(ids))[0];  // [T, H]
  double expected = 0;
  for (std::int64_t t = 0; t < 5; ++t) expected += (hidden[t] * model->score->weight[0]).sum().item<double>() / 5;
  EXPECT_NEAR(model->forward(ids)[0].item<double>(), expected, 1e-12);
  EXPECT_NEAR(score_left_padded(model, tokens, 0), expected, 1e-12);

  const std::string path = (dir / "mean.h5").string();
  save_reward_model(model, path, RewardHead{"pointwise", {}});
  RewardModel loaded = load_reward_model(path);
  EXPECT_EQ(loaded->pooling(), "mean");
  EXPECT_NEAR(loaded->forward(ids)[0].item<double>(), expected, 1e-12);
  testing::error_message([&] { model->set_pooling("max"); }, ErrorKind::data);
}

// Sum pooling: the sum of per-token scores; under causal attention the
// prompt's tokens score the same after any response, so the gap between two
// responses to one prompt is the gap between their own tokens' scores.
TEST(RewardModel, SumPoolingComparesResponsesByTheirOwnTokens) {
  RewardModel model = small_reward_model();
  model->set_pooling("sum");
  at::NoGradGuard no_grad;
  const std::vector<std::int64_t> prompt = {3, 9, 4}, a = {1, 7}, b = {5, 6, 2};
  auto per_token = [&](const std::vector<std::int64_t>& row) {
    const at::Tensor ids = at::tensor(row, at::kLong).unsqueeze(0);
    return (model->model->forward(ids, at::ones_like(ids))[0] * model->score->weight[0]).sum(1);  // [T]
  };
  std::vector<std::int64_t> xa = prompt, xb = prompt;
  xa.insert(xa.end(), a.begin(), a.end());
  xb.insert(xb.end(), b.begin(), b.end());
  const at::Tensor sa = per_token(xa), sb = per_token(xb);
  EXPECT_NEAR(model->forward(at::tensor(xa, at::kLong).unsqueeze(0))[0].item<double>(), sa.sum().item<double>(), 1e-12);
  // The prompt's scores agree after either response...
  EXPECT_TRUE(at::allclose(sa.narrow(0, 0, 3), sb.narrow(0, 0, 3), 0, 1e-12));
  // ...so the pair's gap is the responses' own tokens.
  const at::Tensor batch = at::zeros({2, 6}, at::kLong), mask = at::zeros({2, 6}, at::kLong);
  batch[0].narrow(0, 1, 5).copy_(at::tensor(xa, at::kLong));
  mask[0].narrow(0, 1, 5).fill_(1);
  batch[1].copy_(at::tensor(xb, at::kLong));
  mask[1].fill_(1);
  const at::Tensor r = model->forward(batch, mask);
  EXPECT_NEAR((r[0] - r[1]).item<double>(), (sa.narrow(0, 3, 2).sum() - sb.narrow(0, 3, 3).sum()).item<double>(), 1e-12);
}

// Lexicon pooling: sum pooling plus 32 times each real token's learned
// valence (zero at first, so a new lexicon model scores as sum pooling);
// padding adds nothing; a saved model keeps its valences.
TEST(RewardModel, LexiconPoolingAddsEachTokensValenceToTheSum) {
  testing::TempDir dir;
  RewardModel model = small_reward_model();
  const std::vector<std::int64_t> tokens = {3, 9, 4, 1, 7};
  const at::Tensor ids = at::tensor(tokens, at::kLong).unsqueeze(0);
  at::NoGradGuard no_grad;
  model->set_pooling("sum");
  const double sum = model->forward(ids)[0].item<double>();
  model->set_pooling("lexicon");
  ASSERT_TRUE(model->token_valence);
  EXPECT_NEAR(model->forward(ids)[0].item<double>(), sum, 1e-12);
  const at::Tensor valence = at::arange(31, at::kDouble).mul(0.01).sub(0.1);
  model->token_valence->weight.copy_(valence.unsqueeze(1));
  double expected = sum;
  for (const std::int64_t t : tokens) expected += 32.0 * valence[t].item<double>();
  EXPECT_NEAR(model->forward(ids)[0].item<double>(), expected, 1e-12);
  EXPECT_NEAR(score_left_padded(model, tokens, 30), expected, 1e-12);
  // valences() is what enters the score (what reward.valence_l2 penalises).
  double from_valences = sum;
  for (const std::int64_t t : tokens) from_valences += model->valences()[t].item<double>();
  EXPECT_NEAR(from_valences, expected, 1e-12);

  const std::string path = (dir / "lexicon.h5").string();
  save_reward_model(model, path, RewardHead{"pointwise", {}});
  RewardModel loaded = load_reward_model(path);
  EXPECT_EQ(loaded->pooling(), "lexicon");
  EXPECT_TRUE(at::equal(loaded->token_valence->weight, model->token_valence->weight));
  EXPECT_NEAR(loaded->forward(ids)[0].item<double>(), expected, 1e-12);
}

// Pooling "lexicon" with token i's valence 0.01 i - 0.1 (stored / 32); returns them.
at::Tensor set_ramp_valences(RewardModel& model) {
  at::NoGradGuard no_grad;
  model->set_pooling("lexicon");
  const at::Tensor valence = at::arange(model->options().vocab_size(), at::kDouble).mul(0.01).sub(0.1);
  model->token_valence->weight.copy_(valence.unsqueeze(1));
  return valence;
}

// Contextual lexicon: each real token t adds score(h_t) + 32 v[id_t] (1 + w.h_t)
// with w the valence gate; a new gate (zero) scores as the plain lexicon;
// a saved model keeps its gate.
TEST(RewardModel, ContextualLexiconScalesEachValenceByItsContext) {
  testing::TempDir dir;
  RewardModel model = small_reward_model();
  const std::vector<std::int64_t> tokens = {3, 9, 4, 1, 7};
  const at::Tensor ids = at::tensor(tokens, at::kLong).unsqueeze(0);
  at::NoGradGuard no_grad;
  const at::Tensor valence = set_ramp_valences(model);
  const double plain = model->forward(ids)[0].item<double>();
  model->set_pooling("contextual-lexicon");
  ASSERT_TRUE(model->valence_gate);
  EXPECT_NEAR(model->forward(ids)[0].item<double>(), plain, 1e-12);

  const at::Tensor gate = at::linspace(-0.5, 0.7, 16, at::kDouble);
  model->valence_gate->weight.copy_(gate.unsqueeze(0));
  const at::Tensor hidden = model->model->forward(ids, at::ones_like(ids))[0];  // [T, H]
  const at::Tensor head = model->score->weight[0];
  double expected = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const double context = 1 + (hidden[t] * gate).sum().item<double>();
    expected += (hidden[t] * head).sum().item<double>() + 32.0 * valence[tokens[t]].item<double>() * context;
  }
  const double scored = model->forward(ids)[0].item<double>();
  EXPECT_NEAR(scored, expected, 1e-10);
  EXPECT_GT(std::abs(scored - plain), 1e-3);  // the gate really enters
  EXPECT_NEAR(score_left_padded(model, tokens, 30), expected, 1e-10);

  const std::string path = (dir / "contextual.h5").string();
  save_reward_model(model, path, RewardHead{"pointwise", {}});
  RewardModel loaded = load_reward_model(path);
  EXPECT_EQ(loaded->pooling(), "contextual-lexicon");
  EXPECT_TRUE(at::equal(loaded->valence_gate->weight, model->valence_gate->weight));
  EXPECT_NEAR(loaded->forward(ids)[0].item<double>(), expected, 1e-10);
}

// Lexicon with modifiers: each real token t adds score(h_t) + 32 v[id_t] (1 +
// Σ_{k=1..w} 32 m[id_{t-k}]), the sum over the w tokens before t that exist;
// new modifiers (zero) score as the plain lexicon; left padding modifies
// nothing; a saved model keeps its modifiers and window.
TEST(RewardModel, LexiconModifiersScaleTheValencesOfTheTokensAfterThem) {
  testing::TempDir dir;
  RewardModel model = small_reward_model();
  const std::vector<std::int64_t> tokens = {3, 9, 1, 7, 4, 12};
  const at::Tensor ids = at::tensor(tokens, at::kLong).unsqueeze(0);
  at::NoGradGuard no_grad;
  const at::Tensor valence = set_ramp_valences(model);
  const double plain = model->forward(ids)[0].item<double>();
  const std::int64_t window = 2;
  model->set_pooling("lexicon-modifiers", window);
  ASSERT_TRUE(model->token_modifier);
  EXPECT_EQ(model->modifier_window(), window);
  EXPECT_NEAR(model->forward(ids)[0].item<double>(), plain, 1e-12);

  // Token 9 negates (32 m = -1.74, VADER's flip), token 1 boosts.
  at::Tensor modifier = at::zeros({31}, at::kDouble);
  modifier[9] = -1.74 / 32;
  modifier[1] = 0.29 / 32;
  model->token_modifier->weight.copy_(modifier.unsqueeze(1));
  const at::Tensor hidden = model->model->forward(ids, at::ones_like(ids))[0];  // [T, H]
  const at::Tensor head = model->score->weight[0];
  double expected = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    double factor = 1;
    for (std::size_t k = 1; k <= static_cast<std::size_t>(window) && k <= t; ++k)
      factor += 32.0 * modifier[tokens[t - k]].item<double>();
    expected += (hidden[t] * head).sum().item<double>() + 32.0 * valence[tokens[t]].item<double>() * factor;
  }
  // By hand, window 2: token 1 follows the negator (factor 1 - 1.74), 7
  // both (1 - 1.74 + 0.29), 4 the booster only (1 + 0.29); 12 is three past
  // the negator, two past the booster: out of reach (1).
  double by_hand = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) by_hand += (hidden[t] * head).sum().item<double>();
  by_hand += 32.0 * (valence[3].item<double>() + valence[9].item<double>() + valence[1].item<double>() * (1 - 1.74) +
                     valence[7].item<double>() * (1 - 1.74 + 0.29) + valence[4].item<double>() * (1 + 0.29) +
                     valence[12].item<double>());
  EXPECT_NEAR(expected, by_hand, 1e-10);
  const double scored = model->forward(ids)[0].item<double>();
  EXPECT_NEAR(scored, expected, 1e-10);
  EXPECT_GT(std::abs(scored - plain), 1e-3);
  EXPECT_NEAR(score_left_padded(model, tokens, 30), expected, 1e-10);

  const std::string path = (dir / "modifiers.h5").string();
  save_reward_model(model, path, RewardHead{"pointwise", {}});
  RewardModel loaded = load_reward_model(path);
  EXPECT_EQ(loaded->pooling(), "lexicon-modifiers");
  EXPECT_EQ(loaded->modifier_window(), window);
  EXPECT_TRUE(at::equal(loaded->token_modifier->weight, model->token_modifier->weight));
  EXPECT_NEAR(loaded->forward(ids)[0].item<double>(), expected, 1e-10);
  testing::error_message([&] { model->set_pooling("lexicon-modifiers", 0); }, ErrorKind::data);
}

TEST(RewardModel, BradleyTerryIsTheLogisticOfTheRewardGap) {
  const at::Tensor a = at::tensor({1.0, 0.0, -2.0}, at::kDouble), b = at::tensor({0.0, 0.0, 1.0}, at::kDouble);
  const at::Tensor p = bradley_terry_probability(a, b);
  EXPECT_NEAR(p[0].item<double>(), 1.0 / (1.0 + std::exp(-1.0)), 1e-15);
  EXPECT_NEAR(p[1].item<double>(), 0.5, 1e-15);
  EXPECT_NEAR(p[2].item<double>(), 1.0 / (1.0 + std::exp(3.0)), 1e-15);
  EXPECT_TRUE(at::allclose(p + bradley_terry_probability(b, a), at::ones_like(p)));
}

TEST(RankingModel, PointwiseRewardIsTheLogitOfRhoAgainstTheBaseline) {
  RewardModel ranker = small_reward_model();
  const RankingSeparators separators{{29}, {30}};
  const std::vector<std::vector<std::int64_t>> prompts = {{1, 2, 3}, {4}}, responses = {{5, 6}, {7, 8, 9}},
                                               baselines = {{10}, {11, 12}};
  at::NoGradGuard no_grad;
  const at::Tensor rho = ranking_probability(ranker, prompts, responses, baselines, separators, 0);
  const at::Tensor reward = reward_from_ranking(ranker, prompts, responses, baselines, separators, 0);
  EXPECT_TRUE(at::allclose(reward, at::log(rho / (1 - rho)), 1e-9, 1e-9));
  EXPECT_TRUE((rho > 0).all().item<bool>() && (rho < 1).all().item<bool>());
  // The input really is "x sep y1 sep y2": swapping the responses changes ρ.
  const at::Tensor swapped = ranking_probability(ranker, prompts, baselines, responses, separators, 0);
  EXPECT_GT((swapped - rho).abs().max().item<double>(), 1e-6);
  const auto [ids, mask] = pack_ranking_inputs({{1, 2}}, {{5}}, {{6, 7}}, separators, 0);
  EXPECT_TRUE(at::equal(ids[0], at::tensor(std::vector<std::int64_t>{1, 2, 29, 5, 30, 6, 7}, at::kLong)));
}

TEST(RewardModel, ParameterNamesFollowHuggingFaceSequenceClassification) {
  RewardModel model = small_reward_model();
  const auto names = model->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "score.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "model.layers.1.mlp.down_proj.weight"), names.end());
  EXPECT_EQ(model->named_parameters()["score.weight"].sizes(), (at::IntArrayRef{1, 16}));
}

TEST(RewardModel, CheckpointsRoundTripBitwiseWithTheirHead) {
  testing::TempDir dir;
  RewardModel model = small_reward_model();
  const RewardHead head{"ranking", {{29, 3}, {30}}};
  const std::string path = (dir / "ranker.h5").string();
  save_reward_model(model, path, head);
  RewardHead loaded_head;
  RewardModel loaded = load_reward_model(path, &loaded_head);
  EXPECT_EQ(loaded_head.kind, "ranking");
  EXPECT_EQ(loaded_head.separators.before_first, head.separators.before_first);
  EXPECT_EQ(loaded_head.separators.before_second, head.separators.before_second);
  for (const auto& parameter : model->named_parameters()) {
    const at::Tensor other = loaded->named_parameters()[parameter.key()];
    EXPECT_EQ(other.scalar_type(), at::kDouble);
    EXPECT_TRUE(at::equal(other, parameter.value())) << parameter.key();
  }
  // A reward model is not a policy, and the reverse.
  EXPECT_NE(testing::error_message([&] { load_model(path); }, ErrorKind::data).find("LlamaForSequenceClassification"),
            std::string::npos);
  Transformer policy(model->options());
  save_model(policy, (dir / "policy.h5").string());
  testing::error_message([&] { load_reward_model((dir / "policy.h5").string()); }, ErrorKind::data);
}

// The limit says exactly where the model stops reading: the longest prompt
// it allows is scored, one token more is refused.
TEST(RewardModel, LongestScorablePromptIsWhereTheModelStopsReading) {
  RewardModel model = small_reward_model();  // 64 positions
  at::NoGradGuard no_grad;
  const std::int64_t response_tokens = 10;
  const std::vector<std::int64_t> response(static_cast<std::size_t>(response_tokens), 4);
  const RankingSeparators separators{{29}, {30, 29}};
  const std::int64_t ranking = longest_scorable_prompt(model->options(), true, separators, response_tokens);
  const std::int64_t pointwise = longest_scorable_prompt(model->options(), false, separators, response_tokens);
  EXPECT_EQ(ranking, 64 - 2 * 10 - 3);
  EXPECT_EQ(pointwise, 64 - 10);
  for (const std::int64_t extra : {0, 1}) {
    const std::vector<std::int64_t> prompt(static_cast<std::size_t>(ranking + extra), 3);
    auto rank = [&] { return reward_from_ranking(model, {prompt}, {response}, {response}, separators, 0); };
    const std::vector<std::int64_t> long_prompt(static_cast<std::size_t>(pointwise + extra), 3);
    std::vector<std::int64_t> row = long_prompt;
    row.insert(row.end(), response.begin(), response.end());
    auto score = [&] { return model->forward(at::tensor(row, at::kLong).unsqueeze(0)); };
    if (extra == 0) {
      EXPECT_TRUE(std::isfinite(rank()[0].item<double>()));
      EXPECT_TRUE(std::isfinite(score()[0].item<double>()));
    } else {
      EXPECT_THROW(rank(), DataError);
      EXPECT_THROW(score(), DataError);
    }
  }
}

}  // namespace
}  // namespace rso::model
