// `rso pipeline CONFIG`: every stage of the built-in task into one run
// directory, in order, each skipped when its output is already there, so a
// second invocation after completion does no work and an interrupted one
// continues (training stages resume from their checkpoints).
#include <boost/mpi/collectives.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>

#include "rso/cli/commands.hpp"
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
  std::function<StageResult()> run;
};

StageResult from_work(bool did_work) { return did_work ? StageResult::ran : StageResult::skipped; }

// Whether any rank got SIGUSR1/SIGTERM: stages that cannot stop half-way
// (data, tokenizer, pairs, eval) are finished first, then the pipeline stops.
bool any_rank_asked_to_stop(const DistContext& context) {
  return boost::mpi::all_reduce(context.world(), stop_requested() ? 1 : 0, boost::mpi::maximum<int>()) > 0;
}

// A training stage: skipped when its model exists; otherwise it resumes
// from its newest checkpoint, if any.
StageResult training_stage(const std::string& model, const std::function<bool(const train::TrainingControl&)>& run) {
  if (fs::exists(model)) return StageResult::skipped;
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
  if (print_config_if_asked(context, options, config)) return exit_code::ok;
  context.configure(config.dist);
  record_config(context, config);
  const fs::path run(config.run.dir);
  const std::string sft_model = config.sft.output.empty() ? (run / "sft" / "model.h5").string()
                                                          : (fs::path(config.sft.output) / "model.h5").string();
  const std::string reward_model = config.reward.output.empty() ? (run / "reward" / "model.h5").string()
                                                                : (fs::path(config.reward.output) / "model.h5").string();
  const std::string train_model = config.train.output.empty() ? (run / "train" / "model.h5").string()
                                                              : (fs::path(config.train.output) / "model.h5").string();

  // A reward function in place of the reward model (sample.scorer), started
  // only for the stages that use it.
  std::unique_ptr<sampling::TextScorer> scorer;
  auto text_scorer = [&] {
    if (!scorer) scorer = make_text_scorer(context, config, config.sample.scorer, "sample.scorer");
    return scorer.get();
  };
  // The sampling stage is finished when its manifest says so (it resumes by block otherwise).
  auto sample_complete = [&] {
    const fs::path manifest = (config.sample.output.empty() ? run / "sample" : fs::path(config.sample.output)) /
                              "manifest.json";
    return context.agree([&] { return fs::exists(manifest) && read_json_file(manifest.string()).value("complete", false); });
  };
  const std::vector<PipelineStage> stages = {
      {"data", "fortunes quotes -> corpus, SFT examples, prompts",
       [&] { return from_work(task::prepare_task_data(context, config)); }},
      {"tokenizer", "SentencePiece on the corpus", [&] { return from_work(task::train_task_tokenizer(context, config)); }},
      {"init", "the policy's seeded initial weights", [&] { return from_work(task::make_initial_policy(context, config)); }},
      {"sft", "supervised fine-tuning: the SFT policy",
       [&] {
         return training_stage(sft_model, [&](const auto& c) { return train::run_sft_training(context, config, c); });
       }},
      {"pairs", "simulated human pairs D_hf (gold reward, Bradley-Terry raters)",
       [&] { return from_work(task::simulate_human_pairs(context, config, sft_model, early_sft_policy(config, sft_model))); }},
      {"reward", "the proxy reward (or ranking) model on D_hf",
       [&] {
         if (config.sample.scorer != "model") {  // a reward function scores instead
           if (context.is_root()) spdlog::info("pipeline: no reward model needed: sample.scorer = {}", config.sample.scorer);
           return StageResult::skipped;
         }
         return training_stage(reward_model,
                               [&](const auto& c) { return train::run_reward_training(context, config, c); });
       }},
      {"sample", "n_c candidates, rejection sampling, pairs",
       [&] {
         if (sample_complete()) return StageResult::skipped;
         return sampling::run_sample_stage(context, config, {}, text_scorer()) ? StageResult::ran : StageResult::stopped;
       }},
      {"train", "preference optimisation on the sampled pairs",
       [&] {
         return training_stage(train_model,
                               [&](const auto& c) { return train::run_preference_training(context, config, c); });
       }},
      {"eval", "the trained policy against the SFT policy: report",
       [&] {
         const fs::path report = run / "report.json";
         if (fs::exists(report)) return StageResult::skipped;
         const auto result = eval::run_evaluation(context, config, text_scorer());
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
  for (const PipelineStage& stage : stages) {
    if (any_rank_asked_to_stop(context)) {
      if (context.is_root())
        spdlog::info("pipeline: stopped on request before stage {}; run the same command again to continue",
                     stage.name);
      return exit_code::requeue;
    }
    const auto started = std::chrono::steady_clock::now();
    if (context.is_root()) spdlog::info("pipeline: stage {}: {}", stage.name, stage.what);
    const StageResult result = stage.run();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
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
    spdlog::info("pipeline: every stage done; the report is {} (and {})", (run / "report.json").string(),
                 (config.eval.output.empty() ? run / "eval" / "report.md" : fs::path(config.eval.output) / "report.md")
                     .string());
  return exit_code::ok;
}

}  // namespace rso::cli
