// The sampling settings of a run's configuration, as model::generate takes
// them: sample.temperature, top_k, top_p, max_new_tokens and dist.decode.
#pragma once

#include "rso/core/config.hpp"
#include "rso/model/generate.hpp"

namespace rso {

// eos_id and pad_id are the tokenizer's; the caller sets them.
model::SamplingOptions sampling_options(const Config& config);

model::DecodeMode decode_mode(DecodeKind kind);

}  // namespace rso
