// Model checkpoints in HDF5 (format "rso.model").
//
// Layout (format_version 1):
//   /                       @format = "rso.model", @format_version = 1
//   /config                 @architecture ("LlamaForCausalLM" or
//                           "LlamaForSequenceClassification"), @vocab_size,
//                           @hidden_size, ... (every TransformerOptions field)
//   /parameters/<name>      one dataset per parameter, Hugging Face names
//                           ("model.layers.0.self_attn.q_proj.weight"), stored
//                           in the parameter's own dtype
//   /tokenizer              optional: @kind and the tokenizer's files as uint8
//                           datasets (see rso/text/tokenizer_files.hpp)
//   /reward_head            reward models only: @kind ("pointwise" or "ranking"),
//                           @pooling ("last", "mean", "sum", "lexicon", whose
//                           per-token valences are the parameter
//                           "token_valence.weight", or "contextual-lexicon",
//                           which adds "valence_gate.weight", or
//                           "lexicon-modifiers", which adds
//                           "token_modifier.weight" and @modifier_window;
//                           "last" when absent) and,
//                           for ranking, the separator ids
// Files are written to a temporary and renamed into place, so a checkpoint
// on disk is always whole. Readable with h5py or h5dump; `rso inspect` shows it.
#pragma once

#include <optional>
#include <string>

#include "rso/model/reward.hpp"
#include "rso/model/transformer.hpp"
#include "rso/text/tokenizer_files.hpp"

namespace rso::model {

constexpr const char* kModelFormat = "rso.model";
constexpr std::int64_t kModelFormatVersion = 1;
constexpr const char* kCausalLmArchitecture = "LlamaForCausalLM";
constexpr const char* kRewardArchitecture = "LlamaForSequenceClassification";

// How a reward model reads its input: r(x, y) from "x y", or the ranking
// model rho(x, y1, y2) from "x sep_a y1 sep_b y2".
struct RewardHead {
  std::string kind = "pointwise";  // or "ranking"
  RankingSeparators separators;     // ranking only
};

void save_model(Transformer& model, const std::string& path, const text::TokenizerFiles* tokenizer = nullptr);

// The tokenizer stored with a checkpoint, if any.
std::optional<text::TokenizerFiles> read_model_tokenizer(const std::string& path);

// The @architecture of a checkpoint: kCausalLmArchitecture or kRewardArchitecture.
std::string read_model_architecture(const std::string& path);

// The options stored in a checkpoint.
TransformerOptions read_model_options(const std::string& path);

// Builds the model a checkpoint describes and loads its weights. A reward
// checkpoint given where a policy is wanted (or the reverse) is a DataError.
Transformer load_model(const std::string& path);

void save_reward_model(RewardModel& model, const std::string& path, const RewardHead& head,
                       const text::TokenizerFiles* tokenizer = nullptr);
RewardModel load_reward_model(const std::string& path, RewardHead* head = nullptr);

// Loads weights into an existing model. Every parameter must be present with
// the same shape and dtype and the file must hold nothing else; otherwise a
// DataError lists every mismatch, not just the first.
void load_parameters(Transformer& model, const std::string& path);

}  // namespace rso::model
