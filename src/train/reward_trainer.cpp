#include "rso/train/reward_trainer.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <spdlog/spdlog.h>

#include <boost/mpi/collectives/all_reduce.hpp>

#include <chrono>
#include <filesystem>

#include "rso/core/run_layout.hpp"
#include "rso/core/error.hpp"
#include "rso/dist/sharded_output.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/json_file.hpp"
#include "rso/model/batching.hpp"
#include "rso/train/frozen_states.hpp"
#include "rso/train/model_flops.hpp"
#include "rso/train/preference_data.hpp"

namespace rso::train {

namespace fs = std::filesystem;

model::RankingSeparators ranking_separators(const RewardConfig& config, const text::Tokenizer* tokenizer,
                                            std::int64_t vocab_size) {
  auto parse = [&](const std::string& marker, const char* key) {
    std::vector<std::int64_t> ids;
    if (marker.rfind("ids:", 0) == 0) {
      std::size_t at = 4;
      while (at < marker.size()) {
        const std::size_t comma = std::min(marker.find(',', at), marker.size());
        const std::string number = marker.substr(at, comma - at);
        std::size_t used = 0;
        long long id = -1;
        try {
          id = std::stoll(number, &used);
        } catch (const std::exception&) {
        }
        if (used != number.size() || number.empty() || id < 0 || id >= vocab_size)
          RSO_THROW(ConfigError, std::string("reward.") + key + " = '" + marker +
                                     "': after 'ids:' give comma-separated token ids below the vocabulary size " +
                                     std::to_string(vocab_size));
        ids.push_back(id);
        at = comma + 1;
      }
    } else {
      if (tokenizer == nullptr)
        RSO_THROW(ConfigError, std::string("reward.") + key + " is text but the model has no tokenizer; give 'ids:N,...'");
      ids = tokenizer->encode(marker);
    }
    if (ids.empty()) RSO_THROW(ConfigError, std::string("reward.") + key + " gives no tokens");
    return ids;
  };
  return {parse(config.first_marker, "first_marker"), parse(config.second_marker, "second_marker")};
}

namespace {

class RewardTask : public TrainingTask {
 public:
  enum Slot { kLoss, kCorrect, kChosenScore, kRejectedScore, kSlots };

  RewardTask(const Config& config, model::RewardModel model, model::RewardHead head, std::vector<PreferencePair> train,
             std::vector<PreferencePair> eval, std::optional<text::TokenizerFiles> tokenizer, c10::Device device)
      : config_(config), model_(std::move(model)), head_(std::move(head)), train_(std::move(train)),
        eval_(std::move(eval)), tokenizer_(std::move(tokenizer)), device_(device),
        flops_(flop_model(named_parameters(*model_), model_->options(), false)) {}

  // Computes the frozen backbone's states of the training and held-out
  // pairs once, and scores them from those from now on. Collective.
  void cache_frozen_states(const DistContext& context) {
    frozen_states_.emplace(model_);
    frozen_states_->fill(context, train_);
    frozen_states_->fill(context, eval_);
  }
  std::uint64_t frozen_state_bytes_held() const { return frozen_states_ ? frozen_states_->bytes() : 0; }

  std::size_t train_size() const override { return train_.size(); }
  std::size_t eval_size() const override { return eval_.size(); }
  std::size_t metric_slots() const override { return kSlots; }

  at::Tensor train_micro_batch(const std::vector<std::size_t>& examples, const std::vector<std::uint64_t>& positions,
                               std::vector<double>& sums, MicroBatchWork& work) override {
    std::vector<bool> flips;
    for (const std::uint64_t position : positions)
      flips.push_back(ranking() && RandomStream({config_.run.seed, Stage::reward, position, 2}).bernoulli(0.5));
    const Scored scored = score(train_, examples, flips, &work);
    accumulate(scored, sums);
    at::Tensor loss = scored.loss.sum();
    // The prior on the valences, once per step: the loop divides the step's
    // loss by its examples, so each example carries its share of it.
    const double share = static_cast<double>(examples.size());
    if (const double l2 = config_.reward.valence_l2; l2 > 0)
      loss = loss + share * 0.5 * l2 * model_->valences().to(at::kFloat).square().sum();
    if (const double l2 = config_.reward.modifier_l2; l2 > 0)
      loss = loss + share * 0.5 * l2 * model_->modifiers().to(at::kFloat).square().sum();
    return loss;
  }

  void evaluate(const std::vector<std::size_t>& examples, std::vector<double>& sums) override {
    if (!ranking()) {
      accumulate(score(eval_, examples, std::vector<bool>(examples.size(), false), nullptr), sums);
      return;
    }
    // Both orders, each weighing one half.
    std::vector<double> part(sums.size(), 0.0);
    accumulate(score(eval_, examples, std::vector<bool>(examples.size(), false), nullptr), part);
    accumulate(score(eval_, examples, std::vector<bool>(examples.size(), true), nullptr), part);
    for (std::size_t i = 0; i < sums.size(); ++i) sums[i] += 0.5 * part[i];
  }

  void add_metrics(const std::vector<double>& sums, double examples, const std::string& prefix,
                   nlohmann::ordered_json& line) const override {
    line[prefix + "loss"] = sums[kLoss] / examples;
    line[prefix + "accuracy"] = sums[kCorrect] / examples;
    if (ranking()) {
      line[prefix + "chosen_first_logit"] = sums[kChosenScore] / examples;
    } else {
      line[prefix + "chosen_reward"] = sums[kChosenScore] / examples;
      line[prefix + "rejected_reward"] = sums[kRejectedScore] / examples;
    }
  }

  std::vector<std::string> progress_metrics() const override { return {"accuracy", "eval_accuracy", "grad_norm"}; }

  // How often the model orders `pairs` as they are labelled (ranking models
  // in both orders; a tie counts half), over every rank's share. Collective.
  double agreement(const DistContext& context, const std::vector<PreferencePair>& pairs) {
    const ShardRange range = shard_range(pairs.size(), context.rank(), context.size());
    double agreed = context.agree([&] {
      at::NoGradGuard no_grad;
      double sum = 0;
      constexpr std::size_t kChunk = 32;
      for (std::size_t begin = range.begin; begin < range.end; begin += kChunk) {
        std::vector<std::size_t> examples;
        for (std::size_t i = begin; i < std::min<std::size_t>(range.end, begin + kChunk); ++i) examples.push_back(i);
        at::Tensor logit = score(pairs, examples, std::vector<bool>(examples.size(), false), nullptr).logit.detach();
        if (ranking())
          logit = 0.5 * (logit - score(pairs, examples, std::vector<bool>(examples.size(), true), nullptr).logit.detach());
        const at::Tensor l = logit.to(at::kDouble);
        sum += l.gt(0).sum().item<double>() + 0.5 * l.eq(0).sum().item<double>();
      }
      return sum;
    });
    agreed = boost::mpi::all_reduce(context.world(), agreed, std::plus<double>());
    return pairs.empty() ? 0.0 : agreed / static_cast<double>(pairs.size());
  }

  void save(const std::string& output) override {
    model::save_reward_model(model_, RunLayout::model_in(output).string(), head_, tokenizer_ ? &*tokenizer_ : nullptr);
  }

 private:
  bool ranking() const { return head_.kind == "ranking"; }

  // Per-pair loss and, as the chosen-vs-rejected logit, r_w − r_l
  // (pointwise) or the ranking logit oriented so that > 0 favours y_w.
  struct Scored {
    at::Tensor loss, logit, chosen_score, rejected_score;
  };

  Scored score(const std::vector<PreferencePair>& data, const std::vector<std::size_t>& examples,
               const std::vector<bool>& flips, MicroBatchWork* work) {
    std::vector<std::vector<std::int64_t>> prompts, firsts, seconds;
    for (std::size_t k = 0; k < examples.size(); ++k) {
      const PreferencePair& pair = data[examples[k]];
      prompts.push_back(pair.prompt);
      firsts.push_back(flips[k] ? pair.rejected : pair.chosen);
      seconds.push_back(flips[k] ? pair.chosen : pair.rejected);
    }
    Scored scored;
    if (ranking()) {
      const auto [ids, mask] = model::pack_ranking_inputs(prompts, firsts, seconds, head_.separators, 0);
      const at::Tensor s = model_->forward(ids.to(device_), mask.to(device_)).to(at::kFloat);
      std::vector<double> sign_values;
      for (const bool flip : flips) sign_values.push_back(flip ? -1.0 : 1.0);
      const at::Tensor sign = at::tensor(sign_values, at::kFloat).to(s.device());
      scored.logit = s * sign;
      scored.chosen_score = scored.logit;
      scored.rejected_score = at::zeros_like(s);
      if (work != nullptr) {
        const at::Tensor lengths = mask.sum(1);
        for (std::int64_t i = 0; i < lengths.size(0); ++i) {
          const std::int64_t length = lengths[i].item<std::int64_t>();
          work->tokens += static_cast<double>(length);
          work->flops += flops_.sequence(length);
        }
      }
    } else {
      std::vector<std::vector<std::int64_t>> chosen_rows, rejected_rows;
      for (std::size_t k = 0; k < prompts.size(); ++k) {
        chosen_rows.push_back(prompts[k]);
        chosen_rows.back().insert(chosen_rows.back().end(), firsts[k].begin(), firsts[k].end());
        rejected_rows.push_back(prompts[k]);
        rejected_rows.back().insert(rejected_rows.back().end(), seconds[k].begin(), seconds[k].end());
        if (work != nullptr) {
          work->tokens += static_cast<double>(chosen_rows.back().size() + rejected_rows.back().size());
          work->flops += flops_.sequence(static_cast<std::int64_t>(chosen_rows.back().size())) +
                         flops_.sequence(static_cast<std::int64_t>(rejected_rows.back().size()));
        }
      }
      // One forward for both responses: chosen rows first.
      std::vector<std::vector<std::int64_t>> rows = chosen_rows;
      rows.insert(rows.end(), rejected_rows.begin(), rejected_rows.end());
      at::Tensor r;
      if (frozen_states_ && frozen_states_->holds(data)) {
        r = frozen_states_->score(data, examples).to(at::kFloat);
      } else {
        const auto [ids, mask] = model::left_pad(rows, 0);
        r = model_->forward(ids.to(device_), mask.to(device_)).to(at::kFloat);
      }
      const auto n = static_cast<std::int64_t>(prompts.size());
      scored.chosen_score = r.slice(0, 0, n);
      scored.rejected_score = r.slice(0, n, 2 * n);
      scored.logit = scored.chosen_score - scored.rejected_score;
    }
    scored.loss = at::softplus(-scored.logit);  // −log σ(logit)
    return scored;
  }

  static void accumulate(const Scored& scored, std::vector<double>& sums) {
    const at::Tensor logit = scored.logit.detach().to(at::kDouble);
    sums[kLoss] += scored.loss.detach().to(at::kDouble).sum().item<double>();
    sums[kCorrect] += logit.gt(0).sum().item<double>();
    sums[kChosenScore] += scored.chosen_score.detach().to(at::kDouble).sum().item<double>();
    sums[kRejectedScore] += scored.rejected_score.detach().to(at::kDouble).sum().item<double>();
  }

  const Config& config_;
  model::RewardModel model_;
  model::RewardHead head_;
  std::vector<PreferencePair> train_, eval_;
  std::optional<text::TokenizerFiles> tokenizer_;
  c10::Device device_;
  FlopModel flops_;
  std::optional<FrozenStateCache> frozen_states_;
};

// The reward model reward.init describes: a policy's backbone under a zero
// score head, or a reward model of the configured kind.
model::RewardModel initial_reward_model(const std::string& path, const std::string& kind, const std::string& pooling,
                                        std::int64_t modifier_window, model::RewardHead* stored) {
  if (model::read_model_architecture(path) == model::kRewardArchitecture) {
    model::RewardModel model = model::load_reward_model(path, stored);
    if (stored->kind != kind)
      RSO_THROW(ConfigError, "reward.init '" + path + "' is a " + stored->kind + " reward model, reward.kind is " + kind);
    if (model->pooling() != pooling)
      RSO_THROW(ConfigError, "reward.init '" + path + "' reads its score with pooling " + model->pooling() +
                                 ", reward.pooling is " + pooling);
    if (model->token_modifier && model->modifier_window() != modifier_window)
      RSO_THROW(ConfigError, "reward.init '" + path + "' has modifier window " +
                                 std::to_string(model->modifier_window()) + ", reward.modifier_window is " +
                                 std::to_string(modifier_window));
    return model;
  }
  const model::Transformer policy = model::load_model(path);
  model::RewardModel model(policy->options());
  model->set_pooling(pooling, modifier_window);
  at::NoGradGuard no_grad;
  model->to(policy->model->embed_tokens->weight.scalar_type());
  const auto source = policy->model->named_parameters();
  for (auto& p : model->model->named_parameters()) p.value().copy_(source[p.key()]);
  model->score->weight.zero_();
  return model;
}

// The parameters reward.frozen_layers leaves to train. The frozen ones (the
// token embeddings and the lowest layers) stop requiring gradients, so
// autograd does not differentiate below the first trained layer.
std::vector<NamedParameter> trainable_parameters(model::RewardModel& model, std::int64_t frozen_layers) {
  if (frozen_layers > model->options().num_layers())
    RSO_THROW(ConfigError, "reward.frozen_layers = " + std::to_string(frozen_layers) + " but the model has " +
                               std::to_string(model->options().num_layers()) + " layers");
  auto frozen = [&](const std::string& name) {
    if (frozen_layers == 0) return false;
    if (name.rfind("model.embed_tokens.", 0) == 0) return true;
    const std::string layers = "model.layers.";
    if (name.rfind(layers, 0) != 0) return false;
    return std::stoll(name.substr(layers.size())) < frozen_layers;
  };
  std::vector<NamedParameter> trainable;
  for (auto& p : model->named_parameters()) {
    if (frozen(p.key())) p.value().set_requires_grad(false);
    else trainable.push_back({p.key(), p.value()});
  }
  return trainable;
}

}  // namespace

bool run_reward_training(DistContext& context, const Config& config, const TrainingControl& control) {
  const RewardConfig& rc = config.reward;
  const RunLayout layout(config.run.dir);
  const std::string pairs_path = path_or(rc.pairs, layout.data("pairs.jsonl"));
  // The SFT policy where this run's sft section puts it.
  const std::string init_path = !rc.init.empty()          ? rc.init
                                : !config.sft.output.empty() ? RunLayout::model_in(config.sft.output).string()
                                                             : layout.sft_model().string();
  const std::string kind = enum_name(rc.kind, kRewardKindNames);
  const std::string pooling = enum_name(rc.pooling, kRewardPoolingNames);
  if (rc.kind == RewardKind::ranking && rc.pooling != RewardPooling::last)
    context.agree([] { RSO_THROW(ConfigError, "reward.pooling other than last needs reward.kind = pointwise: a ranking model "
                                              "must tell its two responses apart"); });
  if (rc.valence_l2 > 0 && !learns_token_valences(rc.pooling))
    context.agree([] {
      RSO_THROW(ConfigError,
                "reward.valence_l2 > 0 needs reward.pooling = lexicon, contextual-lexicon or lexicon-modifiers: only they "
                "learn token valences");
    });
  if (rc.modifier_l2 > 0 && rc.pooling != RewardPooling::lexicon_modifiers)
    context.agree([] {
      RSO_THROW(ConfigError, "reward.modifier_l2 > 0 needs reward.pooling = lexicon-modifiers: only it learns modifiers");
    });
  context.agree([&] { global_batch_size(rc, context.size(), "reward"); });

  model::RewardHead stored_head;
  stored_head.kind.clear();  // stays empty when reward.init is a policy
  model::RewardModel model = context.agree([&] { return initial_reward_model(init_path, kind, pooling, rc.modifier_window, &stored_head); });
  model->to(context.device(), context.compute_dtype());
  auto tokenizer_files = context.agree([&] { return model::read_model_tokenizer(init_path); });
  const std::unique_ptr<text::Tokenizer> tokenizer = tokenizer_files ? text::make_tokenizer(*tokenizer_files) : nullptr;
  const std::int64_t vocab = model->options().vocab_size();
  model::RewardHead head;
  head.kind = kind;
  // A ranking model keeps the markers it was trained with.
  if (stored_head.kind == "ranking") head.separators = stored_head.separators;
  else if (rc.kind == RewardKind::ranking)
    head.separators = context.agree([&] { return ranking_separators(rc, tokenizer.get(), vocab); });

  // A pointwise model reads the prompt with each response, a ranking model
  // with both responses and the separators.
  const std::int64_t positions = model->options().max_positions();
  const auto separator_tokens = static_cast<std::int64_t>(head.separators.before_first.size() +
                                                          head.separators.before_second.size());
  const auto read_length = [&](const PreferencePair& pair) {
    if (kind != "ranking") return prompt_and_longer_response(pair);
    return static_cast<std::int64_t>(pair.prompt.size() + pair.chosen.size() + pair.rejected.size()) + separator_tokens;
  };
  const auto load = [&](const std::string& path) {
    std::vector<PreferencePair> loaded = load_preference_pairs(path, tokenizer.get(), vocab);
    require_pairs_fit(loaded, path, positions, "the reward model's max_positions " + std::to_string(positions),
                      read_length);
    if (context.is_root())
      for (const std::string& warning : preference_pair_warnings(loaded, path)) spdlog::warn("reward: {}", warning);
    return loaded;
  };
  std::vector<PreferencePair> all = context.agree([&] { return load(pairs_path); });
  auto [train, eval] = training_and_held_out(
      context, std::move(all), !rc.eval_pairs.empty(), [&] { return load(rc.eval_pairs); }, rc.eval_fraction,
      config.run.seed, Stage::reward, pairs_path);
  if (context.is_root()) spdlog::info("reward: {} model from {}", kind, init_path);
  // The check on the policy's own samples (task.check_prompts makes them).
  const std::string check_path = path_or(rc.check_pairs, layout.data("policy_pairs.jsonl"));
  const bool check = context.agree([&] {
    if (!rc.check_pairs.empty() && !fs::exists(check_path))
      RSO_THROW(IoError, "reward.check_pairs '" + check_path + "' does not exist");
    // The built-in task's check may be empty: a policy whose samples the gold reward never tells apart.
    return fs::exists(check_path) && (!rc.check_pairs.empty() || count_jsonl_records(check_path) > 0);
  });
  bool cache_states = false;
  const std::vector<PreferencePair> check_pairs =
      check ? context.agree([&] { return load(check_path); }) : std::vector<PreferencePair>{};
  // Every layer frozen: each row's states are computed once, if they fit.
  if (rc.kind == RewardKind::pointwise && rc.frozen_layers == model->options().num_layers() &&
      rc.frozen_state_cache_mib > 0) {
    const std::size_t element = model->score->weight.element_size();
    const std::int64_t hidden = model->options().hidden_size();
    const std::uint64_t need = frozen_state_bytes(train, hidden, element) + frozen_state_bytes(eval, hidden, element);
    const auto mib = [](std::uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); };
    cache_states = need <= static_cast<std::uint64_t>(rc.frozen_state_cache_mib) << 20;
    if (context.is_root())
      spdlog::info(cache_states ? "reward: every layer is frozen: the backbone's states of the pairs are computed once "
                                  "and kept ({:.0f} MiB per rank at most; reward.frozen_state_cache_mib = {})"
                                : "reward: every layer is frozen, but the backbone's states of the pairs would take "
                                  "{:.0f} MiB per rank, over reward.frozen_state_cache_mib = {}: each step recomputes "
                                  "them",
                   mib(need), rc.frozen_state_cache_mib);
  }
  RewardTask task(config, model, head, std::move(train), std::move(eval), std::move(tokenizer_files),
                  context.device());
  if (cache_states) {
    const auto started = std::chrono::steady_clock::now();
    task.cache_frozen_states(context);
    if (context.is_root())
      spdlog::info("reward: the frozen states computed and exchanged in {:.1f} s ({:.0f} MiB)",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                   static_cast<double>(task.frozen_state_bytes_held()) / (1 << 20));
  }

  TrainerSetup setup;
  setup.name = "reward";
  setup.settings = &rc;
  setup.stage = Stage::reward;
  setup.seed = config.run.seed;
  setup.eval_every = rc.eval_every;
  setup.parameters = context.agree([&] { return trainable_parameters(model, rc.frozen_layers); });
  if (rc.frozen_layers > 0 && context.is_root())
    spdlog::info("reward: the token embeddings and the lowest {} layers keep their weights; {} of {} parameter tensors "
                 "train",
                 rc.frozen_layers, setup.parameters.size(), model->named_parameters().size());
  setup.output = path_or(rc.output, layout.reward_dir());
  setup.config_hash = stage_hash(config, [](Config& r, const Config& c) { r.reward = c.reward; });
  if (!run_training(context, config, setup, task, control)) return false;
  if (check) {
    const double agreement = task.agreement(context, check_pairs);
    context.agree([&] {
      if (!context.is_root()) return;
      spdlog::info("reward: agrees with {} on {:.3f} of its {} pairs (the policy's own samples, labelled by a trusted "
                   "judge)",
                   check_path, agreement, check_pairs.size());
      const fs::path summary_path = fs::path(setup.output) / "summary.json";
      nlohmann::ordered_json summary = nlohmann::ordered_json::parse(read_json_file(summary_path.string()).dump());
      summary["check_pairs"] = {{"path", check_path}, {"pairs", check_pairs.size()}, {"agreement", agreement}};
      write_file_atomic(summary_path, summary.dump(2) + "\n");
    });
  }
  return true;
}

}  // namespace rso::train
