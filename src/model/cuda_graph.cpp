#include "rso/model/cuda_graph.hpp"

#include "rso/core/error.hpp"

#ifdef RSO_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace rso::model {

#ifdef RSO_WITH_CUDA
struct GraphedStep::Impl {
  Impl(const c10::Device& on, std::function<void()> body) : device(on), step(std::move(body)) {}
  c10::Device device;
  std::function<void()> step;
  int runs = 0;
  at::cuda::CUDAGraph graph;
};

GraphedStep::GraphedStep(const c10::Device& device, std::function<void()> step) {
  if (!device.is_cuda()) RSO_THROW(UsageError, "CUDA graphs need a CUDA device, not " + device.str());
  impl_ = std::make_unique<Impl>(device, std::move(step));
}

GraphedStep::~GraphedStep() = default;

void GraphedStep::run() {
  Impl& s = *impl_;
  const int call = s.runs++;
  if (call > kEagerRuns) {
    s.graph.replay();
    return;
  }
  // Warm-up and capture on a side stream (capture is not allowed on the
  // default stream), ordered after and before the current stream's work by
  // synchronising: this happens kEagerRuns + 1 times per decode, not per step.
  const c10::cuda::CUDAGuard on_device(s.device);
  c10::cuda::getCurrentCUDAStream().synchronize();
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  {
    const c10::cuda::CUDAStreamGuard on_side(side);
    if (call < kEagerRuns) {
      s.step();
    } else {
      s.graph.capture_begin();
      s.step();
      s.graph.capture_end();
    }
  }
  side.synchronize();
  if (call == kEagerRuns) s.graph.replay();  // capturing recorded the step without running it
}
#else
struct GraphedStep::Impl {};

GraphedStep::GraphedStep(const c10::Device& device, std::function<void()>) {
  RSO_THROW(UsageError, "CUDA graphs need a build with CUDA (this one has none; device " + device.str() + ")");
}

GraphedStep::~GraphedStep() = default;

void GraphedStep::run() {}
#endif

}  // namespace rso::model
