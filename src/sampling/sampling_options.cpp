#include "rso/sampling/sampling_options.hpp"

namespace rso {

model::DecodeMode decode_mode(DecodeKind kind) {
  switch (kind) {
    case DecodeKind::fixed: return model::DecodeMode::fixed;
    case DecodeKind::graph: return model::DecodeMode::graph;
    // auto stays dynamic until graph replay has been measured against it on GPUs.
    case DecodeKind::automatic:
    case DecodeKind::dynamic: break;
  }
  return model::DecodeMode::dynamic;
}

model::SamplingOptions sampling_options(const Config& config) {
  const SampleConfig& sc = config.sample;
  model::SamplingOptions sampling;
  sampling.temperature = sc.temperature;
  sampling.top_k = sc.top_k;
  sampling.top_p = sc.top_p;
  sampling.max_new_tokens = sc.max_new_tokens;
  sampling.decode = decode_mode(config.dist.decode);
  return sampling;
}

}  // namespace rso
