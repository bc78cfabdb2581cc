// `rso pipeline CONFIG`: every stage of the built-in task into one run
// directory, in order. A stage is skipped when its outputs are there and its
// record (rso/cli/stage_record.hpp) shows the same parameters and the same
// inputs, so a second invocation after completion does no work and an
// interrupted one continues (training stages resume from their checkpoints);
// a stage whose parameters or inputs changed is redone, its earlier outputs
// moved to <run.dir>/superseded/, and every stage after it sees changed
// inputs and is redone too.
#include <boost/mpi/collectives.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>

#include "rso/cli/commands.hpp"
#include "rso/cli/stage_record.hpp"
#include "rso/core/run_layout.hpp"
#include "rso/core/error.hpp"
#include "rso/core/stop_request.hpp"
#include "rso/eval/evaluate.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/json_file.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/sampling/sample_stage.hpp"
#include "rso/sampling/text_scorer.hpp"
#include "rso/task/builtin_task.hpp"
#include "rso/train/preference_trainer.hpp"
#include "rso/train/reward_trainer.hpp"
#include "rso/train/sft_trainer.hpp"
#include "rso/train/train_checkpoint.hpp"
#include "rso/train/trainer.hpp"

namespace rso::cli {

namespace fs = std::filesystem;

namespace {

// What a stage reports: done (with or without work), or stopped for a requeue.
enum class StageResult { skipped, ran, stopped };

struct PipelineStage {
  const char* name;
  const char* what;
  // The param fields its results depend on: "section.key", or "section." for
  // a whole section.
  std::vector<std::string> params;
  // Earlier stages whose outputs it reads.
  std::vector<std::string> inputs;
  // Its results (fingerprinted for the stages that read them) and everything
  // it writes (moved aside when it must be redone: checkpoints, metrics).
  std::vector<fs::path> results;
  std::vector<fs::path> writes;
  std::function<StageResult()> run;
};

std::map<std::string, std::string> select_params(const std::map<std::string, std::string>& all,
                                                 const std::vector<std::string>& wanted) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : all)
    for (const std::string& want : wanted)
      if (key == want || (want.back() == '.' && key.rfind(want, 0) == 0)) out[key] = value;
  return out;
}

// What rank 0 found for a stage before running it.
enum class StagePlan { fresh, same, adopt, redo };

// Rank 0: a stage with no record is fresh, or adopted when it has outputs;
// one with a record is the same or redone.
StagePlan plan_stage(const PipelineStage& stage, const fs::path& record_path, const StageRecord& now) {
  const auto recorded = read_stage_record(record_path);
  if (recorded) return stage_record_differences(*recorded, now).empty() ? StagePlan::same : StagePlan::redo;
  for (const fs::path& path : stage.writes)
    if (fs::exists(fs::symlink_status(path))) return StagePlan::adopt;
  return StagePlan::fresh;
}

// A UTC time stamp usable as a directory name.
std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

// Moves what `stage` wrote under <run>/superseded/<stamp>/ (same relative
// paths): a redone stage loses nothing. Outputs outside the run directory
// are not moved: the stage cannot be redone without overwriting them.
void supersede_outputs(const fs::path& run, const PipelineStage& stage, const std::string& why) {
  const fs::path run_abs = fs::absolute(run).lexically_normal();
  std::vector<std::pair<fs::path, fs::path>> moves;
  for (const fs::path& path : stage.writes) {
    if (!fs::exists(fs::symlink_status(path))) continue;
    const fs::path relative = fs::absolute(path).lexically_normal().lexically_relative(run_abs);
    if (relative.empty() || *relative.begin() == "..")
      RSO_THROW(ConfigError, "stage " + std::string(stage.name) + " must be redone (" + why + ") but its output " +
                                 path.string() + " lies outside the run directory " + run.string() +
                                 ": remove it, or point the stage's output elsewhere");
    moves.emplace_back(path, relative);
  }
  if (moves.empty()) return;
  const fs::path aside = run / "superseded" / utc_stamp();
  for (const auto& [path, relative] : moves) {
    fs::create_directories((aside / relative).parent_path());
    fs::rename(path, aside / relative);
  }
  spdlog::info("pipeline: the earlier outputs of stage {} moved to {}", stage.name, aside.string());
}

StageResult from_work(bool did_work) { return did_work ? StageResult::ran : StageResult::skipped; }

// Whether any rank got SIGUSR1/SIGTERM: stages that cannot stop half-way
// (data, tokenizer, pairs, eval) are finished first, then the pipeline stops.
bool any_rank_asked_to_stop(const DistContext& context) {
  return boost::mpi::all_reduce(context.world(), stop_requested() ? 1 : 0, boost::mpi::maximum<int>()) > 0;
}

// A training stage: skipped when its model exists; otherwise it resumes
// from its newest checkpoint, if any.
StageResult training_stage(const DistContext& context, const std::string& model,
                           const std::function<bool(const train::TrainingControl&)>& run) {
  if (context.decide([&] { return fs::exists(model); })) return StageResult::skipped;
  train::TrainingControl control;
  control.resume = true;
  return run(control) ? StageResult::ran : StageResult::stopped;
}

// The weaker policy of task.early_policy_step: the SFT policy's architecture
// and tokenizer with the weights of its checkpoint at that step.
std::function<model::Transformer()> early_sft_policy(const Config& config, const std::string& sft_model) {
  if (config.task.early_policy_step == 0) return {};
  return [step = config.task.early_policy_step, sft_model] {
    const std::string checkpoints = (fs::path(sft_model).parent_path() / "checkpoints").string();
    const auto checkpoint = train::train_checkpoint_at(checkpoints, step);
    if (!checkpoint)
      RSO_THROW(ConfigError, "task.early_policy_step = " + std::to_string(step) + ": no SFT checkpoint of that step in " +
                                 checkpoints + " (sft writes one every sft.checkpoint_every steps)");
    model::Transformer policy = model::load_model(sft_model);
    train::load_train_checkpoint_weights(*checkpoint, train::named_parameters(*policy));
    return policy;
  };
}

}  // namespace

int run_pipeline(DistContext& context, const ConfigOptions& options, const std::string& until) {
  const Config config = resolve_config(context, options);
  context.configure(config.dist);
  const io::RunDirectoryLock lock = claim_run_directory(context, config, "pipeline");
  record_config_at_start(context, config);
  const RunLayout layout(config.run.dir);
  // Each stage's model where its output key puts it.
  const std::string sft_model = RunLayout::model_in(path_or(config.sft.output, layout.sft_dir())).string();
  const std::string reward_model = RunLayout::model_in(path_or(config.reward.output, layout.reward_dir())).string();
  const std::string train_model = RunLayout::model_in(path_or(config.train.output, layout.train_dir())).string();

  // A reward function in place of the reward model (sample.scorer), started
  // only for the stages that use it.
  std::unique_ptr<sampling::TextScorer> scorer;
  auto text_scorer = [&] {
    if (!scorer) scorer = make_text_scorer(context, config, config.sample.scorer, "sample.scorer");
    return scorer.get();
  };
  // The sampling stage is finished when its manifest says so (it resumes by block otherwise).
  const fs::path sample_dir = path_or(config.sample.output, layout.sample_dir());
  auto sample_complete = [&] {
    const fs::path manifest = sample_dir / "manifest.json";
    return context.decide([&] { return fs::exists(manifest) && read_json_file(manifest.string()).value("complete", false); });
  };
  const task::TaskPaths data = task::task_paths(config);
  const fs::path eval_dir = path_or(config.eval.output, layout.eval_dir());
  const fs::path report = layout.report();
  auto dir_of = [](const std::string& model) { return fs::path(model).parent_path(); };
  // Generation settings the pairs stage samples the SFT policy with.
  const std::vector<std::string> generation = {"sample.temperature", "sample.top_k", "sample.top_p",
                                               "sample.max_new_tokens"};
  std::vector<std::string> pairs_params = {"run.seed", "task.rater_temperature", "task.rater_skips_ties",
                                           "task.human_responses", "task.own_continuation_share",
                                           "task.pairs_per_prompt", "task.check_prompts", "task.check_pairs_per_prompt",
                                           "task.early_policy_step", "task.early_pair_prompts",
                                           "task.early_pairs_per_prompt"};
  pairs_params.insert(pairs_params.end(), generation.begin(), generation.end());
  const std::vector<fs::path> data_files = {data.corpus,  data.sft,   data.eval_prompts, data.pair_prompts,
                                            data.prompts, data.validation_prompts, data.task_json};
  const std::vector<PipelineStage> stages = {
      {"data", "fortunes quotes -> corpus, SFT examples, prompts",
       {"run.seed", "task.min_words", "task.max_words", "task.max_quotes", "task.prompt_words", "task.holdout",
        "task.eval_prompts", "task.pair_prompts", "task.sample_prompts", "task.validation_prompts"},
       {},
       data_files,
       data_files,
       [&] { return from_work(task::prepare_task_data(context, config)); }},
      {"tokenizer", "SentencePiece on the corpus", {"run.seed", "task.vocab_size"}, {"data"},
       {dir_of(data.tokenizer)}, {dir_of(data.tokenizer)},
       [&] { return from_work(task::train_task_tokenizer(context, config)); }},
      {"init", "the policy's seeded initial weights", {"run.seed", "model."}, {"tokenizer"}, {data.init},
       {dir_of(data.init)}, [&] { return from_work(task::make_initial_policy(context, config)); }},
      {"sft", "supervised fine-tuning: the SFT policy", {"run.seed", "sft."}, {"data", "init"}, {sft_model},
       {dir_of(sft_model)},
       [&] {
         return training_stage(context, sft_model, [&](const auto& c) { return train::run_sft_training(context, config, c); });
       }},
      {"pairs", "simulated human pairs D_hf (gold reward, Bradley-Terry raters)", pairs_params, {"data", "sft"},
       {data.pairs, data.policy_pairs}, {data.pairs, data.policy_pairs},
       [&] { return from_work(task::simulate_human_pairs(context, config, sft_model, early_sft_policy(config, sft_model))); }},
      {"reward", "the proxy reward (or ranking) model on D_hf", {"run.seed", "reward."},
       {"pairs", "sft"}, {reward_model}, {dir_of(reward_model)},
       [&] {
         if (config.sample.scorer != "model") {  // a reward function scores instead
           if (context.is_root()) spdlog::info("pipeline: no reward model needed: sample.scorer = {}", config.sample.scorer);
           return StageResult::skipped;
         }
         return training_stage(context, reward_model,
                               [&](const auto& c) { return train::run_reward_training(context, config, c); });
       }},
      {"sample", "n_c candidates, rejection sampling, pairs", {"run.seed", "sample."}, {"data", "sft", "pairs", "reward"},
       {sample_dir / "manifest.json"}, {sample_dir},
       [&] {
         if (sample_complete()) return StageResult::skipped;
         return sampling::run_sample_stage(context, config, {}, text_scorer()) ? StageResult::ran : StageResult::stopped;
       }},
      {"train", "preference optimisation on the sampled pairs", {"run.seed", "train."}, {"sft", "sample"},
       {train_model}, {dir_of(train_model)},
       [&] {
         return training_stage(context, train_model,
                               [&](const auto& c) { return train::run_preference_training(context, config, c); });
       }},
      {"eval", "the trained policy against the SFT policy: report", {"run.seed", "eval.", "sample.", "train.loss"},
       {"data", "sft", "reward", "train"}, {report}, {report, eval_dir},
       [&] {
         if (context.decide([&] { return fs::exists(report); })) return StageResult::skipped;
         const auto result = eval::run_evaluation(context, config, [&] { return builtin_judges(context, config); }, text_scorer());
         context.agree([&] {
           if (context.is_root()) write_file_atomic(report, result.dump(2) + "\n");
         });
         return StageResult::ran;
       }},
  };
  context.agree([&] {
    if (until.empty()) return;
    for (const PipelineStage& stage : stages)
      if (until == stage.name) return;
    std::string names;
    for (const PipelineStage& stage : stages) names += std::string(names.empty() ? "" : ", ") + stage.name;
    RSO_THROW(UsageError, "--until " + until + ": no such stage; the stages are " + names);
  });
  const std::map<std::string, std::string> all_params = config_params(config);
  std::map<std::string, std::string> fingerprints;  // stage -> its results' fingerprint (rank 0)
  for (const PipelineStage& stage : stages) fingerprints[stage.name] = "";
  const int status = [&] {
    for (const PipelineStage& stage : stages) {
      if (any_rank_asked_to_stop(context)) {
        if (context.is_root())
          spdlog::info("pipeline: stopped on request before stage {}; run the same command again to continue",
                       stage.name);
        return exit_code::requeue;
      }
      const auto started = std::chrono::steady_clock::now();
      if (context.is_root()) spdlog::info("pipeline: stage {}: {}", stage.name, stage.what);
      const fs::path record_path = layout.stage_record(stage.name);
      StageRecord now;
      now.params = select_params(all_params, stage.params);
      for (const std::string& input : stage.inputs) now.inputs[input] = fingerprints.at(input);
      // Rank 0 reads the record, moves stale outputs aside and records the
      // stage; the agreement's collective orders that before any rank looks
      // for the stage's outputs.
      context.agree([&] {
        if (context.is_root()) {
          const StagePlan plan = plan_stage(stage, record_path, now);
          if (plan == StagePlan::redo) {
            const auto reasons = stage_record_differences(*read_stage_record(record_path), now);
            std::string why;
            for (const std::string& reason : reasons) why += (why.empty() ? "" : "; ") + reason;
            spdlog::warn("pipeline: stage {} is redone, and every stage after it: {}", stage.name, why);
            supersede_outputs(layout.root(), stage, why);
          } else if (plan == StagePlan::adopt) {
            spdlog::warn("pipeline: the outputs of stage {} have no record of the parameters they were made with (an "
                         "older rso's run directory, or copied in): taken as made with this config; remove them to "
                         "redo it",
                         stage.name);
          }
          // Written before the stage runs: an interrupted stage resumes only
          // under the same parameters and inputs.
          write_stage_record(record_path, now);
        }
      });
      const StageResult result = stage.run();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (result != StageResult::stopped)
        context.agree([&] {
          if (!context.is_root()) return;
          now.outputs = fingerprint_files(layout.root(), stage.results);
          fingerprints[stage.name] = now.outputs;
          write_stage_record(record_path, now);
        });
      if (result == StageResult::stopped) {
        if (context.is_root())
          spdlog::info("pipeline: stopped in stage {} after a checkpoint; run the same command again to continue",
                       stage.name);
        return exit_code::requeue;
      }
      if (context.is_root())
        spdlog::info("pipeline: stage {} {} ({:.1f} s)", stage.name,
                     result == StageResult::skipped ? "already done" : "done", seconds);
      if (until == stage.name) {
        if (context.is_root()) spdlog::info("pipeline: stopped after stage {} (--until)", stage.name);
        return exit_code::ok;
      }
    }
    if (context.is_root())
      spdlog::info("pipeline: every stage done; the report is {} (and {})", report.string(),
                   (eval_dir / "report.md").string());
    return exit_code::ok;
  }();
  // A run that ended (or checkpointed for a requeue) records its config.
  record_config(context, config);
  return status;
}

}  // namespace rso::cli
