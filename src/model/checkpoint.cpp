#include "rso/model/checkpoint.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <functional>
#include <set>
#include <sstream>

#include "rso/core/error.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/hdf5.hpp"
#include "rso/model/parameter_loading.hpp"

namespace rso::model {

namespace {

// The options as (name, value) pairs; one list serves writing and reading.
template <class Visit>
void visit_options(TransformerOptions& o, Visit&& visit) {
  visit("vocab_size", o.vocab_size());
  visit("hidden_size", o.hidden_size());
  visit("num_layers", o.num_layers());
  visit("num_heads", o.num_heads());
  visit("num_kv_heads", o.num_kv_heads());
  visit("intermediate_size", o.intermediate_size());
  visit("max_positions", o.max_positions());
  visit("rope_theta", o.rope_theta());
  visit("rms_norm_eps", o.rms_norm_eps());
  visit("tie_embeddings", o.tie_embeddings());
  visit("init_std", o.init_std());
}


// Writes any module on the backbone: config attributes (with the Hugging
// Face architecture name), parameters, optional tokenizer, then `extra`.
void write_checkpoint(torch::nn::Module& module, TransformerOptions options, const std::string& architecture,
                      const std::string& path, const text::TokenizerFiles* tokenizer,
                      const std::function<void(h5::File&)>& extra) {
  if (tokenizer != nullptr) {
    if (const auto size = text::make_tokenizer(*tokenizer)->vocab_size(); size > options.vocab_size())
      RSO_THROW(DataError, "the tokenizer has " + std::to_string(size) + " tokens but the model's vocabulary only " +
                               std::to_string(options.vocab_size()));
  }
  AtomicPath pending(path);
  {
    h5::File file = h5::File::create(pending.temp_path().string(), kModelFormat, kModelFormatVersion);
    h5::Group config = file.create_group("config");
    config.set_attribute("architecture", architecture);
    visit_options(options, [&](const char* name, auto& value) {
      using T = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<T, bool>) config.set_attribute(name, std::int64_t{value ? 1 : 0});
      else if constexpr (std::is_integral_v<T>) config.set_attribute(name, static_cast<std::int64_t>(value));
      else config.set_attribute(name, static_cast<double>(value));
    });
    h5::Group parameters = file.create_group("parameters");
    at::NoGradGuard no_grad;
    for (const auto& parameter : module.named_parameters()) parameters.write_tensor(parameter.key(), parameter.value());
    if (tokenizer != nullptr) write_tokenizer_group(file, "tokenizer", *tokenizer);
    if (extra) extra(file);
    file.close();
  }
  pending.commit();
}

// Checks that the checkpoint holds the architecture the caller builds.
void expect_architecture(const std::string& path, const std::string& wanted) {
  const std::string stored = read_model_architecture(path);
  if (stored != wanted)
    RSO_THROW(DataError, "'" + path + "' holds a " + stored + ", not the " + wanted + " this step needs");
}

void load_module_parameters(torch::nn::Module& module, const std::string& path) {
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  const h5::Group parameters = file.open_group("parameters");
  std::map<std::string, StoredTensor> stored;
  for (const auto& name : parameters.children()) {
    const h5::Dataset dataset = parameters.open_dataset(name);
    stored[name] = {dataset.shape(), dataset.dtype(), [&parameters, name] { return parameters.read_tensor(name); }};
  }
  load_named_parameters(module, stored, path);
}

at::ScalarType stored_dtype(const std::string& path) {
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  return file.open_group("parameters").read_tensor("model.embed_tokens.weight").scalar_type();
}

}  // namespace

std::string read_model_architecture(const std::string& path) {
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  const h5::Group config = file.open_group("config");
  // Files without the attribute predate reward checkpoints: policies.
  return config.has_attribute("architecture") ? config.string_attribute("architecture") : kCausalLmArchitecture;
}

void save_model(Transformer& model, const std::string& path, const text::TokenizerFiles* tokenizer) {
  write_checkpoint(*model, model->options(), kCausalLmArchitecture, path, tokenizer, {});
}

void save_reward_model(RewardModel& model, const std::string& path, const RewardHead& head,
                       const text::TokenizerFiles* tokenizer) {
  if (head.kind != "pointwise" && head.kind != "ranking")
    RSO_THROW(InternalError, "reward head kind '" + head.kind + "' is neither pointwise nor ranking");
  write_checkpoint(*model, model->options(), kRewardArchitecture, path, tokenizer, [&](h5::File& file) {
    h5::Group group = file.create_group("reward_head");
    group.set_attribute("kind", head.kind);
    group.set_attribute("pooling", model->pooling());
    if (model->token_modifier) group.set_attribute("modifier_window", model->modifier_window());
    auto ids = [](const std::vector<std::int64_t>& values) {
      return at::tensor(at::ArrayRef<std::int64_t>(values), at::kLong);
    };
    if (head.kind == "ranking") {
      group.write_tensor("before_first", ids(head.separators.before_first));
      group.write_tensor("before_second", ids(head.separators.before_second));
    }
  });
}

TransformerOptions read_model_options(const std::string& path) {
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  const h5::Group config = file.open_group("config");
  TransformerOptions options;
  visit_options(options, [&](const char* name, auto& value) {
    using T = std::decay_t<decltype(value)>;
    if (!config.has_attribute(name)) RSO_THROW(DataError, path + ": model config lacks '" + name + "'");
    if constexpr (std::is_same_v<T, bool>) value = config.int_attribute(name) != 0;
    else if constexpr (std::is_integral_v<T>) value = config.int_attribute(name);
    else value = config.double_attribute(name);
  });
  try {
    options.validate();
  } catch (const ConfigError& e) {
    RSO_THROW(DataError, path + ": " + e.message());
  }
  return options;
}

Transformer load_model(const std::string& path) {
  expect_architecture(path, kCausalLmArchitecture);
  Transformer model(read_model_options(path));
  model->to(stored_dtype(path));  // all parameters share the stored dtype
  load_parameters(model, path);
  return model;
}

RewardModel load_reward_model(const std::string& path, RewardHead* head) {
  expect_architecture(path, kRewardArchitecture);
  RewardModel model(read_model_options(path));
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  const h5::Group group = file.open_group("reward_head");
  // Checkpoints from before pooling was a choice read the last token. Set
  // before the weights load: the lexicons add their per-token valences.
  if (group.has_attribute("pooling")) {
    try {
      model->set_pooling(group.string_attribute("pooling"),
                         group.has_attribute("modifier_window") ? group.int_attribute("modifier_window") : 3);
    } catch (const DataError& e) {
      RSO_THROW(DataError, path + ": " + e.message());
    }
  }
  model->to(stored_dtype(path));
  load_module_parameters(*model, path);
  if (head != nullptr) {
    head->kind = group.string_attribute("kind");
    head->separators = {};
    auto ids = [&](const char* name) {
      const at::Tensor values = group.read_tensor(name).to(at::kLong).contiguous();
      return std::vector<std::int64_t>(values.data_ptr<std::int64_t>(), values.data_ptr<std::int64_t>() + values.numel());
    };
    if (head->kind == "ranking") {
      head->separators.before_first = ids("before_first");
      head->separators.before_second = ids("before_second");
    } else if (head->kind != "pointwise") {
      RSO_THROW(DataError, "'" + path + "': unknown reward head kind '" + head->kind + "'");
    }
  }
  return model;
}

std::optional<text::TokenizerFiles> read_model_tokenizer(const std::string& path) {
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  if (!file.has("tokenizer")) return std::nullopt;
  return text::read_tokenizer_group(file, "tokenizer");
}

void load_parameters(Transformer& model, const std::string& path) { load_module_parameters(*model, path); }

}  // namespace rso::model
