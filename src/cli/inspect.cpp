// `rso inspect FILE.h5`: what a file holds, without reading its data.
#include <filesystem>
#include <iostream>
#include <numeric>

#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/io/hdf5.hpp"

namespace rso::cli {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  if (shape.empty()) return "scalar";
  std::string text;
  for (auto d : shape) text += (text.empty() ? "" : " x ") + std::to_string(d);
  return text;
}

std::string attribute_text(const h5::Object& object, const std::string& name) {
  // Try the three attribute kinds rso writes; show others by name only.
  try {
    return std::to_string(object.int_attribute(name));
  } catch (const Error&) {
  }
  try {
    std::string text = object.string_attribute(name);
    if (text.size() > 72) text = text.substr(0, 69) + "...";
    return "\"" + text + "\"";
  } catch (const Error&) {
  }
  try {
    return std::to_string(object.double_attribute(name));
  } catch (const Error&) {
  }
  return "(unprintable)";
}

void print_attributes(const h5::Object& object, const std::string& indent, const std::vector<std::string>& skip = {}) {
  for (const auto& name : object.attribute_names()) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    std::cout << indent << "@" << name << " = " << attribute_text(object, name) << "\n";
  }
}

struct Totals {
  std::int64_t datasets = 0;
  std::int64_t elements = 0;
};

void print_group(const h5::Group& group, const std::string& indent, Totals& totals) {
  for (const auto& name : group.children()) {
    if (group.is_group(name)) {
      std::cout << indent << name << "/\n";
      const h5::Group child = group.open_group(name);
      print_attributes(child, indent + "  ");
      print_group(child, indent + "  ", totals);
      continue;
    }
    const h5::Dataset dataset = group.open_dataset(name);
    const auto shape = dataset.shape();
    const std::int64_t elements =
        std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<std::int64_t>());
    totals.datasets += 1;
    totals.elements += elements;
    std::cout << indent << name << "  " << dataset.dtype() << " [" << shape_text(shape) << "]\n";
    print_attributes(dataset, indent + "  ");
  }
}

}  // namespace

int run_inspect(DistContext& context, const std::string& path) {
  // Reading is cheap and local; one rank is enough.
  context.agree([&] {
    if (!context.is_root()) return;
    const h5::File file = h5::File::open(path);
    const auto bytes = std::filesystem::file_size(path);
    std::cout << path << "  (" << bytes << " bytes)\n";
    const std::string format = file.format();
    std::cout << "format: " << (format.empty() ? "(none: not written by rso)" : format);
    if (file.format_version() >= 0) std::cout << ", version " << file.format_version();
    std::cout << "\n";
    print_attributes(file, "", {"format", "format_version"});
    Totals totals;
    print_group(file, "  ", totals);
    std::cout << totals.datasets << " datasets, " << totals.elements << " elements\n";
  });
  return exit_code::ok;
}

}  // namespace rso::cli
