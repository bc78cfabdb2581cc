#include "rso/eval/evaluate.hpp"
#include "rso/eval/report_plot.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <boost/mpi/collectives.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "rso/core/error.hpp"
#include "rso/core/progress.hpp"
#include "rso/core/random.hpp"
#include "rso/dist/sharded_output.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/io/utf8.hpp"
#include "rso/model/batching.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/generate.hpp"
#include "rso/model/logprob.hpp"
#include "rso/sampling/prompt_limit.hpp"
#include "rso/sampling/sampling_options.hpp"
#include "rso/task/builtin_task.hpp"

namespace rso::eval {

namespace fs = std::filesystem;

Estimate estimate(const std::vector<double>& values) {
  Estimate e;
  e.n = values.size();
  if (values.empty()) return e;
  double sum = 0;
  for (const double v : values) sum += v;
  e.mean = sum / static_cast<double>(values.size());
  if (values.size() < 2) return e;
  double squares = 0;
  for (const double v : values) squares += (v - e.mean) * (v - e.mean);
  e.ci95 = 1.96 * std::sqrt(squares / static_cast<double>(values.size() - 1) / static_cast<double>(values.size()));
  return e;
}

namespace {

using TokenLists = std::vector<std::vector<std::int64_t>>;

// The per-prompt figures, in this order, averaged over the prompt's samples.
enum Figure {
  kProxyWin,
  kGoldWin,
  kGoldPolicy,
  kGoldReference,
  kKlPerToken,
  kLengthPolicy,
  kLengthReference,
  kFigures
};
constexpr const char* kFigureNames[kFigures] = {"proxy_win_rate",   "gold_win_rate",   "gold_reward_policy",
                                                "gold_reward_reference", "kl_per_token", "length_policy",
                                                "length_reference"};

double win(double a, double b) { return a > b ? 1.0 : a < b ? 0.0 : 0.5; }

std::string or_default(const std::string& value, const fs::path& fallback) {
  return value.empty() ? fallback.string() : value;
}

// Drops a trailing end-of-sequence token; an immediate stop stays one token.
std::vector<std::int64_t> response_tokens(const model::Sample& sample, std::int64_t eos) {
  std::vector<std::int64_t> tokens = sample.tokens;
  if (!tokens.empty() && sample.ended_with_eos && tokens.size() > 1) tokens.pop_back();
  if (tokens.empty()) tokens.push_back(eos >= 0 ? eos : 0);
  return tokens;
}

// How often each judge agrees with people on the `sentiment` package's
// labelled sentences: the gold reward by its sign (0 counts half); the proxy
// model on pairs (the i-th positive and the i-th negative sentence of each
// source, no prompt), preferring the positive one (a ranking model read in
// both orders). Sharded over ranks, one reduction.
nlohmann::ordered_json score_judges(DistContext& context, const std::vector<task::LabelledSentence>& sentences,
                                    const task::VaderScorer& gold, model::RewardModel& reward,
                                    const model::RewardHead& head, const text::Tokenizer& tokenizer) {
  std::vector<std::pair<std::size_t, std::size_t>> pairs;  // (positive, negative) indices
  for (const char* source : {"imdb", "yelp", "amazon"}) {
    std::vector<std::size_t> positive, negative;
    for (std::size_t i = 0; i < sentences.size(); ++i)
      if (sentences[i].source == source) (sentences[i].positive ? positive : negative).push_back(i);
    for (std::size_t k = 0; k < std::min(positive.size(), negative.size()); ++k) pairs.emplace_back(positive[k], negative[k]);
  }
  const std::int64_t limit = reward->options().max_positions() / 2 - 4;
  auto tokens = [&](std::size_t i) {
    std::vector<std::int64_t> t = tokenizer.encode(sentences[i].text);
    if (static_cast<std::int64_t>(t.size()) > limit) t.resize(static_cast<std::size_t>(limit));
    if (t.empty()) t.push_back(std::max<std::int64_t>(0, tokenizer.eos_id()));
    return t;
  };
  std::vector<double> local(2, 0.0);  // gold agreements, proxy agreements
  context.agree([&] {
    at::NoGradGuard no_grad;
    const ShardRange sentence_range = shard_range(sentences.size(), context.rank(), context.size());
    for (std::uint64_t i = sentence_range.begin; i < sentence_range.end; ++i) {
      const double g = gold.compound(sentences[i].text);
      local[0] += sentences[i].positive ? win(g, 0.0) : win(0.0, g);
    }
    const ShardRange pair_range = shard_range(pairs.size(), context.rank(), context.size());
    constexpr std::uint64_t kChunk = 32;
    for (std::uint64_t begin = pair_range.begin; begin < pair_range.end; begin += kChunk) {
      const std::uint64_t end = std::min(pair_range.end, begin + kChunk);
      TokenLists xs, positive, negative;
      for (std::uint64_t k = begin; k < end; ++k) {
        xs.emplace_back();
        positive.push_back(tokens(pairs[k].first));
        negative.push_back(tokens(pairs[k].second));
      }
      if (head.kind == "ranking") {
        const at::Tensor ab = model::reward_from_ranking(reward, xs, positive, negative, head.separators, 0).to(at::kCPU, at::kDouble);
        const at::Tensor ba = model::reward_from_ranking(reward, xs, negative, positive, head.separators, 0).to(at::kCPU, at::kDouble);
        for (std::int64_t r = 0; r < ab.size(0); ++r) local[1] += win(ab[r].item<double>() - ba[r].item<double>(), 0.0);
      } else {
        TokenLists rows = positive;
        rows.insert(rows.end(), negative.begin(), negative.end());
        const auto [ids, mask] = model::left_pad(rows, 0);
        const at::Tensor r = reward->forward(ids.to(context.device()), mask.to(context.device())).to(at::kCPU, at::kDouble);
        const auto m = static_cast<std::int64_t>(positive.size());
        for (std::int64_t k = 0; k < m; ++k) local[1] += win(r[k].item<double>(), r[m + k].item<double>());
      }
    }
  });
  std::vector<double> sums(2);
  boost::mpi::all_reduce(context.world(), local.data(), 2, sums.data(), std::plus<double>());
  return {{"sentences", sentences.size()},
          {"gold_accuracy", sums[0] / static_cast<double>(sentences.size())},
          {"proxy_pairs", pairs.size()},
          {"proxy_pair_accuracy", pairs.empty() ? 0.0 : sums[1] / static_cast<double>(pairs.size())}};
}

}  // namespace

nlohmann::ordered_json run_evaluation(DistContext& context, const Config& config) {
  const EvalConfig& ec = config.eval;
  const fs::path run(config.run.dir);
  const std::string policy_path = or_default(ec.policy, run / "train" / "model.h5");
  const std::string reference_path = or_default(ec.reference, run / "sft" / "model.h5");
  const std::string reward_path = or_default(ec.reward_model, run / "reward" / "model.h5");
  const std::string prompts_path = or_default(ec.prompts, run / "data" / "eval_prompts.jsonl");
  const fs::path output = or_default(ec.output, run / "eval");

  auto load = [&](const std::string& path) {
    model::Transformer m = context.agree([&] { return model::load_model(path); });
    m->to(context.device(), context.compute_dtype());
    m->eval();
    return m;
  };
  model::Transformer policy = load(policy_path);
  model::Transformer reference = load(reference_path);
  model::RewardHead head;
  model::RewardModel reward = context.agree([&] { return model::load_reward_model(reward_path, &head); });
  reward->to(context.device(), context.compute_dtype());
  reward->eval();
  const auto files = context.agree([&] { return model::read_model_tokenizer(policy_path); });
  const std::unique_ptr<text::Tokenizer> tokenizer = context.agree([&] {
    if (!files) RSO_THROW(DataError, policy_path + " has no tokenizer: the gold reward reads text");
    return text::make_tokenizer(*files);
  });
  const task::VaderScorer gold = context.agree([&] { return task::load_gold_scorer(config); });
  struct Prompt {
    std::string id, text;
    std::vector<std::int64_t> tokens;
  };
  // Each prompt is read with a response of up to sample.max_new_tokens
  // tokens by both policies (the log-ratio) and by the reward model (with
  // the other policy's response too, for a ranking model): longer prompts
  // are refused with their line before any sampling.
  const std::int64_t new_tokens = config.sample.max_new_tokens;
  const PromptLimit limit = prompt_limit(std::min(policy->options().max_positions(), reference->options().max_positions()),
                                         &reward, head, new_tokens);
  context.agree([&] { require_room_for_a_prompt(limit, new_tokens); });
  const std::vector<Prompt> prompts = context.agree([&] {
    std::vector<Prompt> out;
    JsonlReader reader(prompts_path);
    while (reader.next()) {
      const JsonlRecord record = reader.record();
      Prompt p;
      p.id = record.has("id") ? record.string("id") : std::to_string(out.size());
      p.text = record.string("prompt");
      p.tokens = tokenizer->encode(p.text);
      if (p.tokens.empty()) record.fail("prompt", "empty");
      if (static_cast<std::int64_t>(p.tokens.size()) > limit.tokens) record.fail("prompt", prompt_too_long(p.tokens.size(), limit));
      out.push_back(std::move(p));
    }
    if (out.empty()) RSO_THROW(DataError, prompts_path + " holds no prompts");
    return out;
  });

  model::SamplingOptions sampling = sampling_options(config);
  sampling.eos_id = tokenizer->eos_id();
  const std::int64_t n = ec.samples_per_prompt;
  const std::uint64_t seed = config.run.seed ^ fnv1a64("eval");
  const ShardRange range = shard_range(prompts.size(), context.rank(), context.size());
  // Per-prompt figures, laid out [prompt][figure], summed over ranks.
  std::vector<double> figures(prompts.size() * kFigures, 0.0);
  const std::string samples_path = (output / "samples.jsonl").string();
  if (context.is_root()) fs::create_directories(output);
  context.barrier();
  ShareProgress progress("eval", "prompts", config.log.progress_seconds, context.is_root());
  context.agree([&] {
    std::ofstream samples_out(shard_part_path(samples_path, context.rank()), std::ios::trunc);
    if (!samples_out) RSO_THROW(IoError, "cannot write " + shard_part_path(samples_path, context.rank()));
    at::NoGradGuard no_grad;
    constexpr std::uint64_t kBatch = 8;
    for (std::uint64_t begin = range.begin; begin < range.end; begin += kBatch) {
      const std::uint64_t end = std::min(range.end, begin + kBatch);
      std::vector<model::PromptToSample> batch;
      for (std::uint64_t i = begin; i < end; ++i) batch.push_back({prompts[i].tokens, i});
      const auto from_policy = model::generate(policy, batch, n, sampling, seed);
      const auto from_reference = model::generate(reference, batch, n, sampling, seed);
      // Flatten: row r = (prompt, sample j).
      TokenLists xs, ys, yr;
      for (std::uint64_t i = begin; i < end; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          xs.push_back(prompts[i].tokens);
          ys.push_back(response_tokens(from_policy[i - begin][static_cast<std::size_t>(j)], sampling.eos_id));
          yr.push_back(response_tokens(from_reference[i - begin][static_cast<std::size_t>(j)], sampling.eos_id));
        }
      // Proxy preference of πθ's response over the reference's.
      std::vector<double> proxy(xs.size());
      if (head.kind == "ranking") {
        const at::Tensor ab = model::reward_from_ranking(reward, xs, ys, yr, head.separators, 0).to(at::kCPU, at::kDouble);
        const at::Tensor ba = model::reward_from_ranking(reward, xs, yr, ys, head.separators, 0).to(at::kCPU, at::kDouble);
        for (std::size_t r = 0; r < xs.size(); ++r) {
          const double logit = 0.5 * (ab[static_cast<std::int64_t>(r)].item<double>() - ba[static_cast<std::int64_t>(r)].item<double>());
          proxy[r] = win(logit, 0.0);
        }
      } else {
        TokenLists rows;
        for (std::size_t r = 0; r < xs.size(); ++r) {
          rows.push_back(xs[r]);
          rows.back().insert(rows.back().end(), ys[r].begin(), ys[r].end());
        }
        for (std::size_t r = 0; r < xs.size(); ++r) {
          rows.push_back(xs[r]);
          rows.back().insert(rows.back().end(), yr[r].begin(), yr[r].end());
        }
        const auto [ids, mask] = model::left_pad(rows, 0);
        const at::Tensor scores = reward->forward(ids.to(context.device()), mask.to(context.device())).to(at::kCPU, at::kDouble);
        const auto m = static_cast<std::int64_t>(xs.size());
        for (std::int64_t r = 0; r < m; ++r) proxy[static_cast<std::size_t>(r)] = win(scores[r].item<double>(), scores[m + r].item<double>());
      }
      // log πθ(yθ) − log π_ref(yθ), both by the function training uses.
      auto logprob = [&](model::Transformer& m) {
        model::PromptResponseBatch b = model::pack_prompt_response(xs, ys, 0);
        return model::sequence_logprob(m, b.input_ids.to(context.device()), b.attention_mask.to(context.device()),
                                       b.response_mask.to(context.device()))
            .total.to(at::kCPU, at::kDouble);
      };
      const at::Tensor log_ratio = logprob(policy) - logprob(reference);
      for (std::uint64_t i = begin; i < end; ++i) {
        double* f = &figures[i * kFigures];
        for (std::int64_t j = 0; j < n; ++j) {
          const std::size_t r = static_cast<std::size_t>((i - begin) * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(j));
          const std::string text_policy = replace_invalid_utf8(tokenizer->decode(ys[r]));
          const std::string text_reference = replace_invalid_utf8(tokenizer->decode(yr[r]));
          const double g_policy = gold.compound(text_policy), g_reference = gold.compound(text_reference);
          const double length = static_cast<double>(ys[r].size());
          f[kProxyWin] += proxy[r];
          f[kGoldWin] += win(g_policy, g_reference);
          f[kGoldPolicy] += g_policy;
          f[kGoldReference] += g_reference;
          f[kKlPerToken] += log_ratio[static_cast<std::int64_t>(r)].item<double>() / length;
          f[kLengthPolicy] += length;
          f[kLengthReference] += static_cast<double>(yr[r].size());
          samples_out << to_jsonl_line(nlohmann::ordered_json{{"id", prompts[i].id},
                                                               {"prompt", prompts[i].text},
                                                               {"policy", text_policy},
                                                               {"reference", text_reference},
                                                               {"gold_policy", g_policy},
                                                               {"gold_reference", g_reference},
                                                               {"proxy_win", proxy[r]}})
                      << "\n";
        }
        for (int k = 0; k < kFigures; ++k) f[k] /= static_cast<double>(n);
      }
      progress.update(end - range.begin, range.size());
    }
  });
  join_shard_parts(context, samples_path);
  std::vector<double> all(figures.size());
  boost::mpi::all_reduce(context.world(), figures.data(), static_cast<int>(figures.size()), all.data(),
                         std::plus<double>());

  nlohmann::ordered_json report = {{"policy", policy_path},
                                   {"reference", reference_path},
                                   {"reward_model", reward_path},
                                   {"reward_kind", head.kind},
                                   {"gold_reward", "VADER compound of the response text (" + config.task.lexicon + ")"},
                                   {"prompts", prompts.size()},
                                   {"samples_per_prompt", n}};
  // What produced the policy, as far as this config says: labels for plots.
  report["run"] = {{"source", enum_name(config.sample.source, kPairSourceNames)},
                   {"loss", enum_name(config.train.loss, kLossKindNames)},
                   {"beta", config.sample.beta},
                   {"num_candidates", config.sample.num_candidates},
                   {"pairs", enum_name(config.sample.pairs, kPairStrategyNames)},
                   {"seed", config.run.seed}};
  nlohmann::ordered_json metrics;
  for (int k = 0; k < kFigures; ++k) {
    std::vector<double> per_prompt;
    for (std::size_t i = 0; i < prompts.size(); ++i) per_prompt.push_back(all[i * kFigures + static_cast<std::size_t>(k)]);
    const Estimate e = estimate(per_prompt);
    metrics[kFigureNames[k]] = {{"mean", e.mean}, {"ci95", e.ci95}};
  }
  report["metrics"] = metrics;
  // The judges against human labels, when the labelled sentences are there.
  const bool labelled = !config.task.labelled.empty() && fs::exists(fs::path(config.task.labelled) / "imdb.json");
  if (labelled) {
    const auto sentences = context.agree([&] { return task::read_labelled_sentences(config.task.labelled); });
    report["judges_on_labelled_sentences"] = score_judges(context, sentences, gold, reward, head, *tokenizer);
  }
  context.agree([&] {
    if (!context.is_root()) return;
    write_file_atomic(output / "report.json", report.dump(2) + "\n");
    std::string md = "# rso eval\n\nPolicy `" + policy_path + "` against `" + reference_path + "` on " +
                     std::to_string(prompts.size()) + " held-out prompts, " + std::to_string(n) +
                     " responses each. Proxy judge: the " + head.kind + " reward model `" + reward_path +
                     "`; gold judge: VADER compound sentiment of the response. Ties count half. Means over prompts "
                     "with 95% intervals (1.96 sd / sqrt(prompts)).\n\n| figure | mean | 95% interval |\n|---|---|---|\n";
    for (int k = 0; k < kFigures; ++k) {
      const auto& m = metrics[kFigureNames[k]];
      md += fmt::format("| {} | {:.4f} | ± {:.4f} |\n", kFigureNames[k], m["mean"].get<double>(), m["ci95"].get<double>());
    }
    if (report.contains("judges_on_labelled_sentences")) {
      const auto& j = report["judges_on_labelled_sentences"];
      md += fmt::format("\nThe judges on people's labels ({} sentences of the npm package `sentiment`): the gold reward's "
                        "sign agrees with {:.1f}%; the proxy model prefers the positive sentence in {:.1f}% of {} "
                        "positive/negative pairs.\n",
                        j["sentences"].get<std::size_t>(), 100 * j["gold_accuracy"].get<double>(),
                        100 * j["proxy_pair_accuracy"].get<double>(), j["proxy_pairs"].get<std::size_t>());
    }
    md += "\nWin rates above 0.5 favour the trained policy. `kl_per_token` estimates KL(policy ‖ reference) per token "
          "from the policy's own samples. Every response: `samples.jsonl`.\n";
    write_file_atomic(output / "report.md", md);
    plot_reports({{"", output / "report.json"}}, output / "win_rate_vs_kl.png");
    spdlog::info("eval: gold win rate {:.3f} ± {:.3f}, proxy win rate {:.3f} ± {:.3f}, KL/token {:.4f}; {}",
                 metrics["gold_win_rate"]["mean"].get<double>(), metrics["gold_win_rate"]["ci95"].get<double>(),
                 metrics["proxy_win_rate"]["mean"].get<double>(), metrics["proxy_win_rate"]["ci95"].get<double>(),
                 metrics["kl_per_token"]["mean"].get<double>(), (output / "report.md").string());
  });
  return report;
}

}  // namespace rso::eval
