#include "rso/train/trainer.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/module.h>
#include <boost/mpi/collectives.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "rso/core/error.hpp"
#include "rso/core/run_layout.hpp"
#include "rso/core/stop_request.hpp"
#include "rso/dist/phase_times.hpp"
#include "rso/dist/sharded_output.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/json_file.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/train/gradient_sync.hpp"
#include "rso/train/master_weights.hpp"
#include "rso/train/model_flops.hpp"
#include "rso/train/train_checkpoint.hpp"

namespace rso::train {

namespace fs = std::filesystem;

double learning_rate_at(const OptimizationConfig& c, std::int64_t step) {
  if (step < c.warmup_steps) return c.learning_rate * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  if (c.schedule == ScheduleKind::constant) return c.learning_rate;
  const double span = static_cast<double>(std::max<std::int64_t>(1, c.steps - c.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup_steps) / span);
  return c.learning_rate * 0.5 * (1.0 + std::cos(M_PI * progress));
}

std::int64_t global_batch_size(const OptimizationConfig& c, std::int64_t ranks, const std::string& section) {
  const std::int64_t global_batch = c.micro_batch * c.grad_accumulation * ranks;
  if (c.global_batch != 0 && c.global_batch != global_batch)
    RSO_THROW(ConfigError, section + ".global_batch = " + std::to_string(c.global_batch) +
                               " cannot be honoured: micro_batch " + std::to_string(c.micro_batch) +
                               " x grad_accumulation " + std::to_string(c.grad_accumulation) + " x " +
                               std::to_string(ranks) + " ranks = " + std::to_string(global_batch));
  return global_batch;
}

std::vector<NamedParameter> named_parameters(torch::nn::Module& module) {
  std::vector<NamedParameter> named;
  for (const auto& p : module.named_parameters()) named.push_back({p.key(), p.value()});
  return named;
}

std::pair<std::vector<std::size_t>, std::vector<std::size_t>> holdout_split(std::size_t n, double fraction,
                                                                            std::uint64_t seed, Stage stage) {
  // Sub-stream 1 of index 0: the epoch orders use sub-stream 0.
  RandomStream stream({seed, stage, 0, 1});
  const std::vector<std::size_t> order = stream.permutation(n);
  const auto held = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  std::vector<std::size_t> train(order.begin(), order.end() - static_cast<std::ptrdiff_t>(held));
  std::vector<std::size_t> eval(order.end() - static_cast<std::ptrdiff_t>(held), order.end());
  return {std::move(train), std::move(eval)};
}

namespace {

// The example at global position k: one permutation per epoch.
class ExampleOrder {
 public:
  ExampleOrder(std::size_t examples, std::uint64_t seed, Stage stage) : examples_(examples), seed_(seed), stage_(stage) {}
  std::size_t at(std::uint64_t k) {
    const std::uint64_t epoch = k / examples_;
    if (epoch != epoch_ || order_.empty()) {
      RandomStream stream({seed_, stage_, epoch, 0});
      order_ = stream.permutation(examples_);
      epoch_ = epoch;
    }
    return order_[k % examples_];
  }

 private:
  std::size_t examples_;
  std::uint64_t seed_;
  Stage stage_;
  std::uint64_t epoch_ = 0;
  std::vector<std::size_t> order_;
};

// Keeps the first `lines` lines of a JSONL file (metrics of steps already
// checkpointed) and drops the rest.
void truncate_lines(const fs::path& path, std::int64_t lines) {
  std::ifstream in(path);
  std::string kept, line;
  for (std::int64_t n = 0; n < lines && std::getline(in, line); ++n) kept += line + "\n";
  in.close();
  write_file_atomic(path, kept);
}

std::vector<double> sum_over_ranks(const DistContext& context, const std::vector<double>& local) {
  std::vector<double> sums(local.size());
  boost::mpi::all_reduce(context.world(), local.data(), static_cast<int>(local.size()), sums.data(), std::plus<double>());
  return sums;
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizationConfig& c, const std::vector<NamedParameter>& parameters) {
  if (c.optimizer == OptimizerKind::adamw) {
    AdamWOptions options;
    options.weight_decay = c.weight_decay;
    return make_adamw(parameters, options);
  }
  AdafactorOptions options;
  options.relative_step = false;  // the configured schedule drives the step size
  return make_adafactor(parameters, options);
}

std::string format_seconds(double seconds) {
  const auto s = static_cast<long long>(std::max(0.0, seconds));
  char text[32];
  if (s >= 3600) std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, s / 60 % 60);
  else if (s >= 60) std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
  else std::snprintf(text, sizeof text, "%llds", s);
  return text;
}

}  // namespace

bool run_training(DistContext& context, const Config& config, const TrainerSetup& setup, TrainingTask& task,
                  const TrainingControl& control) {
  const OptimizationConfig& oc = *setup.settings;
  const std::string& name = setup.name;
  const std::int64_t world = context.size();
  const std::int64_t global_batch = context.agree([&] { return global_batch_size(oc, world, name); });
  const fs::path output(setup.output);
  const std::size_t slots = task.metric_slots();

  MasterWeights weights(setup.parameters);
  const std::vector<at::Tensor> master_tensors = weights.master_tensors();
  std::unique_ptr<Optimizer> optimizer = make_optimizer(oc, weights.masters());
  const auto bucket_bytes = static_cast<std::size_t>(config.dist.bucket_mb * (1 << 20));
  GradientSynchronizer sync(context, master_tensors, std::max<std::size_t>(bucket_bytes, 1));
  ExampleOrder order(task.train_size(), setup.seed, setup.stage);
  const std::string dtype_name = context.compute_dtype() == at::kBFloat16 ? "bfloat16"
                                 : context.compute_dtype() == at::kHalf   ? "float16"
                                                                          : "float32";
  const double peak = peak_flops_per_second(context.device_description(), weights.separate() ? "bfloat16" : "float32",
                                            config.dist.peak_tflops);

  // Resume: weights, optimiser state and the step; batches and random
  // orders are functions of the step. The global batch, not how ranks and
  // micro-batches cut it, identifies the run.
  const fs::path checkpoints = output / "checkpoints";
  const std::string hash = setup.config_hash + "-g" + std::to_string(global_batch);
  std::int64_t first_step = 0;
  if (control.resume) {
    const auto latest = context.agree([&] { return latest_train_checkpoint(checkpoints.string()); });
    if (latest) {
      first_step = context.agree([&] { return load_train_checkpoint(*latest, weights.masters(), *optimizer, hash); });
      weights.publish();
      if (context.is_root()) spdlog::info("{}: resuming from {} (step {})", name, *latest, first_step);
    } else if (context.is_root()) {
      spdlog::info("{}: no checkpoint in {}; starting at step 0", name, checkpoints.string());
    }
  }
  // Metrics: one line per step, flushed as written; a resumed run first
  // drops the lines of steps after its checkpoint.
  std::ofstream metrics;
  context.agree([&] {
    if (!context.is_root()) return;
    fs::create_directories(output);
    const fs::path metrics_path = output / "metrics.jsonl";
    if (first_step > 0 && fs::exists(metrics_path)) truncate_lines(metrics_path, first_step);
    metrics.open(metrics_path, first_step > 0 ? std::ios::app : std::ios::trunc);
    if (!metrics) RSO_THROW(IoError, "cannot write " + metrics_path.string());
    spdlog::info("{}: {} examples ({} held out), {} steps of {} ({} x {} x {} ranks), {}, {} forward{}", name,
                 task.train_size(), task.eval_size(), oc.steps, global_batch, oc.micro_batch, oc.grad_accumulation,
                 world, enum_name(oc.optimizer, kOptimizerKindNames), dtype_name,
                 weights.separate() ? " with float32 master weights" : "");
  });

  // Held-out metrics: each rank evaluates a contiguous share.
  auto evaluate = [&](nlohmann::ordered_json& line) {
    std::vector<double> local(slots + 1, 0.0);
    context.agree([&] {
      at::NoGradGuard no_grad;
      const ShardRange range = shard_range(task.eval_size(), context.rank(), context.size());
      for (std::uint64_t begin = range.begin; begin < range.end; begin += static_cast<std::uint64_t>(oc.micro_batch)) {
        const std::uint64_t end = std::min<std::uint64_t>(range.end, begin + static_cast<std::uint64_t>(oc.micro_batch));
        std::vector<std::size_t> examples;
        for (std::uint64_t k = begin; k < end; ++k) examples.push_back(static_cast<std::size_t>(k));
        task.evaluate(examples, local);
      }
      local[slots] = static_cast<double>(range.end - range.begin);
    });
    const std::vector<double> sums = sum_over_ranks(context, local);
    task.add_metrics(sums, sums[slots], "eval_", line);
  };

  // The held-out metrics of the starting model, once per run (not on resume).
  const fs::path eval_before_path = output / "eval_before.json";
  if (first_step == 0 && task.eval_size() > 0) {
    nlohmann::ordered_json before = {{"step", 0}};
    evaluate(before);
    if (context.is_root()) {
      write_file_atomic(eval_before_path, before.dump(2) + "\n");
      spdlog::info("{}: before training, held-out loss {:.4f}", name, before["eval_loss"].get<double>());
    }
  }

  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  double tokens_total = 0, flops_total = 0;
  // Loop sums after the task's: examples, tokens, model FLOPs, stop requests.
  const std::size_t examples_slot = slots, tokens_slot = slots + 1, flops_slot = slots + 2, stop_slot = slots + 3;
  bool stopped = false;
  // Where the time goes (summary.json "seconds_by_phase"): forward/backward, waiting
  // for the slowest rank, the gradient allreduce, the optimiser, the metrics
  // reduction and checkpoints.
  enum Phase : std::size_t { compute, wait, allreduce, optimise, reduce, checkpoint };
  PhaseTimes phases({"compute", "wait_for_slowest", "gradient_allreduce", "optimizer", "metrics_reduce", "checkpoint"});
  for (std::int64_t step = first_step; step < oc.steps; ++step) {
    weights.zero_gradients();
    std::vector<double> local(slots + 4, 0.0);
    const double computed_before = phases.seconds(compute);
    const auto step_started = std::chrono::steady_clock::now();
    context.agree([&] {
      phases.time(compute, [&] {
        std::vector<std::size_t> step_examples;
        std::vector<std::uint64_t> step_positions;
        for (std::int64_t k = 0; k < global_batch; ++k) {
          step_positions.push_back(static_cast<std::uint64_t>(step * global_batch + k));
          step_examples.push_back(order.at(step_positions.back()));
        }
        // Each rank's share times `world`: the gradient average is the step loss's gradient.
        const double scale = static_cast<double>(world) / task.loss_normaliser(step_examples);
        for (std::int64_t micro = 0; micro < oc.grad_accumulation; ++micro) {
          const std::int64_t first = (micro * world + context.rank()) * oc.micro_batch;
          const std::vector<std::size_t> examples(step_examples.begin() + first,
                                                  step_examples.begin() + first + oc.micro_batch);
          const std::vector<std::uint64_t> positions(step_positions.begin() + first,
                                                     step_positions.begin() + first + oc.micro_batch);
          MicroBatchWork work;
          const at::Tensor loss = task.train_micro_batch(examples, positions, local, work);
          (loss * scale).backward();
          weights.collect_gradients();
          local[examples_slot] += static_cast<double>(examples.size());
          local[tokens_slot] += work.tokens;
          local[flops_slot] += work.flops;
        }
      });
    });
    // The agreement after the micro-batches waits for the slowest rank.
    phases.add(wait, std::chrono::duration<double>(std::chrono::steady_clock::now() - step_started).count() -
                         (phases.seconds(compute) - computed_before));
    phases.time(allreduce, [&] { sync.average(); });
    const double grad_norm = phases.time(optimise, [&] { return clip_gradient_norm(master_tensors, oc.max_grad_norm); });
    if (!std::isfinite(grad_norm))
      RSO_THROW(NumericError, name + ": the gradient norm at step " + std::to_string(step + 1) + " is not finite");
    const double lr = learning_rate_at(oc, step);
    phases.time(optimise, [&] {
      optimizer->step(lr);
      weights.publish();
    });
    // SIGUSR1/SIGTERM ask for a checkpoint at the end of the current step.
    local[stop_slot] = stop_requested() ? 1.0 : 0.0;
    if (control.stop_after_step >= 0 && step + 1 >= control.stop_after_step) local[stop_slot] = 1.0;

    const std::vector<double> sums = phases.time(reduce, [&] { return sum_over_ranks(context, local); });
    tokens_total += sums[tokens_slot];
    flops_total += sums[flops_slot];
    const bool last = step + 1 == oc.steps;
    const bool eval_now =
        task.eval_size() > 0 && (last || (setup.eval_every > 0 && (step + 1) % setup.eval_every == 0));
    nlohmann::ordered_json line = {{"step", step + 1}};
    task.add_metrics(sums, sums[examples_slot], "", line);
    line["grad_norm"] = grad_norm;
    line["learning_rate"] = lr;
    if (eval_now) evaluate(line);
    // Timings last, so that a reader can strip them and compare runs.
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    line["tokens_per_second"] = tokens_total / seconds;
    line["model_flops_per_second"] = flops_total / seconds;
    if (peak > 0) line["mfu"] = flops_total / seconds / (peak * static_cast<double>(world));
    if (context.is_root()) {
      metrics << to_jsonl_line(line) << "\n" << std::flush;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report > std::chrono::duration<double>(config.log.progress_seconds) || last || eval_now) {
        std::string extra;
        for (const std::string& key : task.progress_metrics())
          if (line.contains(key)) extra += fmt::format(" {} {:.4g}", key, line[key].get<double>());
        if (line.contains("mfu")) extra += fmt::format(" MFU {:.1f}%", 100 * line["mfu"].get<double>());
        const double done = static_cast<double>(step + 1 - first_step);
        spdlog::info("{}: step {}/{} loss {:.4f}{} | {:.0f} tokens/s, {:.3g} FLOP/s, ETA {}", name, step + 1, oc.steps,
                     line["loss"].get<double>(), extra, tokens_total / seconds, flops_total / seconds,
                     format_seconds(seconds / done * static_cast<double>(oc.steps - step - 1)));
        last_report = now;
      }
    }
    // Checkpoint every K steps, and when any rank was asked to stop (the
    // request travels with the metrics: one reduction per step).
    const bool stop = sums[stop_slot] > 0 && !last;
    if ((oc.checkpoint_every > 0 && (step + 1) % oc.checkpoint_every == 0 && !last) || stop) {
      phases.time(checkpoint, [&] {
        context.agree([&] {
          if (!context.is_root()) return;
          const std::string written =
              write_train_checkpoint(checkpoints.string(), step + 1, weights.masters(), *optimizer, hash);
          spdlog::info("{}: checkpoint {}", name, written);
        });
      });
    }
    if (stop) {
      // How many ranks had seen a request by this step's reduction; the
      // others stop with them (a forwarded signal may reach them a step later).
      if (context.is_root())
        spdlog::info("{}: stop requested on {} of {} ranks at step {}", name, static_cast<int>(sums[stop_slot]), world,
                     step + 1);
      stopped = true;
      break;
    }
    // Every rank takes part in the summary of the phase times.
    const nlohmann::ordered_json seconds_by_phase = last ? phases.summarise(context.world()) : nlohmann::ordered_json();
    if (last && context.is_root()) {
      std::string breakdown;
      for (const auto& [phase, spread] : seconds_by_phase.items())
        breakdown += fmt::format("{}{} {:.2f}", breakdown.empty() ? "" : ", ", phase, spread["max"].get<double>());
      spdlog::info("{}: seconds per phase (slowest rank): {}", name, breakdown);
      nlohmann::ordered_json summary = line;
      summary["seconds"] = seconds;  // the training loop's, this invocation
      summary["seconds_by_phase"] = seconds_by_phase;
      summary["examples"] = task.train_size();
      summary["held_out"] = task.eval_size();
      summary["global_batch"] = global_batch;
      summary["ranks"] = world;
      summary["dtype"] = dtype_name;
      if (fs::exists(eval_before_path)) summary["eval_before"] = read_json_file(eval_before_path.string());
      write_file_atomic(output / "summary.json", summary.dump(2) + "\n");
    }
  }
  if (stopped) {
    if (context.is_root()) spdlog::info("{}: stopped on request after a checkpoint; resume with --resume auto", name);
    return false;
  }
  weights.restore_float32();
  context.agree([&] {
    if (!context.is_root()) return;
    metrics.close();
    task.save(output.string());
    spdlog::info("{}: wrote {} and {}", name, RunLayout::model_in(output).string(), (output / "metrics.jsonl").string());
  });
  return true;
}

}  // namespace rso::train
