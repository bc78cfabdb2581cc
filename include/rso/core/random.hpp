// Counter-based random streams (Philox4x32-10, Salmon et al., SC'11).
//
// A draw is a pure function of (seed, stage, global index, sub-index, draw
// number): there is no generator state to carry from item to item, so item 17
// gets the same numbers whether one rank or sixty-four process it, in any
// order and any batch. Every random decision in rso takes its stream from a
// StreamKey built from global indices, never from a per-rank generator.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace rso {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

// The Philox4x32 bijection with 10 rounds, as specified by Random123.
PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key);

// Stage identifiers keep the streams of different pipeline stages apart.
// Their numeric values are part of the output format: never renumber.
enum class Stage : std::uint32_t {
  test = 0,
  corpus = 1,
  sft = 2,
  reward = 3,
  generate = 4,
  reject = 5,
  pair = 6,
  label = 7,
  train = 8,
  eval = 9,
  human_pairs = 10,
};

struct StreamKey {
  std::uint64_t seed = 0;
  Stage stage = Stage::test;
  std::uint64_t index = 0;  // global item index (prompt, pair, example)
  std::uint32_t sub = 0;    // e.g. candidate number within a prompt
};

// An endless stream of uniform 32-bit words for one StreamKey. Copyable and
// cheap; `position()` / `seek()` let checkpoints store and restore it.
class RandomStream {
 public:
  explicit RandomStream(const StreamKey& key);

  std::uint32_t next_u32();
  std::uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  // Uniform in [0, 1) with 24 random bits.
  float uniform_float();
  // Standard normal (Box-Muller; consumes two uniforms).
  double normal();
  // True with probability p (p outside [0, 1] is clamped).
  bool bernoulli(double p);
  // Uniform integer in [0, n), unbiased (Lemire's method); n > 0.
  std::uint64_t below(std::uint64_t n);
  // A uniformly random permutation of 0..n-1 (Fisher-Yates).
  std::vector<std::size_t> permutation(std::size_t n);

  // Number of 32-bit words drawn so far; seek(p) resumes exactly there.
  std::uint64_t position() const { return position_; }
  void seek(std::uint64_t position);

 private:
  void refill();

  PhiloxKey key_{};
  PhiloxCounter base_{};  // counter words 1..3 identify the stream
  std::uint64_t position_ = 0;
  PhiloxCounter block_{};
  std::uint64_t block_index_ = ~std::uint64_t{0};
};

// Stable 64-bit hash (FNV-1a) for deriving seeds from names.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ULL);

}  // namespace rso
