#include "rso/sampling/sample_shard.hpp"

#include <ATen/ATen.h>

#include "rso/core/error.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/hdf5.hpp"

namespace rso::sampling {

namespace {

void write_ints(h5::Group& group, const std::string& name, const std::vector<std::int64_t>& values) {
  group.write_tensor(name, at::tensor(at::ArrayRef<std::int64_t>(values), at::kLong));
}

void write_doubles(h5::Group& group, const std::string& name, const std::vector<double>& values) {
  group.write_tensor(name, at::tensor(at::ArrayRef<double>(values), at::kDouble));
}

// Ragged lists as one flat dataset and offsets (CSR), readable anywhere.
void write_lists(h5::Group& group, const std::string& name, const TokenLists& lists) {
  std::vector<std::int64_t> values, offsets = {0};
  for (const auto& list : lists) {
    values.insert(values.end(), list.begin(), list.end());
    offsets.push_back(static_cast<std::int64_t>(values.size()));
  }
  write_ints(group, name + ".values", values);
  write_ints(group, name + ".offsets", offsets);
}

std::vector<std::int64_t> read_ints(const h5::Group& group, const std::string& name) {
  const at::Tensor t = group.read_tensor(name).to(at::kLong).contiguous();
  return std::vector<std::int64_t>(t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + t.numel());
}

std::vector<double> read_doubles(const h5::Group& group, const std::string& name) {
  const at::Tensor t = group.read_tensor(name).to(at::kDouble).contiguous();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

TokenLists read_lists(const h5::Group& group, const std::string& name) {
  const std::vector<std::int64_t> values = read_ints(group, name + ".values");
  const std::vector<std::int64_t> offsets = read_ints(group, name + ".offsets");
  TokenLists lists;
  for (std::size_t i = 0; i + 1 < offsets.size(); ++i) {
    if (offsets[i] < 0 || offsets[i] > offsets[i + 1] || offsets[i + 1] > static_cast<std::int64_t>(values.size()))
      RSO_THROW(DataError, group.where() + "/" + name + ".offsets are not increasing within the values");
    lists.emplace_back(values.begin() + offsets[i], values.begin() + offsets[i + 1]);
  }
  return lists;
}

}  // namespace

void write_sample_shard(const std::string& path, const SampleShard& s) {
  AtomicPath pending(path);
  {
    h5::File file = h5::File::create(pending.temp_path().string(), kSamplesFormat, kSamplesFormatVersion);
    file.set_attribute("source", s.source);
    file.set_attribute("first_prompt", s.first_prompt);
    file.set_attribute("num_prompts", s.num_prompts);
    h5::Group prompts = file.create_group("prompts");
    write_ints(prompts, "index", s.prompt_index);
    write_lists(prompts, "tokens", s.prompt_tokens);
    h5::Group candidates = file.create_group("candidates");
    write_ints(candidates, "prompt", s.candidate_prompt);
    write_lists(candidates, "tokens", s.candidate_tokens);
    write_doubles(candidates, "reward", s.candidate_reward);
    write_ints(candidates, "accepted", s.candidate_accepted);
    h5::Group pairs = file.create_group("pairs");
    write_ints(pairs, "prompt", s.pair_prompt);
    write_lists(pairs, "prompt_tokens", s.pair_prompt_tokens);
    write_lists(pairs, "chosen_tokens", s.pair_chosen_tokens);
    write_lists(pairs, "rejected_tokens", s.pair_rejected_tokens);
    write_ints(pairs, "chosen_candidate", s.pair_chosen_candidate);
    write_ints(pairs, "rejected_candidate", s.pair_rejected_candidate);
    write_doubles(pairs, "chosen_probability", s.pair_chosen_probability);
    write_doubles(pairs, "chosen_sft_logprob", s.pair_chosen_sft_logprob);
    write_doubles(pairs, "rejected_sft_logprob", s.pair_rejected_sft_logprob);
    file.close();
  }
  pending.commit();
}

SampleShard read_sample_shard(const std::string& path) {
  const h5::File file = h5::File::open(path, kSamplesFormat, kSamplesFormatVersion);
  SampleShard s;
  s.source = file.string_attribute("source");
  s.first_prompt = file.int_attribute("first_prompt");
  s.num_prompts = file.int_attribute("num_prompts");
  const h5::Group prompts = file.open_group("prompts");
  s.prompt_index = read_ints(prompts, "index");
  s.prompt_tokens = read_lists(prompts, "tokens");
  const h5::Group candidates = file.open_group("candidates");
  s.candidate_prompt = read_ints(candidates, "prompt");
  s.candidate_tokens = read_lists(candidates, "tokens");
  s.candidate_reward = read_doubles(candidates, "reward");
  s.candidate_accepted = read_ints(candidates, "accepted");
  const h5::Group pairs = file.open_group("pairs");
  s.pair_prompt = read_ints(pairs, "prompt");
  s.pair_prompt_tokens = read_lists(pairs, "prompt_tokens");
  s.pair_chosen_tokens = read_lists(pairs, "chosen_tokens");
  s.pair_rejected_tokens = read_lists(pairs, "rejected_tokens");
  s.pair_chosen_candidate = read_ints(pairs, "chosen_candidate");
  s.pair_rejected_candidate = read_ints(pairs, "rejected_candidate");
  s.pair_chosen_probability = read_doubles(pairs, "chosen_probability");
  s.pair_chosen_sft_logprob = read_doubles(pairs, "chosen_sft_logprob");
  s.pair_rejected_sft_logprob = read_doubles(pairs, "rejected_sft_logprob");
  const std::size_t q = s.pair_prompt.size();
  for (std::size_t size : {s.pair_prompt_tokens.size(), s.pair_chosen_tokens.size(), s.pair_rejected_tokens.size(),
                           s.pair_chosen_sft_logprob.size(), s.pair_rejected_sft_logprob.size()})
    if (size != q) RSO_THROW(DataError, path + ": the /pairs datasets disagree on the number of pairs");
  return s;
}

}  // namespace rso::sampling
