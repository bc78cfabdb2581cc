// `rso sft`, `rso reward`, `rso train`: the training commands (see
// rso/train/trainer.hpp and the three trainers built on it).
#include <iostream>

#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/train/preference_trainer.hpp"
#include "rso/train/reward_trainer.hpp"
#include "rso/train/sft_trainer.hpp"

namespace rso::cli {

namespace {

const char* trainer_command_name(Trainer trainer) {
  switch (trainer) {
    case Trainer::sft: return "sft";
    case Trainer::reward: return "reward";
    case Trainer::preference: return "train";
  }
  return "train";
}

}  // namespace

int run_trainer(DistContext& context, Trainer trainer, const TrainOptions& options) {
  const Config config = resolve_config(context, options.config);
  context.configure(config.dist);
  const io::RunDirectoryLock lock = claim_run_directory(context, config, trainer_command_name(trainer));
  record_config_at_start(context, config);
  train::TrainingControl control;
  control.resume = options.resume == "auto";
  control.stop_after_step = options.stop_after_step;
  bool finished = false;
  switch (trainer) {
    case Trainer::sft: finished = train::run_sft_training(context, config, control); break;
    case Trainer::reward: finished = train::run_reward_training(context, config, control); break;
    case Trainer::preference: finished = train::run_preference_training(context, config, control); break;
  }
  record_config(context, config);
  // Stopped with a checkpoint: exit 75 asks the scheduler to requeue.
  return finished ? exit_code::ok : exit_code::requeue;
}

}  // namespace rso::cli
