// Writes a small random Llama-style model for the command-line tests and the
// scaling study:
//   make_test_model OUT.h5 [SEED [TOKENIZER|- [policy|pointwise|ranking [KEY=N...]]]]
// With a tokenizer, the vocabulary is the tokenizer's and it is stored too.
// pointwise and ranking write a reward model (ranking separators: the two
// last ids of the vocabulary). KEY=N changes a size: vocab, hidden, layers,
// heads, kv_heads, ffn, positions (defaults 50, 32, 2, 4, 2, 64, 128).
#include <ATen/ATen.h>

#include <cstdlib>
#include <iostream>
#include <map>
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
  std::map<std::string, std::int64_t> sizes = {{"vocab", 50},   {"hidden", 32}, {"layers", 2},      {"heads", 4},
                                               {"kv_heads", 2}, {"ffn", 64},    {"positions", 128}};
  for (int i = 5; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto equals = arg.find('=');
    if (equals == std::string::npos || !sizes.count(arg.substr(0, equals))) {
      std::cerr << "make_test_model: expected KEY=N with KEY one of vocab, hidden, layers, heads, kv_heads, ffn, "
                   "positions; got '" << arg << "'\n";
      return 2;
    }
    sizes[arg.substr(0, equals)] = std::strtoll(arg.c_str() + equals + 1, nullptr, 10);
  }
  const std::int64_t vocab_size = tokenizer ? rso::text::make_tokenizer(*tokenizer)->vocab_size() : sizes["vocab"];
  const auto options = rso::model::TransformerOptions()
                           .vocab_size(vocab_size)
                           .hidden_size(sizes["hidden"])
                           .num_layers(sizes["layers"])
                           .num_heads(sizes["heads"])
                           .num_kv_heads(sizes["kv_heads"])
                           .intermediate_size(sizes["ffn"])
                           .max_positions(sizes["positions"])
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
