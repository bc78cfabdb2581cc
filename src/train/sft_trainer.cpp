#include "rso/train/sft_trainer.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "rso/core/run_layout.hpp"
#include "rso/core/error.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/logprob.hpp"
#include "rso/text/record_tokens.hpp"
#include "rso/train/model_flops.hpp"

namespace rso::train {

namespace fs = std::filesystem;

std::vector<SftExample> load_sft_examples(const std::string& path, const text::Tokenizer* tokenizer,
                                          std::int64_t vocab_size) {
  std::vector<SftExample> examples;
  JsonlReader reader(path);
  while (reader.next()) {
    const JsonlRecord& record = reader.record();
    SftExample example;
    example.prompt = text::record_tokens(record, "prompt", tokenizer, vocab_size);
    example.response = text::record_response_tokens(record, "response", tokenizer, vocab_size);
    if (example.prompt.empty()) record.fail("prompt", "empty");
    if (example.response.empty()) record.fail("response", "empty");
    examples.push_back(std::move(example));
  }
  if (examples.empty()) RSO_THROW(DataError, "'" + path + "' holds no SFT examples");
  return examples;
}

namespace {

class SftTask : public TrainingTask {
 public:
  enum Slot { kNll, kTokens, kSlots };

  SftTask(model::Transformer model, std::vector<SftExample> train, std::vector<SftExample> eval,
          std::optional<text::TokenizerFiles> tokenizer, c10::Device device)
      : model_(std::move(model)), train_(std::move(train)), eval_(std::move(eval)), tokenizer_(std::move(tokenizer)),
        device_(device),
        flops_(flop_model(named_parameters(*model_), model_->options(), model_->options().tie_embeddings())) {}

  std::size_t train_size() const override { return train_.size(); }
  std::size_t eval_size() const override { return eval_.size(); }
  std::size_t metric_slots() const override { return kSlots; }

  double loss_normaliser(const std::vector<std::size_t>& step_examples) const override {
    double tokens = 0;
    for (const std::size_t i : step_examples) tokens += static_cast<double>(train_[i].response.size());
    return tokens;
  }

  at::Tensor train_micro_batch(const std::vector<std::size_t>& examples, const std::vector<std::uint64_t>&,
                               std::vector<double>& sums, MicroBatchWork& work) override {
    const at::Tensor nll = negative_log_likelihood(train_, examples, sums);
    for (const std::size_t i : examples) {
      const auto length = static_cast<std::int64_t>(train_[i].prompt.size() + train_[i].response.size());
      work.tokens += static_cast<double>(length);
      work.flops += flops_.sequence(length);
    }
    return nll;
  }

  void evaluate(const std::vector<std::size_t>& examples, std::vector<double>& sums) override {
    negative_log_likelihood(eval_, examples, sums);
  }

  void add_metrics(const std::vector<double>& sums, double, const std::string& prefix,
                   nlohmann::ordered_json& line) const override {
    line[prefix + "loss"] = sums[kNll] / sums[kTokens];
    line[prefix + "response_tokens"] = sums[kTokens];
  }

  std::vector<std::string> progress_metrics() const override { return {"eval_loss", "grad_norm"}; }

  void save(const std::string& output) override {
    model::save_model(model_, RunLayout::model_in(output).string(), tokenizer_ ? &*tokenizer_ : nullptr);
  }

 private:
  // Σ −log π(response tokens | prompt, earlier tokens) over `examples`.
  at::Tensor negative_log_likelihood(const std::vector<SftExample>& data, const std::vector<std::size_t>& examples,
                                     std::vector<double>& sums) {
    std::vector<std::vector<std::int64_t>> prompts, responses;
    double tokens = 0;
    for (const std::size_t i : examples) {
      prompts.push_back(data[i].prompt);
      responses.push_back(data[i].response);
      tokens += static_cast<double>(data[i].response.size());
    }
    model::PromptResponseBatch batch = model::pack_prompt_response(prompts, responses, 0);
    const at::Tensor nll = -model::sequence_logprob(model_, batch.input_ids.to(device_), batch.attention_mask.to(device_),
                                                    batch.response_mask.to(device_))
                                .total.sum();
    sums[kNll] += nll.detach().to(at::kDouble).item<double>();
    sums[kTokens] += tokens;
    return nll;
  }

  model::Transformer model_;
  std::vector<SftExample> train_, eval_;
  std::optional<text::TokenizerFiles> tokenizer_;
  c10::Device device_;
  FlopModel flops_;
};

}  // namespace

bool run_sft_training(DistContext& context, const Config& config, const TrainingControl& control) {
  const SftConfig& sc = config.sft;
  const RunLayout layout(config.run.dir);
  const std::string data_path = path_or(sc.data, layout.data("sft.jsonl"));
  const std::string init_path = path_or(sc.init, layout.init_model());
  context.agree([&] { global_batch_size(sc, context.size(), "sft"); });

  model::Transformer model = context.agree([&] { return model::load_model(init_path); });
  model->to(context.device(), context.compute_dtype());
  auto tokenizer_files = context.agree([&] { return model::read_model_tokenizer(init_path); });
  const std::unique_ptr<text::Tokenizer> tokenizer = tokenizer_files ? text::make_tokenizer(*tokenizer_files) : nullptr;
  const std::int64_t vocab = model->options().vocab_size();
  std::vector<SftExample> all = context.agree([&] { return load_sft_examples(data_path, tokenizer.get(), vocab); });
  // Responses longer than the model's context are cut (the usual practice
  // for SFT); a prompt that leaves no room for a response token is an error.
  const std::int64_t limit = model->options().max_positions();
  std::size_t cut = 0;
  context.agree([&] {
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto prompt = static_cast<std::int64_t>(all[i].prompt.size());
      if (prompt >= limit)
        RSO_THROW(DataError, data_path + ": example " + std::to_string(i + 1) + " has a prompt of " +
                                 std::to_string(prompt) + " tokens, the model's context is " + std::to_string(limit));
      if (prompt + static_cast<std::int64_t>(all[i].response.size()) > limit) {
        all[i].response.resize(static_cast<std::size_t>(limit - prompt));
        ++cut;
      }
    }
  });
  if (cut > 0 && context.is_root())
    spdlog::warn("sft: {} of {} responses cut to fit the model's {} positions", cut, all.size(), limit);
  auto [train, eval] = training_and_held_out(
      context, std::move(all), !sc.eval_data.empty(),
      [&] { return load_sft_examples(sc.eval_data, tokenizer.get(), vocab); }, sc.eval_fraction, config.run.seed,
      Stage::sft, data_path);
  SftTask task(model, std::move(train), std::move(eval), std::move(tokenizer_files), context.device());

  TrainerSetup setup;
  setup.name = "sft";
  setup.settings = &sc;
  setup.stage = Stage::sft;
  setup.seed = config.run.seed;
  setup.eval_every = sc.eval_every;
  setup.parameters = named_parameters(*model);
  setup.output = path_or(sc.output, layout.sft_dir());
  setup.config_hash = stage_hash(config, [](Config& r, const Config& c) { r.sft = c.sft; });
  return run_training(context, config, setup, task, control);
}

}  // namespace rso::train
