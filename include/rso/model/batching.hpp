// Turning token-id lists into padded batches.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace rso::model {

// Left-pads rows of token ids to the longest: {input_ids [B, T] int64,
// attention_mask [B, T] int64 with 1 on real tokens}. Every row then ends in
// the last column, where decoding continues and reward heads read.
std::pair<at::Tensor, at::Tensor> left_pad(const std::vector<std::vector<std::int64_t>>& rows, std::int64_t pad_id);

}  // namespace rso::model
