#include "rso/model/checkpoint.hpp"

#include <ATen/ATen.h>

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

}  // namespace

void save_model(Transformer& model, const std::string& path, const text::TokenizerFiles* tokenizer) {
  AtomicPath pending(path);
  {
    h5::File file = h5::File::create(pending.temp_path().string(), kModelFormat, kModelFormatVersion);
    h5::Group config = file.create_group("config");
    TransformerOptions options = model->options();
    visit_options(options, [&](const char* name, auto& value) {
      using T = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<T, bool>) config.set_attribute(name, std::int64_t{value ? 1 : 0});
      else if constexpr (std::is_integral_v<T>) config.set_attribute(name, static_cast<std::int64_t>(value));
      else config.set_attribute(name, static_cast<double>(value));
    });
    h5::Group parameters = file.create_group("parameters");
    at::NoGradGuard no_grad;
    for (const auto& parameter : model->named_parameters()) parameters.write_tensor(parameter.key(), parameter.value());
    if (tokenizer != nullptr) {
      if (const auto size = text::make_tokenizer(*tokenizer)->vocab_size(); size > model->options().vocab_size())
        RSO_THROW(DataError, "the tokenizer has " + std::to_string(size) + " tokens but the model's vocabulary only " +
                                 std::to_string(model->options().vocab_size()));
      write_tokenizer_group(file, "tokenizer", *tokenizer);
    }
    file.close();
  }
  pending.commit();
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
  Transformer model(read_model_options(path));
  // Match the stored dtype (all parameters share one), then load.
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  const at::Tensor embed = file.open_group("parameters").read_tensor("model.embed_tokens.weight");
  model->to(embed.scalar_type());
  load_parameters(model, path);
  return model;
}

std::optional<text::TokenizerFiles> read_model_tokenizer(const std::string& path) {
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  if (!file.has("tokenizer")) return std::nullopt;
  return text::read_tokenizer_group(file, "tokenizer");
}

void load_parameters(Transformer& model, const std::string& path) {
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  const h5::Group parameters = file.open_group("parameters");
  std::map<std::string, StoredTensor> stored;
  for (const auto& name : parameters.children()) {
    const h5::Dataset dataset = parameters.open_dataset(name);
    stored[name] = {dataset.shape(), dataset.dtype(), [&parameters, name] { return parameters.read_tensor(name); }};
  }
  load_named_parameters(*model, stored, path);
}

}  // namespace rso::model
