// `rso select`: statistical rejection sampling over candidates that any
// generator produced, with their rewards; optional labelled pairs.
#include <boost/mpi/collectives.hpp>
#include <spdlog/spdlog.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>

#include "rso/io/output_path.hpp"
#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/core/progress.hpp"
#include "rso/dist/sharded_output.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/sampling/pairing.hpp"
#include "rso/sampling/rejection_sampling.hpp"
#include "rso/sampling/text_scorer.hpp"

namespace rso::cli {

namespace {

struct Candidates {
  nlohmann::ordered_json id;
  std::string prompt;
  std::vector<std::string> responses;
  std::vector<double> rewards;
};

// With a scorer, the rewards are its scores of the responses (a "rewards"
// field is not read).
Candidates read_candidates(const JsonlRecord& record, sampling::TextScorer* scorer) {
  Candidates c;
  if (!record.has("id")) record.fail("id", "missing");
  c.id = nlohmann::ordered_json::parse(record.json()["id"].dump());
  c.prompt = record.string("prompt");
  c.responses = record.strings("responses");
  if (scorer != nullptr) c.rewards = scorer->score(std::vector<std::string>(c.responses.size(), c.prompt), c.responses);
  else c.rewards = record.numbers("rewards");
  if (c.responses.empty()) record.fail("responses", "empty: a prompt needs at least one candidate");
  if (c.rewards.size() != c.responses.size())
    record.fail("rewards", std::to_string(c.rewards.size()) + " rewards for " + std::to_string(c.responses.size()) +
                               " responses");
  for (std::size_t i = 0; i < c.rewards.size(); ++i)
    if (!std::isfinite(c.rewards[i]))
      record.fail("rewards", "reward " + std::to_string(i) + " of prompt " + c.id.dump() + " is " +
                                 (std::isnan(c.rewards[i]) ? "NaN" : c.rewards[i] > 0 ? "+Inf" : "-Inf") +
                                 "; rewards must be finite");
  return c;
}

// Sums over this rank's prompts, reduced once at the end.
struct SelectStatistics {
  double prompts = 0, candidates = 0, accepted = 0, rounds = 0;
  double first_round_accepted = 0, first_round_visited = 0, theoretical_rate = 0;
  double took_all = 0, duplicates_dropped = 0, pairs = 0;
  double reward_sum = 0, reward_max = -INFINITY;

  std::vector<double> sums() const {
    return {prompts, candidates, accepted, rounds, first_round_accepted, first_round_visited,
            theoretical_rate, took_all, duplicates_dropped, pairs, reward_sum};
  }
};

}  // namespace

int run_select(DistContext& context, const SelectOptions& options) {
  const Config config = resolve_config(context, options.config);
  context.configure(config.dist);
  const double beta = options.beta.value_or(config.sample.beta);
  const std::int64_t num_samples = options.num_samples.value_or(config.sample.num_samples);
  const std::uint64_t seed = options.seed.value_or(config.run.seed);
  PairStrategy strategy = config.sample.pairs;
  context.agree([&] {
    io::refuse_output_over_inputs("--out", options.output, {{"--in", options.input}});
    io::refuse_output_over_inputs("--pairs-out", options.pairs_output, {{"--in", options.input}, {"--out", options.output}});
    if (!(beta > 0) || !std::isfinite(beta)) RSO_THROW(UsageError, "--beta must be a finite number > 0");
    if (num_samples < 1) RSO_THROW(UsageError, "--num-samples must be >= 1");
    if (!options.pairs.empty()) {
      if (options.pairs == "first-round") strategy = PairStrategy::first_round;
      else if (options.pairs == "tournament") strategy = PairStrategy::tournament;
      else RSO_THROW(UsageError, "--pairs must be first-round or tournament, not '" + options.pairs + "'");
    }
  });
  const auto scorer = options.scorer.empty() ? nullptr : make_text_scorer(context, config, options.scorer, "--scorer");
  context.agree([&] {
    if (!options.scorer.empty() && scorer == nullptr)
      RSO_THROW(UsageError, "--scorer " + options.scorer + ": rso select reads no reward model; give gold or exec:COMMAND, "
                            "or leave --scorer out to read \"rewards\"");
  });
  if (scorer && context.is_root()) spdlog::info("select: rewards from {}", scorer->describe());
  const std::uint64_t total = context.agree([&] { return count_jsonl_records(options.input); });
  const ShardRange range = shard_range(total, context.rank(), context.size());
  const bool write_pairs = !options.pairs_output.empty();

  SelectStatistics stats;
  ShareProgress progress("select", "prompts", config.log.progress_seconds, context.is_root());
  context.agree([&] {
    AtomicFileWriter selected(shard_part_path(options.output, context.rank()));
    std::unique_ptr<AtomicFileWriter> pairs;
    if (write_pairs) pairs = std::make_unique<AtomicFileWriter>(shard_part_path(options.pairs_output, context.rank()));
    JsonlReader reader(options.input);
    for (std::uint64_t index = 0; index < range.end; ++index) {
      if (index < range.begin) {
        reader.skip();
        continue;
      }
      if (!reader.next()) RSO_THROW(IoError, options.input + " changed while being read");
      const Candidates c = read_candidates(reader.record(), scorer.get());

      // Optionally sample among distinct responses only (see rejection_sampling.hpp).
      std::vector<std::size_t> considered;
      if (options.collapse_duplicates) {
        considered = sampling::distinct_responses(c.responses);
      } else {
        considered.resize(c.responses.size());
        for (std::size_t i = 0; i < considered.size(); ++i) considered[i] = i;
      }
      std::vector<double> rewards;
      for (std::size_t i : considered) rewards.push_back(c.rewards[i]);
      RandomStream reject_stream({seed, Stage::reject, index, 0});
      const sampling::RejectionSamplingResult result =
          sampling::rejection_sample(rewards, beta, static_cast<std::size_t>(num_samples), reject_stream);
      std::vector<std::size_t> accepted;
      for (std::size_t k : result.accepted) accepted.push_back(considered[k]);

      nlohmann::ordered_json line;
      line["id"] = c.id;
      line["prompt"] = c.prompt;
      line["accepted"] = accepted;
      line["rounds"] = result.rounds;
      selected.write(to_jsonl_line(line) + "\n");

      if (write_pairs) {
        RandomStream pair_stream({seed, Stage::pair, index, 0});
        RandomStream label_stream({seed, Stage::label, index, 0});
        const auto labelled = sampling::make_pairs(accepted, c.responses, strategy,
                                                 sampling::label_by_reward(c.rewards, label_stream), pair_stream);
        for (const auto& pair : labelled) {
          nlohmann::ordered_json out;
          out["prompt"] = c.prompt;
          out["chosen"] = c.responses[pair.chosen];
          out["rejected"] = c.responses[pair.rejected];
          pairs->write(to_jsonl_line(out) + "\n");
        }
        stats.pairs += static_cast<double>(labelled.size());
      }

      const double max_reward = *std::max_element(rewards.begin(), rewards.end());
      double rate = 0;
      for (double r : rewards) rate += std::exp((r - max_reward) / beta);
      stats.prompts += 1;
      stats.candidates += static_cast<double>(rewards.size());
      stats.accepted += static_cast<double>(accepted.size());
      stats.rounds += static_cast<double>(result.rounds);
      stats.first_round_accepted += static_cast<double>(result.accepted_per_round.at(0));
      stats.first_round_visited += static_cast<double>(result.pool_per_round.at(0));
      stats.theoretical_rate += rate / static_cast<double>(rewards.size());
      stats.took_all += result.took_all ? 1 : 0;
      stats.duplicates_dropped += static_cast<double>(c.responses.size() - considered.size());
      for (double r : rewards) stats.reward_sum += r;
      stats.reward_max = std::max(stats.reward_max, max_reward);

      progress.update(index + 1 - range.begin, range.size());
    }
    selected.commit();
    if (pairs) pairs->commit();
  });
  join_shard_parts(context, options.output);
  if (write_pairs) join_shard_parts(context, options.pairs_output);

  // One reduction for the whole run.
  const std::vector<double> local = stats.sums();
  std::vector<double> sums(local.size());
  boost::mpi::all_reduce(context.world(), local.data(), static_cast<int>(local.size()), sums.data(), std::plus<double>());
  double reward_max = 0;
  boost::mpi::all_reduce(context.world(), stats.reward_max, reward_max, boost::mpi::maximum<double>());
  if (context.is_root()) {
    const double prompts = std::max(sums[0], 1.0);
    if (sums[7] > 0)
      spdlog::warn("select: {} of {} prompts have no more than n_d = {} candidates; all of theirs were accepted",
                   sums[7], sums[0], num_samples);
    spdlog::info(
        "select: {} prompts, {} candidates (mean reward {:.4g}, max {:.4g}), {} accepted in {:.3g} rounds on "
        "average; first-round acceptance {:.4f} (theory E[exp((r - r_max)/beta)] = {:.4f}){}{} -> {}",
        sums[0], sums[1], sums[10] / std::max(sums[1], 1.0), reward_max, sums[2], sums[3] / prompts,
        sums[4] / std::max(sums[5], 1.0), sums[6] / prompts,
        options.collapse_duplicates ? fmt::format("; {} duplicate responses set aside", sums[8]) : "",
        write_pairs ? fmt::format("; {} pairs -> {}", sums[9], options.pairs_output) : "", options.output);
  }
  return exit_code::ok;
}

}  // namespace rso::cli
