#include "rso/model/hf_format.hpp"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>
#include <set>

#include "rso/core/error.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/json_file.hpp"
#include "rso/io/safetensors.hpp"
#include "rso/model/parameter_loading.hpp"

namespace rso::model {

namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& path) { return read_json_file(path.string()); }

template <class T>
T field(const nlohmann::json& config, const std::string& key, const fs::path& path, std::optional<T> fallback = {}) {
  if (!config.contains(key) || config[key].is_null()) {
    if (fallback) return *fallback;
    RSO_THROW(DataError, path.string() + ": missing \"" + key + "\"");
  }
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!config[key].is_number_integer())
      RSO_THROW(DataError, path.string() + ": \"" + key + "\" = " + config[key].dump() + " is not an integer");
  }
  try {
    return config[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    RSO_THROW(DataError, path.string() + ": \"" + key + "\" has the wrong type");
  }
}

}  // namespace

TransformerOptions read_hf_config(const std::string& directory) {
  const fs::path path = fs::path(directory) / "config.json";
  const nlohmann::json config = read_json(path);
  // Another architecture with Llama-like sizes would load and compute
  // nonsense: refuse what is not a Llama.
  if (config.contains("model_type") && config["model_type"] != "llama")
    RSO_THROW(UnavailableError, path.string() + ": model_type " + config["model_type"].dump() +
                                    " is not supported: rso reads Llama models (model_type \"llama\")");
  if (config.contains("architectures") && config["architectures"].is_array()) {
    bool llama = false;
    for (const auto& name : config["architectures"])
      llama = llama || (name.is_string() && name.get<std::string>().rfind("Llama", 0) == 0);
    if (!llama)
      RSO_THROW(UnavailableError, path.string() + ": architectures " + config["architectures"].dump() +
                                      " name no Llama model: rso reads Llama models");
  }
  const auto act = field<std::string>(config, "hidden_act", path, std::string("silu"));
  if (act != "silu") RSO_THROW(DataError, path.string() + ": hidden_act \"" + act + "\" is not SwiGLU's silu");
  if (config.contains("rope_scaling") && !config["rope_scaling"].is_null())
    RSO_THROW(DataError, path.string() + ": rope_scaling is not supported");
  TransformerOptions options;
  options.vocab_size(field<std::int64_t>(config, "vocab_size", path))
      .hidden_size(field<std::int64_t>(config, "hidden_size", path))
      .num_layers(field<std::int64_t>(config, "num_hidden_layers", path))
      .num_heads(field<std::int64_t>(config, "num_attention_heads", path))
      .intermediate_size(field<std::int64_t>(config, "intermediate_size", path))
      .max_positions(field<std::int64_t>(config, "max_position_embeddings", path, std::int64_t{2048}))
      .rope_theta(field<double>(config, "rope_theta", path, 10000.0))
      .rms_norm_eps(field<double>(config, "rms_norm_eps", path, 1e-6))
      .tie_embeddings(field<bool>(config, "tie_word_embeddings", path, false))
      .init_std(field<double>(config, "initializer_range", path, 0.02));
  options.num_kv_heads(field<std::int64_t>(config, "num_key_value_heads", path, options.num_heads()));
  try {
    options.validate();
  } catch (const ConfigError& e) {
    RSO_THROW(DataError, path.string() + ": " + e.message());
  }
  // After validation: head_dim divides by num_attention_heads.
  if (config.contains("head_dim") && field<std::int64_t>(config, "head_dim", path) != options.head_dim())
    RSO_THROW(DataError, path.string() + ": head_dim differs from hidden_size / num_attention_heads");
  return options;
}

Transformer import_hf(const std::string& directory) {
  const fs::path dir(directory);
  Transformer model(read_hf_config(directory));
  // Which files hold the weights.
  std::vector<fs::path> files;
  if (fs::exists(dir / "model.safetensors")) {
    files.push_back(dir / "model.safetensors");
  } else if (fs::exists(dir / "model.safetensors.index.json")) {
    const nlohmann::json index = read_json(dir / "model.safetensors.index.json");
    if (!index.contains("weight_map") || !index["weight_map"].is_object())
      RSO_THROW(DataError, (dir / "model.safetensors.index.json").string() + ": no \"weight_map\" object");
    std::set<std::string> shards;
    for (const auto& [name, file] : index["weight_map"].items()) shards.insert(file.get<std::string>());
    for (const auto& shard : shards) files.push_back(dir / shard);
  } else {
    RSO_THROW(IoError, directory + " holds neither model.safetensors nor model.safetensors.index.json");
  }
  // Validate every header before reading any data.
  for (const auto& file : files) read_safetensors_header(file.string());

  std::map<std::string, StoredTensor> stored;
  for (const auto& file : files)
    for (auto& [name, tensor] : read_safetensors(file.string())) {
      if (name.size() >= 19 && name.compare(name.size() - 19, 19, "rotary_emb.inv_freq") == 0) continue;
      const StoredTensor entry{tensor.sizes().vec(), dtype_name(tensor.scalar_type()), [t = tensor] { return t; }};
      if (!stored.emplace(name, entry).second) RSO_THROW(DataError, "tensor '" + name + "' appears in two shards");
      if (name == "model.embed_tokens.weight") model->to(tensor.scalar_type());  // the model takes the stored dtype
    }
  load_named_parameters(*model, stored, directory);
  return model;
}

void export_hf(Transformer& model, const std::string& directory) {
  const TransformerOptions& o = model->options();
  const auto dtype = model->model->embed_tokens->weight.scalar_type();
  const std::map<c10::ScalarType, std::string> torch_dtype = {
      {at::kFloat, "float32"}, {at::kBFloat16, "bfloat16"}, {at::kHalf, "float16"}, {at::kDouble, "float64"}};
  nlohmann::ordered_json config = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_act", "silu"},
      {"vocab_size", o.vocab_size()},
      {"hidden_size", o.hidden_size()},
      {"num_hidden_layers", o.num_layers()},
      {"num_attention_heads", o.num_heads()},
      {"num_key_value_heads", o.num_kv_heads()},
      {"head_dim", o.head_dim()},
      {"intermediate_size", o.intermediate_size()},
      {"max_position_embeddings", o.max_positions()},
      {"rope_theta", o.rope_theta()},
      {"rms_norm_eps", o.rms_norm_eps()},
      {"tie_word_embeddings", o.tie_embeddings()},
      {"initializer_range", o.init_std()},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"torch_dtype", torch_dtype.count(dtype) ? torch_dtype.at(dtype) : c10::toString(dtype)}};
  fs::create_directories(directory);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& parameter : model->named_parameters()) tensors.emplace_back(parameter.key(), parameter.value());
  write_safetensors((fs::path(directory) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  write_file_atomic(fs::path(directory) / "config.json", config.dump(2) + "\n");
}

}  // namespace rso::model
