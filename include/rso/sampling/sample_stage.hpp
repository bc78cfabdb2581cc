// The sampling stage (`rso sample`): preference pairs for training from one
// of three sources.
//
// - rso-sample-rank: n_c candidates per prompt from pi_sft, scored by the
//   reward model (or a reward function: sampling/text_scorer.hpp),
//   rejection-sampled to n_d (Algorithm 1), paired, labelled;
// - sft-sample-rank: n_d candidates from pi_sft, all kept, paired, labelled;
// - direct: the given (human) pairs as they are.
// Every pair carries log pi_sft of both responses, so training needs no
// reference model in memory.
//
// Work is cut into blocks of sample.block_size global prompt indices. Each
// block is computed from its indices alone (random streams keyed by seed and
// prompt index), written atomically as <output>/block-NNNNNN.h5
// (sampling/sample_shard.hpp) and recorded in <output>/manifest.json. Blocks
// are dealt to ranks round by round; statistics are reduced once per round.
// A restarted stage, on any number of ranks, skips recorded blocks and ends
// with the same files as an uninterrupted run.
#pragma once

#include <cstdint>

#include "rso/core/config.hpp"
#include "rso/dist/dist_context.hpp"

namespace rso::sampling {

class TextScorer;

struct SampleStageLimits {
  std::int64_t max_blocks = -1;  // stop after about this many blocks in this run (-1: no limit)
};

// Returns true when every block is done (manifest complete, stats.json
// written), false when a limit stopped it first. Collective. `scorer`, when
// given, scores the candidates' text in place of sample.reward_model (the
// reward function sample.scorer names; cli::make_text_scorer builds it).
bool run_sample_stage(DistContext& context, const Config& config, const SampleStageLimits& limits = {},
                      TextScorer* scorer = nullptr);

}  // namespace rso::sampling
