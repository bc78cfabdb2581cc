// Hugging Face Llama models: `config.json` + `model.safetensors`, or shards
// listed in `model.safetensors.index.json` ("weight_map": name -> file).
// Parameter names are shared with rso's Transformer, so import and export
// are renames of nothing: only the config is translated.
#pragma once

#include <string>

#include "rso/model/transformer.hpp"

namespace rso::model {

// Reads config.json (LlamaForCausalLM fields) into options.
TransformerOptions read_hf_config(const std::string& directory);

// Builds the model in the dtype of its stored weights and loads them;
// missing, unexpected, mis-shaped or mis-typed tensors are all listed in
// one DataError (rotary inv_freq buffers of older exports are ignored).
Transformer import_hf(const std::string& directory);

// Writes config.json and a single model.safetensors into `directory`.
void export_hf(Transformer& model, const std::string& directory);

}  // namespace rso::model
