// Model files as every command that loads a policy or a reward model reads
// them: architecture, options, tokenizer, reward head, parameters.
//
// Structure-aware: the input is a program of edits applied, through the HDF5
// API, to a valid model file (a policy with its tokenizer, a pointwise or a
// ranking reward model): attributes set to other strings, integers or
// doubles (NaN and Inf included) or removed, groups and datasets removed,
// datasets replaced by others of any shape and dtype with the input's bytes.
// That reaches every check of rso's reader. Raw bytes would mostly exercise
// libhdf5's own parser instead, whose 1.10 series reads past a buffer on a
// corrupt global heap within seconds of fuzzing (H5HG_read; see
// docs/FUZZING.md): HDF5 metadata is trusted, its data is checksummed.
#include <ATen/ATen.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "rso/io/hdf5.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/reward.hpp"
#include "rso/model/transformer.hpp"
#include "rso/text/gpt2_bpe.hpp"
#include "rso/text/tokenizer_files.hpp"

namespace {

namespace fs = std::filesystem;

// A GPT-2 byte-level tokenizer of the 256 byte symbols, as stored files.
rso::text::TokenizerFiles byte_tokenizer_files() {
  std::string encoder = "{";
  std::int64_t id = 0;
  for (const std::string& symbol : rso::text::gpt2_byte_symbols()) {
    std::string escaped;
    for (char c : symbol) escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    encoder += (id ? "," : "") + std::string("\"") + escaped + "\":" + std::to_string(id);
    ++id;
  }
  encoder += ",\"<|endoftext|>\":" + std::to_string(id) + "}";
  return {"gpt2-bpe", {{"encoder.json", encoder}, {"vocab.bpe", "#version: 0.2\n"}}};
}

// The three kinds of model file, written once per process.
const std::vector<std::string>& base_models() {
  static const std::vector<std::string> paths = [] {
    at::manual_seed(1);
    const auto options = rso::model::TransformerOptions()
                             .vocab_size(257)
                             .hidden_size(8)
                             .num_layers(1)
                             .num_heads(2)
                             .num_kv_heads(1)
                             .intermediate_size(16)
                             .max_positions(16)
                             .init_std(0.1);
    const std::string dir = rso::fuzz::scratch_directory();
    const auto tokenizer = byte_tokenizer_files();
    rso::model::Transformer policy(options);
    rso::model::save_model(policy, dir + "/base-policy.h5", &tokenizer);
    rso::model::RewardModel pointwise(options);
    rso::model::save_reward_model(pointwise, dir + "/base-pointwise.h5", {"pointwise", {}});
    rso::model::RewardModel ranking(options);
    rso::model::save_reward_model(ranking, dir + "/base-ranking.h5", {"ranking", {{255}, {256}}});
    return std::vector<std::string>{dir + "/base-policy.h5", dir + "/base-pointwise.h5", dir + "/base-ranking.h5"};
  }();
  return paths;
}

// Every object of the file, "/" first.
std::vector<std::string> objects(const rso::h5::Group& group, const std::string& prefix) {
  std::vector<std::string> found{prefix.empty() ? "/" : prefix};
  for (const std::string& child : group.children()) {
    const std::string path = prefix + "/" + child;
    if (group.is_group(child)) {
      for (const std::string& inner : objects(group.open_group(child), path)) found.push_back(inner);
    } else {
      found.push_back(path);
    }
  }
  return found;
}

at::Tensor fuzzed_tensor(FuzzedDataProvider& input) {
  const int rank = input.ConsumeIntegralInRange(0, 3);
  std::vector<std::int64_t> shape;
  std::int64_t numel = 1;
  for (int d = 0; d < rank; ++d) {
    shape.push_back(input.ConsumeIntegralInRange<std::int64_t>(0, 20));
    numel *= shape.back();
  }
  const at::ScalarType dtypes[] = {at::kFloat, at::kHalf, at::kBFloat16, at::kDouble, at::kLong, at::kByte};
  const at::ScalarType dtype = dtypes[input.ConsumeIntegralInRange(0, 5)];
  at::Tensor tensor = at::zeros(shape, at::TensorOptions().dtype(dtype));
  std::vector<std::uint8_t> bytes = input.ConsumeBytes<std::uint8_t>(tensor.nbytes());
  if (!bytes.empty()) std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
  return tensor;
}

void add_dataset(rso::h5::Group& group, FuzzedDataProvider& input) {
  const std::string added = input.ConsumeRandomLengthString(16);
  if (!added.empty() && added.find('/') == std::string::npos && added != "." && !group.has(added))
    group.write_tensor(added, fuzzed_tensor(input));
}

void apply_edit(rso::h5::File& file, FuzzedDataProvider& input) {
  const std::vector<std::string> all = objects(file, "");
  const std::string target = all[input.ConsumeIntegralInRange<std::size_t>(0, all.size() - 1)];
  const bool is_root = target == "/";
  const fs::path path(target);
  const std::string parent = path.parent_path().string();
  const std::string name = path.filename().string();
  const auto object_id = H5Oopen(file.id(), target.c_str(), H5P_DEFAULT);
  if (object_id < 0) return;
  // Attribute edits through rso's writer on the object (group or dataset).
  auto attribute_name = [&] {
    // Existing names are the interesting ones.
    std::vector<std::string> names;
    H5Aiterate2(object_id, H5_INDEX_NAME, H5_ITER_INC, nullptr,
                [](hid_t, const char* attribute, const H5A_info_t*, void* data) -> herr_t {
                  static_cast<std::vector<std::string>*>(data)->push_back(attribute);
                  return 0;
                },
                &names);
    if (names.empty() || input.ConsumeBool()) return input.ConsumeRandomLengthString(16);
    return names[input.ConsumeIntegralInRange<std::size_t>(0, names.size() - 1)];
  };
  const int op = input.ConsumeIntegralInRange(0, 5);
  const std::string attribute = op <= 3 ? attribute_name() : std::string();
  if (op <= 3 && !attribute.empty() && H5Aexists(object_id, attribute.c_str()) > 0) H5Adelete(object_id, attribute.c_str());
  H5Oclose(object_id);
  if (attribute.empty() && op <= 3) return;
  if (is_root) {
    switch (op) {
      case 0: file.set_attribute(attribute, input.ConsumeRandomLengthString(64)); break;
      case 1: file.set_attribute(attribute, input.ConsumeIntegral<std::int64_t>()); break;
      case 2: file.set_attribute(attribute, input.ConsumeFloatingPoint<double>()); break;
      case 5: add_dataset(file, input); break;
      default: break;  // 3: the attribute removed; 4: the root stays
    }
    return;
  }
  rso::h5::Group holder = file.open_group(parent.empty() ? "/" : parent);
  const bool group = holder.is_group(name);
  auto set = [&](auto&& edit) {
    if (group) {
      rso::h5::Group object = holder.open_group(name);
      edit(object);
    } else {
      rso::h5::Dataset object = holder.open_dataset(name);
      edit(object);
    }
  };
  switch (op) {
    case 0: set([&](rso::h5::Object& o) { o.set_attribute(attribute, input.ConsumeRandomLengthString(64)); }); break;
    case 1: set([&](rso::h5::Object& o) { o.set_attribute(attribute, input.ConsumeIntegral<std::int64_t>()); }); break;
    case 2: set([&](rso::h5::Object& o) { o.set_attribute(attribute, input.ConsumeFloatingPoint<double>()); }); break;
    case 3: break;  // the attribute removed
    case 4: H5Ldelete(holder.id(), name.c_str(), H5P_DEFAULT); break;  // the object removed
    case 5:  // a dataset replaced, or one added among a group's children
      if (group) {
        rso::h5::Group object = holder.open_group(name);
        add_dataset(object, input);
      } else {
        H5Ldelete(holder.id(), name.c_str(), H5P_DEFAULT);
        holder.write_tensor(name, fuzzed_tensor(input));
      }
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const std::string& base = base_models()[input.ConsumeIntegralInRange(0, 2)];
  const std::string path = rso::fuzz::scratch_directory() + "/model.h5";
  fs::copy_file(base, path, fs::copy_options::overwrite_existing);
  {
    // The edits are made with rso's own HDF5 layer; one it refuses (a name
    // HDF5 cannot hold) only ends the program of edits.
    try {
      rso::h5::File file = rso::h5::File::open(path, rso::h5::File::Mode::read_write);
      for (int edits = input.ConsumeIntegralInRange(0, 8); edits > 0 && input.remaining_bytes() > 0; --edits)
        apply_edit(file, input);
      file.close();
    } catch (const rso::Error&) {
    }
  }
  rso::fuzz::expect_typed_errors("checkpoint", [&] {
    const auto architecture = rso::model::read_model_architecture(path);
    if (const auto tokenizer = rso::model::read_model_tokenizer(path)) (void)rso::text::make_tokenizer(*tokenizer);
    if (architecture == rso::model::kCausalLmArchitecture) {
      (void)rso::model::load_model(path);
    } else {
      rso::model::RewardHead head;
      (void)rso::model::load_reward_model(path, &head);
    }
  });
  return 0;
}
