#include "rso/train/preference_trainer.hpp"

#include <ATen/ATen.h>
#include <boost/mpi/collectives.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "rso/core/error.hpp"
#include "rso/core/random.hpp"
#include "rso/dist/sharded_output.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/logprob.hpp"
#include "rso/train/gradient_sync.hpp"
#include "rso/train/losses.hpp"
#include "rso/train/optimizer.hpp"
#include "rso/train/preference_data.hpp"
#include "rso/train/train_checkpoint.hpp"

#include <csignal>
#include <fstream>

namespace rso::train {

namespace fs = std::filesystem;

double learning_rate_at(const TrainConfig& c, std::int64_t step) {
  if (step < c.warmup_steps) return c.learning_rate * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  if (c.schedule == ScheduleKind::constant) return c.learning_rate;
  const double span = static_cast<double>(std::max<std::int64_t>(1, c.steps - c.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup_steps) / span);
  return c.learning_rate * 0.5 * (1.0 + std::cos(M_PI * progress));
}

namespace {

constexpr std::int64_t kReferenceChunk = 32;

// Sequence log-probs of `responses` after `prompts` under `model`, [B].
at::Tensor response_logprobs(model::Transformer& model, const std::vector<std::vector<std::int64_t>>& prompts,
                             const std::vector<std::vector<std::int64_t>>& responses, c10::Device device) {
  model::PromptResponseBatch batch = model::pack_prompt_response(prompts, responses, 0);
  batch.input_ids = batch.input_ids.to(device);
  batch.attention_mask = batch.attention_mask.to(device);
  batch.response_mask = batch.response_mask.to(device);
  return model::sequence_logprob(model, batch).total;
}

// Fills missing reference log-probs with the (still untrained) policy: each
// rank computes a contiguous share, one reduction shares them.
void fill_reference_logprobs(DistContext& context, model::Transformer& policy, std::vector<PreferencePair>& pairs) {
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < pairs.size(); ++i)
    if (std::isnan(pairs[i].reference_chosen) || std::isnan(pairs[i].reference_rejected)) missing.push_back(i);
  if (missing.empty()) return;
  if (context.is_root()) spdlog::info("train: computing pi_sft log-probs of {} pairs once", missing.size());
  const ShardRange range = shard_range(missing.size(), context.rank(), context.size());
  std::vector<double> values(2 * missing.size(), 0.0);
  context.agree([&] {
    at::NoGradGuard no_grad;
    for (std::uint64_t begin = range.begin; begin < range.end; begin += kReferenceChunk) {
      const std::uint64_t end = std::min(range.end, begin + kReferenceChunk);
      std::vector<std::vector<std::int64_t>> prompts, chosen, rejected;
      for (std::uint64_t k = begin; k < end; ++k) {
        const PreferencePair& pair = pairs[missing[k]];
        prompts.push_back(pair.prompt);
        chosen.push_back(pair.chosen);
        rejected.push_back(pair.rejected);
      }
      const at::Tensor c = response_logprobs(policy, prompts, chosen, context.device()).to(at::kCPU, at::kDouble);
      const at::Tensor r = response_logprobs(policy, prompts, rejected, context.device()).to(at::kCPU, at::kDouble);
      for (std::uint64_t k = begin; k < end; ++k) {
        values[2 * k] = c[static_cast<std::int64_t>(k - begin)].item<double>();
        values[2 * k + 1] = r[static_cast<std::int64_t>(k - begin)].item<double>();
      }
    }
  });
  std::vector<double> all(values.size());
  boost::mpi::all_reduce(context.world(), values.data(), static_cast<int>(values.size()), all.data(), std::plus<double>());
  for (std::size_t k = 0; k < missing.size(); ++k) {
    pairs[missing[k]].reference_chosen = all[2 * k];
    pairs[missing[k]].reference_rejected = all[2 * k + 1];
  }
}

// The pair at global example position k: one permutation per epoch.
class PairOrder {
 public:
  PairOrder(std::size_t pairs, std::uint64_t seed) : pairs_(pairs), seed_(seed) {}
  std::size_t at(std::uint64_t k) {
    const std::uint64_t epoch = k / pairs_;
    if (epoch != epoch_ || order_.empty()) {
      RandomStream stream({seed_, Stage::train, epoch, 0});
      order_ = stream.permutation(pairs_);
      epoch_ = epoch;
    }
    return order_[k % pairs_];
  }

 private:
  std::size_t pairs_;
  std::uint64_t seed_;
  std::uint64_t epoch_ = 0;
  std::vector<std::size_t> order_;
};

// SIGUSR1/SIGTERM ask for a checkpoint at the end of the current step.
volatile std::sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }

// Keeps the first `lines` lines of a JSONL file (metrics of steps already
// checkpointed) and drops the rest.
void truncate_lines(const fs::path& path, std::int64_t lines) {
  std::ifstream in(path);
  std::string kept, line;
  for (std::int64_t n = 0; n < lines && std::getline(in, line); ++n) kept += line + "\n";
  in.close();
  write_file_atomic(path, kept);
}

}  // namespace

bool run_preference_training(DistContext& context, const Config& config, const TrainingControl& control) {
  const TrainConfig& tc = config.train;
  const fs::path run(config.run.dir);
  const std::string pairs_path = tc.pairs.empty() ? (run / "sample").string() : tc.pairs;
  const std::string policy_path = tc.policy.empty() ? (run / "sft" / "model.h5").string() : tc.policy;
  const fs::path output = tc.output.empty() ? run / "train" : fs::path(tc.output);
  const std::int64_t world = context.size();
  const std::int64_t global_batch = tc.micro_batch * tc.grad_accumulation * world;
  context.agree([&] {
    if (tc.global_batch != 0 && tc.global_batch != global_batch)
      RSO_THROW(ConfigError, "train.global_batch = " + std::to_string(tc.global_batch) +
                                 " cannot be honoured: micro_batch " + std::to_string(tc.micro_batch) +
                                 " x grad_accumulation " + std::to_string(tc.grad_accumulation) + " x " +
                                 std::to_string(world) + " ranks = " + std::to_string(global_batch));
  });

  model::Transformer policy = context.agree([&] { return model::load_model(policy_path); });
  policy->to(context.device(), at::kFloat);  // float32 master weights
  const auto tokenizer_files = context.agree([&] { return model::read_model_tokenizer(policy_path); });
  const std::unique_ptr<text::Tokenizer> tokenizer = tokenizer_files ? text::make_tokenizer(*tokenizer_files) : nullptr;
  std::vector<PreferencePair> pairs = context.agree(
      [&] { return load_preference_pairs(pairs_path, tokenizer.get(), policy->options().vocab_size()); });
  const bool needs_reference = tc.loss == LossKind::sigmoid_norm || tc.loss == LossKind::hinge_norm;
  if (needs_reference) fill_reference_logprobs(context, policy, pairs);

  std::vector<NamedParameter> named;
  std::vector<at::Tensor> parameters;
  for (const auto& p : policy->named_parameters()) {
    named.push_back({p.key(), p.value()});
    parameters.push_back(p.value());
  }
  std::unique_ptr<Optimizer> optimizer;
  if (tc.optimizer == OptimizerKind::adamw) {
    AdamWOptions options;
    options.weight_decay = tc.weight_decay;
    optimizer = make_adamw(named, options);
  } else {
    AdafactorOptions options;
    options.relative_step = false;  // the configured schedule drives the step size
    optimizer = make_adafactor(named, options);
  }
  GradientSynchronizer sync(context, parameters);
  PairOrder order(pairs.size(), config.run.seed);

  // Resume: weights, optimiser state and the step; the batches and random
  // orders are functions of the step.
  const fs::path checkpoints = output / "checkpoints";
  // The global batch, not how ranks and micro-batches cut it, decides the run.
  const std::string hash = config_hash(config) + "-g" + std::to_string(global_batch);
  std::int64_t first_step = 0;
  if (control.resume) {
    const auto latest = context.agree([&] { return latest_train_checkpoint(checkpoints.string()); });
    if (latest) {
      first_step = context.agree([&] { return load_train_checkpoint(*latest, policy, *optimizer, hash); });
      if (context.is_root()) spdlog::info("train: resuming from {} (step {})", *latest, first_step);
    } else if (context.is_root()) {
      spdlog::info("train: no checkpoint in {}; starting at step 0", checkpoints.string());
    }
  }
  stop_requested = 0;
  std::signal(SIGUSR1, request_stop);
  std::signal(SIGTERM, request_stop);
  if (context.is_root()) {
    fs::create_directories(output);
    spdlog::info("train: {} pairs, {} steps of {} ({} x {} x {} ranks), loss {}, gamma {}, {}", pairs.size(), tc.steps,
                 global_batch, tc.micro_batch, tc.grad_accumulation, world, enum_name(tc.loss, kLossKindNames), tc.gamma,
                 enum_name(tc.optimizer, kOptimizerKindNames));
  }
  // Metrics: one line per step, flushed as written; a resumed run first
  // drops the lines of steps after its checkpoint.
  std::ofstream metrics;
  if (context.is_root()) {
    const fs::path metrics_path = output / "metrics.jsonl";
    if (first_step > 0 && fs::exists(metrics_path)) truncate_lines(metrics_path, first_step);
    metrics.open(metrics_path, first_step > 0 ? std::ios::app : std::ios::trunc);
    if (!metrics) RSO_THROW(IoError, "cannot write " + metrics_path.string());
  }

  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  double tokens_total = 0;
  bool stopped = false;
  for (std::int64_t step = first_step; step < tc.steps; ++step) {
    for (auto& p : parameters) p.mutable_grad() = at::Tensor();
    // loss, correct, margin, chosen, rejected, tokens, pairs, stop requests: summed over the global batch.
    std::vector<double> local(8, 0.0);
    context.agree([&] {
      for (std::int64_t micro = 0; micro < tc.grad_accumulation; ++micro) {
        const std::uint64_t first = static_cast<std::uint64_t>(step * global_batch +
                                                               (micro * world + context.rank()) * tc.micro_batch);
        std::vector<std::vector<std::int64_t>> prompts, chosen, rejected;
        std::vector<double> reference_chosen, reference_rejected;
        for (std::int64_t i = 0; i < tc.micro_batch; ++i) {
          const PreferencePair& pair = pairs[order.at(first + static_cast<std::uint64_t>(i))];
          prompts.push_back(pair.prompt);
          chosen.push_back(pair.chosen);
          rejected.push_back(pair.rejected);
          reference_chosen.push_back(pair.reference_chosen);
          reference_rejected.push_back(pair.reference_rejected);
          local[5] += static_cast<double>(pair.prompt.size() * 2 + pair.chosen.size() + pair.rejected.size());
        }
        PairLogprobs logprobs;
        logprobs.policy_chosen = response_logprobs(policy, prompts, chosen, context.device());
        logprobs.policy_rejected = response_logprobs(policy, prompts, rejected, context.device());
        if (needs_reference) {
          logprobs.reference_chosen = at::tensor(reference_chosen, at::kDouble).to(logprobs.policy_chosen.options());
          logprobs.reference_rejected = at::tensor(reference_rejected, at::kDouble).to(logprobs.policy_chosen.options());
        }
        const PreferenceLoss loss = preference_loss(tc.loss, logprobs, tc.gamma, tc.sft_weight);
        // Mean over the global batch: each rank's micro-batch mean / (accumulation x ranks) summed by averaging.
        (loss.per_pair.mean() / static_cast<double>(tc.grad_accumulation)).backward();
        const at::Tensor margin = loss.margin.to(at::kDouble);
        local[0] += loss.per_pair.detach().to(at::kDouble).sum().item<double>();
        local[1] += margin.gt(0).sum().item<double>();
        local[2] += margin.sum().item<double>();
        local[3] += logprobs.policy_chosen.detach().to(at::kDouble).sum().item<double>();
        local[4] += logprobs.policy_rejected.detach().to(at::kDouble).sum().item<double>();
        local[6] += static_cast<double>(tc.micro_batch);
      }
    });
    sync.average();
    const double grad_norm = clip_gradient_norm(parameters, tc.max_grad_norm);
    if (!std::isfinite(grad_norm))
      RSO_THROW(NumericError, "train: the gradient norm at step " + std::to_string(step) + " is not finite");
    const double lr = learning_rate_at(tc, step);
    optimizer->step(lr);
    local[7] = stop_requested ? 1.0 : 0.0;
    if (control.stop_after_step >= 0 && step + 1 >= control.stop_after_step) local[7] = 1.0;

    std::vector<double> sums(local.size());
    boost::mpi::all_reduce(context.world(), local.data(), static_cast<int>(local.size()), sums.data(), std::plus<double>());
    tokens_total += sums[5];
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (context.is_root()) {
      nlohmann::ordered_json line = {{"step", step + 1},
                                     {"loss", sums[0] / sums[6]},
                                     {"accuracy", sums[1] / sums[6]},
                                     {"margin", sums[2] / sums[6]},
                                     {"chosen_logprob", sums[3] / sums[6]},
                                     {"rejected_logprob", sums[4] / sums[6]},
                                     {"grad_norm", grad_norm},
                                     {"learning_rate", lr},
                                     {"tokens_per_second", tokens_total / seconds}};
      metrics << to_jsonl_line(line) << "\n" << std::flush;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report > std::chrono::duration<double>(config.log.progress_seconds) || step + 1 == tc.steps) {
        spdlog::info("train: step {}/{} loss {:.4f} accuracy {:.3f} margin {:.4f} grad norm {:.3g}, {:.0f} tokens/s, ETA {:.0f} s",
                     step + 1, tc.steps, sums[0] / sums[6], sums[1] / sums[6], sums[2] / sums[6], grad_norm,
                     tokens_total / seconds, seconds / static_cast<double>(step + 1) * static_cast<double>(tc.steps - step - 1));
        last_report = now;
      }
    }
    // Checkpoint every K steps, and when any rank was asked to stop (the
    // request travels with the metrics: one reduction per step).
    const bool stop = sums[7] > 0 && step + 1 < tc.steps;
    if ((tc.checkpoint_every > 0 && (step + 1) % tc.checkpoint_every == 0) || stop) {
      context.agree([&] {
        if (!context.is_root()) return;
        const std::string written = write_train_checkpoint(checkpoints.string(), step + 1, policy, *optimizer, hash);
        spdlog::info("train: checkpoint {}", written);
      });
    }
    if (stop) {
      stopped = true;
      break;
    }
  }
  std::signal(SIGUSR1, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (stopped) {
    if (context.is_root()) spdlog::info("train: stopped on request after a checkpoint; resume with --resume auto");
    return false;
  }
  context.agree([&] {
    if (!context.is_root()) return;
    metrics.close();
    model::save_model(policy, (output / "model.h5").string(), tokenizer_files ? &*tokenizer_files : nullptr);
    spdlog::info("train: wrote {} and {}", (output / "model.h5").string(), (output / "metrics.jsonl").string());
  });
  return true;
}

}  // namespace rso::train
