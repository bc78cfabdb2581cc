// A step of fixed shapes captured once as a CUDA graph and replayed: one
// launch instead of the hundreds of kernels the step issues, which is what
// bounds decoding small models on a GPU. The step must read and write only
// tensors that outlive the graph, at fixed addresses, and never wait on the
// host (no .item(), no shape that depends on values).
#pragma once

#include <c10/core/Device.h>

#include <functional>
#include <memory>

namespace rso::model {

class GraphedStep {
 public:
  // Throws UsageError unless this build has CUDA and `device` is a GPU.
  GraphedStep(const c10::Device& device, std::function<void()> step);
  ~GraphedStep();
  GraphedStep(const GraphedStep&) = delete;
  GraphedStep& operator=(const GraphedStep&) = delete;

  // The first calls run the step eagerly on a side stream (loading kernels
  // and the cuBLAS workspace there), the next one captures it and replays
  // it, later ones replay. Each call runs the step exactly once.
  void run();
  static constexpr int kEagerRuns = 2;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rso::model
