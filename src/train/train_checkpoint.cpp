#include "rso/train/train_checkpoint.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "rso/core/error.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/hdf5.hpp"

namespace rso::train {

namespace fs = std::filesystem;

namespace {
constexpr const char* kTrainStateFormat = "rso.train_state";
constexpr std::int64_t kTrainStateVersion = 1;

// Fault injection for the crash tests: RSO_KILL_DURING_CHECKPOINT=N makes
// the process SIGKILL itself half-way through writing the checkpoint of step
// N (weights written, optimiser state not, file not closed), the moment a
// kill -9 or a node failure does the most harm.
void maybe_die_during_checkpoint(std::int64_t step) {
  const char* value = std::getenv("RSO_KILL_DURING_CHECKPOINT");
  if (value != nullptr && std::strtoll(value, nullptr, 10) == step) std::raise(SIGKILL);
}

std::string step_name(std::int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step_%08lld", static_cast<long long>(step));
  return name;
}
}  // namespace

std::string write_train_checkpoint(const std::string& directory, std::int64_t step,
                                   const std::vector<NamedParameter>& parameters, const Optimizer& optimizer,
                                   const std::string& config_hash) {
  const fs::path root(directory);
  fs::create_directories(root);
  for (const auto& entry : fs::directory_iterator(root))  // leftovers of an interrupted write
    if (entry.path().extension() == ".tmp") fs::remove_all(entry.path());
  const fs::path final_dir = root / step_name(step);
  const fs::path temp_dir = root / (step_name(step) + ".tmp");
  fs::create_directories(temp_dir);
  {
    h5::File file = h5::File::create((temp_dir / "state.h5").string(), kTrainStateFormat, kTrainStateVersion);
    file.set_attribute("step", step);
    file.set_attribute("config_hash", config_hash);
    h5::Group group = file.create_group("parameters");
    at::NoGradGuard no_grad;
    for (const auto& p : parameters) group.write_tensor(p.name, p.tensor.to(at::kCPU));
    file.flush();
    maybe_die_during_checkpoint(step);
    h5::Group state = file.create_group("optimizer");
    for (const auto& [key, tensor] : optimizer.state()) state.write_tensor(key, tensor.to(at::kCPU));
    file.close();
  }
  fsync_path(temp_dir / "state.h5");
  fsync_path(temp_dir);
  if (fs::exists(final_dir)) fs::remove_all(final_dir);
  fs::rename(temp_dir, final_dir);
  fsync_path(root);
  write_file_atomic(root / "latest", step_name(step) + "\n");
  return final_dir.string();
}

std::optional<std::string> latest_train_checkpoint(const std::string& directory) {
  const fs::path latest = fs::path(directory) / "latest";
  if (!fs::exists(latest)) return std::nullopt;
  std::ifstream in(latest);
  std::string name;
  std::getline(in, name);
  const fs::path checkpoint = fs::path(directory) / name;
  if (name.empty() || !fs::exists(checkpoint / "state.h5"))
    RSO_THROW(DataError, latest.string() + " names '" + name + "', which holds no state.h5");
  return checkpoint.string();
}

namespace {
// Copies the stored master weights into `parameters` (by name, shapes checked).
void read_parameters(const h5::File& file, const std::string& path, const std::vector<NamedParameter>& parameters) {
  const h5::Group group = file.open_group("parameters");
  at::NoGradGuard no_grad;
  for (const auto& p : parameters) {
    const at::Tensor stored = group.read_tensor(p.name);
    if (stored.sizes() != p.tensor.sizes()) RSO_THROW(DataError, path + ": parameter " + p.name + " has another shape");
    at::Tensor target = p.tensor;
    target.copy_(stored);
  }
}
}  // namespace

std::optional<std::string> train_checkpoint_at(const std::string& directory, std::int64_t step) {
  const fs::path checkpoint = fs::path(directory) / step_name(step);
  if (!fs::exists(checkpoint / "state.h5")) return std::nullopt;
  return checkpoint.string();
}

void load_train_checkpoint_weights(const std::string& checkpoint, const std::vector<NamedParameter>& parameters) {
  const std::string path = (fs::path(checkpoint) / "state.h5").string();
  const h5::File file = h5::File::open(path, kTrainStateFormat, kTrainStateVersion);
  read_parameters(file, path, parameters);
}

std::int64_t load_train_checkpoint(const std::string& checkpoint, const std::vector<NamedParameter>& parameters,
                                   Optimizer& optimizer, const std::string& config_hash) {
  const std::string path = (fs::path(checkpoint) / "state.h5").string();
  const h5::File file = h5::File::open(path, kTrainStateFormat, kTrainStateVersion);
  const std::string stored_hash = file.string_attribute("config_hash");
  if (stored_hash != config_hash)
    RSO_THROW(ConfigError, path + " was written for config hash " + stored_hash + ", this run has " + config_hash +
                               ": its parameters differ; use another train.output or start without --resume");
  read_parameters(file, path, parameters);
  const h5::Group state = file.open_group("optimizer");
  std::map<std::string, at::Tensor> slots;
  for (const auto& [key, tensor] : optimizer.state()) slots[key] = state.read_tensor(key);
  const std::int64_t step = file.int_attribute("step");
  optimizer.load_state(slots, step);
  return step;
}

}  // namespace rso::train
