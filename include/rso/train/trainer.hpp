// The training loop shared by `rso sft`, `rso reward` and `rso train`.
//
// A TrainingTask says what one micro-batch costs (its loss) and what it
// measures; the loop does the rest, the same way for all three commands:
//
// - Global batch G = micro_batch x grad_accumulation x ranks examples per step
//   (the section's global_batch, when set, must equal it). Training examples
//   are visited in one random order per epoch keyed by (seed, stage, epoch),
//   so step s trains on global positions [s*G, (s+1)*G) of that order whatever
//   the rank count; rank r's micro-batch m is the slice m*ranks + r.
// - The step loss is a sum of per-example terms over the global batch divided
//   by the task's normaliser (G, or the step's response tokens for SFT); each
//   rank backpropagates its share times `ranks`, and averaging the gradients
//   over ranks gives the gradient of that loss exactly.
// - Gradients are averaged in flat buckets (dist.bucket_mb; NCCL on GPUs, MPI
//   otherwise), clipped by global norm, and applied by AdamW or Adafactor with
//   warm-up and a constant or cosine schedule.
// - Weights train in float32. When the forward dtype (dist.precision) is
//   bfloat16, the model holds bfloat16 copies for forward and backward, and
//   float32 master weights (what the optimiser updates and checkpoints store)
//   collect the gradients after every micro-batch.
// - Metrics are the task's sums plus the loop's, reduced once per step, one
//   JSONL line per step in <output>/metrics.jsonl, and a rank-0 progress line
//   on a timer. Held-out evaluation every eval_every steps and at the end.
// - Checkpoints (train/train_checkpoint.hpp) every checkpoint_every steps and
//   on SIGUSR1/SIGTERM or stop_after_step: the step finishes, the checkpoint
//   is committed and run_training returns false (the command exits 75).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rso/core/config.hpp"
#include "rso/core/error.hpp"
#include "rso/core/random.hpp"
#include "rso/dist/dist_context.hpp"
#include "rso/train/optimizer.hpp"

namespace torch::nn {
class Module;
}

namespace rso::train {

// Learning rate at step s (0-based): linear warm-up, then constant or cosine.
double learning_rate_at(const OptimizationConfig& config, std::int64_t step);

// The global batch a section asks for on `ranks` ranks; a ConfigError when
// its global_batch cannot be honoured. `section` names it in the message.
std::int64_t global_batch_size(const OptimizationConfig& config, std::int64_t ranks, const std::string& section);

struct TrainingControl {
  bool resume = false;                // continue from <output>/checkpoints/latest when there is one
  std::int64_t stop_after_step = -1;  // checkpoint and stop after this step, as on SIGUSR1 (-1: never)
};

// What a micro-batch did, for throughput: tokens read, model FLOPs spent.
struct MicroBatchWork {
  double tokens = 0;
  double flops = 0;
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  virtual std::size_t train_size() const = 0;
  virtual std::size_t eval_size() const { return 0; }
  // How many sums the task accumulates (in train_micro_batch and evaluate).
  virtual std::size_t metric_slots() const = 0;
  // The step loss is the sum of micro-batch losses over the global batch
  // divided by this; the default averages over examples.
  virtual double loss_normaliser(const std::vector<std::size_t>& step_examples) const {
    return static_cast<double>(step_examples.size());
  }
  // Forward of training examples `examples`, which sit at `positions` of the
  // run's example order (positions name an (epoch, example) visit, for
  // random draws that must survive a resume): returns the sum of their loss
  // terms (a scalar to backpropagate), adds metric sums to `sums`.
  virtual at::Tensor train_micro_batch(const std::vector<std::size_t>& examples,
                                       const std::vector<std::uint64_t>& positions, std::vector<double>& sums,
                                       MicroBatchWork& work) = 0;
  // No gradients: adds the metric sums of held-out examples `examples`.
  virtual void evaluate(const std::vector<std::size_t>& examples, std::vector<double>& sums) = 0;
  // Named metrics from reduced sums over `examples` examples, each key
  // prefixed with `prefix` ("" for training, "eval_" for held-out).
  virtual void add_metrics(const std::vector<double>& sums, double examples, const std::string& prefix,
                           nlohmann::ordered_json& line) const = 0;
  // The metrics the progress line shows after the loss.
  virtual std::vector<std::string> progress_metrics() const { return {}; }
  // Rank 0, after the last step: writes the trained model (float32 weights).
  virtual void save(const std::string& output) = 0;
};

struct TrainerSetup {
  std::string name;  // the command, for messages: "sft", "reward", "train"
  const OptimizationConfig* settings = nullptr;
  Stage stage = Stage::train;  // keys the epoch orders
  std::uint64_t seed = 0;
  std::int64_t eval_every = 0;  // 0: evaluate only at the end (when there is held-out data)
  std::vector<NamedParameter> parameters;  // the model's, in a fixed order
  std::string output;       // metrics.jsonl, checkpoints/, summary.json
  std::string config_hash;  // of the parameters that decide the run (global batch added by the loop)
};

// Collective. Returns true when every step ran; false when stopped (after a
// checkpoint). The final metrics also go to <output>/summary.json.
bool run_training(DistContext& context, const Config& config, const TrainerSetup& setup, TrainingTask& task,
                  const TrainingControl& control);

// A module's parameters by name, in registration order.
std::vector<NamedParameter> named_parameters(torch::nn::Module& module);

// all[indices[0]], all[indices[1]], ...
template <class T>
std::vector<T> subset(const std::vector<T>& all, const std::vector<std::size_t>& indices) {
  std::vector<T> out;
  out.reserve(indices.size());
  for (const std::size_t i : indices) out.push_back(all[i]);
  return out;
}

// Training and held-out examples: those `load_eval()` reads when there is
// an eval file, else `all` split by holdout_split. An empty training set is
// a DataError naming `source`. Collective.
template <class T, class LoadEval>
std::pair<std::vector<T>, std::vector<T>> training_and_held_out(const DistContext& context, std::vector<T> all,
                                                               bool has_eval_file, LoadEval load_eval,
                                                               double fraction, std::uint64_t seed, Stage stage,
                                                               const std::string& source);

// The indices [0, n) split into (train, held-out) by one permutation keyed by
// (seed, stage): the last round(fraction * n) positions are held out.
std::pair<std::vector<std::size_t>, std::vector<std::size_t>> holdout_split(std::size_t n, double fraction,
                                                                            std::uint64_t seed, Stage stage);

template <class T, class LoadEval>
std::pair<std::vector<T>, std::vector<T>> training_and_held_out(const DistContext& context, std::vector<T> all,
                                                               bool has_eval_file, LoadEval load_eval,
                                                               double fraction, std::uint64_t seed, Stage stage,
                                                               const std::string& source) {
  if (has_eval_file) return {std::move(all), context.agree(load_eval)};
  const auto [train, held] = holdout_split(all.size(), fraction, seed, stage);
  context.agree([&, n = train.size()] {
    if (n == 0) RSO_THROW(DataError, "'" + source + "' leaves no training examples after the hold-out");
  });
  return {subset(all, train), subset(all, held)};
}

}  // namespace rso::train
