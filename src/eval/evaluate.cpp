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
#include <optional>

#include "rso/core/run_layout.hpp"
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
#include "rso/sampling/text_scorer.hpp"
#include "rso/text/dictionary.hpp"

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
  kNonzeroGoldPolicy,
  kNonzeroGoldReference,
  kFigures
};
constexpr const char* kFigureNames[kFigures] = {
    "proxy_win_rate", "gold_win_rate",  "gold_reward_policy",       "gold_reward_reference",       "kl_per_token",
    "length_policy",  "length_reference", "nonzero_gold_share_policy", "nonzero_gold_share_reference"};

// Sums over every sample rather than per prompt: words, and the proxy's
// agreement with the gold reward on pairs of reference samples.
struct Totals {
  enum : std::size_t { kKnownPolicy, kWordsPolicy, kKnownReference, kWordsReference, kAgreements, kCheckedPairs, kSize };
};

double win(double a, double b) { return a > b ? 1.0 : a < b ? 0.0 : 0.5; }

// A response's tokens as sampled: an end-of-sequence token stays, since the
// policies' log-probs and the reward model read what sampling produced (a
// stop is part of the response); it is not part of the text.
std::string response_text(const text::Tokenizer& tokenizer, std::vector<std::int64_t> tokens) {
  if (!tokens.empty() && tokens.back() == tokenizer.eos_id()) tokens.pop_back();
  return replace_invalid_utf8(tokenizer.decode(tokens));
}

std::size_t words_length(const std::vector<std::int64_t>& tokens, std::int64_t eos) {
  return tokens.size() - (!tokens.empty() && tokens.back() == eos ? 1 : 0);
}

// The proxy judge: a reward model (pointwise, or ranking read in both
// orders) or a reward function of the text (sample.scorer).
class ProxyJudge {
 public:
  ProxyJudge(model::RewardModel* reward, model::RewardHead head, sampling::TextScorer* scorer,
             const text::Tokenizer& tokenizer, c10::Device device)
      : reward_(reward), head_(std::move(head)), scorer_(scorer), tokenizer_(tokenizer), device_(device) {}

  std::string describe(const std::string& reward_path) const {
    if (scorer_ != nullptr) return scorer_->describe();
    return "the " + head_.kind + " reward model " + reward_path;
  }
  std::string kind() const { return scorer_ != nullptr ? "function" : head_.kind; }

  // > 0 where the proxy prefers `first`, < 0 where it prefers `second`.
  std::vector<double> prefer(const TokenLists& prompts, const TokenLists& first, const TokenLists& second) {
    std::vector<double> out(prompts.size());
    if (prompts.empty()) return out;
    if (scorer_ != nullptr) {
      std::vector<std::string> p, a, b;
      for (std::size_t r = 0; r < prompts.size(); ++r) {
        p.push_back(replace_invalid_utf8(tokenizer_.decode(prompts[r])));
        a.push_back(response_text(tokenizer_, first[r]));
        b.push_back(response_text(tokenizer_, second[r]));
      }
      const std::vector<double> ra = scorer_->score(p, a), rb = scorer_->score(p, b);
      for (std::size_t r = 0; r < out.size(); ++r) out[r] = ra[r] - rb[r];
      return out;
    }
    at::NoGradGuard no_grad;
    if (head_.kind == "ranking") {
      const at::Tensor ab = model::reward_from_ranking(*reward_, prompts, first, second, head_.separators, 0).to(at::kCPU, at::kDouble);
      const at::Tensor ba = model::reward_from_ranking(*reward_, prompts, second, first, head_.separators, 0).to(at::kCPU, at::kDouble);
      for (std::size_t r = 0; r < out.size(); ++r)
        out[r] = 0.5 * (ab[static_cast<std::int64_t>(r)].item<double>() - ba[static_cast<std::int64_t>(r)].item<double>());
      return out;
    }
    TokenLists rows;
    for (const TokenLists* side : {&first, &second})
      for (std::size_t r = 0; r < prompts.size(); ++r) {
        rows.push_back(prompts[r]);
        rows.back().insert(rows.back().end(), (*side)[r].begin(), (*side)[r].end());
      }
    const auto [ids, mask] = model::left_pad(rows, 0);
    const at::Tensor scores = (*reward_)->forward(ids.to(device_), mask.to(device_)).to(at::kCPU, at::kDouble);
    const auto m = static_cast<std::int64_t>(prompts.size());
    for (std::int64_t r = 0; r < m; ++r) out[static_cast<std::size_t>(r)] = scores[r].item<double>() - scores[m + r].item<double>();
    return out;
  }

  // The longest prompt that fits with responses of `new_tokens` tokens.
  PromptLimit limit(std::int64_t policy_positions, std::int64_t new_tokens) const {
    return prompt_limit(policy_positions, scorer_ != nullptr ? nullptr : reward_, head_, new_tokens);
  }
  std::int64_t max_positions() const { return scorer_ != nullptr ? 1 << 20 : (*reward_)->options().max_positions(); }

 private:
  model::RewardModel* reward_;
  model::RewardHead head_;
  sampling::TextScorer* scorer_;
  const text::Tokenizer& tokenizer_;
  c10::Device device_;
};

// How often each judge agrees with people on the `sentiment` package's
// labelled sentences: the gold reward by its sign (0 counts half); the proxy
// on pairs (the i-th positive and the i-th negative sentence of each source,
// no prompt), preferring the positive one. Sharded over ranks, one reduction.
nlohmann::ordered_json score_judges(DistContext& context, const Judges& judges, ProxyJudge& proxy,
                                    const text::Tokenizer& tokenizer) {
  const std::vector<LabelledSentence>& sentences = judges.labelled_sentences;
  std::vector<std::pair<std::size_t, std::size_t>> pairs;  // (positive, negative) indices
  for (const std::string& source : judges.labelled_sources) {
    std::vector<std::size_t> positive, negative;
    for (std::size_t i = 0; i < sentences.size(); ++i)
      if (sentences[i].source == source) (sentences[i].positive ? positive : negative).push_back(i);
    for (std::size_t k = 0; k < std::min(positive.size(), negative.size()); ++k) pairs.emplace_back(positive[k], negative[k]);
  }
  const std::int64_t limit = std::min<std::int64_t>(proxy.max_positions() / 2 - 4, 1 << 16);
  auto tokens = [&](std::size_t i) {
    std::vector<std::int64_t> t = tokenizer.encode(sentences[i].text);
    if (static_cast<std::int64_t>(t.size()) > limit) t.resize(static_cast<std::size_t>(limit));
    if (t.empty()) t.push_back(std::max<std::int64_t>(0, tokenizer.eos_id()));
    return t;
  };
  std::vector<double> local(2, 0.0);  // gold agreements, proxy agreements
  context.agree([&] {
    const ShardRange sentence_range = shard_range(sentences.size(), context.rank(), context.size());
    for (std::uint64_t i = sentence_range.begin; i < sentence_range.end; ++i) {
      const double g = judges.gold_reward(sentences[i].text);
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
      for (const double logit : proxy.prefer(xs, positive, negative)) local[1] += win(logit, 0.0);
    }
  });
  std::vector<double> sums(2);
  boost::mpi::all_reduce(context.world(), local.data(), 2, sums.data(), std::plus<double>());
  return {{"sentences", sentences.size()},
          {"gold_accuracy", sums[0] / static_cast<double>(sentences.size())},
          {"proxy_pairs", pairs.size()},
          {"proxy_pair_accuracy", pairs.empty() ? 0.0 : sums[1] / static_cast<double>(pairs.size())}};
}

struct Prompt {
  std::string id, text;
  std::vector<std::int64_t> tokens;
};

// Each prompt is read with a response of up to sample.max_new_tokens tokens
// by both policies (the log-ratio) and by the reward model (with the other
// policy's response too, for a ranking model): longer prompts are refused
// with their line before any sampling.
std::vector<Prompt> read_prompts(const std::string& path, const text::Tokenizer& tokenizer, const PromptLimit& limit) {
  std::vector<Prompt> out;
  JsonlReader reader(path);
  while (reader.next()) {
    const JsonlRecord record = reader.record();
    Prompt p;
    p.id = record.has("id") ? record.string("id") : std::to_string(out.size());
    p.text = record.string("prompt");
    p.tokens = tokenizer.encode(p.text);
    if (p.tokens.empty()) record.fail("prompt", "empty");
    if (static_cast<std::int64_t>(p.tokens.size()) > limit.tokens) record.fail("prompt", prompt_too_long(p.tokens.size(), limit));
    out.push_back(std::move(p));
  }
  if (out.empty()) RSO_THROW(DataError, path + " holds no prompts");
  return out;
}

// What one batch of prompts needs to be judged.
struct EvalModels {
  model::Transformer& policy;
  model::Transformer& reference;
  ProxyJudge& proxy;
  const Judges& judges;
  const text::Tokenizer& tokenizer;
  const text::Dictionary* dictionary;
  c10::Device device;
};

// Samples and judges prompts [begin, end): per-prompt figures into
// `figures`, sums into `totals`, one JSONL line per pair of samples.
void evaluate_batch(const EvalModels& m, const Config& config, const std::vector<Prompt>& prompts, std::uint64_t begin,
                    std::uint64_t end, std::vector<double>& figures, std::vector<double>& totals, std::ostream& samples_out) {
  const std::int64_t n = config.eval.samples_per_prompt;
  model::SamplingOptions sampling = sampling_options(config);
  sampling.eos_id = m.tokenizer.eos_id();
  const std::uint64_t seed = config.run.seed ^ fnv1a64("eval");
  std::vector<model::PromptToSample> batch;
  for (std::uint64_t i = begin; i < end; ++i) batch.push_back({prompts[i].tokens, i});
  // Both policies with the same uniforms (common random numbers).
  const auto from_policy = model::generate(m.policy, batch, n, sampling, seed);
  const auto from_reference = model::generate(m.reference, batch, n, sampling, seed);
  // KL(πθ ‖ π_ref) needs πθ's own distribution: temperature 1, nothing cut.
  model::SamplingOptions exact = sampling;
  exact.temperature = 1.0;
  exact.top_k = 0;
  exact.top_p = 1.0;
  const auto own = model::generate(m.policy, batch, n, exact, seed ^ fnv1a64("kl"));
  TokenLists xs, ys, yr, yk;  // row r = (prompt, sample j)
  for (std::uint64_t i = begin; i < end; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      xs.push_back(prompts[i].tokens);
      ys.push_back(from_policy[i - begin][static_cast<std::size_t>(j)].tokens);
      yr.push_back(from_reference[i - begin][static_cast<std::size_t>(j)].tokens);
      yk.push_back(own[i - begin][static_cast<std::size_t>(j)].tokens);
    }
  for (auto* side : {&ys, &yr, &yk})
    for (auto& y : *side)
      if (y.empty()) y.push_back(std::max<std::int64_t>(0, m.tokenizer.eos_id()));
  const std::vector<double> proxy = m.proxy.prefer(xs, ys, yr);
  at::Tensor kl;
  {
    at::NoGradGuard no_grad;
    model::PromptResponseBatch b = model::pack_prompt_response(xs, yk, 0);
    b.input_ids = b.input_ids.to(m.device);
    b.attention_mask = b.attention_mask.to(m.device);
    b.response_mask = b.response_mask.to(m.device);
    kl = model::sequence_kl(m.policy, m.reference, b).to(at::kCPU, at::kDouble);
  }
  std::vector<double> gold_reference(yr.size());
  for (std::uint64_t i = begin; i < end; ++i) {
    double* f = &figures[i * kFigures];
    for (std::int64_t j = 0; j < n; ++j) {
      const auto r = static_cast<std::size_t>((i - begin) * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(j));
      const std::string text_policy = response_text(m.tokenizer, ys[r]);
      const std::string text_reference = response_text(m.tokenizer, yr[r]);
      const double g_policy = m.judges.gold_reward(text_policy), g_reference = m.judges.gold_reward(text_reference);
      gold_reference[r] = g_reference;
      f[kProxyWin] += win(proxy[r], 0.0);
      f[kGoldWin] += win(g_policy, g_reference);
      f[kGoldPolicy] += g_policy;
      f[kGoldReference] += g_reference;
      f[kKlPerToken] += kl[static_cast<std::int64_t>(r)].item<double>() / static_cast<double>(yk[r].size());
      f[kLengthPolicy] += static_cast<double>(words_length(ys[r], m.tokenizer.eos_id()));
      f[kLengthReference] += static_cast<double>(words_length(yr[r], m.tokenizer.eos_id()));
      f[kNonzeroGoldPolicy] += g_policy != 0 ? 1.0 : 0.0;
      f[kNonzeroGoldReference] += g_reference != 0 ? 1.0 : 0.0;
      if (m.dictionary != nullptr) {
        const auto cp = m.dictionary->count(text_policy), cr = m.dictionary->count(text_reference);
        totals[Totals::kKnownPolicy] += static_cast<double>(cp.known);
        totals[Totals::kWordsPolicy] += static_cast<double>(cp.words);
        totals[Totals::kKnownReference] += static_cast<double>(cr.known);
        totals[Totals::kWordsReference] += static_cast<double>(cr.words);
      }
      samples_out << to_jsonl_line(nlohmann::ordered_json{{"id", prompts[i].id},
                                                           {"prompt", prompts[i].text},
                                                           {"policy", text_policy},
                                                           {"reference", text_reference},
                                                           {"gold_policy", g_policy},
                                                           {"gold_reference", g_reference},
                                                           {"proxy_win", win(proxy[r], 0.0)}})
                  << "\n";
    }
    for (int k = 0; k < kFigures; ++k) f[k] /= static_cast<double>(n);
  }
  // The proxy on the pairs rso sample gives it: reference samples 2k and
  // 2k+1 of each prompt, where the gold reward tells them apart.
  TokenLists cx, ca, cb;
  std::vector<double> gold_gap;
  for (std::size_t r = 0; r + 1 < yr.size(); ++r) {
    const auto j = static_cast<std::int64_t>(r % static_cast<std::size_t>(n));
    if (j % 2 != 0 || j + 1 >= n) continue;  // samples (0, 1), (2, 3), ... of one prompt
    if (gold_reference[r] == gold_reference[r + 1]) continue;
    cx.push_back(xs[r]);
    ca.push_back(yr[r]);
    cb.push_back(yr[r + 1]);
    gold_gap.push_back(gold_reference[r] - gold_reference[r + 1]);
  }
  const std::vector<double> checked = m.proxy.prefer(cx, ca, cb);
  for (std::size_t k = 0; k < checked.size(); ++k) {
    totals[Totals::kAgreements] += checked[k] == 0 ? 0.5 : (checked[k] > 0) == (gold_gap[k] > 0) ? 1.0 : 0.0;
    totals[Totals::kCheckedPairs] += 1;
  }
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

}  // namespace

nlohmann::ordered_json run_evaluation(DistContext& context, const Config& config, const JudgesSource& judges_source,
                                      sampling::TextScorer* scorer) {
  const EvalConfig& ec = config.eval;
  const RunLayout layout(config.run.dir);
  const std::string policy_path = path_or(ec.policy, layout.train_model());
  const std::string reference_path = path_or(ec.reference, layout.sft_model());
  const std::string reward_path = scorer != nullptr ? "" : path_or(ec.reward_model, layout.reward_model());
  const std::string prompts_path = path_or(ec.prompts, layout.data("eval_prompts.jsonl"));
  const fs::path output = path_or(ec.output, layout.eval_dir());

  auto load = [&](const std::string& path) {
    model::Transformer m = context.agree([&] { return model::load_model(path); });
    m->to(context.device(), context.compute_dtype());
    m->eval();
    return m;
  };
  model::Transformer policy = load(policy_path);
  model::Transformer reference = load(reference_path);
  model::RewardHead head;
  std::optional<model::RewardModel> reward;
  if (scorer == nullptr) {
    reward.emplace(context.agree([&] { return model::load_reward_model(reward_path, &head); }));
    (*reward)->to(context.device(), context.compute_dtype());
    (*reward)->eval();
  }
  const auto files = context.agree([&] { return model::read_model_tokenizer(policy_path); });
  const std::unique_ptr<text::Tokenizer> tokenizer = context.agree([&] {
    if (!files) RSO_THROW(DataError, policy_path + " has no tokenizer: the gold reward reads text");
    return text::make_tokenizer(*files);
  });
  const Judges judges = judges_source();
  const std::optional<text::Dictionary> dictionary = context.agree([&]() -> std::optional<text::Dictionary> {
    if (ec.dictionary.empty() || !fs::exists(ec.dictionary)) return std::nullopt;
    return text::Dictionary::from_file(ec.dictionary);
  });
  ProxyJudge proxy(reward ? &*reward : nullptr, head, scorer, *tokenizer, context.device());
  const std::int64_t new_tokens = config.sample.max_new_tokens;
  const PromptLimit limit = proxy.limit(std::min(policy->options().max_positions(), reference->options().max_positions()), new_tokens);
  context.agree([&] { require_room_for_a_prompt(limit, new_tokens); });
  const std::vector<Prompt> prompts = context.agree([&] { return read_prompts(prompts_path, *tokenizer, limit); });

  const ShardRange range = shard_range(prompts.size(), context.rank(), context.size());
  std::vector<double> figures(prompts.size() * kFigures, 0.0);  // [prompt][figure], summed over ranks
  std::vector<double> totals(Totals::kSize, 0.0);
  const std::string samples_path = (output / "samples.jsonl").string();
  if (context.is_root()) fs::create_directories(output);
  context.barrier();
  ShareProgress progress("eval", "prompts", config.log.progress_seconds, context.is_root());
  const EvalModels models{policy, reference, proxy, judges, *tokenizer, dictionary ? &*dictionary : nullptr, context.device()};
  context.agree([&] {
    std::ofstream samples_out(shard_part_path(samples_path, context.rank()), std::ios::trunc);
    if (!samples_out) RSO_THROW(IoError, "cannot write " + shard_part_path(samples_path, context.rank()));
    at::NoGradGuard no_grad;
    constexpr std::uint64_t kBatch = 8;
    for (std::uint64_t begin = range.begin; begin < range.end; begin += kBatch) {
      const std::uint64_t end = std::min(range.end, begin + kBatch);
      evaluate_batch(models, config, prompts, begin, end, figures, totals, samples_out);
      progress.update(end - range.begin, range.size());
    }
  });
  join_shard_parts(context, samples_path);
  std::vector<double> all(figures.size()), sums(totals.size());
  boost::mpi::all_reduce(context.world(), figures.data(), static_cast<int>(figures.size()), all.data(), std::plus<double>());
  boost::mpi::all_reduce(context.world(), totals.data(), static_cast<int>(totals.size()), sums.data(), std::plus<double>());

  nlohmann::ordered_json report = {{"policy", policy_path},
                                   {"reference", reference_path},
                                   {"reward_model", reward_path},
                                   {"reward_kind", proxy.kind()},
                                   {"proxy", proxy.describe(reward_path)},
                                   {"gold_reward", judges.gold_reward_name},
                                   {"prompts", prompts.size()},
                                   {"samples_per_prompt", ec.samples_per_prompt}};
  // What produced the policy, as far as this config says: labels for plots.
  report["run"] = {{"source", enum_name(config.sample.source, kPairSourceNames)},
                   {"loss", enum_name(config.train.loss, kLossKindNames)},
                   {"beta", config.sample.beta},
                   {"num_candidates", config.sample.num_candidates},
                   {"pairs", enum_name(config.sample.pairs, kPairStrategyNames)},
                   {"scorer", config.sample.scorer},
                   {"seed", config.run.seed}};
  nlohmann::ordered_json metrics;
  for (int k = 0; k < kFigures; ++k) {
    std::vector<double> per_prompt;
    for (std::size_t i = 0; i < prompts.size(); ++i) per_prompt.push_back(all[i * kFigures + static_cast<std::size_t>(k)]);
    const Estimate e = estimate(per_prompt);
    metrics[kFigureNames[k]] = {{"mean", e.mean}, {"ci95", e.ci95}};
  }
  report["metrics"] = metrics;
  if (dictionary)
    report["dictionary_words"] = {{"word_list", ec.dictionary},
                                  {"policy", ratio(sums[Totals::kKnownPolicy], sums[Totals::kWordsPolicy])},
                                  {"policy_words", sums[Totals::kWordsPolicy]},
                                  {"reference", ratio(sums[Totals::kKnownReference], sums[Totals::kWordsReference])},
                                  {"reference_words", sums[Totals::kWordsReference]}};
  report["proxy_on_reference_pairs"] = {{"pairs", sums[Totals::kCheckedPairs]},
                                        {"agreement", ratio(sums[Totals::kAgreements], sums[Totals::kCheckedPairs])}};
  // The judges against people's labels, when the caller has them.
  if (!judges.labelled_sentences.empty())
    report["judges_on_labelled_sentences"] = score_judges(context, judges, proxy, *tokenizer);
  context.agree([&] {
    if (!context.is_root()) return;
    write_file_atomic(output / "report.json", report.dump(2) + "\n");
    write_file_atomic(output / "report.md", report_markdown(report, judges));
    plot_reports({{"", output / "report.json"}}, output / "win_rate_vs_kl.png");
    spdlog::info("eval: gold win rate {:.3f} ± {:.3f}, proxy win rate {:.3f} ± {:.3f}, KL/token {:.4f}; {}",
                 metrics["gold_win_rate"]["mean"].get<double>(), metrics["gold_win_rate"]["ci95"].get<double>(),
                 metrics["proxy_win_rate"]["mean"].get<double>(), metrics["proxy_win_rate"]["ci95"].get<double>(),
                 metrics["kl_per_token"]["mean"].get<double>(), (output / "report.md").string());
    spdlog::info("eval: nonzero gold reward: policy {:.3f}, reference {:.3f}; proxy agrees with the gold reward on "
                 "{:.3f} of {} pairs of reference samples{}",
                 metrics["nonzero_gold_share_policy"]["mean"].get<double>(),
                 metrics["nonzero_gold_share_reference"]["mean"].get<double>(),
                 report["proxy_on_reference_pairs"]["agreement"].get<double>(),
                 report["proxy_on_reference_pairs"]["pairs"].get<double>(),
                 dictionary ? fmt::format("; dictionary words: policy {:.3f}, reference {:.3f}",
                                          report["dictionary_words"]["policy"].get<double>(),
                                          report["dictionary_words"]["reference"].get<double>())
                            : std::string());
  });
  return report;
}

std::string report_markdown(const nlohmann::ordered_json& report, const Judges& judges) {
  const auto& metrics = report["metrics"];
  std::string md = "# rso eval\n\nPolicy `" + report["policy"].get<std::string>() + "` against `" +
                   report["reference"].get<std::string>() + "` on " + std::to_string(report["prompts"].get<std::size_t>()) +
                   " held-out prompts, " + std::to_string(report["samples_per_prompt"].get<std::int64_t>()) +
                   " responses each. Proxy judge: " + report["proxy"].get<std::string>() +
                   "; gold judge: " + judges.gold_reward_short_name + ". Ties count half. Means over prompts "
                   "with 95% intervals (1.96 sd / sqrt(prompts)).\n\n| figure | mean | 95% interval |\n|---|---|---|\n";
  for (int k = 0; k < kFigures; ++k) {
    if (!metrics.contains(kFigureNames[k])) continue;
    const auto& m = metrics[kFigureNames[k]];
    md += fmt::format("| {} | {:.4f} | ± {:.4f} |\n", kFigureNames[k], m["mean"].get<double>(), m["ci95"].get<double>());
  }
  if (report.contains("dictionary_words")) {
    const auto& d = report["dictionary_words"];
    md += fmt::format("\nWords in the word list `{}`: {:.1f}% of the policy's {:.0f} words, {:.1f}% of the reference's "
                      "{:.0f}.\n",
                      d["word_list"].get<std::string>(), 100 * d["policy"].get<double>(), d["policy_words"].get<double>(),
                      100 * d["reference"].get<double>(), d["reference_words"].get<double>());
  }
  if (report.contains("proxy_on_reference_pairs")) {
    const auto& c = report["proxy_on_reference_pairs"];
    md += fmt::format("\nThe proxy on the pairs sampling gives it (two reference samples of a prompt that the gold reward "
                      "tells apart): it agrees with the gold reward on {:.1f}% of {:.0f} pairs.\n",
                      100 * c["agreement"].get<double>(), c["pairs"].get<double>());
  }
  if (report.contains("judges_on_labelled_sentences")) {
    const auto& j = report["judges_on_labelled_sentences"];
    md += fmt::format("\nThe judges on people's labels ({} sentences of {}): the gold reward's "
                      "sign agrees with {:.1f}%; the proxy prefers the positive sentence in {:.1f}% of {} "
                      "positive/negative pairs.\n",
                      j["sentences"].get<std::size_t>(), judges.labelled_name, 100 * j["gold_accuracy"].get<double>(),
                      100 * j["proxy_pair_accuracy"].get<double>(), j["proxy_pairs"].get<std::size_t>());
  }
  md += "\nWin rates above 0.5 favour the trained policy. `kl_per_token` is KL(policy ‖ reference) per token, summed "
        "exactly over the vocabulary at each step of the policy's own samples (temperature 1, no top-k or top-p), "
        "divided by their length. `nonzero_gold_share_*` is the share of responses with a sentiment word. Every "
        "response: `samples.jsonl`.\n";
  return md;
}

}  // namespace rso::eval
