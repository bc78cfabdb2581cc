#include "rso/sampling/sample_stage.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <boost/mpi/collectives.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <utility>
#include <nlohmann/json.hpp>

#include "rso/core/run_layout.hpp"
#include "rso/core/error.hpp"
#include "rso/core/stop_request.hpp"
#include "rso/dist/phase_times.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/file_digest.hpp"
#include "rso/io/json_file.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/io/utf8.hpp"
#include "rso/model/batching.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/generate.hpp"
#include "rso/model/logprob.hpp"
#include "rso/model/reward.hpp"
#include "rso/sampling/pairing.hpp"
#include "rso/sampling/prompt_limit.hpp"
#include "rso/sampling/rejection_sampling.hpp"
#include "rso/sampling/sample_shard.hpp"
#include "rso/sampling/sampling_options.hpp"
#include "rso/sampling/text_scorer.hpp"
#include "rso/text/record_tokens.hpp"

namespace rso::sampling {

namespace fs = std::filesystem;

namespace {

// The manifest's bytes in one canonical order: its fields as a new manifest
// has them, blocks by index, whatever order the blocks finished in and
// however the file was read back (a resumed run must write the same bytes).
std::string manifest_text(const nlohmann::ordered_json& manifest) {
  const auto in_order = [](const nlohmann::ordered_json& object, std::initializer_list<const char*> first) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const char* key : first)
      if (object.contains(key)) out[key] = object[key];
    for (const auto& [key, value] : object.items())
      if (!out.contains(key)) out[key] = value;
    return out;
  };
  nlohmann::ordered_json out = in_order(manifest, {"format", "format_version", "config_hash", "source", "num_records",
                                                   "block_size", "num_blocks", "blocks", "complete"});
  if (manifest.contains("blocks")) {
    std::vector<std::pair<std::int64_t, std::string>> keys;
    for (const auto& [key, block] : manifest["blocks"].items()) keys.emplace_back(std::stoll(key), key);
    std::sort(keys.begin(), keys.end());
    out["blocks"] = nlohmann::ordered_json::object();
    for (const auto& [index, key] : keys)
      out["blocks"][key] =
          in_order(manifest["blocks"][key], {"file", "first", "count", "pairs", "digest", "max_reward", "tally"});
  }
  return out.dump(1) + "\n";
}

constexpr std::int64_t kScoreChunk = 64;  // rows per reward / log-prob forward
constexpr std::size_t kRoundHistogram = 8;  // acceptance counted for rounds 1..8

struct Paths {
  std::string prompts, policy, reward_model, human_pairs, output;
};

Paths resolve_paths(const Config& config) {
  const RunLayout layout(config.run.dir);
  const SampleConfig& sc = config.sample;
  return {path_or(sc.prompts, layout.data("prompts.jsonl")), path_or(sc.policy, layout.sft_model()),
          path_or(sc.reward_model, layout.reward_model()), path_or(sc.human_pairs, layout.data("pairs.jsonl")),
          path_or(sc.output, layout.sample_dir())};
}

// One prompt, or one given pair (direct), as token ids.
struct Record {
  std::vector<std::int64_t> prompt, chosen, rejected;
};

// Sampled prompts: read with a response of up to sample.max_new_tokens
// tokens by the policy (the pairs' π_sft log-probs, and training later) and
// the reward model. Given pairs are read whole by the policy.
PromptLimit stage_limit(const Config& config, bool direct, const model::Transformer& policy,
                        const model::RewardModel* reward, const model::RewardHead& head) {
  const std::int64_t positions = policy->options().max_positions();
  if (direct) return {positions, "the policy's max_positions " + std::to_string(positions)};
  return prompt_limit(positions, reward, head, config.sample.max_new_tokens);
}

// Records that do not fit `limit` are refused here, naming their line,
// rather than when their block comes up.
std::vector<Record> read_records(const std::string& path, bool pairs, const text::Tokenizer* tokenizer,
                                 std::int64_t vocab_size, const PromptLimit& limit) {
  std::vector<Record> records;
  JsonlReader reader(path);
  while (reader.next()) {
    const JsonlRecord record = reader.record();
    Record r;
    if (pairs) {
      text::PairTokens pair = text::record_pair_tokens(record, tokenizer, vocab_size);
      r = {std::move(pair.prompt), std::move(pair.chosen), std::move(pair.rejected)};
      const bool chosen_longer = r.chosen.size() >= r.rejected.size();
      const auto length = static_cast<std::int64_t>(r.prompt.size() + std::max(r.chosen.size(), r.rejected.size()));
      if (length > limit.tokens)
        record.fail(chosen_longer ? "chosen" : "rejected",
                    "the prompt and this response are " + prompt_too_long(static_cast<std::size_t>(length), limit));
    } else {
      r.prompt = text::record_tokens(record, "prompt", tokenizer, vocab_size);
      if (r.prompt.empty()) record.fail("prompt", "empty");
      if (static_cast<std::int64_t>(r.prompt.size()) > limit.tokens) record.fail("prompt", prompt_too_long(r.prompt.size(), limit));
    }
    records.push_back(std::move(r));
  }
  return records;
}

// Every round waits for its slowest block, and a block's time grows with
// the tokens its prompts bring: dealt in index order, one rank can draw the
// long prompts round after round (measured: 467 against 345 prompt tokens,
// 5.5 s against 3.8 s of compute at 2 ranks). Dealt by decreasing size, each
// round's blocks are alike. A block's content depends only on its indices,
// so the order changes no output. Returns each dealt block's tokens, which
// also weigh the progress estimate.
std::vector<std::int64_t> deal_longest_first(std::vector<std::int64_t>& blocks, const std::vector<Record>& records,
                                             std::int64_t block_size, std::int64_t new_tokens) {
  auto tokens = [&](std::int64_t block) {
    std::int64_t sum = 0;
    const auto end = std::min(static_cast<std::int64_t>(records.size()), (block + 1) * block_size);
    for (std::int64_t i = block * block_size; i < end; ++i) {
      const Record& r = records[static_cast<std::size_t>(i)];
      sum += static_cast<std::int64_t>(r.prompt.size() + r.chosen.size() + r.rejected.size()) + new_tokens;
    }
    return sum;
  };
  std::vector<std::pair<std::int64_t, std::int64_t>> keyed;  // (-tokens, block): sorted, longest first, then by index
  keyed.reserve(blocks.size());
  for (const std::int64_t block : blocks) keyed.emplace_back(-tokens(block), block);
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::int64_t> sizes(keyed.size());
  for (std::size_t i = 0; i < keyed.size(); ++i) {
    blocks[i] = keyed[i].second;
    sizes[i] = -keyed[i].first;
  }
  return sizes;
}

std::string token_key(const std::vector<std::int64_t>& tokens) {
  return std::string(reinterpret_cast<const char*>(tokens.data()), tokens.size() * sizeof(std::int64_t));
}

// Sums over one rank's blocks; the layout is the reduction's.
struct Tally {
  enum : std::size_t {
    prompts, candidates, reward_sum, accepted, rounds, rate_sum, pairs, tokens, first_visited, ties_dropped, size
  };
  std::vector<double> values = std::vector<double>(size + kRoundHistogram, 0.0);
  double& operator[](std::size_t i) { return values[i]; }
  double& accepted_in_round(std::size_t round) { return values[size + std::min(round, kRoundHistogram - 1)]; }
};

class BlockSampler {
 public:
  BlockSampler(const Config& config, DistContext& context, model::Transformer& policy,
               model::RewardModel* reward, const model::RewardHead& head, TextScorer* scorer,
               const text::Tokenizer* tokenizer)
      : config_(config), context_(context), policy_(policy), reward_(reward), head_(head), scorer_(scorer),
        tokenizer_(tokenizer) {}

  SampleShard run(const std::vector<Record>& records, std::int64_t first, std::int64_t count, Tally& tally,
                  double& max_reward) {
    SampleShard shard;
    shard.source = std::string(enum_name(config_.sample.source, kPairSourceNames));
    shard.first_prompt = first;
    shard.num_prompts = count;
    for (std::int64_t p = first; p < first + count; ++p) {
      shard.prompt_index.push_back(p);
      shard.prompt_tokens.push_back(records[static_cast<std::size_t>(p)].prompt);
    }
    if (config_.sample.source == PairSource::direct) {
      for (std::int64_t p = first; p < first + count; ++p) {
        const Record& r = records[static_cast<std::size_t>(p)];
        add_pair(shard, p, r.prompt, r.chosen, r.rejected, -1, -1, 1.0);
      }
    } else {
      sample_and_pair(shard, tally, max_reward);
    }
    fill_sft_logprobs(shard);
    tally[Tally::prompts] += static_cast<double>(count);
    tally[Tally::pairs] += static_cast<double>(shard.pair_prompt.size());
    return shard;
  }

 private:
  static void add_pair(SampleShard& shard, std::int64_t prompt, const std::vector<std::int64_t>& prompt_tokens,
                       const std::vector<std::int64_t>& chosen, const std::vector<std::int64_t>& rejected,
                       std::int64_t chosen_row, std::int64_t rejected_row, double probability) {
    shard.pair_prompt.push_back(prompt);
    shard.pair_prompt_tokens.push_back(prompt_tokens);
    shard.pair_chosen_tokens.push_back(chosen);
    shard.pair_rejected_tokens.push_back(rejected);
    shard.pair_chosen_candidate.push_back(chosen_row);
    shard.pair_rejected_candidate.push_back(rejected_row);
    shard.pair_chosen_probability.push_back(probability);
  }

  bool ranking() const { return head_.kind == "ranking"; }

  // Rewards of responses to prompts: the pointwise head on "x y", or the
  // ranking model's logit rho(x, y, y_b) against the prompt's baseline, or a
  // reward function of their text (a response's end-of-sequence is not text).
  std::vector<double> score(const TokenLists& prompts, const TokenLists& responses, const TokenLists& baselines) {
    if (scorer_ != nullptr) {
      std::vector<std::string> prompt_text, response_text;
      for (std::size_t i = 0; i < prompts.size(); ++i) {
        prompt_text.push_back(replace_invalid_utf8(tokenizer_->decode(prompts[i])));
        std::vector<std::int64_t> words = responses[i];
        if (!words.empty() && words.back() == eos_id_) words.pop_back();
        response_text.push_back(replace_invalid_utf8(tokenizer_->decode(words)));
      }
      return scorer_->score(prompt_text, response_text);
    }
    std::vector<double> rewards;
    at::NoGradGuard no_grad;
    for (std::size_t begin = 0; begin < prompts.size(); begin += kScoreChunk) {
      const std::size_t end = std::min(prompts.size(), begin + kScoreChunk);
      const TokenLists p(prompts.begin() + static_cast<std::ptrdiff_t>(begin), prompts.begin() + static_cast<std::ptrdiff_t>(end));
      const TokenLists y(responses.begin() + static_cast<std::ptrdiff_t>(begin), responses.begin() + static_cast<std::ptrdiff_t>(end));
      at::Tensor scores;
      if (ranking()) {
        const TokenLists b(baselines.begin() + static_cast<std::ptrdiff_t>(begin), baselines.begin() + static_cast<std::ptrdiff_t>(end));
        scores = model::reward_from_ranking(*reward_, p, y, b, head_.separators, 0);
      } else {
        TokenLists rows;
        for (std::size_t i = 0; i < p.size(); ++i) {
          rows.push_back(p[i]);
          rows.back().insert(rows.back().end(), y[i].begin(), y[i].end());
        }
        auto [ids, mask] = model::left_pad(rows, 0);
        scores = (*reward_)->forward(ids.to(context_.device()), mask.to(context_.device()));
      }
      const at::Tensor values = scores.to(at::kCPU, at::kDouble).contiguous();
      rewards.insert(rewards.end(), values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
    }
    return rewards;
  }

  void sample_and_pair(SampleShard& shard, Tally& tally, double& max_reward) {
    const SampleConfig& sc = config_.sample;
    const bool rso = sc.source == PairSource::rso_sample_rank;
    const std::int64_t n = rso ? sc.num_candidates : sc.num_samples;
    model::SamplingOptions sampling = sampling_options(config_);
    sampling.eos_id = eos_id_;
    std::vector<model::PromptToSample> batch;
    for (std::size_t i = 0; i < shard.prompt_index.size(); ++i)
      batch.push_back({shard.prompt_tokens[i], static_cast<std::uint64_t>(shard.prompt_index[i])});
    // Candidate n (one past the last) is the ranking model's baseline y_b.
    const auto samples = model::generate(policy_, batch, ranking() ? n + 1 : n, sampling, config_.run.seed);

    TokenLists prompts, responses, baselines;
    for (std::size_t i = 0; i < batch.size(); ++i)
      for (std::int64_t c = 0; c < n; ++c) {
        prompts.push_back(shard.prompt_tokens[i]);
        responses.push_back(samples[i][static_cast<std::size_t>(c)].tokens);
        if (ranking()) baselines.push_back(samples[i][static_cast<std::size_t>(n)].tokens);
        tally[Tally::tokens] += static_cast<double>(responses.back().size());
      }
    const std::vector<double> rewards = score(prompts, responses, baselines);

    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto index = static_cast<std::uint64_t>(shard.prompt_index[i]);
      const std::size_t row0 = shard.candidate_tokens.size();
      std::vector<double> prompt_rewards(rewards.begin() + static_cast<std::ptrdiff_t>(i * n),
                                         rewards.begin() + static_cast<std::ptrdiff_t>((i + 1) * n));
      std::vector<std::string> keys;
      for (std::int64_t c = 0; c < n; ++c) {
        shard.candidate_prompt.push_back(static_cast<std::int64_t>(i));
        shard.candidate_tokens.push_back(responses[i * n + c]);
        shard.candidate_reward.push_back(prompt_rewards[static_cast<std::size_t>(c)]);
        shard.candidate_accepted.push_back(-1);
        keys.push_back(token_key(responses[i * n + c]));
      }
      for (std::size_t c = 0; c < prompt_rewards.size(); ++c)
        if (!std::isfinite(prompt_rewards[c]))
          RSO_THROW(NumericError, "the reward model scored candidate " + std::to_string(c) + " of prompt " +
                                      std::to_string(index) + " as " + std::to_string(prompt_rewards[c]));
      std::vector<std::size_t> accepted;
      if (rso) {
        RandomStream stream({config_.run.seed, Stage::reject, index, 0});
        const RejectionSamplingResult result =
            rejection_sample(prompt_rewards, sc.beta, static_cast<std::size_t>(sc.num_samples), stream);
        accepted = result.accepted;
        tally[Tally::rounds] += static_cast<double>(result.rounds);
        tally[Tally::first_visited] += static_cast<double>(result.pool_per_round.at(0));
        for (std::size_t r = 0; r < result.accepted_per_round.size(); ++r)
          tally.accepted_in_round(r) += static_cast<double>(result.accepted_per_round[r]);
      } else {
        for (std::int64_t c = 0; c < n; ++c) accepted.push_back(static_cast<std::size_t>(c));
        tally[Tally::rounds] += 1;
      }
      for (std::size_t order = 0; order < accepted.size(); ++order)
        shard.candidate_accepted[row0 + accepted[order]] = static_cast<std::int64_t>(order);
      const double prompt_max = *std::max_element(prompt_rewards.begin(), prompt_rewards.end());
      for (double r : prompt_rewards) {
        tally[Tally::reward_sum] += r;
        tally[Tally::rate_sum] += std::exp((r - prompt_max) / sc.beta) / static_cast<double>(n);
      }
      max_reward = std::max(max_reward, prompt_max);
      tally[Tally::candidates] += static_cast<double>(n);
      tally[Tally::accepted] += static_cast<double>(accepted.size());

      // Label games with the reward model's P(a ≻ b): Bradley-Terry on the
      // pointwise rewards, or rho(x, a, b) from the ranking model.
      RandomStream pair_stream({config_.run.seed, Stage::pair, index, 0});
      RandomStream label_stream({config_.run.seed, Stage::label, index, 0});
      std::map<std::pair<std::size_t, std::size_t>, double> probability;
      const Labeller labeller = [&](const std::vector<std::pair<std::size_t, std::size_t>>& games) {
        std::vector<double> p;
        if (ranking()) {
          TokenLists xs, firsts, seconds;
          for (const auto& [a, b] : games) {
            xs.push_back(shard.prompt_tokens[i]);
            firsts.push_back(responses[i * n + a]);
            seconds.push_back(responses[i * n + b]);
          }
          at::NoGradGuard no_grad;
          const at::Tensor rho =
              model::ranking_probability(*reward_, xs, firsts, seconds, head_.separators, 0).to(at::kCPU, at::kDouble);
          for (std::int64_t g = 0; g < rho.size(0); ++g) p.push_back(rho[g].item<double>());
        } else {
          for (const auto& [a, b] : games) p.push_back(1.0 / (1.0 + std::exp(prompt_rewards[b] - prompt_rewards[a])));
        }
        std::vector<bool> first_wins;
        for (std::size_t g = 0; g < games.size(); ++g) {
          const bool wins = sc.label == LabelRule::bernoulli ? label_stream.uniform() < p[g]
                            : p[g] != 0.5                    ? p[g] > 0.5
                                                             : label_stream.uniform() < 0.5;
          probability[games[g]] = p[g];
          first_wins.push_back(wins);
        }
        return first_wins;
      };
      for (const LabelledPair& pair : make_pairs(accepted, keys, sc.pairs, labeller, pair_stream)) {
        const auto forward = probability.find({pair.chosen, pair.rejected});
        const double p_chosen = forward != probability.end() ? forward->second
                                                             : 1.0 - probability.at({pair.rejected, pair.chosen});
        // A game the reward cannot decide (equal rewards: with a reward
        // function such as the gold one, two responses without a sentiment
        // word) still sends a winner on in a tournament, but its coin-flip
        // label would only teach noise: it is not a training pair.
        if (p_chosen == 0.5) {
          tally[Tally::ties_dropped] += 1;
          continue;
        }
        add_pair(shard, static_cast<std::int64_t>(index), shard.prompt_tokens[i], responses[i * n + pair.chosen],
                 responses[i * n + pair.rejected], static_cast<std::int64_t>(row0 + pair.chosen),
                 static_cast<std::int64_t>(row0 + pair.rejected), p_chosen);
      }
    }
  }

  // log pi_sft(y|x) of both sides of every pair, by the same function
  // training uses for pi_theta (so the log-ratio starts at exactly 0).
  void fill_sft_logprobs(SampleShard& shard) {
    at::NoGradGuard no_grad;
    for (const bool chosen : {true, false}) {
      const TokenLists& responses = chosen ? shard.pair_chosen_tokens : shard.pair_rejected_tokens;
      std::vector<double>& out = chosen ? shard.pair_chosen_sft_logprob : shard.pair_rejected_sft_logprob;
      for (std::size_t begin = 0; begin < responses.size(); begin += kScoreChunk) {
        const std::size_t end = std::min(responses.size(), begin + kScoreChunk);
        const TokenLists p(shard.pair_prompt_tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                           shard.pair_prompt_tokens.begin() + static_cast<std::ptrdiff_t>(end));
        const TokenLists y(responses.begin() + static_cast<std::ptrdiff_t>(begin), responses.begin() + static_cast<std::ptrdiff_t>(end));
        model::PromptResponseBatch batch = model::pack_prompt_response(p, y, 0);
        batch.input_ids = batch.input_ids.to(context_.device());
        batch.attention_mask = batch.attention_mask.to(context_.device());
        batch.response_mask = batch.response_mask.to(context_.device());
        const at::Tensor total = model::sequence_logprob(policy_, batch).total.to(at::kCPU, at::kDouble).contiguous();
        out.insert(out.end(), total.data_ptr<double>(), total.data_ptr<double>() + total.numel());
      }
    }
  }

 public:
  std::int64_t eos_id_ = -1;

 private:
  const Config& config_;
  DistContext& context_;
  model::Transformer& policy_;
  model::RewardModel* reward_;
  const model::RewardHead& head_;
  TextScorer* scorer_;
  const text::Tokenizer* tokenizer_;
};

std::string block_file(std::int64_t block) {
  char name[32];
  std::snprintf(name, sizeof name, "block-%06lld.h5", static_cast<long long>(block));
  return name;
}

// The parameters a sample set depends on: the seed and the sample section
// (paths and other operational keys excluded by config_hash itself).
std::string sample_hash(const Config& config) {
  return stage_hash(config, [](Config& r, const Config& c) { r.sample = c.sample; });
}

}  // namespace

bool run_sample_stage(DistContext& context, const Config& config, const SampleStageLimits& limits, TextScorer* scorer) {
  const Paths paths = resolve_paths(config);
  const bool direct = config.sample.source == PairSource::direct;
  const auto started = std::chrono::steady_clock::now();

  model::Transformer policy = context.agree([&] { return model::load_model(paths.policy); });
  policy->to(context.device(), context.compute_dtype());
  policy->eval();
  const std::unique_ptr<text::Tokenizer> tokenizer = context.agree([&]() -> std::unique_ptr<text::Tokenizer> {
    const auto stored = model::read_model_tokenizer(paths.policy);
    return stored ? text::make_tokenizer(*stored) : nullptr;
  });
  model::RewardHead head;
  std::optional<model::RewardModel> reward;
  if (scorer != nullptr && !direct)
    context.agree([&] {
      if (!tokenizer) RSO_THROW(DataError, paths.policy + " has no tokenizer: sample.scorer = " + config.sample.scorer + " reads text");
    });
  if (!direct && scorer == nullptr) {
    reward.emplace(context.agree([&] { return model::load_reward_model(paths.reward_model, &head); }));
    (*reward)->to(context.device(), context.compute_dtype());
    (*reward)->eval();
  }
  const PromptLimit limit = stage_limit(config, direct, policy, reward ? &*reward : nullptr, head);
  if (!direct) require_room_for_a_prompt(limit, config.sample.max_new_tokens);
  const std::vector<Record> records = context.agree([&] {
    return read_records(direct ? paths.human_pairs : paths.prompts, direct, tokenizer.get(),
                        policy->options().vocab_size(), limit);
  });
  const auto total = static_cast<std::int64_t>(records.size());
  const std::int64_t block_size = config.sample.block_size;
  const std::int64_t num_blocks = (total + block_size - 1) / block_size;

  // The manifest: what is done, and for which parameters.
  const fs::path output(paths.output);
  const fs::path manifest_path = output / "manifest.json";
  const std::string hash = sample_hash(config);
  // Rank 0 reads the manifest and decides which blocks are left; every rank
  // gets its reading.
  nlohmann::ordered_json manifest = nlohmann::ordered_json::parse(context.decide([&] {
    nlohmann::ordered_json m;
    if (fs::exists(manifest_path)) {
      m = nlohmann::ordered_json::parse(read_json_file(manifest_path.string()).dump());
      auto expect = [&](const char* key, const nlohmann::ordered_json& value) {
        if (!m.contains(key) || m[key] != value)
          RSO_THROW(ConfigError, manifest_path.string() + " was written for " + std::string(key) + " = " +
                                     (m.contains(key) ? m[key].dump() : "nothing") + ", this run has " + value.dump() +
                                     "; use another sample.output or remove it to start over");
      };
      expect("config_hash", hash);
      expect("num_records", total);
      expect("block_size", block_size);
    } else {
      m["format"] = "rso.samples.manifest";
      m["format_version"] = 1;
      m["config_hash"] = hash;
      m["source"] = std::string(enum_name(config.sample.source, kPairSourceNames));
      m["num_records"] = total;
      m["block_size"] = block_size;
      m["num_blocks"] = num_blocks;
      m["blocks"] = nlohmann::ordered_json::object();
      m["complete"] = false;
    }
    return m.dump();
  }));
  std::vector<std::int64_t> todo = context.decide([&] {
    std::vector<std::int64_t> left;
    for (std::int64_t b = 0; b < num_blocks; ++b)
      if (!manifest["blocks"].contains(std::to_string(b)) || !fs::exists(output / block_file(b))) left.push_back(b);
    return left;
  });
  const std::vector<std::int64_t> todo_tokens =
      deal_longest_first(todo, records, block_size, direct ? 0 : config.sample.max_new_tokens);
  const double all_todo_tokens = std::max(1.0, std::accumulate(todo_tokens.begin(), todo_tokens.end(), 0.0));
  if (context.is_root()) {
    fs::create_directories(output);
    // Temporaries of a run that died mid-write: their blocks are redone.
    for (const auto& entry : fs::directory_iterator(output))
      if (entry.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(entry.path());
    if (config.sample.source == PairSource::rso_sample_rank && config.sample.num_samples >= config.sample.num_candidates)
      spdlog::warn("sample: n_d = {} >= n_c = {}: every candidate is accepted and rejection sampling does nothing",
                   config.sample.num_samples, config.sample.num_candidates);
    if (!direct) spdlog::info("sample: candidates scored by {}", scorer ? scorer->describe() : "the reward model " + paths.reward_model);
    spdlog::info("sample: {} {} in {} blocks of {}; {} done before, {} to do on {} ranks ({})", total,
                 direct ? "given pairs" : "prompts", num_blocks, block_size, num_blocks - static_cast<std::int64_t>(todo.size()),
                 todo.size(), context.size(), enum_name(config.sample.source, kPairSourceNames));
  }
  context.barrier();

  BlockSampler sampler(config, context, policy, reward ? &*reward : nullptr, head, scorer, tokenizer.get());
  sampler.eos_id_ = tokenizer ? tokenizer->eos_id() : -1;
  Tally totals;
  double max_reward = -INFINITY;
  std::int64_t done_now = 0;
  auto last_report = std::chrono::steady_clock::now();
  const auto size = static_cast<std::size_t>(context.size());
  // Where the time goes (stats.json "this_run"."seconds_by_phase"): generating and
  // scoring, writing blocks, waiting for the slowest rank and exchanging the
  // round's statistics, and rank 0's manifest writes.
  enum Phase : std::size_t { generate, write, exchange, manifest_write };
  PhaseTimes phases({"generate_and_score", "write_blocks", "wait_and_exchange", "manifest"});
  // The manifest is what a restart trusts, and each rewrite lists every
  // finished block, so a rewrite per round would cost O(blocks²) over the
  // stage. Rank 0 rewrites it after a round only once the time since the
  // last rewrite is 20 times what that one took: at most 5% of the wall time
  // goes to it, and a crash redoes at most that interval's blocks (whose
  // files come out the same). A stop and the end always write it.
  auto last_manifest_write = std::chrono::steady_clock::now();
  double manifest_write_seconds = 0;
  for (std::size_t round = 0; round * size < todo.size(); ++round) {
    if (limits.max_blocks >= 0 && done_now >= limits.max_blocks) break;
    const std::size_t slot = round * size + static_cast<std::size_t>(context.rank());
    Tally tally;
    double round_max = -INFINITY;
    std::int64_t my_block = -1, my_pairs = 0;
    std::uint64_t my_digest = 0;
    const double busy_before = phases.seconds(generate) + phases.seconds(write);
    const auto round_started = std::chrono::steady_clock::now();
    context.agree([&] {
      if (slot >= todo.size()) return;
      my_block = todo[slot];
      const std::int64_t first = my_block * block_size;
      const SampleShard shard = phases.time(
          generate, [&] { return sampler.run(records, first, std::min(block_size, total - first), tally, round_max); });
      phases.time(write, [&] {
        write_sample_shard((output / block_file(my_block)).string(), shard);
        my_digest = io::digest_file(output / block_file(my_block));
      });
      my_pairs = static_cast<std::int64_t>(shard.pair_prompt.size());
    });
    // One collective per round: which blocks are now on disk, with their
    // statistics, and whether a rank was asked to stop (SIGUSR1/SIGTERM).
    // The block file's digest travels as two 32-bit halves (exact in a double).
    constexpr std::size_t tally_offset = 6;
    std::vector<double> payload = {static_cast<double>(my_block), static_cast<double>(my_pairs), round_max,
                                   stop_requested() ? 1.0 : 0.0, static_cast<double>(my_digest >> 32),
                                   static_cast<double>(my_digest & 0xffffffffULL)};
    payload.insert(payload.end(), tally.values.begin(), tally.values.end());
    // Same length on every rank: gathered flat, no serialisation.
    std::vector<double> flat(payload.size() * size);
    boost::mpi::all_gather(context.world(), payload.data(), static_cast<int>(payload.size()), flat.data());
    phases.add(exchange, std::chrono::duration<double>(std::chrono::steady_clock::now() - round_started).count() -
                             (phases.seconds(generate) + phases.seconds(write) - busy_before));
    bool stop = false;
    for (std::size_t r = 0; r < size; ++r) {
      const std::vector<double> entry(flat.begin() + static_cast<std::ptrdiff_t>(r * payload.size()),
                                      flat.begin() + static_cast<std::ptrdiff_t>((r + 1) * payload.size()));
      stop = stop || entry[3] > 0;
      const auto block = static_cast<std::int64_t>(entry[0]);
      if (block < 0) continue;
      ++done_now;
      for (std::size_t i = 0; i < totals.values.size(); ++i) totals.values[i] += entry[tally_offset + i];
      max_reward = std::max(max_reward, entry[2]);
      const std::int64_t first = block * block_size;
      manifest["blocks"][std::to_string(block)] = {
          {"file", block_file(block)},
          {"first", first},
          {"count", std::min(block_size, total - first)},
          {"pairs", static_cast<std::int64_t>(entry[1])},
          {"digest", io::hex_digest((static_cast<std::uint64_t>(entry[4]) << 32) | static_cast<std::uint64_t>(entry[5]))},
          {"max_reward", std::isfinite(entry[2]) ? nlohmann::ordered_json(entry[2]) : nlohmann::ordered_json()},
          {"tally", std::vector<double>(entry.begin() + tally_offset, entry.end())}};
    }
    phases.time(manifest_write, [&] {
      context.agree([&] {
        const auto before = std::chrono::steady_clock::now();
        if (!context.is_root() ||
            std::chrono::duration<double>(before - last_manifest_write).count() < 20 * manifest_write_seconds)
          return;
        write_file_atomic(manifest_path, manifest_text(manifest));
        last_manifest_write = std::chrono::steady_clock::now();
        manifest_write_seconds = std::chrono::duration<double>(last_manifest_write - before).count();
      });
    });
    const auto now = std::chrono::steady_clock::now();
    if (context.is_root() && now - last_report > std::chrono::duration<double>(config.log.progress_seconds)) {
      const double seconds = std::chrono::duration<double>(now - started).count();
      // By tokens, not blocks: the long blocks come first.
      const auto dealt = static_cast<std::ptrdiff_t>(std::min(todo.size(), (round + 1) * size));
      const double done = std::accumulate(todo_tokens.begin(), todo_tokens.begin() + dealt, 0.0) / all_todo_tokens;
      spdlog::info("sample: {}/{} blocks this run, {:.0f} prompts/s, {:.0f} new tokens/s, ETA {:.0f} s",
                   std::min(todo.size(), (round + 1) * size), todo.size(), totals[Tally::prompts] / seconds,
                   totals[Tally::tokens] / seconds, seconds / done * (1 - done));
      last_report = now;
    }
    if (stop) {
      if (context.is_root()) spdlog::info("sample: stopped on request after this round's blocks");
      break;
    }
  }
  const bool complete = static_cast<std::int64_t>(manifest["blocks"].size()) == num_blocks;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const nlohmann::ordered_json seconds_by_phase = phases.summarise(context.world());
  context.agree([&] {
    if (!context.is_root()) return;
    // Totals of this invocation, and of every block recorded so far.
    Tally dataset;
    double dataset_max = -INFINITY;
    for (const auto& [key, block] : manifest["blocks"].items()) {
      const std::vector<double> values = block["tally"].get<std::vector<double>>();
      for (std::size_t i = 0; i < std::min(values.size(), dataset.values.size()); ++i) dataset.values[i] += values[i];
      if (block["max_reward"].is_number()) dataset_max = std::max(dataset_max, block["max_reward"].get<double>());
    }
    auto summary = [&](Tally& t, double max) {
      nlohmann::ordered_json out = {{"prompts", t[Tally::prompts]},
                                    {"candidates_scored", t[Tally::candidates]},
                                    {"new_tokens", t[Tally::tokens]},
                                    {"pairs", t[Tally::pairs]}};
      if (!direct && t[Tally::candidates] > 0) {
        std::vector<double> per_round;
        for (std::size_t r = 0; r < kRoundHistogram; ++r) per_round.push_back(t.accepted_in_round(r));
        out["mean_reward"] = t[Tally::reward_sum] / t[Tally::candidates];
        out["max_reward"] = max;
        out["accepted"] = t[Tally::accepted];
        out["tied_pairs_dropped"] = t[Tally::ties_dropped];
        out["mean_rounds"] = t[Tally::rounds] / std::max(t[Tally::prompts], 1.0);
        out["accepted_per_round"] = per_round;  // the last entry counts later rounds too
        if (config.sample.source == PairSource::rso_sample_rank)
          out["first_round_acceptance"] = t.accepted_in_round(0) / std::max(t[Tally::first_visited], 1.0);
        // E[exp((r - r_max) / beta)] over the candidates, averaged over prompts.
        out["theoretical_acceptance"] = t[Tally::rate_sum] / std::max(t[Tally::prompts], 1.0);
      }
      return out;
    };
    nlohmann::ordered_json stats;
    stats["dataset"] = summary(dataset, dataset_max);
    stats["dataset"]["complete"] = complete;
    stats["this_run"] = summary(totals, max_reward);
    stats["this_run"]["blocks"] = done_now;
    stats["this_run"]["ranks"] = context.size();
    stats["this_run"]["seconds"] = seconds;
    stats["this_run"]["seconds_by_phase"] = seconds_by_phase;
    stats["this_run"]["prompts_per_second"] = totals[Tally::prompts] / seconds;
    stats["this_run"]["new_tokens_per_second"] = totals[Tally::tokens] / seconds;
    manifest["complete"] = complete;
    write_file_atomic(manifest_path, manifest_text(manifest));
    write_file_atomic(output / "stats.json", stats.dump(1) + "\n");
    spdlog::info("sample: {} blocks in {:.1f} s ({} pairs){}", done_now, seconds, totals[Tally::pairs],
                 complete ? "; every block done -> " + paths.output
                          : "; stopped early, " + std::to_string(num_blocks - static_cast<std::int64_t>(manifest["blocks"].size())) +
                                " blocks left: run again to continue");
  });
  return complete;
}

}  // namespace rso::sampling
