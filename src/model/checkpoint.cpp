#include "rso/model/checkpoint.hpp"

#include <ATen/ATen.h>

#include <set>
#include <sstream>

#include "rso/core/error.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/hdf5.hpp"

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

// Names as h5::Dataset::dtype() reports them.
std::string dtype_name(c10::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    default: return c10::toString(type);
  }
}

std::string shape_text(at::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

}  // namespace

void save_model(Transformer& model, const std::string& path) {
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

void load_parameters(Transformer& model, const std::string& path) {
  const h5::File file = h5::File::open(path, kModelFormat, kModelFormatVersion);
  const h5::Group stored = file.open_group("parameters");
  const auto stored_names = stored.children();
  std::set<std::string> unexpected(stored_names.begin(), stored_names.end());
  std::vector<std::string> problems;
  std::vector<std::pair<at::Tensor, at::Tensor>> assignments;
  for (const auto& parameter : model->named_parameters()) {
    const std::string& name = parameter.key();
    const at::Tensor& target = parameter.value();
    if (!unexpected.erase(name)) {
      problems.push_back("missing " + name);
      continue;
    }
    const h5::Dataset dataset = stored.open_dataset(name);
    const auto shape = dataset.shape();
    const std::string dtype = dataset.dtype();
    const bool same_shape = at::IntArrayRef(shape) == target.sizes();
    const bool same_dtype = dtype == dtype_name(target.scalar_type());
    if (!same_shape)
      problems.push_back(name + ": shape " + shape_text(shape) + " in the file, " + shape_text(target.sizes()) +
                         " in the model");
    if (!same_dtype)
      problems.push_back(name + ": dtype " + dtype + " in the file, " + dtype_name(target.scalar_type()) +
                         " in the model");
    if (same_shape && same_dtype) assignments.emplace_back(target, dataset.read_tensor());
  }
  for (const auto& name : unexpected) problems.push_back("unexpected " + name);
  if (!problems.empty()) {
    std::string message = path + " does not fit the model (" + std::to_string(problems.size()) + " problems):";
    for (const auto& problem : problems) message += "\n  " + problem;
    RSO_THROW(DataError, message);
  }
  at::NoGradGuard no_grad;
  for (auto& [target, value] : assignments) target.copy_(value);
}

}  // namespace rso::model
