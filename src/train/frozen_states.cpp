#include "rso/train/frozen_states.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <mpi.h>

#include <algorithm>
#include <climits>

#include "rso/core/error.hpp"
#include "rso/model/batching.hpp"

namespace rso::train {

namespace {

std::vector<std::int64_t> joined(const std::vector<std::int64_t>& prompt, const std::vector<std::int64_t>& response) {
  std::vector<std::int64_t> row = prompt;
  row.insert(row.end(), response.begin(), response.end());
  return row;
}

// A chunk's rows in canonical order: its pairs' chosen rows, then their rejected rows.
std::vector<std::vector<std::int64_t>> chunk_rows(const std::vector<PreferencePair>& data, std::size_t chunk) {
  const std::size_t begin = chunk * FrozenStateCache::kChunk;
  const std::size_t end = std::min(data.size(), begin + FrozenStateCache::kChunk);
  std::vector<std::vector<std::int64_t>> rows;
  for (std::size_t i = begin; i < end; ++i) rows.push_back(joined(data[i].prompt, data[i].chosen));
  for (std::size_t i = begin; i < end; ++i) rows.push_back(joined(data[i].prompt, data[i].rejected));
  return rows;
}

std::int64_t chunk_tokens(const std::vector<PreferencePair>& data, std::size_t chunk) {
  std::int64_t tokens = 0;
  for (const auto& row : chunk_rows(data, chunk)) tokens += static_cast<std::int64_t>(row.size());
  return tokens;
}

}  // namespace

std::uint64_t frozen_state_bytes(const std::vector<PreferencePair>& pairs, std::int64_t hidden_size,
                                 std::size_t element_bytes) {
  std::uint64_t tokens = 0;
  for (const PreferencePair& pair : pairs) tokens += 2 * pair.prompt.size() + pair.chosen.size() + pair.rejected.size();
  return tokens * static_cast<std::uint64_t>(hidden_size) * element_bytes;
}

void FrozenStateCache::fill(const DistContext& context, const std::vector<PreferencePair>& data) {
  const std::size_t chunks = (data.size() + kChunk - 1) / kChunk;
  const auto ranks = static_cast<std::size_t>(context.size()), rank = static_cast<std::size_t>(context.rank());
  const at::Tensor& weight = model_->score->weight;
  const std::int64_t hidden = model_->options().hidden_size();
  // Where each rank's chunks go in the gathered buffer, in tokens: rank by
  // rank, each rank's chunks in order.
  std::vector<std::int64_t> rank_tokens(ranks, 0), chunk_offset(chunks, 0);
  for (std::size_t c = 0; c < chunks; ++c) rank_tokens[c % ranks] += chunk_tokens(data, c);
  std::vector<std::int64_t> rank_offset(ranks, 0);
  for (std::size_t r = 1; r < ranks; ++r) rank_offset[r] = rank_offset[r - 1] + rank_tokens[r - 1];
  {
    std::vector<std::int64_t> next = rank_offset;
    for (std::size_t c = 0; c < chunks; ++c) {
      chunk_offset[c] = next[c % ranks];
      next[c % ranks] += chunk_tokens(data, c);
    }
  }
  const std::int64_t total = rank_offset.back() + rank_tokens.back();
  // The same on every rank: each refuses alike, none waits in the exchange.
  if (total > INT_MAX)
    RSO_THROW(ConfigError, "the frozen states of " + std::to_string(total) +
                               " tokens exceed MPI's int counts: lower reward.frozen_state_cache_mib");
  // Host memory for the exchange (MPI reads host buffers), one token's
  // states per MPI element so that the counts stay within an int.
  const at::Tensor all = at::empty({total, hidden}, weight.options().device(at::kCPU));
  context.agree([&] {
    at::NoGradGuard no_grad;
    const auto device = weight.device();
    for (std::size_t c = rank; c < chunks; c += ranks) {
      const auto rows = chunk_rows(data, c);
      const auto [ids, mask] = model::left_pad(rows, 0);
      const at::Tensor states = model_->model->layer_states(ids.to(device), mask.to(device)).to(at::kCPU);
      const std::int64_t width = states.size(1);
      std::int64_t at_token = chunk_offset[c];
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto length = static_cast<std::int64_t>(rows[r].size());
        all.narrow(0, at_token, length).copy_(states[static_cast<std::int64_t>(r)].narrow(0, width - length, length));
        at_token += length;
      }
    }
  });
  MPI_Datatype token;
  MPI_Type_contiguous(static_cast<int>(hidden * static_cast<std::int64_t>(all.element_size())), MPI_BYTE, &token);
  MPI_Type_commit(&token);
  std::vector<int> counts(ranks), displacements(ranks);
  for (std::size_t r = 0; r < ranks; ++r) {
    counts[r] = static_cast<int>(rank_tokens[r]);
    displacements[r] = static_cast<int>(rank_offset[r]);
  }
  MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all.data_ptr(), counts.data(), displacements.data(), token,
                 static_cast<MPI_Comm>(context.world()));
  MPI_Type_free(&token);
  const at::Tensor kept = all.to(weight.device());
  std::vector<PairStates>& entries = cache_[&data];
  entries.assign(data.size(), PairStates{});
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t begin = c * kChunk, n = std::min(data.size(), begin + kChunk) - begin;
    std::int64_t at_token = chunk_offset[c];
    const auto take = [&](std::size_t i, bool chosen) {
      const auto length = static_cast<std::int64_t>(data[i].prompt.size() + (chosen ? data[i].chosen : data[i].rejected).size());
      at::Tensor view = kept.narrow(0, at_token, length);
      at_token += length;
      return view;
    };
    for (std::size_t k = 0; k < n; ++k) entries[begin + k].chosen = take(begin + k, true);
    for (std::size_t k = 0; k < n; ++k) entries[begin + k].rejected = take(begin + k, false);
  }
  bytes_ += static_cast<std::uint64_t>(kept.nbytes());
}

at::Tensor FrozenStateCache::score(const std::vector<PreferencePair>& data,
                                   const std::vector<std::size_t>& examples) {
  const auto found = cache_.find(&data);
  RSO_CHECK(found != cache_.end(), "FrozenStateCache::score on data it was not filled with");
  const std::vector<PairStates>& entries = found->second;
  std::vector<std::vector<std::int64_t>> rows;
  std::vector<at::Tensor> row_states;
  for (const std::size_t i : examples) {
    rows.push_back(joined(data[i].prompt, data[i].chosen));
    row_states.push_back(entries.at(i).chosen);
  }
  for (const std::size_t i : examples) {
    rows.push_back(joined(data[i].prompt, data[i].rejected));
    row_states.push_back(entries.at(i).rejected);
  }
  const auto [ids, mask] = model::left_pad(rows, 0);
  const at::Tensor& first = row_states.front();
  const std::int64_t width = ids.size(1);
  // Left-padded as the tokens are; the padding's states are zeros, which the
  // mask keeps out of every score.
  at::Tensor padded = at::zeros({static_cast<std::int64_t>(rows.size()), width, first.size(1)}, first.options());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::int64_t length = row_states[r].size(0);
    padded[static_cast<std::int64_t>(r)].narrow(0, width - length, length).copy_(row_states[r]);
  }
  const auto device = first.device();
  return model_->score_layer_states(padded, ids.to(device), mask.to(device));
}

}  // namespace rso::train
