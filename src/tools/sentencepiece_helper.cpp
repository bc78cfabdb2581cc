// rso-spm: the SentencePiece library in a process of its own.
//
// Debian's libsentencepiece and LibTorch cannot share a process (both
// register protobuf descriptors; see docs/ARCHITECTURE.md), so rso trains
// SentencePiece models through this small program, and the tests use it as
// the reference encoder for rso's own reader of `.model` files.
//
//   rso-spm train --input=FILE --model_prefix=P [--flag=value ...]
//   rso-spm encode MODEL   stdin: one JSON string per line; stdout: JSON id arrays
//   rso-spm decode MODEL   stdin: one JSON id array per line; stdout: JSON strings
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

int usage() {
  std::cerr << "usage: rso-spm train --input=FILE --model_prefix=PREFIX [--flag=value ...]\n"
               "       rso-spm encode MODEL < json-strings > json-id-arrays\n"
               "       rso-spm decode MODEL < json-id-arrays > json-strings\n";
  return 2;
}

int train(int argc, char** argv) {
  std::string flags;
  for (int i = 2; i < argc; ++i) {
    if (!flags.empty()) flags += ' ';
    flags += argv[i];
  }
  const auto status = sentencepiece::SentencePieceTrainer::Train(flags);
  if (!status.ok()) {
    std::cerr << "rso-spm: training failed: " << status.ToString() << "\n";
    return 3;
  }
  return 0;
}

int transcode(const std::string& command, const std::string& model) {
  sentencepiece::SentencePieceProcessor processor;
  const auto status = processor.Load(model);
  if (!status.ok()) {
    std::cerr << "rso-spm: cannot load '" << model << "': " << status.ToString() << "\n";
    return 3;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    const nlohmann::json input = nlohmann::json::parse(line);
    if (command == "encode") {
      std::vector<int> ids;
      processor.Encode(input.get<std::string>(), &ids);
      std::cout << nlohmann::json(ids).dump() << "\n";
    } else {
      std::string text;
      processor.Decode(input.get<std::vector<int>>(), &text);
      std::cout << nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string command = argv[1];
  try {
    if (command == "train") return train(argc, argv);
    if ((command == "encode" || command == "decode") && argc == 3) return transcode(command, argv[2]);
  } catch (const std::exception& error) {
    std::cerr << "rso-spm: " << error.what() << "\n";
    return 3;
  }
  return usage();
}
