// A thin RAII layer over the HDF5 C API for rso's files.
//
// Every file rso writes carries two root attributes, `format` (a name such
// as "rso.checkpoint") and `format_version` (an integer), so a reader can
// refuse a file it does not understand with a clear message. Tensors are
// stored as plain datasets in their own dtype — bfloat16 as a 16-bit HDF5
// float with bfloat16's bit layout (sign 1, exponent 8, mantissa 7) — so
// round trips are bitwise and h5py / h5dump can read every file. Strings
// are variable-length UTF-8.
//
// Every HDF5 call is checked; a failure throws IoError naming the file, the
// object and HDF5's own description.
#pragma once

#include <H5Ipublic.h>

#include <cstdint>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace rso::h5 {

// Owns one HDF5 identifier (file, group, dataset, type, space, attribute).
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle();
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();
  // Gives up ownership without closing.
  hid_t release() {
    const hid_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid_t id_ = -1;
};

// Something that carries attributes: a group, a dataset or the file.
class Object {
 public:
  const std::string& where() const { return where_; }
  hid_t id() const { return handle_.get(); }

  bool has_attribute(const std::string& name) const;
  void set_attribute(const std::string& name, const std::string& value);
  void set_attribute(const std::string& name, const char* value) { set_attribute(name, std::string(value)); }
  void set_attribute(const std::string& name, std::int64_t value);
  void set_attribute(const std::string& name, double value);
  std::string string_attribute(const std::string& name) const;
  std::int64_t int_attribute(const std::string& name) const;
  double double_attribute(const std::string& name) const;
  std::vector<std::string> attribute_names() const;

 protected:
  Object(Handle handle, std::string where) : handle_(std::move(handle)), where_(std::move(where)) {}
  Handle handle_;
  std::string where_;  // "file.h5:/group/name", for messages
};

class Dataset : public Object {
 public:
  std::vector<std::int64_t> shape() const;
  // Torch dtype name of the stored values ("float32", "bfloat16", "int64",
  // ...), "string" for text, or a description of a type rso does not read.
  std::string dtype() const;
  // The whole dataset as a CPU tensor of its stored dtype.
  at::Tensor read_tensor() const;
  std::vector<std::string> read_strings() const;

 private:
  friend class Group;
  using Object::Object;
};

class Group : public Object {
 public:
  bool has(const std::string& name) const;
  Group create_group(const std::string& name);
  Group open_group(const std::string& name) const;
  Dataset open_dataset(const std::string& name) const;
  // Writes a tensor (any device; copied to host) with its own dtype and shape;
  // bool tensors as uint8 marked with a `dtype = "bool"` attribute. Every
  // non-empty tensor of rank >= 1 carries a Fletcher32 checksum, verified on
  // each read (a mismatch is a DataError naming the file and dataset).
  Dataset write_tensor(const std::string& name, const at::Tensor& tensor);
  Dataset write_strings(const std::string& name, const std::vector<std::string>& values);
  at::Tensor read_tensor(const std::string& name) const;
  std::vector<std::string> read_strings(const std::string& name) const;
  // Names of the direct children, in HDF5's (alphabetical) order.
  std::vector<std::string> children() const;
  bool is_group(const std::string& name) const;

 private:
  // `checksummed`: chunked, with HDF5's Fletcher32 filter (needs rank >= 1
  // and no zero-sized dimension).
  Dataset create_dataset(const std::string& name, hid_t type, hid_t space, bool checksummed);

 protected:
  friend class File;
  using Object::Object;
};

class File : public Group {
 public:
  enum class Mode { read, read_write };

  // Creates (truncating) `path` and stamps `format` and `format_version`.
  static File create(const std::string& path, const std::string& format, std::int64_t format_version);
  // Opens any HDF5 file.
  static File open(const std::string& path, Mode mode = Mode::read);
  // Opens a file that must have `format` and a format_version no newer than
  // `newest_supported`; anything else is a DataError saying what was found.
  static File open(const std::string& path, const std::string& format, std::int64_t newest_supported,
                   Mode mode = Mode::read);

  const std::string& path() const { return path_; }
  std::string format() const;             // "" when absent
  std::int64_t format_version() const;    // -1 when absent
  void flush();
  // Closes now, reporting errors (the destructor closes silently).
  void close();

 private:
  File(Handle handle, std::string path);
  std::string path_;
};

// True when `path` is an HDF5 file (by its signature).
bool is_hdf5_file(const std::string& path);

// Tells the HDF5 library not to clean up at process exit; main calls it
// before any other HDF5 call. rso closes every file it writes itself (and
// renames it into place only then), so the library's exit handler has
// nothing to do but the objects of a file whose write failed, and closing
// those (a full disk) crashes inside the library (H5D_close at exit).
void skip_library_cleanup_at_exit();

}  // namespace rso::h5
