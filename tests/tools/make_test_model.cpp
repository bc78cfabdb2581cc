// Writes a small random Llama-style model for the command-line tests:
//   make_test_model OUT.h5 [SEED]
#include <ATen/ATen.h>

#include <cstdlib>
#include <iostream>

#include "rso/model/checkpoint.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: make_test_model OUT.h5 [SEED]\n";
    return 2;
  }
  at::manual_seed(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1);
  rso::model::Transformer model(rso::model::TransformerOptions()
                                    .vocab_size(50)
                                    .hidden_size(32)
                                    .num_layers(2)
                                    .num_heads(4)
                                    .num_kv_heads(2)
                                    .intermediate_size(64)
                                    .max_positions(128)
                                    .init_std(0.1));
  rso::model::save_model(model, argv[1]);
  return 0;
}
