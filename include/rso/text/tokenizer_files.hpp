// A tokenizer as the files that define it, so that it can travel inside a
// model checkpoint and be written back out unchanged.
//
//   kind "sentencepiece"   tokenizer.model             (SentencePiece, unigram or BPE)
//   kind "gpt2-bpe"        encoder.json + vocab.bpe    (OpenAI GPT-2 files)
//   kind "tokenizer-json"  tokenizer.json              (Hugging Face, byte-level BPE)
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "rso/text/tokenizer.hpp"

namespace rso::h5 {
class Group;
}

namespace rso::text {

struct TokenizerFiles {
  std::string kind;
  std::map<std::string, std::string> files;  // file name -> contents
};

// From a `.model` file, a `tokenizer.json`, or a directory holding
// tokenizer.model, tokenizer.json or encoder.json + vocab.bpe (checked in that
// order). The files are parsed once here, so a bad tokenizer fails early.
TokenizerFiles read_tokenizer_files(const std::string& path);

// The same for a directory that may have no tokenizer (a Hugging Face export).
std::optional<TokenizerFiles> find_tokenizer_files(const std::string& directory);

// Writes the files into `directory` (atomically, one by one).
void write_tokenizer_files(const TokenizerFiles& tokenizer, const std::string& directory);

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerFiles& tokenizer);

// HDF5: group `name` with @kind and one uint8 dataset per file.
void write_tokenizer_group(h5::Group& parent, const std::string& name, const TokenizerFiles& tokenizer);
TokenizerFiles read_tokenizer_group(const h5::Group& parent, const std::string& name);

}  // namespace rso::text
