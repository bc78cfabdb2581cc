// What every fuzz target shares: the input as a file (rso's readers take
// paths, as the program does), and the contract being checked — malformed
// input is an rso::Error (a typed error with the documented exit code and a
// message naming the file), never another exception, a crash or a hang.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "rso/core/error.hpp"

namespace rso::fuzz {

// A directory of this process's own, removed at exit: the readers see real
// files, as they do in a run.
inline const std::string& scratch_directory() {
  static const std::string directory = [] {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/rso-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data())) std::abort();
    static std::string remove_at_exit;
    remove_at_exit = pattern;
    std::atexit([] { std::system(("rm -rf '" + remove_at_exit + "'").c_str()); });
    return pattern;
  }();
  return directory;
}

inline std::string write_scratch_file(const std::string& name, std::string_view bytes) {
  const std::string path = scratch_directory() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();
  return path;
}

// Splits the input at the first occurrence of `separator` (the fuzzer learns
// it from the seed corpus): a target that reads two files gets both from one
// input.
inline std::pair<std::string_view, std::string_view> split(std::string_view input, std::string_view separator) {
  const auto at = input.find(separator);
  if (at == std::string_view::npos) return {input, {}};
  return {input.substr(0, at), input.substr(at + separator.size())};
}

// Runs `read`; an rso::Error is the expected answer to bad input. Anything
// else escaping is a finding: print it and abort so the fuzzer keeps the input.
template <typename Read>
void expect_typed_errors(const char* what, Read&& read) {
  try {
    read();
  } catch (const rso::Error& e) {
    if (e.message().empty()) {
      std::fprintf(stderr, "%s: an rso::Error without a message (from %s)\n", what, e.origin().c_str());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: an untyped exception escaped: %s\n", what, e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "%s: an exception of unknown type escaped\n", what);
    std::abort();
  }
}

}  // namespace rso::fuzz
