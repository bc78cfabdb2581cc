#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "rso/core/random.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/hdf5.hpp"
#include "test_helpers.hpp"

namespace rso {
namespace {

using testing::error_message;
using testing::TempDir;

// Random bit patterns of the dtype's width: every value the type can hold,
// NaN payloads, infinities and subnormals included.
at::Tensor random_bits(at::ScalarType type, std::vector<std::int64_t> shape, std::uint64_t seed) {
  const auto element = c10::elementSize(type);
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  at::Tensor bytes = at::empty({count * static_cast<std::int64_t>(element)}, at::kByte);
  RandomStream stream({seed, Stage::test, 0, 0});
  auto* data = bytes.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < bytes.numel(); ++i) data[i] = static_cast<std::uint8_t>(stream.next_u32());
  return bytes.view(type).reshape(shape);
}

bool bitwise_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto bytes = static_cast<std::size_t>(a.numel()) * a.element_size();
  if (bytes == 0) return true;  // an empty tensor's data pointer may be null, which memcmp must not get
  return std::memcmp(a.contiguous().data_ptr(), b.contiguous().data_ptr(), bytes) == 0;
}

TEST(Hdf5, TensorsRoundTripBitwiseInEveryStoredDtype) {
  TempDir dir;
  const std::string path = (dir / "t.h5").string();
  const std::vector<std::pair<at::ScalarType, std::string>> types = {
      {at::kFloat, "float32"}, {at::kBFloat16, "bfloat16"}, {at::kLong, "int64"}, {at::kDouble, "float64"},
      {at::kHalf, "float16"},  {at::kInt, "int32"},         {at::kChar, "int8"},  {at::kByte, "uint8"}};
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {0}, {1}, {7, 3}, {2, 3, 5}};
  std::map<std::string, at::Tensor> written;
  {
    h5::File file = h5::File::create(path, "rso.test", 1);
    std::uint64_t seed = 0;
    for (const auto& [type, name] : types)
      for (const auto& shape : shapes) {
        const std::string key = "tensors/" + name + "/s" + std::to_string(seed);
        written[key] = random_bits(type, shape, ++seed);
        file.write_tensor(key, written[key]);
      }
    file.close();
  }
  const h5::File file = h5::File::open(path, "rso.test", 1);
  for (const auto& [key, expected] : written) {
    const at::Tensor read = file.read_tensor(key);
    EXPECT_TRUE(bitwise_equal(read, expected)) << key;
  }
  // Names count up over (dtype, shape): bfloat16 has s5..s9, int64 s10..s14.
  EXPECT_EQ(file.open_dataset("tensors/bfloat16/s9").dtype(), "bfloat16");
  EXPECT_EQ(file.open_dataset("tensors/float16/s24").dtype(), "float16");
  EXPECT_EQ(file.open_dataset("tensors/int64/s14").shape(), (std::vector<std::int64_t>{2, 3, 5}));
  EXPECT_EQ(file.open_dataset("tensors/int64/s10").shape(), (std::vector<std::int64_t>{}));
}

TEST(Hdf5, BoolTensorsRoundTrip) {
  TempDir dir;
  const std::string path = (dir / "b.h5").string();
  const at::Tensor mask = at::arange(10, at::kLong).remainder(3).eq(0);
  {
    h5::File file = h5::File::create(path, "rso.test", 1);
    file.write_tensor("mask", mask);
  }
  const at::Tensor read = h5::File::open(path).read_tensor("mask");
  EXPECT_EQ(read.scalar_type(), at::kBool);
  EXPECT_TRUE(at::equal(read, mask));
}

TEST(Hdf5, NonContiguousTensorsAreStoredAsTheyLook) {
  TempDir dir;
  const std::string path = (dir / "t.h5").string();
  const at::Tensor base = at::arange(12, at::kFloat).reshape({3, 4});
  const at::Tensor transposed = base.t();
  {
    h5::File file = h5::File::create(path, "rso.test", 1);
    file.write_tensor("t", transposed);
  }
  const at::Tensor read = h5::File::open(path).read_tensor("t");
  EXPECT_TRUE(at::equal(read, transposed));
}

TEST(Hdf5, StringsAndAttributesRoundTrip) {
  TempDir dir;
  const std::string path = (dir / "s.h5").string();
  const std::vector<std::string> texts = {"", "plain", "caf\xc3\xa9 \xf0\x9f\x98\x80", std::string(5000, 'x'),
                                          "line\nbreak"};
  {
    h5::File file = h5::File::create(path, "rso.test", 3);
    auto dataset = file.write_strings("meta/texts", texts);
    dataset.set_attribute("note", "\xe2\x82\xac");
    auto group = file.create_group("g/h");
    group.set_attribute("count", std::int64_t{-42});
    group.set_attribute("beta", 0.1);
    file.write_strings("empty", {});
  }
  const h5::File file = h5::File::open(path);
  EXPECT_EQ(file.format(), "rso.test");
  EXPECT_EQ(file.format_version(), 3);
  EXPECT_EQ(file.read_strings("meta/texts"), texts);
  EXPECT_TRUE(file.read_strings("empty").empty());
  EXPECT_EQ(file.open_dataset("meta/texts").string_attribute("note"), "\xe2\x82\xac");
  EXPECT_EQ(file.open_dataset("meta/texts").dtype(), "string");
  const auto group = file.open_group("g/h");
  EXPECT_EQ(group.int_attribute("count"), -42);
  EXPECT_EQ(group.double_attribute("beta"), 0.1);
  EXPECT_EQ(group.attribute_names(), (std::vector<std::string>{"beta", "count"}));
  EXPECT_EQ(file.children(), (std::vector<std::string>{"empty", "g", "meta"}));
  EXPECT_TRUE(file.is_group("g"));
  EXPECT_FALSE(file.is_group("empty"));
  EXPECT_TRUE(file.has("g/h"));
  EXPECT_FALSE(file.has("g/x/y"));
}

TEST(Hdf5, FormatAndVersionAreChecked) {
  TempDir dir;
  const std::string path = (dir / "f.h5").string();
  h5::File::create(path, "rso.pairs", 2).close();
  EXPECT_NO_THROW(h5::File::open(path, "rso.pairs", 2));
  std::string message = error_message([&] { h5::File::open(path, "rso.checkpoint", 1); }, ErrorKind::data);
  EXPECT_NE(message.find("is a 'rso.pairs' file, expected 'rso.checkpoint'"), std::string::npos) << message;
  message = error_message([&] { h5::File::open(path, "rso.pairs", 1); }, ErrorKind::data);
  EXPECT_NE(message.find("format_version 2; this rso reads up to version 1"), std::string::npos) << message;
}

TEST(Hdf5, ErrorsNameFileAndObject) {
  TempDir dir;
  const std::string path = (dir / "e.h5").string();
  {
    h5::File file = h5::File::create(path, "rso.test", 1);
    file.write_strings("names", {"a"});
  }
  const h5::File file = h5::File::open(path);
  std::string message = error_message([&] { file.read_tensor("missing"); }, ErrorKind::data);
  EXPECT_NE(message.find(path + ":/missing does not exist"), std::string::npos) << message;
  message = error_message([&] { file.read_tensor("names"); }, ErrorKind::data);
  EXPECT_NE(message.find("holds string, which is not a tensor dtype"), std::string::npos) << message;

  testing::write_text(dir / "not.h5", "plain text");
  message = error_message([&] { h5::File::open((dir / "not.h5").string()); }, ErrorKind::data);
  EXPECT_NE(message.find("is not an HDF5 file"), std::string::npos) << message;
  message = error_message([&] { h5::File::open((dir / "absent.h5").string()); }, ErrorKind::io);
  EXPECT_NE(message.find("no such file"), std::string::npos) << message;
}

// Every tensor carries a Fletcher32 checksum: bytes changed on disk (a bad
// disk, a torn copy) are a data error naming the file and the dataset, never
// silently different weights.
TEST(Hdf5, CorruptedTensorBytesAreADataErrorNamingFileAndDataset) {
  TempDir dir;
  const std::string path = (dir / "w.h5").string();
  // 3 x 5000 float32 (60 KB, larger than one HDF5 metadata block) whose bytes
  // are easy to find in the file: every value is 1234.5.
  const at::Tensor weights = at::full({3, 5000}, 1234.5, at::kFloat);
  {
    h5::File file = h5::File::create(path, "rso.test", 1);
    file.write_tensor("layer/weight", weights);
    file.write_tensor("step", at::scalar_tensor(7, at::kLong));  // scalar: no checksum possible
  }
  EXPECT_TRUE(at::equal(h5::File::open(path).read_tensor("layer/weight"), weights));

  std::string bytes = testing::read_text(path);
  float pattern_value = 1234.5f;
  const std::string pattern(reinterpret_cast<const char*>(&pattern_value), sizeof(float));
  const std::size_t at = bytes.find(pattern + pattern + pattern + pattern);
  ASSERT_NE(at, std::string::npos) << "the weights are not stored as plain floats";
  // 4 KB of other bytes in the middle of the weights.
  for (std::size_t i = at + 8192; i < at + 8192 + 4096; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  testing::write_text(dir / "w.h5", bytes);

  const h5::File file = h5::File::open(path);
  const std::string message = error_message([&] { file.read_tensor("layer/weight"); }, ErrorKind::data);
  EXPECT_NE(message.find(path + ":/layer/weight is corrupt"), std::string::npos) << message;
  EXPECT_NE(message.find("checksum"), std::string::npos) << message;
  EXPECT_EQ(file.read_tensor("step").item<std::int64_t>(), 7);
}

// Large tensors are chunked (16 MiB chunks of whole rows), and read back whole.
TEST(Hdf5, TensorsLargerThanOneChunkRoundTrip) {
  TempDir dir;
  const std::string path = (dir / "big.h5").string();
  const at::Tensor big = at::arange(5 * 1024 * 1024 + 7, at::kFloat).reshape({-1});  // 20 MiB, 2 chunks
  const at::Tensor wide = at::arange(3 * 4, at::kDouble).reshape({3, 4});
  {
    h5::File file = h5::File::create(path, "rso.test", 1);
    file.write_tensor("big", big);
    file.write_tensor("wide", wide);
    file.write_tensor("empty", at::zeros({0, 4}));
  }
  const h5::File file = h5::File::open(path);
  EXPECT_TRUE(at::equal(file.read_tensor("big"), big));
  EXPECT_TRUE(at::equal(file.read_tensor("wide"), wide));
  EXPECT_EQ(file.read_tensor("empty").sizes(), at::IntArrayRef({0, 4}));
}

TEST(Hdf5, WritingTwiceTheSameNameIsAnIoError) {
  TempDir dir;
  h5::File file = h5::File::create((dir / "d.h5").string(), "rso.test", 1);
  file.write_tensor("x", at::zeros({2}));
  const std::string message = error_message([&] { file.write_tensor("x", at::zeros({2})); }, ErrorKind::io);
  EXPECT_NE(message.find("creating dataset"), std::string::npos) << message;
}

TEST(Hdf5, AtomicPathPublishesOnlyCommittedFiles) {
  TempDir dir;
  const auto target = dir / "model.h5";
  {
    AtomicPath pending(target);
    h5::File::create(pending.temp_path().string(), "rso.test", 1).close();
    // Not committed: the target never appears and the temporary is removed.
  }
  EXPECT_FALSE(std::filesystem::exists(target));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 0);
  {
    AtomicPath pending(target);
    h5::File file = h5::File::create(pending.temp_path().string(), "rso.test", 1);
    file.write_tensor("w", at::ones({3}));
    file.close();
    pending.commit();
  }
  EXPECT_TRUE(at::equal(h5::File::open(target.string(), "rso.test", 1).read_tensor("w"), at::ones({3})));
}

}  // namespace
}  // namespace rso
