// SentencePiece tokenizers read from a `.model` file (a serialised
// sentencepiece.ModelProto) without the SentencePiece library, so that they
// live in the same process as LibTorch (see docs/ARCHITECTURE.md, "Known
// constraint"). Unigram and BPE models; the normaliser's precompiled
// character map, user-defined symbols, unknown pieces and byte fallback
// behave as in SentencePiece 0.1.9x (checked id for id against the library
// in the tests).
//
// Training goes through the library itself, in a helper process
// (`rso-spm`, see train_sentencepiece below).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "rso/text/tokenizer.hpp"

namespace rso::text {

// The parts of sentencepiece.ModelProto that encoding and decoding use.
struct SentencePieceModelProto {
  enum class PieceType { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };
  enum class ModelType { unigram = 1, bpe = 2, word = 3, character = 4 };
  struct Piece {
    std::string text;
    float score = 0;
    PieceType type = PieceType::normal;
  };
  std::vector<Piece> pieces;
  ModelType model_type = ModelType::unigram;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  std::string unk_surface = " \xE2\x81\x87 ";
  std::int64_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // -1: none
  // NormalizerSpec
  std::string normalizer_name;
  std::string precompiled_charsmap;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Parses the protobuf wire format; malformed input is a DataError.
SentencePieceModelProto parse_sentencepiece_model(const std::string& bytes);

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& model_bytes);
  ~SentencePieceTokenizer() override;
  SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept;

  static SentencePieceTokenizer from_file(const std::string& path);

  std::vector<std::int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<std::int64_t>& ids) const override;
  std::int64_t vocab_size() const override { return static_cast<std::int64_t>(model_.pieces.size()); }
  std::int64_t bos_id() const override { return bos_id_; }
  std::int64_t eos_id() const override { return eos_id_; }

  const std::string& piece(std::int64_t id) const;
  std::int64_t unk_id() const { return unk_id_; }
  // The normalised text the model segments (spaces escaped as U+2581).
  std::string normalize(std::string_view text) const;
  const SentencePieceModelProto& proto() const { return model_; }

 private:
  struct Segment {
    std::string_view text;
    std::int64_t id;
  };
  std::vector<Segment> encode_unigram(std::string_view normalized) const;
  std::vector<Segment> encode_bpe(std::string_view normalized) const;
  // Length of the longest user-defined symbol at the start of `text`, 0 if none.
  std::size_t user_symbol_prefix(std::string_view text) const;
  std::int64_t lookup(std::string_view piece) const;  // unk_id_ when absent

  SentencePieceModelProto model_;
  std::unordered_map<std::string, std::int64_t> normal_ids_;    // normal, user-defined, unused
  std::unordered_map<std::string, std::int64_t> reserved_ids_;  // control, unknown, byte
  std::vector<std::string> user_symbols_;
  std::size_t longest_piece_ = 0;
  float min_score_ = 0, max_score_ = 0;
  std::int64_t unk_id_ = -1, bos_id_ = -1, eos_id_ = -1;
  std::int64_t byte_ids_[256];
  struct Normalizer;
  std::unique_ptr<Normalizer> normalizer_;
};

// Trains a SentencePiece model with the SentencePiece library itself, in the
// helper program `rso-spm` (next to the rso binary, or $RSO_SPM). `flags`
// are SentencePieceTrainer flags without dashes, e.g. {"vocab_size", "800"}.
// Writes <model_prefix>.model and <model_prefix>.vocab.
void train_sentencepiece(const std::string& corpus, const std::string& model_prefix,
                         const std::vector<std::pair<std::string, std::string>>& flags);

// Path of the helper program; a clear UnavailableError when it is missing.
std::string sentencepiece_helper_path();

}  // namespace rso::text
