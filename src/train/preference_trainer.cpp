#include "rso/train/preference_trainer.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <boost/mpi/collectives.hpp>
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <tuple>
#include <utility>

#include "rso/core/run_layout.hpp"
#include "rso/core/error.hpp"
#include "rso/core/random.hpp"
#include "rso/dist/sharded_output.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/hdf5.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/logprob.hpp"
#include "rso/train/losses.hpp"
#include "rso/train/model_flops.hpp"
#include "rso/train/preference_data.hpp"

namespace rso::train {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kReferenceChunk = 32;

// Sequence log-probs of the chosen and the rejected responses after their
// prompts under `model`, [B] each, from one forward of 2B rows.
std::pair<at::Tensor, at::Tensor> pair_logprobs(model::Transformer& model,
                                                const std::vector<std::vector<std::int64_t>>& prompts,
                                                const std::vector<std::vector<std::int64_t>>& chosen,
                                                const std::vector<std::vector<std::int64_t>>& rejected,
                                                c10::Device device) {
  model::PromptResponseBatch batch = model::pack_pairs(prompts, chosen, rejected, 0);
  batch.input_ids = batch.input_ids.to(device);
  batch.attention_mask = batch.attention_mask.to(device);
  batch.response_mask = batch.response_mask.to(device);
  const at::Tensor both = model::sequence_logprob(model, batch).total;
  const auto pairs = static_cast<std::int64_t>(prompts.size());
  return {both.narrow(0, 0, pairs), both.narrow(0, pairs, pairs)};
}

// Fills missing reference log-probs with the (still untrained) policy: each
// rank computes a contiguous share, one reduction shares them.
void compute_reference_logprobs(DistContext& context, model::Transformer& policy, std::vector<PreferencePair>& pairs,
                                const std::vector<std::size_t>& missing) {
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
      const auto [on_device_c, on_device_r] = pair_logprobs(policy, prompts, chosen, rejected, context.device());
      const at::Tensor c = on_device_c.to(at::kCPU, at::kDouble), r = on_device_r.to(at::kCPU, at::kDouble);
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

// What the reference log-probs depend on: every pair's tokens and the
// reference policy's weights and forward dtype. 16 hex digits.
std::string reference_fingerprint(model::Transformer& policy, const std::vector<PreferencePair>& pairs) {
  std::uint64_t hash = fnv1a64("rso.reference_logprobs");
  auto add = [&hash](const void* data, std::size_t bytes) {
    hash = fnv1a64(std::string_view(static_cast<const char*>(data), bytes), hash);
  };
  for (const PreferencePair& pair : pairs)
    for (const auto* tokens : {&pair.prompt, &pair.chosen, &pair.rejected}) {
      const std::uint64_t n = tokens->size();
      add(&n, sizeof n);
      add(tokens->data(), n * sizeof(std::int64_t));
    }
  for (const auto& p : policy->named_parameters()) {
    const at::Tensor bytes = p.value().detach().to(at::kCPU).contiguous();
    add(p.key().data(), p.key().size());
    add(bytes.data_ptr(), static_cast<std::size_t>(bytes.nbytes()));
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

// Reference log-probs computed for pairs without them are cached in
// <output>/reference_logprobs.h5 (format "rso.reference_logprobs" v1:
// @fingerprint, /chosen and /rejected float64 [pairs]), so a resumed or
// repeated run reads them instead of running the reference model again. A
// cache for other pairs or another policy (fingerprint) is recomputed.
constexpr const char* kReferenceFormat = "rso.reference_logprobs";
constexpr std::int64_t kReferenceVersion = 1;

void fill_reference_logprobs(DistContext& context, model::Transformer& policy, std::vector<PreferencePair>& pairs,
                             const fs::path& cache) {
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < pairs.size(); ++i)
    if (std::isnan(pairs[i].reference_chosen) || std::isnan(pairs[i].reference_rejected)) missing.push_back(i);
  if (missing.empty()) return;
  const std::string fingerprint = reference_fingerprint(policy, pairs);
  // Rank 0 decides whether the cache holds these pairs; every rank then reads it.
  const bool cached = context.decide([&] {
    if (!fs::exists(cache)) return false;
    const h5::File file = h5::File::open(cache.string(), kReferenceFormat, kReferenceVersion);
    if (file.string_attribute("fingerprint") == fingerprint) return true;
    spdlog::info("train: {} is for other pairs or another policy; recomputing", cache.string());
    return false;
  });
  if (cached) context.agree([&] {
    const h5::File file = h5::File::open(cache.string(), kReferenceFormat, kReferenceVersion);
    const at::Tensor chosen = file.read_tensor("chosen").to(at::kDouble).contiguous();
    const at::Tensor rejected = file.read_tensor("rejected").to(at::kDouble).contiguous();
    if (chosen.numel() != static_cast<std::int64_t>(pairs.size()) || rejected.numel() != chosen.numel())
      RSO_THROW(DataError, cache.string() + " holds " + std::to_string(chosen.numel()) + " pairs, not " +
                               std::to_string(pairs.size()));
    for (const std::size_t i : missing) {
      pairs[i].reference_chosen = chosen[static_cast<std::int64_t>(i)].item<double>();
      pairs[i].reference_rejected = rejected[static_cast<std::int64_t>(i)].item<double>();
    }
  });
  if (cached) {
    if (context.is_root()) spdlog::info("train: pi_sft log-probs of {} pairs read from {}", missing.size(), cache.string());
    return;
  }
  compute_reference_logprobs(context, policy, pairs, missing);
  context.agree([&] {
    if (!context.is_root()) return;
    std::vector<double> chosen, rejected;
    for (const PreferencePair& pair : pairs) {
      chosen.push_back(pair.reference_chosen);
      rejected.push_back(pair.reference_rejected);
    }
    fs::create_directories(cache.parent_path());
    const fs::path temporary = cache.string() + ".tmp";
    {
      h5::File file = h5::File::create(temporary.string(), kReferenceFormat, kReferenceVersion);
      file.set_attribute("fingerprint", fingerprint);
      file.write_tensor("chosen", at::tensor(chosen, at::kDouble));
      file.write_tensor("rejected", at::tensor(rejected, at::kDouble));
      file.close();
    }
    fsync_path(temporary);
    fs::rename(temporary, cache);
  });
}

// The -norm losses compare with π_sft.
bool needs_reference(LossKind loss) { return loss == LossKind::sigmoid_norm || loss == LossKind::hinge_norm; }

class PreferenceTask : public TrainingTask {
 public:
  enum Slot { kLoss, kCorrect, kMargin, kChosen, kRejected, kSlots };

  PreferenceTask(const TrainConfig& config, model::Transformer policy, std::vector<PreferencePair> pairs,
                 std::optional<text::TokenizerFiles> tokenizer, c10::Device device)
      : config_(config), policy_(std::move(policy)), pairs_(std::move(pairs)), tokenizer_(std::move(tokenizer)),
        device_(device),
        flops_(flop_model(named_parameters(*policy_), policy_->options(), policy_->options().tie_embeddings())) {}

  std::size_t train_size() const override { return pairs_.size(); }
  std::size_t metric_slots() const override { return kSlots; }

  at::Tensor train_micro_batch(const std::vector<std::size_t>& examples, const std::vector<std::uint64_t>&,
                               std::vector<double>& sums, MicroBatchWork& work) override {
    std::vector<std::vector<std::int64_t>> prompts, chosen, rejected;
    std::vector<double> reference_chosen, reference_rejected;
    for (const std::size_t i : examples) {
      const PreferencePair& pair = pairs_[i];
      prompts.push_back(pair.prompt);
      chosen.push_back(pair.chosen);
      rejected.push_back(pair.rejected);
      reference_chosen.push_back(pair.reference_chosen);
      reference_rejected.push_back(pair.reference_rejected);
      const auto chosen_length = static_cast<std::int64_t>(pair.prompt.size() + pair.chosen.size());
      const auto rejected_length = static_cast<std::int64_t>(pair.prompt.size() + pair.rejected.size());
      work.tokens += static_cast<double>(chosen_length + rejected_length);
      work.flops += flops_.sequence(chosen_length) + flops_.sequence(rejected_length);
    }
    PairLogprobs logprobs;
    std::tie(logprobs.policy_chosen, logprobs.policy_rejected) = pair_logprobs(policy_, prompts, chosen, rejected, device_);
    if (needs_reference(config_.loss)) {
      logprobs.reference_chosen = at::tensor(reference_chosen, at::kDouble).to(logprobs.policy_chosen.options());
      logprobs.reference_rejected = at::tensor(reference_rejected, at::kDouble).to(logprobs.policy_chosen.options());
    }
    const PreferenceLoss loss = preference_loss(config_.loss, logprobs, config_.gamma, config_.sft_weight);
    const at::Tensor margin = loss.margin.to(at::kDouble);
    sums[kLoss] += loss.per_pair.detach().to(at::kDouble).sum().item<double>();
    sums[kCorrect] += margin.gt(0).sum().item<double>();
    sums[kMargin] += margin.sum().item<double>();
    sums[kChosen] += logprobs.policy_chosen.detach().to(at::kDouble).sum().item<double>();
    sums[kRejected] += logprobs.policy_rejected.detach().to(at::kDouble).sum().item<double>();
    return loss.per_pair.sum();
  }

  void evaluate(const std::vector<std::size_t>&, std::vector<double>&) override {}

  void add_metrics(const std::vector<double>& sums, double examples, const std::string& prefix,
                   nlohmann::ordered_json& line) const override {
    line[prefix + "loss"] = sums[kLoss] / examples;
    line[prefix + "accuracy"] = sums[kCorrect] / examples;
    line[prefix + "margin"] = sums[kMargin] / examples;
    line[prefix + "chosen_logprob"] = sums[kChosen] / examples;
    line[prefix + "rejected_logprob"] = sums[kRejected] / examples;
  }

  std::vector<std::string> progress_metrics() const override { return {"accuracy", "margin", "grad_norm"}; }

  void save(const std::string& output) override {
    model::save_model(policy_, RunLayout::model_in(output).string(), tokenizer_ ? &*tokenizer_ : nullptr);
  }

 private:
  const TrainConfig& config_;
  model::Transformer policy_;
  std::vector<PreferencePair> pairs_;
  std::optional<text::TokenizerFiles> tokenizer_;
  c10::Device device_;
  FlopModel flops_;
};


}  // namespace

bool run_preference_training(DistContext& context, const Config& config, const TrainingControl& control) {
  const TrainConfig& tc = config.train;
  const RunLayout layout(config.run.dir);
  const std::string pairs_path = path_or(tc.pairs, layout.sample_dir());
  const std::string policy_path = path_or(tc.policy, layout.sft_model());
  context.agree([&] { global_batch_size(tc, context.size(), "train"); });

  model::Transformer policy = context.agree([&] { return model::load_model(policy_path); });
  policy->to(context.device(), context.compute_dtype());
  auto tokenizer_files = context.agree([&] { return model::read_model_tokenizer(policy_path); });
  const std::unique_ptr<text::Tokenizer> tokenizer = tokenizer_files ? text::make_tokenizer(*tokenizer_files) : nullptr;
  std::vector<PreferencePair> pairs = context.agree([&] {
    std::vector<PreferencePair> loaded = load_preference_pairs(pairs_path, tokenizer.get(), policy->options().vocab_size());
    // Chosen and rejected each go through the policy after the prompt.
    const std::int64_t positions = policy->options().max_positions();
    require_pairs_fit(loaded, pairs_path, positions, "the policy's max_positions " + std::to_string(positions),
                      prompt_and_longer_response);
    return loaded;
  });
  if (context.is_root())
    for (const std::string& warning : preference_pair_warnings(pairs, pairs_path)) spdlog::warn("train: {}", warning);
  const std::string output = path_or(tc.output, layout.train_dir());
  if (needs_reference(tc.loss))
    fill_reference_logprobs(context, policy, pairs, fs::path(output) / "reference_logprobs.h5");
  PreferenceTask task(tc, policy, std::move(pairs), std::move(tokenizer_files), context.device());
  if (context.is_root())
    spdlog::info("train: loss {}, gamma {}, sft weight {}", enum_name(tc.loss, kLossKindNames), tc.gamma, tc.sft_weight);

  TrainerSetup setup;
  setup.name = "train";
  setup.settings = &tc;
  setup.stage = Stage::train;
  setup.seed = config.run.seed;
  setup.parameters = named_parameters(*policy);
  setup.output = output;
  // The sampling section too: the pairs come from it.
  setup.config_hash = stage_hash(config, [](Config& r, const Config& c) {
    r.sample = c.sample;
    r.train = c.train;
  });
  return run_training(context, config, setup, task, control);
}

}  // namespace rso::train
