// The subcommands of the rso binary and the options they share.
//
// src/cli/app.cpp wires these to the command line (CLI11); each command's
// body lives in its own file under src/cli/ and sees only plain options.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rso/core/config.hpp"
#include "rso/dist/dist_context.hpp"
#include "rso/eval/csv_plot.hpp"
#include "rso/eval/judges.hpp"
#include "rso/io/run_directory_lock.hpp"
#include "rso/text/tokenizer_files.hpp"

namespace rso::sampling {
class TextScorer;
}

namespace rso::cli {

// Options every configurable command takes.
struct ConfigOptions {
  std::string config_path;             // --config FILE (or positional for pipeline)
  std::vector<std::string> overrides;  // --set key=value, repeatable
  std::string run_dir;                 // --run-dir DIR: shorthand for --set run.dir=DIR
  bool print_config = false;           // --print-config: show the resolved config and exit
};

struct GenerateOptions {
  ConfigOptions config;
  std::string model, input, output;
  std::optional<double> temperature, top_p;
  std::optional<std::int64_t> top_k, max_new_tokens, num_samples;
  std::optional<std::uint64_t> seed;
  bool greedy = false;
  std::string tokenizer;                // --tokenizer: overrides the model's own
  std::optional<std::int64_t> eos_id;  // unset: the tokenizer's end-of-sequence id
  std::int64_t batch_size = 8;
};

struct SelectOptions {
  ConfigOptions config;
  std::string input, output, pairs_output;
  std::optional<double> beta;
  std::optional<std::int64_t> num_samples;
  std::optional<std::uint64_t> seed;
  std::string pairs;                 // "first-round" or "tournament"; empty: sample.pairs
  bool collapse_duplicates = false;  // sample only distinct responses
  std::string scorer;                // --scorer gold|exec:COMMAND: rewards computed, not read
};

struct TokenizerTrainOptions {
  std::string corpus, output;  // --corpus FILE (one text per line), --out PREFIX.model
  std::int64_t vocab_size = 8000;
  std::string model_type = "unigram";
  double character_coverage = 0.9995;
  bool byte_fallback = false;
  std::vector<std::string> extra;  // --spm FLAG=VALUE, passed to SentencePiece
};

// Loads and validates the config on every rank (errors agreed, reported once).
Config resolve_config(const DistContext& context, const ConfigOptions& options);

// Rank 0 takes the run directory's lock (rso/io/run_directory_lock.hpp) for
// the command's lifetime; IoError on every rank when another process holds
// it. Other ranks hold nothing.
io::RunDirectoryLock claim_run_directory(const DistContext& context, const Config& config, const std::string& command);

// Rank 0 logs the resolved config and its hash, and writes it to
// <run.dir>/config.yaml only when there is none yet: a command that is then
// refused (its parameters differ from the run directory's) leaves the
// directory as it was.
void record_config_at_start(const DistContext& context, const Config& config);

// Rank 0 writes the resolved config to <run.dir>/config.yaml (atomically)
// when it differs from what is there: called once a command has done its
// work (or checkpointed to be requeued).
void record_config(const DistContext& context, const Config& config);

// The tokenizer at `path`: an rso model checkpoint's own, a SentencePiece
// .model, a tokenizer.json or a directory of tokenizer files.
text::TokenizerFiles tokenizer_from(const std::string& path);

// The reward function that `value` (of config key `key`: sample.scorer,
// --scorer) names: the built-in task's gold reward, or an external scorer
// process on this rank; null for "model" (a trained reward model scores).
// Collective: a bad value or a scorer that cannot start fails every rank.
std::unique_ptr<sampling::TextScorer> make_text_scorer(const DistContext& context, const Config& config,
                                                       const std::string& value, const std::string& key);

// The built-in task's judges for `rso eval`: VADER's compound score of the
// response (task.lexicon) and, where task.labelled holds them, the npm
// package `sentiment`'s labelled sentences. Collective (a bad file fails
// every rank).
eval::Judges builtin_judges(const DistContext& context, const Config& config);

// Entry point: parses argv and runs the chosen command; returns the exit status.
int run_cli(DistContext& context, int argc, char** argv);

// With --print-config: rank 0 prints the resolved config; returns whether it did.
bool print_config_if_asked(const DistContext& context, const ConfigOptions& options, const Config& config);

int run_env(DistContext& context, const ConfigOptions& options);
int run_inspect(DistContext& context, const std::string& path);
// `until`: the last stage to run (empty: all); an unknown name is a usage error.
int run_pipeline(DistContext& context, const ConfigOptions& options, const std::string& until = "");
// Reports: "report.json", a run directory, or "LABEL=PATH".
int run_plot(DistContext& context, const std::vector<std::string>& reports, const std::string& output);
int run_plot_csv(DistContext& context, const eval::CsvPlotSpec& spec, const std::string& output);
int run_generate(DistContext& context, const GenerateOptions& options);
int run_import_hf(DistContext& context, const std::string& directory, const std::string& output,
                  const std::string& tokenizer);
int run_select(DistContext& context, const SelectOptions& options);
// The three training commands share their options and exits: 0 when done,
// 75 (requeue) when stopped by a signal or --stop-after-step after a checkpoint.
enum class Trainer { sft, reward, preference };
struct TrainOptions {
  ConfigOptions config;
  std::string resume = "never";  // or "auto"
  std::int64_t stop_after_step = -1;
};
int run_trainer(DistContext& context, Trainer trainer, const TrainOptions& options);
// Exit 0 when every block is done, 75 (requeue) when --max-blocks stopped it first.
int run_sample(DistContext& context, const ConfigOptions& options, std::int64_t max_blocks);
int run_tokenizer_train(DistContext& context, const TokenizerTrainOptions& options);
// Print one JSON line {"text", "ids"} per text, or for the ids.
int run_tokenizer_encode(DistContext& context, const std::string& tokenizer, const std::vector<std::string>& texts);
int run_tokenizer_decode(DistContext& context, const std::string& tokenizer, const std::vector<std::int64_t>& ids);
int run_export_hf(DistContext& context, const std::string& model_path, const std::string& directory);
// Writes <eval.output>/report.{json,md} and samples.jsonl.
int run_eval(DistContext& context, const ConfigOptions& options);

}  // namespace rso::cli
