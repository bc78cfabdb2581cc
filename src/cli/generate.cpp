// `rso generate`: sample continuations of JSONL prompts from a model,
// sharded over ranks by global line index, output in input order.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rso/io/output_path.hpp"
#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/core/progress.hpp"
#include "rso/dist/sharded_output.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/generate.hpp"
#include "rso/text/record_tokens.hpp"
#include "rso/sampling/sampling_options.hpp"
#include "rso/io/utf8.hpp"
#include "rso/text/tokenizer_files.hpp"

namespace rso::cli {

namespace {

struct PromptRecord {
  nlohmann::ordered_json id;
  std::vector<std::int64_t> tokens;
};

// Reads and checks every record. All ranks read the whole file, so they
// all see the same errors and the same count before sharding. Text prompts
// go through `tokenizer` (nullptr when there is none).
// `max_prompt_tokens`: the longest prompt the model can continue by
// --max-new-tokens tokens; longer ones are refused with their line.
std::vector<PromptRecord> read_prompts(const std::string& path, std::int64_t vocab_size,
                                       const text::Tokenizer* tokenizer, std::int64_t max_prompt_tokens) {
  std::vector<PromptRecord> all;
  JsonlReader reader(path);
  while (reader.next()) {
    const JsonlRecord record = reader.record();
    if (!record.has("id")) record.fail("id", "missing");
    PromptRecord prompt;
    prompt.id = nlohmann::ordered_json::parse(record.json()["id"].dump());
    if (record.has("prompt_ids") && record.has("prompt"))
      record.fail("prompt", "give either \"prompt\" (text) or \"prompt_ids\", not both");
    if (record.has("prompt")) {
      if (tokenizer == nullptr)
        record.fail("prompt", "text prompts need a tokenizer: the model has none; give --tokenizer or \"prompt_ids\"");
      try {
        prompt.tokens = tokenizer->encode(record.string("prompt"));
      } catch (const DataError& error) {
        record.fail("prompt", error.message());
      }
      for (std::int64_t id : prompt.tokens)
        if (id >= vocab_size)
          record.fail("prompt", "the tokenizer gives id " + std::to_string(id) + ", beyond the model's vocabulary of " +
                                    std::to_string(vocab_size));
    } else if (record.has("prompt_ids")) {
      for (double value : record.numbers("prompt_ids")) {
        if (value != std::floor(value) || value < 0 || value >= static_cast<double>(vocab_size))
          record.fail("prompt_ids", "token " + text::describe_token_value(value) + " is not a token id: ids are integers from 0 to " + std::to_string(vocab_size - 1));
        prompt.tokens.push_back(static_cast<std::int64_t>(value));
      }
    } else {
      record.fail("prompt", "missing (give \"prompt\" text or \"prompt_ids\")");
    }
    const std::string field = record.has("prompt") ? "prompt" : "prompt_ids";
    if (prompt.tokens.empty()) record.fail(field, "empty");
    if (static_cast<std::int64_t>(prompt.tokens.size()) > max_prompt_tokens)
      record.fail(field, std::to_string(prompt.tokens.size()) + " tokens; with --max-new-tokens the model's " +
                             "max_positions allows at most " + std::to_string(max_prompt_tokens));
    all.push_back(std::move(prompt));
  }
  return all;
}

}  // namespace

int run_generate(DistContext& context, const GenerateOptions& options) {
  const Config config = resolve_config(context, options.config);
  context.configure(config.dist);
  model::SamplingOptions sampling;
  sampling.temperature = options.temperature.value_or(config.sample.temperature);
  sampling.top_k = options.top_k.value_or(config.sample.top_k);
  sampling.top_p = options.top_p.value_or(config.sample.top_p);
  sampling.greedy = options.greedy;
  sampling.max_new_tokens = options.max_new_tokens.value_or(config.sample.max_new_tokens);
  sampling.decode = decode_mode(config.dist.decode);
  const std::int64_t num_samples = options.num_samples.value_or(1);
  const std::uint64_t seed = options.seed.value_or(config.run.seed);
  context.agree([&] {
    io::refuse_output_over_inputs("--out", options.output, {{"--in", options.input}, {"--model", options.model}});
    if (sampling.temperature <= 0) RSO_THROW(UsageError, "--temperature must be > 0");
    if (sampling.top_k < 0) RSO_THROW(UsageError, "--top-k must be >= 0");
    if (!(sampling.top_p > 0 && sampling.top_p <= 1)) RSO_THROW(UsageError, "--top-p must be in (0, 1]");
    if (sampling.max_new_tokens < 1) RSO_THROW(UsageError, "--max-new-tokens must be >= 1");
    if (num_samples < 1) RSO_THROW(UsageError, "--num-samples must be >= 1");
    if (options.batch_size < 1) RSO_THROW(UsageError, "--batch-size must be >= 1");
  });

  model::Transformer policy = context.agree([&] { return model::load_model(options.model); });
  policy->to(context.device(), context.compute_dtype());
  const std::unique_ptr<text::Tokenizer> tokenizer = context.agree([&]() -> std::unique_ptr<text::Tokenizer> {
    if (!options.tokenizer.empty()) return text::make_tokenizer(tokenizer_from(options.tokenizer));
    const auto stored = model::read_model_tokenizer(options.model);
    return stored ? text::make_tokenizer(*stored) : nullptr;
  });
  sampling.eos_id = options.eos_id.value_or(tokenizer ? tokenizer->eos_id() : -1);
  const std::int64_t max_prompt_tokens = policy->options().max_positions() - sampling.max_new_tokens + 1;
  if (max_prompt_tokens < 1)
    RSO_THROW(UsageError, "--max-new-tokens " + std::to_string(sampling.max_new_tokens) +
                              " leaves no room for a prompt within the model's max_positions " +
                              std::to_string(policy->options().max_positions()));
  const std::vector<PromptRecord> all = context.agree([&] {
    return read_prompts(options.input, policy->options().vocab_size(), tokenizer.get(), max_prompt_tokens);
  });
  // Contiguous shards by global line index; the index keys the random streams.
  const std::uint64_t total = all.size();
  const ShardRange range = shard_range(total, context.rank(), context.size());
  const std::uint64_t first_index = range.begin;
  const std::vector<PromptRecord> mine(all.begin() + static_cast<std::ptrdiff_t>(range.begin),
                                       all.begin() + static_cast<std::ptrdiff_t>(range.end));

  // Each rank writes its part; rank 0 joins the parts in rank order.
  const std::string part = shard_part_path(options.output, context.rank());
  ShareProgress progress("generate", "prompts", config.log.progress_seconds, context.is_root());
  context.agree([&] {
    AtomicFileWriter writer(part);
    for (std::size_t begin = 0; begin < mine.size(); begin += static_cast<std::size_t>(options.batch_size)) {
      const std::size_t end = std::min(mine.size(), begin + static_cast<std::size_t>(options.batch_size));
      std::vector<model::PromptToSample> batch;
      for (std::size_t i = begin; i < end; ++i) batch.push_back({mine[i].tokens, first_index + i});
      const auto samples = model::generate(policy, batch, num_samples, sampling, seed);
      for (std::size_t i = begin; i < end; ++i) {
        nlohmann::ordered_json line;
        line["id"] = mine[i].id;
        line["samples"] = nlohmann::ordered_json::array();
        for (const auto& sample : samples[i - begin]) {
          nlohmann::ordered_json entry;
          // The text is for reading; tokens are exact (a byte-level sample may
          // end inside a character, shown as U+FFFD).
          if (tokenizer) entry["text"] = replace_invalid_utf8(tokenizer->decode(sample.tokens));
          entry["tokens"] = sample.tokens;
          entry["logprobs"] = sample.policy_logprobs;
          entry["sampling_logprobs"] = sample.sampling_logprobs;
          line["samples"].push_back(entry);
        }
        writer.write(to_jsonl_line(line) + "\n");
      }
      progress.update(end, mine.size());
    }
    writer.commit();
  });
  join_shard_parts(context, options.output);
  if (context.is_root()) spdlog::info("generate: {} prompts x {} samples -> {}", total, num_samples, options.output);
  return exit_code::ok;
}

}  // namespace rso::cli
