// Writes a small random Llama-style model for the command-line tests:
//   make_test_model OUT.h5 [SEED [TOKENIZER]]
// With a tokenizer, the vocabulary is the tokenizer's and it is stored too.
#include <ATen/ATen.h>

#include <cstdlib>
#include <iostream>

#include "rso/model/checkpoint.hpp"
#include "rso/text/tokenizer_files.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: make_test_model OUT.h5 [SEED [TOKENIZER]]\n";
    return 2;
  }
  at::manual_seed(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1);
  std::optional<rso::text::TokenizerFiles> tokenizer;
  if (argc > 3) tokenizer = rso::text::read_tokenizer_files(argv[3]);
  const std::int64_t vocab_size = tokenizer ? rso::text::make_tokenizer(*tokenizer)->vocab_size() : 50;
  rso::model::Transformer model(rso::model::TransformerOptions()
                                    .vocab_size(vocab_size)
                                    .hidden_size(32)
                                    .num_layers(2)
                                    .num_heads(4)
                                    .num_kv_heads(2)
                                    .intermediate_size(64)
                                    .max_positions(128)
                                    .init_std(0.1));
  rso::model::save_model(model, argv[1], tokenizer ? &*tokenizer : nullptr);
  return 0;
}
