// SentencePiece encoding and decoding (unigram Viterbi, BPE merges by
// score), following SentencePiece 0.1.9x: same segmentation, same ids.
#include "rso/text/sentencepiece.hpp"

#include <algorithm>
#include <cfloat>
#include <functional>
#include <fstream>
#include <queue>
#include <sstream>

#include "rso/core/error.hpp"
#include "rso/io/utf8.hpp"
#include "sentencepiece_normalizer.hpp"

namespace rso::text {

using detail::kSpaceSymbol;
using detail::one_char_length;
using PieceType = SentencePieceModelProto::PieceType;

struct SentencePieceTokenizer::Normalizer : detail::SentencePieceNormalizer {
  using detail::SentencePieceNormalizer::SentencePieceNormalizer;
};

namespace {

// "<0x41>" -> 0x41, or -1 when the piece is not of that form.
int byte_piece_value(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = piece[static_cast<std::size_t>(i)];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_bytes)
    : model_(parse_sentencepiece_model(model_bytes)) {
  if (model_.model_type != SentencePieceModelProto::ModelType::unigram &&
      model_.model_type != SentencePieceModelProto::ModelType::bpe)
    RSO_THROW(UnavailableError, "SentencePiece model: only unigram and BPE models are supported (this one is " +
                                    std::string(model_.model_type == SentencePieceModelProto::ModelType::word
                                                    ? "word"
                                                    : "char") +
                                    ")");
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  min_score_ = FLT_MAX;
  max_score_ = FLT_MIN;  // as SentencePiece: never below the smallest positive float
  for (std::size_t i = 0; i < model_.pieces.size(); ++i) {
    const auto& piece = model_.pieces[i];
    const auto id = static_cast<std::int64_t>(i);
    if (piece.text.empty()) RSO_THROW(DataError, "SentencePiece model: piece " + std::to_string(i) + " is empty");
    const bool normal = piece.type == PieceType::normal || piece.type == PieceType::user_defined ||
                        piece.type == PieceType::unused;
    auto& ids = normal ? normal_ids_ : reserved_ids_;
    if (!ids.emplace(piece.text, id).second)
      RSO_THROW(DataError, "SentencePiece model: piece '" + piece.text + "' appears twice");
    if (piece.type == PieceType::user_defined) user_symbols_.push_back(piece.text);
    if (piece.type == PieceType::unknown) {
      if (unk_id_ >= 0) RSO_THROW(DataError, "SentencePiece model: more than one unknown piece");
      unk_id_ = id;
    }
    if (piece.type == PieceType::byte) {
      const int value = byte_piece_value(piece.text);
      if (value < 0) RSO_THROW(DataError, "SentencePiece model: byte piece '" + piece.text + "' is not <0xHH>");
      byte_ids_[value] = id;
    }
    if (piece.type == PieceType::normal) {
      min_score_ = std::min(min_score_, piece.score);
      max_score_ = std::max(max_score_, piece.score);
    }
    longest_piece_ = std::max(longest_piece_, piece.text.size());
  }
  if (unk_id_ < 0) RSO_THROW(DataError, "SentencePiece model: no unknown piece");
  if (model_.byte_fallback)
    for (int b = 0; b < 256; ++b)
      if (byte_ids_[b] < 0) RSO_THROW(DataError, "SentencePiece model: byte fallback without a piece for every byte");
  auto control_or_none = [&](std::int64_t id) {
    return id >= 0 && id < vocab_size() && model_.pieces[static_cast<std::size_t>(id)].type == PieceType::control
               ? id
               : -1;
  };
  bos_id_ = control_or_none(model_.bos_id);
  eos_id_ = control_or_none(model_.eos_id);
  normalizer_ = std::make_unique<Normalizer>(model_, user_symbols_);
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;
SentencePieceTokenizer::SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept = default;

SentencePieceTokenizer SentencePieceTokenizer::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RSO_THROW(IoError, "cannot open SentencePiece model '" + path + "'");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  try {
    return SentencePieceTokenizer(bytes.str());
  } catch (const DataError& error) {
    RSO_THROW(DataError, "'" + path + "': " + error.message());
  }
}

const std::string& SentencePieceTokenizer::piece(std::int64_t id) const {
  if (id < 0 || id >= vocab_size())
    RSO_THROW(DataError, "token id " + std::to_string(id) + " is outside the vocabulary of " +
                             std::to_string(vocab_size()));
  return model_.pieces[static_cast<std::size_t>(id)].text;
}

std::string SentencePieceTokenizer::normalize(std::string_view text) const { return normalizer_->normalize(text); }

std::int64_t SentencePieceTokenizer::lookup(std::string_view piece) const {
  const std::string key(piece);
  if (auto it = reserved_ids_.find(key); it != reserved_ids_.end()) return it->second;
  if (auto it = normal_ids_.find(key); it != normal_ids_.end()) return it->second;
  return unk_id_;
}

std::size_t SentencePieceTokenizer::user_symbol_prefix(std::string_view text) const {
  std::size_t longest = 0;
  for (const std::string& symbol : user_symbols_)
    if (symbol.size() > longest && text.substr(0, symbol.size()) == symbol) longest = symbol.size();
  return longest;
}

// Viterbi over all pieces matching at each character boundary (SentencePiece's
// EncodeOptimized): user-defined symbols get a bonus so they always win, a
// character no piece covers becomes <unk> at min score - 10.
std::vector<SentencePieceTokenizer::Segment> SentencePieceTokenizer::encode_unigram(std::string_view normalized) const {
  struct BestPath {
    std::int64_t id = -1;
    float score = 0;
    std::int64_t starts_at = -1;
  };
  const std::size_t size = normalized.size();
  const float unk_score = min_score_ - 10.0f;
  std::vector<BestPath> best(size + 1);
  std::string key;
  for (std::size_t start = 0; start < size;) {
    const float score_here = best[start].score;
    const std::size_t char_length =
        std::min(size - start, one_char_length(static_cast<unsigned char>(normalized[start])));
    bool single_character_piece = false;
    for (std::size_t end = start + 1; end <= size && end - start <= longest_piece_; ++end) {
      key.assign(normalized.data() + start, end - start);
      const auto it = normal_ids_.find(key);
      if (it == normal_ids_.end()) continue;
      const auto& piece = model_.pieces[static_cast<std::size_t>(it->second)];
      if (piece.type == PieceType::unused) continue;
      const std::size_t length = end - start;
      // Same types as SentencePiece: the user-defined bonus is computed in
      // double, the path score stored in float.
      const double score = piece.type == PieceType::user_defined
                               ? static_cast<double>(static_cast<float>(length) * max_score_) - 0.1
                               : static_cast<double>(piece.score);
      const double candidate = score + static_cast<double>(score_here);
      BestPath& target = best[end];
      if (target.starts_at == -1 || candidate > static_cast<double>(target.score)) {
        target.score = static_cast<float>(candidate);
        target.starts_at = static_cast<std::int64_t>(start);
        target.id = it->second;
      }
      if (length == char_length) single_character_piece = true;
    }
    if (!single_character_piece) {
      BestPath& target = best[start + char_length];
      const float candidate = unk_score + score_here;
      if (target.starts_at == -1 || candidate > target.score) {
        target.score = candidate;
        target.starts_at = static_cast<std::int64_t>(start);
        target.id = unk_id_;
      }
    }
    start += char_length;
  }
  std::vector<Segment> segments;
  for (std::size_t end = size; end > 0;) {
    const BestPath& node = best[end];
    const auto start = static_cast<std::size_t>(node.starts_at);
    segments.push_back({normalized.substr(start, end - start), node.id});
    end = start;
  }
  std::reverse(segments.begin(), segments.end());
  return segments;
}

// SentencePiece BPE: start from characters (user-defined symbols whole and
// frozen), repeatedly merge the adjacent pair whose union is the
// highest-scoring piece (leftmost on ties); unused pieces are split back
// into the merges that made them.
std::vector<SentencePieceTokenizer::Segment> SentencePieceTokenizer::encode_bpe(std::string_view normalized) const {
  struct Symbol {
    std::int64_t prev, next;
    bool frozen;
    std::string_view piece;
  };
  struct Pair {
    std::int64_t left, right;
    float score;
    std::size_t size;
  };
  auto lower_priority = [](const Pair& a, const Pair& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(lower_priority)> agenda(lower_priority);
  std::vector<Symbol> symbols;
  std::unordered_map<std::string, std::pair<std::string_view, std::string_view>> reverse_merge;
  std::string key;

  auto maybe_add_pair = [&](std::int64_t left, std::int64_t right) {
    if (left == -1 || right == -1) return;
    const Symbol& l = symbols[static_cast<std::size_t>(left)];
    const Symbol& r = symbols[static_cast<std::size_t>(right)];
    if (l.frozen || r.frozen) return;
    const std::string_view joined(l.piece.data(), l.piece.size() + r.piece.size());
    key.assign(joined);
    const auto it = normal_ids_.find(key);
    if (it == normal_ids_.end()) return;
    const auto& piece = model_.pieces[static_cast<std::size_t>(it->second)];
    agenda.push({left, right, piece.score, joined.size()});
    if (piece.type == PieceType::unused) reverse_merge[key] = {l.piece, r.piece};
  };

  for (std::string_view rest = normalized; !rest.empty();) {
    const std::size_t user = user_symbol_prefix(rest);
    const std::size_t length =
        user > 0 ? user : std::min(rest.size(), one_char_length(static_cast<unsigned char>(rest[0])));
    const auto index = static_cast<std::int64_t>(symbols.size());
    symbols.push_back({index - 1, rest.size() == length ? -1 : index + 1, user > 0, rest.substr(0, length)});
    rest.remove_prefix(length);
  }
  for (std::size_t i = 1; i < symbols.size(); ++i)
    maybe_add_pair(static_cast<std::int64_t>(i - 1), static_cast<std::int64_t>(i));

  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[static_cast<std::size_t>(top.left)];
    Symbol& right = symbols[static_cast<std::size_t>(top.right)];
    // Stale: one side was merged away since this pair was queued.
    if (left.piece.empty() || right.piece.empty() || left.piece.size() + right.piece.size() != top.size) continue;
    left.piece = std::string_view(left.piece.data(), left.piece.size() + right.piece.size());
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = top.left;
    right.piece = std::string_view();
    maybe_add_pair(left.prev, top.left);
    maybe_add_pair(top.left, left.next);
  }

  std::vector<Segment> segments;
  std::function<void(std::string_view)> resegment = [&](std::string_view piece) {
    const std::int64_t id = lookup(piece);
    const bool unused = model_.pieces[static_cast<std::size_t>(id)].type == PieceType::unused;
    const auto it = unused ? reverse_merge.find(std::string(piece)) : reverse_merge.end();
    if (it == reverse_merge.end()) {
      segments.push_back({piece, id});
      return;
    }
    resegment(it->second.first);
    resegment(it->second.second);
  };
  if (!symbols.empty())
    for (std::int64_t index = 0; index != -1; index = symbols[static_cast<std::size_t>(index)].next)
      resegment(symbols[static_cast<std::size_t>(index)].piece);
  return segments;
}

std::vector<std::int64_t> SentencePieceTokenizer::encode(std::string_view text) const {
  if (const std::size_t bad = find_invalid_utf8(text); bad != std::string_view::npos)
    RSO_THROW(DataError, "tokenizer input is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  const std::string normalized = normalizer_->normalize(text);
  const auto segments = model_.model_type == SentencePieceModelProto::ModelType::bpe ? encode_bpe(normalized)
                                                                                     : encode_unigram(normalized);
  std::vector<std::int64_t> ids;
  ids.reserve(segments.size());
  bool previous_unknown = false;
  for (const Segment& segment : segments) {
    const bool unknown = segment.id == unk_id_;
    if (unknown && model_.byte_fallback) {
      for (char byte : segment.text) ids.push_back(byte_ids_[static_cast<unsigned char>(byte)]);
    } else if (!(unknown && previous_unknown)) {
      ids.push_back(segment.id);  // a run of unknown pieces is one <unk>
    }
    previous_unknown = unknown;
  }
  return ids;
}

std::string SentencePieceTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  std::string text;
  std::string pending_bytes;
  // Byte pieces join into UTF-8; each byte of an invalid sequence is U+FFFD.
  auto flush_bytes = [&] {
    for (std::size_t i = 0; i < pending_bytes.size();) {
      const std::size_t length =
          std::min(pending_bytes.size() - i, one_char_length(static_cast<unsigned char>(pending_bytes[i])));
      const std::string_view character(pending_bytes.data() + i, length);
      if (is_valid_utf8(character)) {
        text += character;
        i += length;
      } else {
        text += "\xEF\xBF\xBD";
        i += 1;
      }
    }
    pending_bytes.clear();
  };
  // The dummy prefix: U+2581 is dropped from the start of the first
  // visible piece (with extra whitespace kept, from one piece only).
  bool expect_leading_space = true, leading_space_consumed = false;
  for (std::int64_t id : ids) {
    this->piece(id);  // range check
    const auto& piece = model_.pieces[static_cast<std::size_t>(id)];
    if (piece.type == PieceType::byte) {
      pending_bytes += static_cast<char>(byte_piece_value(piece.text));
      continue;
    }
    flush_bytes();
    if (leading_space_consumed || !text.empty()) expect_leading_space = false;
    leading_space_consumed = false;
    if (piece.type == PieceType::control) continue;
    if (piece.type == PieceType::unknown) {
      text += model_.unk_surface;
      continue;
    }
    std::string_view surface = piece.text;
    if (expect_leading_space && (model_.add_dummy_prefix || model_.remove_extra_whitespaces) &&
        surface.substr(0, kSpaceSymbol.size()) == kSpaceSymbol) {
      surface.remove_prefix(kSpaceSymbol.size());
      leading_space_consumed = !model_.remove_extra_whitespaces;
    }
    for (std::size_t i = 0; i < surface.size();) {
      if (surface.substr(i, kSpaceSymbol.size()) == kSpaceSymbol) {
        text += ' ';
        i += kSpaceSymbol.size();
      } else {
        text += surface[i++];
      }
    }
  }
  flush_bytes();
  return text;
}

}  // namespace rso::text
