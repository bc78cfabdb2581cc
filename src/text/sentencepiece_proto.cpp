// A reader for the protobuf wire format of sentencepiece.ModelProto
// (sentencepiece_model.proto), limited to the fields encoding and decoding
// need. Unknown fields are skipped, as protobuf requires.
#include <cstring>

#include "rso/core/error.hpp"
#include "rso/text/sentencepiece.hpp"

namespace rso::text {

namespace {

class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : data_(bytes) {}

  bool done() const { return position_ >= data_.size(); }

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) fail("truncated varint");
      const auto byte = static_cast<unsigned char>(data_[position_++]);
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    fail("varint longer than 10 bytes");
  }

  // (field number, wire type)
  std::pair<std::uint32_t, int> tag() {
    const std::uint64_t key = varint();
    if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) fail("invalid field number");
    return {static_cast<std::uint32_t>(key >> 3), static_cast<int>(key & 7)};
  }

  std::string_view length_delimited() {
    const std::uint64_t length = varint();
    if (length > data_.size() - position_) fail("field length " + std::to_string(length) + " runs past the end");
    const std::string_view out = data_.substr(position_, length);
    position_ += length;
    return out;
  }

  float fixed32_float() {
    if (data_.size() - position_ < 4) fail("truncated fixed32");
    std::uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(data_[position_ + i])) << (8 * i);
    position_ += 4;
    float value;
    std::memcpy(&value, &bits, 4);
    return value;
  }

  void skip(int wire_type) {
    switch (wire_type) {
      case 0: varint(); return;
      case 1:
        if (data_.size() - position_ < 8) fail("truncated fixed64");
        position_ += 8;
        return;
      case 2: length_delimited(); return;
      case 5:
        if (data_.size() - position_ < 4) fail("truncated fixed32");
        position_ += 4;
        return;
      default: fail("unsupported wire type " + std::to_string(wire_type));
    }
  }

  void expect(int actual, int wanted, const char* field) {
    if (actual != wanted) fail(std::string("field ") + field + " has wire type " + std::to_string(actual));
  }

  [[noreturn]] void fail(const std::string& what) const {
    RSO_THROW(DataError, "SentencePiece model: " + what + " at byte " + std::to_string(position_) +
                             " (not a SentencePiece .model file?)");
  }

 private:
  std::string_view data_;
  std::size_t position_ = 0;
};

SentencePieceModelProto::Piece parse_piece(std::string_view bytes) {
  WireReader reader(bytes);
  SentencePieceModelProto::Piece piece;
  while (!reader.done()) {
    const auto [field, wire] = reader.tag();
    if (field == 1) {
      reader.expect(wire, 2, "piece");
      piece.text = std::string(reader.length_delimited());
    } else if (field == 2) {
      reader.expect(wire, 5, "score");
      piece.score = reader.fixed32_float();
    } else if (field == 3) {
      reader.expect(wire, 0, "type");
      const std::uint64_t type = reader.varint();
      if (type < 1 || type > 6) reader.fail("piece type " + std::to_string(type));
      piece.type = static_cast<SentencePieceModelProto::PieceType>(type);
    } else {
      reader.skip(wire);
    }
  }
  return piece;
}

void parse_trainer_spec(std::string_view bytes, SentencePieceModelProto& model) {
  WireReader reader(bytes);
  while (!reader.done()) {
    const auto [field, wire] = reader.tag();
    if (field == 3) {
      reader.expect(wire, 0, "model_type");
      const std::uint64_t type = reader.varint();
      if (type < 1 || type > 4) reader.fail("model type " + std::to_string(type));
      model.model_type = static_cast<SentencePieceModelProto::ModelType>(type);
    } else if (field == 24) {
      reader.expect(wire, 0, "treat_whitespace_as_suffix");
      model.treat_whitespace_as_suffix = reader.varint() != 0;
    } else if (field == 35) {
      reader.expect(wire, 0, "byte_fallback");
      model.byte_fallback = reader.varint() != 0;
    } else if (field >= 40 && field <= 43) {
      reader.expect(wire, 0, "special id");
      // int32 fields: negative values arrive sign-extended to 64 bits.
      const auto id = static_cast<std::int64_t>(static_cast<std::int32_t>(reader.varint()));
      (field == 40 ? model.unk_id : field == 41 ? model.bos_id : field == 42 ? model.eos_id : model.pad_id) = id;
    } else if (field == 44) {
      reader.expect(wire, 2, "unk_surface");
      model.unk_surface = std::string(reader.length_delimited());
    } else {
      reader.skip(wire);
    }
  }
}

void parse_normalizer_spec(std::string_view bytes, SentencePieceModelProto& model) {
  WireReader reader(bytes);
  while (!reader.done()) {
    const auto [field, wire] = reader.tag();
    switch (field) {
      case 1: reader.expect(wire, 2, "name"); model.normalizer_name = std::string(reader.length_delimited()); break;
      case 2:
        reader.expect(wire, 2, "precompiled_charsmap");
        model.precompiled_charsmap = std::string(reader.length_delimited());
        break;
      case 3: reader.expect(wire, 0, "add_dummy_prefix"); model.add_dummy_prefix = reader.varint() != 0; break;
      case 4:
        reader.expect(wire, 0, "remove_extra_whitespaces");
        model.remove_extra_whitespaces = reader.varint() != 0;
        break;
      case 5: reader.expect(wire, 0, "escape_whitespaces"); model.escape_whitespaces = reader.varint() != 0; break;
      default: reader.skip(wire);
    }
  }
}

}  // namespace

SentencePieceModelProto parse_sentencepiece_model(const std::string& bytes) {
  SentencePieceModelProto model;
  WireReader reader(bytes);
  while (!reader.done()) {
    const auto [field, wire] = reader.tag();
    if (field == 1) {
      reader.expect(wire, 2, "pieces");
      model.pieces.push_back(parse_piece(reader.length_delimited()));
    } else if (field == 2) {
      reader.expect(wire, 2, "trainer_spec");
      parse_trainer_spec(reader.length_delimited(), model);
    } else if (field == 3) {
      reader.expect(wire, 2, "normalizer_spec");
      parse_normalizer_spec(reader.length_delimited(), model);
    } else {
      reader.skip(wire);
    }
  }
  if (model.pieces.empty()) RSO_THROW(DataError, "SentencePiece model: no pieces (not a SentencePiece .model file?)");
  return model;
}

}  // namespace rso::text
