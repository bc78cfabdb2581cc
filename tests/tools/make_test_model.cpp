// Writes a small random Llama-style model for the command-line tests:
//   make_test_model OUT.h5 [SEED [TOKENIZER|- [policy|pointwise|ranking]]]
// With a tokenizer, the vocabulary is the tokenizer's and it is stored too.
// pointwise and ranking write a reward model (ranking separators: the two
// last ids of the vocabulary).
#include <ATen/ATen.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "rso/model/checkpoint.hpp"
#include "rso/text/tokenizer_files.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: make_test_model OUT.h5 [SEED [TOKENIZER|- [policy|pointwise|ranking]]]\n";
    return 2;
  }
  at::manual_seed(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1);
  std::optional<rso::text::TokenizerFiles> tokenizer;
  if (argc > 3 && std::string(argv[3]) != "-") tokenizer = rso::text::read_tokenizer_files(argv[3]);
  const std::string kind = argc > 4 ? argv[4] : "policy";
  const std::int64_t vocab_size = tokenizer ? rso::text::make_tokenizer(*tokenizer)->vocab_size() : 50;
  const auto options = rso::model::TransformerOptions()
                           .vocab_size(vocab_size)
                           .hidden_size(32)
                           .num_layers(2)
                           .num_heads(4)
                           .num_kv_heads(2)
                           .intermediate_size(64)
                           .max_positions(128)
                           .init_std(0.1);
  const auto* stored = tokenizer ? &*tokenizer : nullptr;
  if (kind == "policy") {
    rso::model::Transformer model(options);
    rso::model::save_model(model, argv[1], stored);
  } else if (kind == "pointwise" || kind == "ranking") {
    rso::model::RewardModel model(options);
    rso::model::RewardHead head{kind, {}};
    if (kind == "ranking") head.separators = {{vocab_size - 1}, {vocab_size - 2}};
    rso::model::save_reward_model(model, argv[1], head, stored);
  } else {
    std::cerr << "make_test_model: unknown kind '" << kind << "'\n";
    return 2;
  }
  return 0;
}
