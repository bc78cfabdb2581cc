// Counts the ATen operators this thread dispatches while an OpCount lives.
//
// On a GPU the decode step of a small model is bound by the host issuing
// kernels, one or more per operator, so the number of operators per step is
// what the decode path's fusions reduce. It is the same on every device and
// deterministic, so it can be followed on a machine without a GPU.
// `top_level` counts the operators called from our code; `all` adds the ones
// they call in turn (linear -> matmul -> mm), including views, which launch
// nothing.
#pragma once

#include <ATen/record_function.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace rso::perf {

class OpCount {
 public:
  OpCount() {
    state() = {};
    handle_ = at::addThreadLocalCallback(
        at::RecordFunctionCallback(&on_start, &on_end).scopes({at::RecordScope::FUNCTION}));
  }
  ~OpCount() { at::removeCallback(handle_); }
  OpCount(const OpCount&) = delete;
  OpCount& operator=(const OpCount&) = delete;

  std::int64_t top_level() const { return state().top_level; }
  std::int64_t all() const { return state().all; }
  // Top-level operators by name.
  const std::map<std::string, std::int64_t>& by_name() const { return state().by_name; }

 private:
  struct State {
    std::int64_t depth = 0, top_level = 0, all = 0;
    std::map<std::string, std::int64_t> by_name;
  };
  static State& state() {
    thread_local State s;
    return s;
  }
  static std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
    State& s = state();
    ++s.all;
    if (s.depth++ == 0) {
      ++s.top_level;
      ++s.by_name[fn.name()];
    }
    return nullptr;
  }
  static void on_end(const at::RecordFunction&, at::ObserverContext*) { --state().depth; }

  at::CallbackHandle handle_;
};

}  // namespace rso::perf
