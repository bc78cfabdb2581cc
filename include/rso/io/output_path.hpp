// An output must never be one of the command's inputs: outputs are written
// whole and renamed into place at the end, which would replace the input
// with the output after reading it (a candidates file with its selection, a
// prompts file with its samples).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rso::io {

// True when `a` and `b` name the same file: the same path once resolved, or
// (both existing) one file reached by a symbolic or hard link.
bool same_file(const std::string& a, const std::string& b);

// A UsageError naming both flags when the output `output` (given as
// `output_flag`) is the same file as any of `others` ({flag, path}: the
// command's inputs, or another of its outputs; empty paths are skipped).
void refuse_output_over_inputs(const std::string& output_flag, const std::string& output,
                               const std::vector<std::pair<std::string, std::string>>& others);

}  // namespace rso::io
