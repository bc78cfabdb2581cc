// Reward functions over text: the external scorer protocol and its failures,
// the word list, and the exact sequence KL.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>

#include "rso/model/logprob.hpp"
#include "rso/sampling/text_scorer.hpp"
#include "rso/text/dictionary.hpp"
#include "test_helpers.hpp"

namespace rso {
namespace {

TEST(ScorerSpec, ParsesModelGoldAndExecAndRefusesTheRest) {
  EXPECT_EQ(sampling::parse_scorer_spec("model", "k").kind, sampling::ScorerSpec::Kind::model);
  EXPECT_EQ(sampling::parse_scorer_spec("gold", "k").kind, sampling::ScorerSpec::Kind::gold);
  const auto exec = sampling::parse_scorer_spec("exec:python3 s.py --x", "k");
  EXPECT_EQ(exec.kind, sampling::ScorerSpec::Kind::exec);
  EXPECT_EQ(exec.command, "python3 s.py --x");
  EXPECT_NE(testing::error_message([] { sampling::parse_scorer_spec("vader", "sample.scorer"); }, ErrorKind::config)
                .find("sample.scorer"),
            std::string::npos);
  testing::error_message([] { sampling::parse_scorer_spec("exec: ", "k"); }, ErrorKind::config);
}

// A scorer in sh: the length of the request's line, so each answer is tied
// to its own request; batches larger than a socket buffer pass both ways
// without a deadlock. (A scorer must answer each line as it reads it, and
// flush: mawk, for one, reads ahead in blocks unless -W interactive.)
TEST(ExternalScorer, AnswersEachLineInOrderAcrossBatches) {
  sampling::ExternalScorer scorer("while IFS= read -r line; do echo ${#line}; done");
  std::vector<std::string> prompts, responses;
  for (int i = 0; i < 3000; ++i) {
    prompts.push_back("p");
    responses.push_back(std::string(static_cast<std::size_t>(i % 97), 'x'));
  }
  const std::vector<double> rewards = scorer.score(prompts, responses);
  ASSERT_EQ(rewards.size(), prompts.size());
  const std::size_t frame = std::string(R"({"prompt":"p","response":""})").size();
  for (std::size_t i = 0; i < rewards.size(); ++i) EXPECT_EQ(rewards[i], static_cast<double>(frame + responses[i].size()));
  EXPECT_EQ(scorer.score({"p"}, {"abc"}).at(0), static_cast<double>(frame + 3));
}

TEST(ExternalScorer, FailuresNameTheCommand) {
  {
    sampling::ExternalScorer scorer("head -n 1 >/dev/null; echo 0.5; exit 3");
    const std::string message =
        testing::error_message([&] { scorer.score({"a", "b"}, {"x", "y"}); }, ErrorKind::unavailable);
    EXPECT_NE(message.find("head -n 1"), std::string::npos) << message;
    EXPECT_NE(message.find("ended after 1 answers"), std::string::npos) << message;
  }
  {
    sampling::ExternalScorer scorer("while read line; do echo good; done");
    const std::string message = testing::error_message([&] { scorer.score({"a"}, {"x"}); }, ErrorKind::data);
    EXPECT_NE(message.find("'good', not a number"), std::string::npos) << message;
  }
  {
    sampling::ExternalScorer scorer("while read line; do echo nan; done");
    testing::error_message([&] { scorer.score({"a"}, {"x"}); }, ErrorKind::data);
  }
  {
    sampling::ExternalScorer scorer("no-such-scorer-command-here 2>/dev/null");
    testing::error_message([&] { scorer.score({"a"}, {"x"}); }, ErrorKind::unavailable);
  }
}

TEST(Dictionary, CountsLetterWordsWithInnerApostrophesCaseBlind) {
  const text::Dictionary d = text::Dictionary::from_words("the\ncat\ndon't\nWorld\n");
  const auto c = d.count("The cat-dog, don't 'world' x2 tider!");
  EXPECT_EQ(c.words, 7u);  // The cat dog don't world x tider
  EXPECT_EQ(c.known, 4u);  // The cat don't world
  EXPECT_EQ(d.count("").words, 0u);
}

model::Transformer kl_model(int seed) {
  at::manual_seed(seed);
  model::Transformer m(model::TransformerOptions()
                           .vocab_size(11)
                           .hidden_size(16)
                           .num_layers(1)
                           .num_heads(2)
                           .num_kv_heads(2)
                           .intermediate_size(20)
                           .max_positions(32)
                           .init_std(0.5));
  m->to(at::kDouble);
  return m;
}

// Against a float64 transcription: KL of the next-token distributions of
// the full forward at each response position; zero for a policy against
// itself; padding changes nothing.
TEST(SequenceKl, SumsTheExactStepKlOverTheResponse) {
  model::Transformer p = kl_model(1), q = kl_model(2);
  at::NoGradGuard no_grad;
  const std::vector<std::vector<std::int64_t>> prompts = {{1, 2, 3}, {4}}, responses = {{5, 6}, {7, 8, 9}};
  const model::PromptResponseBatch batch = model::pack_prompt_response(prompts, responses, 0);
  const at::Tensor kl = model::sequence_kl(p, q, batch);
  for (std::size_t r = 0; r < prompts.size(); ++r) {
    std::vector<std::int64_t> row = prompts[r];
    row.insert(row.end(), responses[r].begin(), responses[r].end());
    const at::Tensor ids = at::tensor(row, at::kLong).unsqueeze(0);
    const at::Tensor lp = at::log_softmax(p->forward(ids), -1)[0], lq = at::log_softmax(q->forward(ids), -1)[0];
    double expected = 0;
    for (std::size_t t = prompts[r].size() - 1; t + 1 < row.size(); ++t)
      expected += (lp[static_cast<std::int64_t>(t)].exp() * (lp[static_cast<std::int64_t>(t)] - lq[static_cast<std::int64_t>(t)]))
                      .sum()
                      .item<double>();
    EXPECT_NEAR(kl[static_cast<std::int64_t>(r)].item<double>(), expected, 1e-10);
    EXPECT_GT(expected, 0);
  }
  EXPECT_LT(model::sequence_kl(p, p, batch).abs().max().item<double>(), 1e-12);
}

}  // namespace
}  // namespace rso
