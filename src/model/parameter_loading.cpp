#include "rso/model/parameter_loading.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <set>
#include <tuple>
#include <sstream>

#include "rso/core/error.hpp"

namespace rso::model {

namespace {
std::string shape_text(at::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}
}  // namespace

std::string dtype_name(c10::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kLong: return "int64";
    default: return c10::toString(type);
  }
}

void load_named_parameters(torch::nn::Module& module, const std::map<std::string, StoredTensor>& stored,
                           const std::string& source) {
  std::set<std::string> unexpected;
  for (const auto& item : stored) unexpected.insert(item.first);
  std::vector<std::string> problems;
  std::vector<std::tuple<std::string, at::Tensor, const StoredTensor*>> fits;
  for (const auto& parameter : module.named_parameters()) {
    const std::string& name = parameter.key();
    const at::Tensor& target = parameter.value();
    const auto it = stored.find(name);
    if (it == stored.end()) {
      problems.push_back("missing " + name);
      continue;
    }
    unexpected.erase(name);
    const StoredTensor& candidate = it->second;
    const bool same_shape = at::IntArrayRef(candidate.shape) == target.sizes();
    const bool same_dtype = candidate.dtype == dtype_name(target.scalar_type());
    if (!same_shape)
      problems.push_back(name + ": shape " + shape_text(candidate.shape) + " in the file, " +
                         shape_text(target.sizes()) + " in the model");
    if (!same_dtype)
      problems.push_back(name + ": dtype " + candidate.dtype + " in the file, " + dtype_name(target.scalar_type()) +
                         " in the model");
    if (same_shape && same_dtype) fits.emplace_back(name, target, &candidate);
  }
  for (const auto& name : unexpected) problems.push_back("unexpected " + name);
  if (!problems.empty()) {
    std::string message = source + " does not fit the model (" + std::to_string(problems.size()) + " problems):";
    for (const auto& problem : problems) message += "\n  " + problem;
    RSO_THROW(DataError, message);
  }
  at::NoGradGuard no_grad;
  for (auto& [name, target, candidate] : fits) {
    const at::Tensor values = candidate->read();
    // A NaN or Inf weight makes every output NaN downstream (null log-probs,
    // no pairs), far from its cause: refused here, by name.
    if (values.is_floating_point()) {
      const std::int64_t bad = values.numel() - at::isfinite(values).sum().item<std::int64_t>();
      if (bad > 0)
        RSO_THROW(DataError, source + ": " + name + " holds " + std::to_string(bad) +
                                 " non-finite values (NaN or Inf): the file is damaged, or the training that wrote "
                                 "it diverged");
    }
    target.copy_(values);
  }
}

}  // namespace rso::model
