#include "rso/model/batching.hpp"

#include <ATen/ATen.h>

namespace rso::model {

std::pair<at::Tensor, at::Tensor> left_pad(const std::vector<std::vector<std::int64_t>>& rows, std::int64_t pad_id) {
  std::int64_t length = 0;
  for (const auto& row : rows) length = std::max<std::int64_t>(length, static_cast<std::int64_t>(row.size()));
  at::Tensor ids = at::full({static_cast<std::int64_t>(rows.size()), length}, pad_id, at::kLong);
  at::Tensor mask = at::zeros_like(ids);
  auto ids_at = ids.accessor<std::int64_t, 2>();
  auto mask_at = mask.accessor<std::int64_t, 2>();
  for (std::size_t b = 0; b < rows.size(); ++b) {
    std::int64_t column = length - static_cast<std::int64_t>(rows[b].size());
    for (std::int64_t token : rows[b]) {
      ids_at[static_cast<std::int64_t>(b)][column] = token;
      mask_at[static_cast<std::int64_t>(b)][column++] = 1;
    }
  }
  return {ids, mask};
}

}  // namespace rso::model
