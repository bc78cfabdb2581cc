#include "rso/core/random.hpp"

#include <cmath>
#include <limits>

#include "rso/core/error.hpp"

namespace rso {

namespace {

constexpr std::uint32_t kPhiloxM0 = 0xD2511F53;
constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57;
constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9;  // golden ratio
constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85;  // sqrt(3) - 1

inline void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}

// splitmix64 finaliser: spreads (seed, stage) over the 64-bit key space so
// that nearby seeds give unrelated keys.
std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) {
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kPhiloxM0, ctr[0], hi0, lo0);
    mulhilo(kPhiloxM1, ctr[2], hi1, lo1);
    ctr = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
    key[0] += kPhiloxW0;
    key[1] += kPhiloxW1;
  }
  return ctr;
}

// Layout of the 128-bit counter: word 0 counts blocks of four draws, word 1
// holds the sub-index, words 2-3 the 64-bit global index. The key is a hash
// of (seed, stage). A stream therefore has 2^32 blocks = 2^34 words.
RandomStream::RandomStream(const StreamKey& key) {
  const std::uint64_t k = mix64(key.seed ^ mix64(static_cast<std::uint64_t>(key.stage) + 1));
  key_ = {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k >> 32)};
  base_ = {0, key.sub, static_cast<std::uint32_t>(key.index),
           static_cast<std::uint32_t>(key.index >> 32)};
}

void RandomStream::refill() {
  const std::uint64_t block = position_ / 4;
  if (block > std::numeric_limits<std::uint32_t>::max()) {
    RSO_THROW(InternalError, "random stream exhausted (more than 2^34 draws from one key)");
  }
  PhiloxCounter counter = base_;
  counter[0] = static_cast<std::uint32_t>(block);
  block_ = philox4x32_10(counter, key_);
  block_index_ = block;
}

std::uint32_t RandomStream::next_u32() {
  if (position_ / 4 != block_index_) refill();
  return block_[position_++ % 4];
}

std::uint64_t RandomStream::next_u64() {
  const std::uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

double RandomStream::uniform() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

float RandomStream::uniform_float() {
  return static_cast<float>(next_u32() >> 8) * 0x1.0p-24f;
}

double RandomStream::normal() {
  // 1 - u lies in (0, 1], so the log is finite.
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

bool RandomStream::bernoulli(double p) {
  if (!(p > 0.0)) {
    next_u64();  // consume anyway: the stream position must not depend on p
    return false;
  }
  return uniform() < p;
}

std::uint64_t RandomStream::below(std::uint64_t n) {
  RSO_CHECK(n > 0, "below(0)");
  // Lemire, "Fast random integer generation in an interval" (2019).
  unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next_u64()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

std::vector<std::size_t> RandomStream::permutation(std::size_t n) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  for (std::size_t i = n; i > 1; --i) {
    const auto j = static_cast<std::size_t>(below(i));
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

void RandomStream::seek(std::uint64_t position) { position_ = position; }

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace rso
