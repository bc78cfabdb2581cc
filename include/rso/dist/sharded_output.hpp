// Line-sharded work: rank r takes the contiguous global lines
// [total*r/size, total*(r+1)/size), writes its results to OUTPUT.part-r, and
// rank 0 joins the parts in rank order. The joined file is therefore the
// same for any rank count when each line's result depends only on the line
// and its global index.
#pragma once

#include <cstdint>
#include <string>

#include "rso/dist/dist_context.hpp"

namespace rso {

struct ShardRange {
  std::uint64_t begin = 0, end = 0;  // global indices [begin, end)
  std::uint64_t size() const { return end - begin; }
};

ShardRange shard_range(std::uint64_t total, int rank, int size);

// OUTPUT.part-RANK
std::string shard_part_path(const std::string& output, int rank);

// Collective. Rank 0 concatenates every part into `output` (atomically) and
// removes the parts. A part that is missing (an output directory not shared
// by all ranks) is an IoError.
void join_shard_parts(const DistContext& context, const std::string& output);

// Non-blank lines of a text file (the records of a JSONL file), read
// without parsing them.
std::uint64_t count_jsonl_records(const std::string& path);

}  // namespace rso
