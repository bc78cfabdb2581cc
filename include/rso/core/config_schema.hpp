// Building blocks for describing configuration structs.
//
// A config section is a plain struct with documented defaults and a
// `visit(V&)` member listing its fields once. Visitors (YAML reader, YAML
// writer, hasher — see src/core/config.cpp) walk that list, so a field is
// declared in exactly one place:
//
//   v.param("beta", beta, "rejection-sampling temperature β", positive());
//   v.operational("dir", dir, "run directory");
//
// `param` fields change results and enter the config hash that checkpoints
// are checked against; `operational` fields (paths, logging, threads) do not.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <utility>

namespace rso {

// A closed or open numeric interval that a value must lie in.
struct Bound {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  bool hi_open = false;
};

inline Bound positive() { return {0.0, std::numeric_limits<double>::infinity(), true, false}; }
inline Bound non_negative() { return {0.0, std::numeric_limits<double>::infinity(), false, false}; }
inline Bound at_least(double lo) { return {lo, std::numeric_limits<double>::infinity(), false, false}; }
inline Bound between(double lo, double hi) { return {lo, hi, false, false}; }
// (0, 1]: probabilities that must leave something to sample (top-p).
inline Bound unit_open_closed() { return {0.0, 1.0, true, false}; }
inline Bound unbounded() { return {}; }

// Names of an enum's values as they appear in YAML, e.g.
//   constexpr EnumNames<Loss, 4> kLossNames{{{Loss::dpo, "sigmoid-norm"}, ...}};
template <class E, std::size_t N>
using EnumNames = std::array<std::pair<E, const char*>, N>;

template <class E, std::size_t N>
const char* enum_name(E value, const EnumNames<E, N>& names) {
  for (const auto& [v, name] : names)
    if (v == value) return name;
  return "?";
}

}  // namespace rso
