#include "rso/task/builtin_task.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <spdlog/spdlog.h>

#include <boost/mpi/collectives/all_reduce.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rso/core/error.hpp"
#include "rso/core/run_layout.hpp"
#include "rso/core/progress.hpp"
#include "rso/core/random.hpp"
#include "rso/dist/sharded_output.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/io/utf8.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/generate.hpp"
#include "rso/sampling/sampling_options.hpp"
#include "rso/task/fortunes.hpp"
#include "rso/text/sentencepiece.hpp"
#include "rso/text/tokenizer_files.hpp"

namespace rso::task {

namespace fs = std::filesystem;

TaskPaths task_paths(const Config& config) {
  const RunLayout layout(config.run.dir);
  TaskPaths p;
  p.data = layout.data_dir().string();
  p.corpus = layout.data("corpus.txt").string();
  p.sft = layout.data("sft.jsonl").string();
  p.eval_prompts = layout.data("eval_prompts.jsonl").string();
  p.pair_prompts = layout.data("pair_prompts.jsonl").string();
  p.prompts = layout.data("prompts.jsonl").string();
  p.validation_prompts = layout.data("validation_prompts.jsonl").string();
  p.pairs = layout.data("pairs.jsonl").string();
  p.policy_pairs = layout.data("policy_pairs.jsonl").string();
  p.task_json = layout.data("task.json").string();
  p.tokenizer = layout.tokenizer_model().string();
  p.init = layout.init_model().string();
  return p;
}

VaderScorer load_gold_scorer(const Config& config) { return VaderScorer::from_lexicon_file(config.task.lexicon); }

namespace {

// The first `words` words of a quote, and the rest.
std::pair<std::string, std::string> split_quote(const std::string& quote, std::int64_t words) {
  std::size_t at = 0;
  for (std::int64_t w = 0; w < words && at != std::string::npos; ++w) at = quote.find(' ', at + (w == 0 ? 0 : 1));
  if (at == std::string::npos) return {quote, ""};
  return {quote.substr(0, at), quote.substr(at)};  // the response keeps its leading space
}

std::string prompt_line(std::size_t id, const std::string& prompt) {
  return to_jsonl_line(nlohmann::ordered_json{{"id", std::to_string(id)}, {"prompt", prompt}});
}

}  // namespace

bool prepare_task_data(DistContext& context, const Config& config) {
  const TaskPaths paths = task_paths(config);
  const TaskConfig& tc = config.task;
  if (context.decide([&] { return fs::exists(paths.task_json); })) return false;
  context.agree([&] {
    if (!context.is_root()) return;
    QuoteFilter filter;
    filter.min_words = static_cast<std::size_t>(tc.min_words);
    filter.max_words = static_cast<std::size_t>(tc.max_words);
    std::vector<std::string> quotes = read_fortune_quotes(tc.fortunes, filter);
    RandomStream stream({config.run.seed, Stage::corpus, 0, 0});
    const std::vector<std::size_t> order = stream.permutation(quotes.size());
    std::size_t used = quotes.size();
    if (tc.max_quotes > 0) used = std::min<std::size_t>(used, static_cast<std::size_t>(tc.max_quotes));
    const auto held = static_cast<std::size_t>(std::llround(tc.holdout * static_cast<double>(used)));
    if (held < static_cast<std::size_t>(tc.eval_prompts + 1))
      RSO_THROW(ConfigError, "task: " + std::to_string(held) + " held-out quotes cannot give " +
                                 std::to_string(tc.eval_prompts) +
                                 " eval prompts and sampling prompts; raise task.holdout or lower task.eval_prompts");
    if (used - held < static_cast<std::size_t>(tc.pair_prompts))
      RSO_THROW(ConfigError, "task: " + std::to_string(used - held) + " training quotes cannot give " +
                                 std::to_string(tc.pair_prompts) + " pair prompts; lower task.pair_prompts");
    fs::create_directories(paths.data);
    std::string corpus, sft, eval_prompts, pair_prompts, prompts;
    std::size_t sft_examples = 0, sampling = 0;
    for (std::size_t k = 0; k < used - held; ++k) {
      const std::string& quote = quotes[order[k]];
      corpus += quote + "\n";
      const auto [prompt, response] = split_quote(quote, tc.prompt_words);
      // A pair prompt keeps its quote's own continuation: one of the
      // responses people's pairs can hold.
      if (k < static_cast<std::size_t>(tc.pair_prompts))
        pair_prompts += to_jsonl_line(nlohmann::ordered_json{{"id", std::to_string(k)}, {"prompt", prompt}, {"response", response}}) + "\n";
      if (response.empty()) continue;
      sft += to_jsonl_line(nlohmann::ordered_json{{"prompt", prompt}, {"response", response}}) + "\n";
      ++sft_examples;
    }
    // Held-out quotes: eval prompts, then sampling prompts, then validation
    // prompts (settings are tuned on those, results reported on the eval ones).
    std::string validation_prompts;
    std::size_t validation = 0;
    for (std::size_t k = used - held, n = 0; k < used; ++k, ++n) {
      const std::string prompt = split_quote(quotes[order[k]], tc.prompt_words).first;
      if (n < static_cast<std::size_t>(tc.eval_prompts)) eval_prompts += prompt_line(n, prompt) + "\n";
      else if (sampling < static_cast<std::size_t>(tc.sample_prompts)) prompts += prompt_line(sampling++, prompt) + "\n";
      else if (validation < static_cast<std::size_t>(tc.validation_prompts))
        validation_prompts += prompt_line(validation++, prompt) + "\n";
    }
    write_file_atomic(paths.validation_prompts, validation_prompts);
    write_file_atomic(paths.corpus, corpus);
    write_file_atomic(paths.sft, sft);
    write_file_atomic(paths.eval_prompts, eval_prompts);
    write_file_atomic(paths.pair_prompts, pair_prompts);
    write_file_atomic(paths.prompts, prompts);
    const nlohmann::ordered_json summary = {{"source", tc.fortunes},
                                            {"quotes_read", quotes.size()},
                                            {"quotes_used", used},
                                            {"sft_examples", sft_examples},
                                            {"eval_prompts", tc.eval_prompts},
                                            {"pair_prompts", tc.pair_prompts},
                                            {"sample_prompts", sampling},
                                            {"validation_prompts", validation}};
    write_file_atomic(paths.task_json, summary.dump(2) + "\n");  // last: marks the stage done
    spdlog::info("data: {} quotes from {}: {} SFT examples, {} eval, {} pair, {} sampling and {} validation prompts",
                 used, tc.fortunes, sft_examples, tc.eval_prompts, tc.pair_prompts, sampling, validation);
  });
  return true;
}

bool train_task_tokenizer(DistContext& context, const Config& config) {
  const TaskPaths paths = task_paths(config);
  if (context.decide([&] { return fs::exists(paths.tokenizer); })) return false;
  context.agree([&] {
    if (!context.is_root()) return;
    fs::create_directories(fs::path(paths.tokenizer).parent_path());
    const std::string prefix = paths.tokenizer.substr(0, paths.tokenizer.size() - std::string(".model").size());
    text::train_sentencepiece(paths.corpus, prefix,
                              {{"vocab_size", std::to_string(config.task.vocab_size)},
                               {"model_type", "unigram"},
                               {"character_coverage", "0.9995"},
                               {"byte_fallback", "true"},
                               {"hard_vocab_limit", "false"}});
    spdlog::info("tokenizer: {} ({} pieces)", paths.tokenizer, config.task.vocab_size);
  });
  return true;
}

bool make_initial_policy(DistContext& context, const Config& config) {
  const TaskPaths paths = task_paths(config);
  if (context.decide([&] { return fs::exists(paths.init); })) return false;
  context.agree([&] {
    if (!context.is_root()) return;
    const text::TokenizerFiles files = text::read_tokenizer_files(paths.tokenizer);
    const std::int64_t vocab = text::make_tokenizer(files)->vocab_size();
    const ModelConfig& m = config.model;
    const auto options = model::TransformerOptions()
                             .vocab_size(vocab)
                             .hidden_size(m.hidden_size)
                             .num_layers(m.num_layers)
                             .num_heads(m.num_heads)
                             .num_kv_heads(m.num_kv_heads)
                             .intermediate_size(m.intermediate_size)
                             .max_positions(m.max_positions);
    at::manual_seed(config.run.seed);  // the initial weights are a function of the seed
    model::Transformer policy(options);
    model::save_model(policy, paths.init, &files);
    std::int64_t parameters = 0;
    for (const auto& p : policy->parameters()) parameters += p.numel();
    spdlog::info("init: {} ({:.1f}M parameters, vocabulary {})", paths.init, parameters / 1e6, vocab);
  });
  return true;
}

namespace {

struct TaskPrompt {
  std::string text;
  std::vector<std::int64_t> tokens;
};

// The simulated rater: a Bradley–Terry draw on the gold reward; true when the
// first response is preferred.
// `stream` keeps the draws of different sets of pairs apart.
bool rater_prefers_first(const Config& config, std::uint64_t index, double g_first, double g_second,
                         std::uint32_t stream = 7) {
  RandomStream rater({config.run.seed, Stage::label, index, stream});
  return rater.bernoulli(1.0 / (1.0 + std::exp(-(g_first - g_second) / config.task.rater_temperature)));
}

// `pairs_per_prompt` pairs of samples of `policy` (two samples each) drawn
// with `sampling` for each prompt, sharded over ranks, judged by the gold
// reward: `winner(n, gold)` says which response of pair n (prompt i's k-th
// pair is n = i * pairs_per_prompt + k) is chosen (0 or 1), or -1 to leave the
// pair out. Kept pairs go to
// `output` as {prompt, chosen, rejected} with their token ids as sampled
// (end-of-sequence kept where a sample ended) and gold rewards. Returns the
// pairs kept over all ranks.
std::uint64_t write_sampled_pairs(DistContext& context, const Config& config, model::Transformer& policy,
                                  const text::Tokenizer& tokenizer, const VaderScorer& gold,
                                  const std::vector<TaskPrompt>& prompts, std::int64_t pairs_per_prompt,
                                  model::SamplingOptions sampling, std::uint64_t seed, const std::string& output,
                                  const char* what,
                                  const std::function<int(std::uint64_t, const double (&)[2])>& winner) {
  const ShardRange range = shard_range(prompts.size(), context.rank(), context.size());
  sampling.max_new_tokens = config.sample.max_new_tokens;
  sampling.eos_id = tokenizer.eos_id();
  const std::string part = shard_part_path(output, context.rank());
  ShareProgress progress(what, "prompts", config.log.progress_seconds, context.is_root());
  std::uint64_t kept = 0;
  context.agree([&] {
    std::ofstream out(part, std::ios::trunc);
    if (!out) RSO_THROW(IoError, "cannot write " + part);
    at::NoGradGuard no_grad;
    constexpr std::uint64_t kBatch = 16;
    for (std::uint64_t begin = range.begin; begin < range.end; begin += kBatch) {
      const std::uint64_t end = std::min(range.end, begin + kBatch);
      std::vector<model::PromptToSample> batch;
      for (std::uint64_t i = begin; i < end; ++i) batch.push_back({prompts[i].tokens, i});
      const auto samples = model::generate(policy, batch, 2 * pairs_per_prompt, sampling, seed);
      for (std::uint64_t i = begin; i < end; ++i) {
        for (std::int64_t k = 0; k < pairs_per_prompt; ++k) {
          std::vector<std::int64_t> y[2];
          std::string text[2];
          double g[2];
          for (int c = 0; c < 2; ++c) {
            y[c] = samples[i - begin][static_cast<std::size_t>(2 * k + c)].tokens;
            std::vector<std::int64_t> words = y[c];
            if (!words.empty() && words.back() == tokenizer.eos_id()) words.pop_back();
            text[c] = replace_invalid_utf8(tokenizer.decode(words));
            g[c] = gold.compound(text[c]);
          }
          const int w = winner(i * static_cast<std::uint64_t>(pairs_per_prompt) + static_cast<std::uint64_t>(k), g);
          if (w < 0) continue;
          ++kept;
          const int l = 1 - w;
          out << to_jsonl_line(nlohmann::ordered_json{{"prompt", prompts[i].text},
                                                      {"chosen", text[w]},
                                                      {"rejected", text[l]},
                                                      {"prompt_ids", prompts[i].tokens},
                                                      {"chosen_ids", y[w]},
                                                      {"rejected_ids", y[l]},
                                                      {"gold_chosen", g[w]},
                                                      {"gold_rejected", g[l]}})
              << "\n";
        }
      }
      progress.update(end - range.begin, range.size());
    }
  });
  join_shard_parts(context, output);
  return boost::mpi::all_reduce(context.world(), kept, std::plus<std::uint64_t>());
}

// D_hf from people's text: per pair prompt, the first response is the
// quote's own continuation (with probability task.own_continuation_share) or
// another quote's, the second another quote's. Written by rank 0 as text:
// readers end each response with end-of-sequence, as SFT responses end. The
// lines of `also` (a JSONL file of other pairs, if not empty) follow them in
// the same atomic write, so pairs.jsonl is whole or absent.
std::uint64_t write_corpus_pairs(const Config& config, const TaskPaths& paths, const VaderScorer& gold,
                                 const std::string& also) {
  std::vector<std::string> continuations;  // every SFT response: the pool of "other" continuations
  {
    JsonlReader reader(paths.sft);
    while (reader.next()) continuations.push_back(reader.record().string("response"));
  }
  if (continuations.size() < 3) RSO_THROW(DataError, paths.sft + ": too few SFT examples to draw D_hf responses from");
  std::string lines;
  std::uint64_t prompts = 0, drawn = 0, kept = 0, own_kept = 0;
  JsonlReader reader(paths.pair_prompts);
  while (reader.next()) {
    const JsonlRecord record = reader.record();
    const std::uint64_t i = prompts++;
    const std::string prompt = record.string("prompt");
    const std::string own = record.has("response") ? record.string("response") : "";
    for (std::int64_t k = 0; k < config.task.pairs_per_prompt; ++k) {
      ++drawn;
      RandomStream draw({config.run.seed, Stage::human_pairs, i, static_cast<std::uint32_t>(k)});
      auto other = [&](const std::string& not_this) {
        for (;;) {  // another quote's continuation, never the same text as `not_this` or the own one
          const std::string& pick = continuations[draw.below(continuations.size())];
          if (pick != not_this && pick != own) return pick;
        }
      };
      const bool use_own = !own.empty() && draw.bernoulli(config.task.own_continuation_share);
      const std::string first = use_own ? own : other("");
      const std::string second = other(first);
      const double g[2] = {gold.compound(first), gold.compound(second)};
      if (config.task.rater_skips_ties && g[0] == g[1]) continue;
      ++kept;
      own_kept += use_own ? 1 : 0;
      const bool first_wins = rater_prefers_first(config, i * static_cast<std::uint64_t>(config.task.pairs_per_prompt) +
                                                              static_cast<std::uint64_t>(k),
                                                  g[0], g[1]);
      const std::string* text[2] = {&first, &second};
      const char* source[2] = {use_own ? "own" : "other", "other"};
      const int w = first_wins ? 0 : 1, l = 1 - w;
      lines += to_jsonl_line(nlohmann::ordered_json{{"prompt", prompt},
                                                    {"chosen", *text[w]},
                                                    {"rejected", *text[l]},
                                                    {"gold_chosen", g[w]},
                                                    {"gold_rejected", g[l]},
                                                    {"chosen_source", source[w]},
                                                    {"rejected_source", source[l]}}) +
               "\n";
    }
  }
  if (!also.empty()) {
    std::ifstream in(also, std::ios::binary);
    if (!in) RSO_THROW(IoError, "cannot read " + also);
    lines.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  write_file_atomic(paths.pairs, lines);
  spdlog::info("pairs: {} human pairs from people's text on {} prompts ({} of {} drawn declined as ties; {} hold the "
               "prompt's own continuation) in {}",
               kept, prompts, drawn - kept, drawn, own_kept, paths.pairs);
  return kept;
}

}  // namespace

bool simulate_human_pairs(DistContext& context, const Config& config, const std::string& sft_policy,
                          const std::function<model::Transformer()>& early_policy) {
  const TaskPaths paths = task_paths(config);
  const TaskConfig& tc = config.task;
  const bool want_check = tc.check_prompts > 0;
  if (context.decide([&] { return fs::exists(paths.pairs) && (!want_check || fs::exists(paths.policy_pairs)); }))
    return false;
  model::Transformer policy = context.agree([&] { return model::load_model(sft_policy); });
  policy->to(context.device(), context.compute_dtype());
  policy->eval();
  const auto files = context.agree([&] { return model::read_model_tokenizer(sft_policy); });
  const std::unique_ptr<text::Tokenizer> tokenizer = files ? text::make_tokenizer(*files) : nullptr;
  const VaderScorer gold = context.agree([&] {
    if (!tokenizer) RSO_THROW(DataError, sft_policy + " has no tokenizer: the gold reward reads text");
    return load_gold_scorer(config);
  });
  auto read_prompts = [&](const std::string& path, std::int64_t limit) {
    return context.agree([&] {
      std::vector<TaskPrompt> out;
      JsonlReader reader(path);
      while ((limit < 0 || static_cast<std::int64_t>(out.size()) < limit) && reader.next())
        out.push_back({reader.record().string("prompt"), {}});
      for (auto& p : out) p.tokens = tokenizer->encode(p.text);
      return out;
    });
  };

  // The check of the proxy on the pairs rso sample will rank: SFT samples on
  // sampling prompts, drawn as rso sample draws them, the higher gold reward
  // chosen, ties dropped.
  if (want_check) {
    const std::vector<TaskPrompt> prompts = read_prompts(paths.prompts, tc.check_prompts);
    const std::uint64_t total = write_sampled_pairs(
        context, config, policy, *tokenizer, gold, prompts, tc.check_pairs_per_prompt, sampling_options(config),
        config.run.seed ^ fnv1a64("policy pairs"), paths.policy_pairs, "policy pairs",
        [](std::uint64_t, const double(&g)[2]) { return g[0] == g[1] ? -1 : g[0] > g[1] ? 0 : 1; });
    if (context.is_root())
      spdlog::info("pairs: {} pairs of SFT samples on {} sampling prompts with a gold preference ({} ties dropped), "
                   "to check the proxy on: {}",
                   total, prompts.size(), prompts.size() * static_cast<std::uint64_t>(tc.check_pairs_per_prompt) - total,
                   paths.policy_pairs);
  }

  // Responses of a weaker policy, as the paper's D_hf also holds other
  // models' responses: pairs of two samples of an early SFT checkpoint.
  std::string early_pairs;
  std::uint64_t early = 0;
  if (early_policy && tc.human_responses != HumanResponses::corpus)
    context.agree([] { RSO_THROW(ConfigError, "task.early_policy_step adds to corpus D_hf only (task.human_responses=corpus)"); });
  if (early_policy) {
    model::Transformer weaker = context.agree([&] { return early_policy(); });
    weaker->to(context.device(), context.compute_dtype());
    weaker->eval();
    const std::vector<TaskPrompt> prompts = read_prompts(paths.pair_prompts, tc.early_pair_prompts);
    model::SamplingOptions own_distribution;  // temperature 1: the policy's own distribution
    own_distribution.temperature = 1.0;
    early_pairs = paths.pairs + ".early";
    early = write_sampled_pairs(context, config, weaker, *tokenizer, gold, prompts, tc.early_pairs_per_prompt,
                                own_distribution,
                                config.run.seed ^ fnv1a64("early policy pairs"), early_pairs, "early-policy pairs",
                                [&](std::uint64_t i, const double(&g)[2]) {
                                  if (tc.rater_skips_ties && g[0] == g[1]) return -1;
                                  return rater_prefers_first(config, i, g[0], g[1], 8) ? 0 : 1;
                                });
    if (context.is_root())
      spdlog::info("pairs: {} simulated human pairs of the SFT checkpoint at step {} on {} prompts ({} declined as ties)",
                   early, tc.early_policy_step, prompts.size(),
                   prompts.size() * static_cast<std::uint64_t>(tc.early_pairs_per_prompt) - early);
  }

  std::uint64_t pairs = 0;
  if (tc.human_responses == HumanResponses::corpus) {
    pairs = context.agree([&] { return context.is_root() ? write_corpus_pairs(config, paths, gold, early_pairs) : 0; });
    pairs = boost::mpi::all_reduce(context.world(), pairs, std::plus<std::uint64_t>()) + early;
    if (!early_pairs.empty()) context.agree([&] {
        if (context.is_root()) fs::remove(early_pairs);
      });
  } else {
    const std::vector<TaskPrompt> prompts = read_prompts(paths.pair_prompts, -1);
    model::SamplingOptions own_distribution;  // temperature 1: raters see the SFT policy's own samples
    own_distribution.temperature = 1.0;
    pairs = write_sampled_pairs(context, config, policy, *tokenizer, gold, prompts, 1, own_distribution,
                                config.run.seed ^ fnv1a64("human pairs"), paths.pairs, "pairs",
                                [&](std::uint64_t i, const double(&g)[2]) {
                                  // A pair with nothing to tell apart may be declined.
                                  if (tc.rater_skips_ties && g[0] == g[1]) return -1;
                                  return rater_prefers_first(config, i, g[0], g[1]) ? 0 : 1;
                                });
    if (context.is_root())
      spdlog::info("pairs: {} simulated human pairs of SFT samples from {} prompts ({} declined as ties) in {}", pairs,
                   prompts.size(), prompts.size() - pairs, paths.pairs);
  }
  if (pairs == 0) context.agree([] { RSO_THROW(DataError, "the simulated raters declined every pair (no response has a sentiment "
                                                            "word): no D_hf; raise task.pair_prompts or set "
                                                            "task.rater_skips_ties=false"); });
  return true;
}

}  // namespace rso::task

#include "rso/io/json_file.hpp"

namespace rso::task {

std::vector<LabelledSentence> read_labelled_sentences(const std::string& directory) {
  std::vector<LabelledSentence> sentences;
  for (const char* source : {"imdb", "yelp", "amazon"}) {
    const std::string path = (fs::path(directory) / (std::string(source) + ".json")).string();
    const nlohmann::json items = read_json_file(path);
    if (!items.is_array()) RSO_THROW(DataError, path + ": expected a JSON array of {\"text\", \"class\"}");
    for (const auto& item : items) {
      if (!item.is_object() || !item.contains("text") || !item.contains("class"))
        RSO_THROW(DataError, path + ": every item needs \"text\" and \"class\"");
      // Each file ends with {"text": "", "class": null}: not a sentence.
      if (item["class"].is_null() || !item["text"].is_string() || item["text"].get<std::string>().empty()) continue;
      std::string text = item["text"].get<std::string>();
      while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.pop_back();
      sentences.push_back({source, text, item["class"].get<int>() == 1});
    }
  }
  return sentences;
}

}  // namespace rso::task
