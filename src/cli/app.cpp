// Command-line wiring: one subcommand per pipeline stage, common options.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"

namespace rso::cli {

namespace {

// Which options each command's --print-config resolves.
using PrintConfigTargets = std::map<CLI::App*, ConfigOptions*>;

void add_config_options(CLI::App& command, ConfigOptions& options, PrintConfigTargets& targets) {
  targets[&command] = &options;
  command.add_option("--config,-c", options.config_path, "YAML config file (defaults apply to keys it omits)")
      ->type_name("FILE");
  command.add_option("--set", options.overrides, "override one config value; repeatable")
      ->type_name("KEY=VALUE")
      ->take_all()
      ->allow_extra_args(false);
  command.add_option("--run-dir", options.run_dir, "run directory (same as --set run.dir=DIR)")
      ->type_name("DIR");
  command.add_flag("--print-config", options.print_config, "print the resolved config with its documentation and exit");
}

// --print-config on a command that reads no config: it still answers,
// with the defaults.
void add_print_config_flag(CLI::App& command, ConfigOptions& defaults, PrintConfigTargets& targets) {
  targets[&command] = &defaults;
  command.add_flag("--print-config", defaults.print_config,
                   "print the default config with its documentation and exit (this command reads no config)");
}

bool asks_for_config(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") return false;
    if (std::string(argv[i]) == "--print-config") return true;
  }
  return false;
}

// With --print-config a command only prints its resolved config: what it
// would otherwise require (a model, an input) is not needed, and it runs
// nothing.
void only_print_config(DistContext& context, const PrintConfigTargets& targets, int& status) {
  for (const auto& [command, options] : targets) {
    for (CLI::Option* option : command->get_options()) option->required(false);
    command->callback([&context, options = options, &status] {
      const Config config = resolve_config(context, *options);
      print_config_if_asked(context, *options, config);
      status = exit_code::ok;
    });
  }
}

}  // namespace

int run_cli(DistContext& context, int argc, char** argv) {
  CLI::App app{"rso: preference alignment by Statistical Rejection Sampling Optimization (RSO)", "rso"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("rso ") + version_info().rso);
  app.footer("Run under mpirun/srun for several ranks. Exit codes: see README.md.");

  int status = exit_code::ok;
  PrintConfigTargets print_targets;
  ConfigOptions defaults_options;  // --print-config of the commands that read no config
  ConfigOptions env_options, pipeline_options;
  std::string inspect_path;

  auto* pipeline = app.add_subcommand("pipeline", "run every stage into one run directory, skipping finished ones");
  // Not "config": CLI11 2.4 rejects a positional named like the --config option.
  pipeline->add_option("config_file", pipeline_options.config_path, "YAML config file")->type_name("CONFIG");
  add_config_options(*pipeline, pipeline_options, print_targets);
  std::string pipeline_until;
  pipeline->add_option("--until", pipeline_until,
                       "stop after this stage (data, tokenizer, init, sft, pairs, reward, sample, train, eval): e.g. "
                       "shared stages of a sweep")
      ->type_name("STAGE");
  pipeline->callback([&] { status = run_pipeline(context, pipeline_options, pipeline_until); });

  ConfigOptions eval_options;
  auto* eval = app.add_subcommand("eval", "win rates, gold reward and KL of the trained policy against the SFT policy");
  add_config_options(*eval, eval_options, print_targets);
  eval->callback([&] { status = run_eval(context, eval_options); });

  GenerateOptions generate_options;
  auto* generate = app.add_subcommand("generate", "sample continuations of JSONL prompts from a model (KV cache)");
  add_config_options(*generate, generate_options.config, print_targets);
  generate->add_option("--model", generate_options.model, "model checkpoint (rso.model HDF5)")->required()->type_name("MODEL.h5");
  generate->add_option("--in", generate_options.input,
                       "prompts: JSONL lines {\"id\", \"prompt\": text} or {\"id\", \"prompt_ids\": [...]}")
      ->required()->type_name("FILE");
  generate->add_option("--out", generate_options.output,
                       "output JSONL: {\"id\", \"samples\": [{\"text\", \"tokens\", \"logprobs\", \"sampling_logprobs\"}]}")
      ->required()->type_name("FILE");
  generate->add_option("--tokenizer", generate_options.tokenizer,
                       "tokenizer for text prompts and outputs (default: the model's own)")
      ->type_name("PATH");
  generate->add_option("--max-new-tokens", generate_options.max_new_tokens, "tokens per sample (default: sample.max_new_tokens)");
  generate->add_option("--temperature", generate_options.temperature, "default: sample.temperature");
  generate->add_option("--top-k", generate_options.top_k, "default: sample.top_k; 0 keeps all");
  generate->add_option("--top-p", generate_options.top_p, "default: sample.top_p; 1 keeps all");
  generate->add_flag("--greedy", generate_options.greedy, "argmax decoding (ignores temperature, top-k, top-p)");
  generate->add_option("--num-samples", generate_options.num_samples, "samples per prompt (default 1)");
  generate->add_option("--seed", generate_options.seed, "default: run.seed");
  generate->add_option("--eos-id", generate_options.eos_id,
                       "end-of-sequence token id; -1: none (default: the tokenizer's, else none)");
  generate->add_option("--batch-size", generate_options.batch_size, "prompts per forward batch")->capture_default_str();
  generate->callback([&] { status = run_generate(context, generate_options); });

  std::string hf_directory, hf_model, hf_output, hf_tokenizer;
  auto* import_hf = app.add_subcommand("import-hf", "import a Hugging Face Llama model (config.json + safetensors)");
  import_hf->add_option("directory", hf_directory, "directory with config.json and model.safetensors (or its index)")
      ->required()->type_name("DIR");
  import_hf->add_option("--out", hf_output, "rso model checkpoint to write")->required()->type_name("MODEL.h5");
  import_hf->add_option("--tokenizer", hf_tokenizer,
                        "tokenizer to store with the model (default: tokenizer.model, tokenizer.json or "
                        "encoder.json + vocab.bpe in DIR)")
      ->type_name("PATH");
  add_print_config_flag(*import_hf, defaults_options, print_targets);
  import_hf->callback([&] { status = run_import_hf(context, hf_directory, hf_output, hf_tokenizer); });
  auto* export_hf = app.add_subcommand("export-hf", "export a model as Hugging Face Llama (config.json + safetensors)");
  export_hf->add_option("model", hf_model, "rso model checkpoint")->required()->type_name("MODEL.h5");
  export_hf->add_option("--out", hf_output, "directory to write")->required()->type_name("DIR");
  add_print_config_flag(*export_hf, defaults_options, print_targets);
  export_hf->callback([&] { status = run_export_hf(context, hf_model, hf_output); });

  // The training commands: one loop, the same options.
  struct TrainCommand {
    const char* name;
    const char* summary;
    Trainer trainer;
  };
  static constexpr TrainCommand kTrainCommands[] = {
      {"sft", "supervised fine-tuning: LM loss on the responses of JSONL {prompt, response}", Trainer::sft},
      {"reward", "train the pointwise (Bradley-Terry) or ranking reward model on preference pairs", Trainer::reward},
      {"train", "preference optimisation (sigmoid-norm, hinge-norm, hinge, sigmoid) on sampled pairs",
       Trainer::preference},
  };
  std::vector<TrainOptions> trainer_options(std::size(kTrainCommands));
  for (std::size_t i = 0; i < std::size(kTrainCommands); ++i) {
    auto* command = app.add_subcommand(kTrainCommands[i].name, kTrainCommands[i].summary);
    add_config_options(*command, trainer_options[i].config, print_targets);
    command->add_option("--resume", trainer_options[i].resume, "auto: continue from the newest committed checkpoint, if any")
        ->check(CLI::IsMember({"auto", "never"}))
        ->capture_default_str();
    command->add_option("--stop-after-step", trainer_options[i].stop_after_step,
                        "checkpoint and exit 75 after this step, as SIGUSR1/SIGTERM do (-1: never)")
        ->capture_default_str();
    command->callback([&, i] { status = run_trainer(context, kTrainCommands[i].trainer, trainer_options[i]); });
  }

  ConfigOptions sample_options;
  std::int64_t sample_max_blocks = -1;
  auto* sample = app.add_subcommand(
      "sample", "generate n_c candidates, score, rejection-sample n_d, pair, label: <run.dir>/sample/block-*.h5");
  add_config_options(*sample, sample_options, print_targets);
  sample->add_option("--max-blocks", sample_max_blocks,
                     "stop after about this many blocks (exit 75; run again to continue); -1: no limit")
      ->capture_default_str();
  sample->callback([&] { status = run_sample(context, sample_options, sample_max_blocks); });

  SelectOptions select_options;
  auto* select = app.add_subcommand("select", "statistical rejection sampling (Algorithm 1) over given candidates (JSONL)");
  add_config_options(*select, select_options.config, print_targets);
  select->add_option("--in", select_options.input,
                     "candidates: JSONL lines {\"id\", \"prompt\", \"responses\": [...], \"rewards\": [...]}")
      ->required()->type_name("FILE");
  select->add_option("--out", select_options.output,
                     "selection: {\"id\", \"prompt\", \"accepted\": [indices in acceptance order], \"rounds\"}")
      ->required()->type_name("FILE");
  select->add_option("--beta", select_options.beta, "beta of pi* ∝ pi_sft exp(r / beta) (default: sample.beta)");
  select->add_option("--num-samples", select_options.num_samples, "n_d accepted per prompt (default: sample.num_samples)");
  select->add_option("--seed", select_options.seed, "default: run.seed");
  select->add_option("--pairs", select_options.pairs, "first-round or tournament (default: sample.pairs)")
      ->type_name("STRATEGY");
  select->add_option("--pairs-out", select_options.pairs_output,
                     "also write labelled pairs {\"prompt\", \"chosen\", \"rejected\"} (higher reward chosen)")
      ->type_name("FILE");
  select->add_option("--scorer", select_options.scorer,
                     "score the responses instead of reading \"rewards\": gold (the built-in task's gold reward, "
                     "task.lexicon) or exec:COMMAND (an external scorer: JSONL {\"prompt\", \"response\"} lines in, "
                     "one number per line out)")
      ->type_name("SCORER");
  select->add_flag("--collapse-duplicates", select_options.collapse_duplicates,
                   "sample among distinct responses only (biased toward responses pi_sft finds improbable; off by "
                   "default)");
  select->callback([&] { status = run_select(context, select_options); });

  auto* tokenizer = app.add_subcommand("tokenizer", "train a SentencePiece tokenizer; encode or decode with any tokenizer");
  tokenizer->require_subcommand(1);
  TokenizerTrainOptions train_options;
  auto* tokenizer_train = tokenizer->add_subcommand("train", "train a SentencePiece model on a text corpus");
  tokenizer_train->add_option("--corpus", train_options.corpus, "training text, one sentence per line")
      ->required()->type_name("FILE");
  tokenizer_train->add_option("--out", train_options.output, "model to write (PREFIX.model; PREFIX.vocab beside it)")
      ->required()->type_name("FILE.model");
  tokenizer_train->add_option("--vocab-size", train_options.vocab_size, "pieces in the vocabulary")->capture_default_str();
  tokenizer_train->add_option("--model-type", train_options.model_type, "unigram or bpe")
      ->check(CLI::IsMember({"unigram", "bpe"}))->capture_default_str();
  tokenizer_train->add_option("--character-coverage", train_options.character_coverage,
                              "share of the corpus's characters that get pieces; the rest are <unk> or bytes")
      ->capture_default_str();
  tokenizer_train->add_flag("--byte-fallback", train_options.byte_fallback,
                            "spell characters outside the vocabulary as UTF-8 byte pieces instead of <unk>");
  tokenizer_train->add_option("--spm", train_options.extra, "any other SentencePiece trainer flag; repeatable")
      ->type_name("FLAG=VALUE");
  add_print_config_flag(*tokenizer_train, defaults_options, print_targets);
  tokenizer_train->callback([&] { status = run_tokenizer_train(context, train_options); });
  std::string tokenizer_path;
  std::vector<std::string> tokenizer_inputs;
  auto* tokenizer_encode = tokenizer->add_subcommand("encode", "print the ids (and pieces) of each TEXT as JSON");
  tokenizer_encode->add_option("--tokenizer", tokenizer_path, "a .model, tokenizer.json, directory or rso model")
      ->required()->type_name("PATH");
  tokenizer_encode->add_option("text", tokenizer_inputs, "texts to encode")->required();
  add_print_config_flag(*tokenizer_encode, defaults_options, print_targets);
  tokenizer_encode->callback([&] { status = run_tokenizer_encode(context, tokenizer_path, tokenizer_inputs); });
  std::vector<std::int64_t> decode_ids;
  auto* tokenizer_decode = tokenizer->add_subcommand("decode", "print the text of the token ids ID... as JSON");
  tokenizer_decode->add_option("--tokenizer", tokenizer_path, "a .model, tokenizer.json, directory or rso model")
      ->required()->type_name("PATH");
  tokenizer_decode->add_option("ids", decode_ids, "token ids")->required()->type_name("ID");
  add_print_config_flag(*tokenizer_decode, defaults_options, print_targets);
  tokenizer_decode->callback([&] { status = run_tokenizer_decode(context, tokenizer_path, decode_ids); });

  std::vector<std::string> plot_reports;
  std::string plot_output;
  eval::CsvPlotSpec csv_plot;
  std::optional<double> reference_y;
  auto* plot = app.add_subcommand(
      "plot", "plot gold win rate against KL per token for eval reports, or two columns of a CSV file (PNG)");
  plot->add_option("reports", plot_reports, "report.json files or run directories; LABEL=PATH names a point")
      ->type_name("REPORT");
  plot->add_option("--out", plot_output, "PNG file to write")->required()->type_name("FILE.png");
  auto* csv_option = plot->add_option("--csv", csv_plot.csv, "plot a CSV file instead (header line, then values)")
                         ->type_name("FILE.csv")->excludes("reports");
  plot->add_option("--x", csv_plot.x_column, "CSV column on the x axis")->needs(csv_option)->type_name("COLUMN");
  plot->add_option("--y", csv_plot.y_column, "CSV column on the y axis")->needs(csv_option)->type_name("COLUMN");
  plot->add_option("--series", csv_plot.series_columns, "CSV columns whose values name a series (comma-separated)")
      ->delimiter(',')->needs(csv_option)->type_name("COLUMN,...");
  plot->add_option("--title", csv_plot.title, "the plot's title (CSV)")->needs(csv_option);
  plot->add_option("--reference-y", reference_y, "a dashed horizontal line at this y (CSV)")->needs(csv_option);
  add_print_config_flag(*plot, defaults_options, print_targets);
  plot->callback([&] {
    if (!csv_plot.csv.empty()) {
      if (csv_plot.x_column.empty() || csv_plot.y_column.empty())
        throw CLI::ValidationError("--csv", "needs --x and --y");
      csv_plot.reference_y = reference_y;
      status = run_plot_csv(context, csv_plot, plot_output);
    } else if (plot_reports.empty()) {
      throw CLI::ValidationError("plot", "give eval reports, or --csv FILE with --x and --y");
    } else {
      status = run_plot(context, plot_reports, plot_output);
    }
  });

  auto* inspect = app.add_subcommand("inspect", "summarise a file rso wrote (HDF5): format, groups, datasets");
  inspect->add_option("file", inspect_path, "HDF5 file")->required()->type_name("FILE");
  add_print_config_flag(*inspect, defaults_options, print_targets);
  inspect->callback([&] { status = run_inspect(context, inspect_path); });

  auto* env = app.add_subcommand("env", "ranks, hosts, devices, collective backend and library versions");
  add_config_options(*env, env_options, print_targets);
  env->callback([&] { status = run_env(context, env_options); });

  if (asks_for_config(argc, argv)) only_print_config(context, print_targets, status);

  // CLI11 answers an unknown command with "A subcommand is required", which
  // hides the typo: name it and the commands there are.
  const auto named = [&](const CLI::App* command) { return argc > 1 && command->check_name(argv[1]); };
  if (argc == 1 || (argv[1][0] != '-' && app.get_subcommands(named).empty())) {
    if (context.is_root()) {
      std::string commands;
      for (const CLI::App* command : app.get_subcommands({}))
        commands += (commands.empty() ? "" : ", ") + command->get_name();
      const std::string problem = argc == 1 ? "no command" : "unknown command '" + std::string(argv[1]) + "'";
      std::fprintf(stderr, "rso: usage error: %s; the commands are %s (rso --help)\n", problem.c_str(),
                   commands.c_str());
    }
    return exit_code::usage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // Every rank parsed the same argv and failed alike: one report.
    if (context.is_root()) {
      app.exit(error);
    }
    if (error.get_exit_code() == 0) return exit_code::ok;  // --help, --version
    return exit_code::usage;
  }
  return status;
}

}  // namespace rso::cli
