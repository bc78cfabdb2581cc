// The sampling stage's block files: every field round-trips, empty
// candidate sets (given pairs) included, and bad offsets are data errors.
#include <gtest/gtest.h>

#include "rso/io/hdf5.hpp"
#include "rso/sampling/sample_shard.hpp"
#include "test_helpers.hpp"

namespace rso::sampling {
namespace {

TEST(SampleShard, RoundTripsEveryField) {
  testing::TempDir dir;
  SampleShard shard;
  shard.source = "rso-sample-rank";
  shard.first_prompt = 6;
  shard.num_prompts = 2;
  shard.prompt_index = {6, 7};
  shard.prompt_tokens = {{1, 2, 3}, {4}};
  shard.candidate_prompt = {0, 0, 1};
  shard.candidate_tokens = {{5}, {}, {6, 7}};
  shard.candidate_reward = {0.25, -1.5, 3.0};
  shard.candidate_accepted = {1, -1, 0};
  shard.pair_prompt = {6};
  shard.pair_prompt_tokens = {{1, 2, 3}};
  shard.pair_chosen_tokens = {{5}};
  shard.pair_rejected_tokens = {{}};
  shard.pair_chosen_candidate = {0};
  shard.pair_rejected_candidate = {1};
  shard.pair_chosen_probability = {0.8};
  shard.pair_chosen_sft_logprob = {-2.5};
  shard.pair_rejected_sft_logprob = {0.0};
  const std::string path = (dir / "block.h5").string();
  write_sample_shard(path, shard);
  const SampleShard back = read_sample_shard(path);
  EXPECT_EQ(back.source, shard.source);
  EXPECT_EQ(back.first_prompt, 6);
  EXPECT_EQ(back.prompt_tokens, shard.prompt_tokens);
  EXPECT_EQ(back.candidate_tokens, shard.candidate_tokens);
  EXPECT_EQ(back.candidate_reward, shard.candidate_reward);
  EXPECT_EQ(back.candidate_accepted, shard.candidate_accepted);
  EXPECT_EQ(back.pair_rejected_tokens, shard.pair_rejected_tokens);
  EXPECT_EQ(back.pair_chosen_probability, shard.pair_chosen_probability);
  EXPECT_EQ(back.pair_chosen_sft_logprob, shard.pair_chosen_sft_logprob);

  SampleShard given;  // direct: pairs only
  given.source = "direct";
  given.pair_prompt = {0};
  given.pair_prompt_tokens = {{9}};
  given.pair_chosen_tokens = {{8}};
  given.pair_rejected_tokens = {{7}};
  given.pair_chosen_candidate = {-1};
  given.pair_rejected_candidate = {-1};
  given.pair_chosen_probability = {1.0};
  given.pair_chosen_sft_logprob = {-1.0};
  given.pair_rejected_sft_logprob = {-2.0};
  write_sample_shard((dir / "given.h5").string(), given);
  const SampleShard given_back = read_sample_shard((dir / "given.h5").string());
  EXPECT_TRUE(given_back.candidate_tokens.empty());
  EXPECT_EQ(given_back.pair_chosen_tokens, given.pair_chosen_tokens);

  testing::error_message([&] { read_sample_shard((dir / "missing.h5").string()); }, ErrorKind::io);
}

}  // namespace
}  // namespace rso::sampling
