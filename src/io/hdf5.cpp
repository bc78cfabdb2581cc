#include "rso/io/hdf5.hpp"

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rso/core/error.hpp"

namespace rso::h5 {

namespace {

// HDF5 prints its error stack to stderr by default; rso reports errors
// itself, with the innermost HDF5 description attached.
void silence_hdf5_error_printing() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

std::string hdf5_error_text() {
  std::string innermost;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
        if (error->desc && *error->desc) *static_cast<std::string*>(data) = error->desc;
        return 0;
      },
      &innermost);
  H5Eclear2(H5E_DEFAULT);
  if (innermost.empty()) return "HDF5 call failed";
  // A failed system call comes with the whole call's state ("time = ...,
  // filename = ..., errno = 28, error message = 'No space left on device',
  // buf = 0x..."): keep the system's words and errno.
  const std::string marker = "error message = '";
  const auto start = innermost.find(marker);
  if (start != std::string::npos) {
    const auto end = innermost.find('\'', start + marker.size());
    std::string reason = innermost.substr(start + marker.size(), end == std::string::npos ? std::string::npos
                                                                                      : end - start - marker.size());
    const auto errno_at = innermost.find("errno = ");
    if (errno_at != std::string::npos)
      reason += " (errno " + innermost.substr(errno_at + 8, innermost.find(',', errno_at) - errno_at - 8) + ")";
    const auto colon = innermost.find(':');
    return (colon == std::string::npos ? std::string() : innermost.substr(0, colon) + ": ") + reason;
  }
  return innermost;
}

[[noreturn]] void fail(const std::string& what, const char* file, int line) {
  throw IoError(what + ": " + hdf5_error_text(), file, line);
}

template <class T>
T checked(T value, const std::string& what, const char* file, int line) {
  if (value < 0) fail(what, file, line);
  return value;
}
#define RSO_H5(call, what) checked((call), (what), __FILE__, __LINE__)

// A 16-bit IEEE-style float: sign at bit 15, exponent bits [mantissa_bits,
// 15), mantissa bits [0, mantissa_bits), with the given exponent bias.
Handle float16_layout(std::size_t exponent_bits, std::size_t mantissa_bits, std::size_t bias, const char* name) {
  Handle type(RSO_H5(H5Tcopy(H5T_IEEE_F32LE), "copying an HDF5 datatype"));
  RSO_H5(H5Tset_fields(type.get(), 15, mantissa_bits, exponent_bits, 0, mantissa_bits), name);
  RSO_H5(H5Tset_offset(type.get(), 0), name);
  RSO_H5(H5Tset_precision(type.get(), 16), name);
  RSO_H5(H5Tset_size(type.get(), 2), name);
  RSO_H5(H5Tset_ebias(type.get(), bias), name);
  return type;
}

// bfloat16 is the upper half of a float32: 8 exponent bits, 7 mantissa bits.
Handle bfloat16_type() { return float16_layout(8, 7, 127, "bfloat16 type"); }
// IEEE binary16: 5 exponent bits, 10 mantissa bits.
Handle float16_type() { return float16_layout(5, 10, 15, "float16 type"); }

Handle utf8_string_type() {
  Handle type(RSO_H5(H5Tcopy(H5T_C_S1), "copying an HDF5 datatype"));
  RSO_H5(H5Tset_size(type.get(), H5T_VARIABLE), "string type");
  RSO_H5(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string type");
  return type;
}

// The HDF5 type a dtype is stored as. Little-endian standard types equal the
// native ones on every host rso runs on, so no conversion happens.
Handle stored_type(c10::ScalarType type) {
  switch (type) {
    case c10::ScalarType::Float: return Handle(RSO_H5(H5Tcopy(H5T_IEEE_F32LE), "copying an HDF5 datatype"));
    case c10::ScalarType::Double: return Handle(RSO_H5(H5Tcopy(H5T_IEEE_F64LE), "copying an HDF5 datatype"));
    case c10::ScalarType::BFloat16: return bfloat16_type();
    case c10::ScalarType::Half: return float16_type();
    case c10::ScalarType::Long: return Handle(RSO_H5(H5Tcopy(H5T_STD_I64LE), "copying an HDF5 datatype"));
    case c10::ScalarType::Int: return Handle(RSO_H5(H5Tcopy(H5T_STD_I32LE), "copying an HDF5 datatype"));
    case c10::ScalarType::Short: return Handle(RSO_H5(H5Tcopy(H5T_STD_I16LE), "copying an HDF5 datatype"));
    case c10::ScalarType::Char: return Handle(RSO_H5(H5Tcopy(H5T_STD_I8LE), "copying an HDF5 datatype"));
    case c10::ScalarType::Byte: return Handle(RSO_H5(H5Tcopy(H5T_STD_U8LE), "copying an HDF5 datatype"));
    case c10::ScalarType::Bool: return Handle(RSO_H5(H5Tcopy(H5T_STD_U8LE), "copying an HDF5 datatype"));
    default: RSO_THROW(IoError, std::string("cannot store dtype ") + c10::toString(type) + " in HDF5");
  }
}

struct DtypeOfType {
  bool known = false;
  c10::ScalarType scalar = c10::ScalarType::Float;
  std::string name;
};

DtypeOfType dtype_of(hid_t type) {
  DtypeOfType out;
  const H5T_class_t type_class = RSO_H5(H5Tget_class(type), "reading a datatype's class");
  const std::size_t size = H5Tget_size(type);
  if (size == 0) fail("reading a datatype's size", __FILE__, __LINE__);
  if (type_class == H5T_STRING) {
    out.name = "string";
    return out;
  }
  if (type_class == H5T_FLOAT) {
    size_t spos, epos, esize, mpos, msize;
    RSO_H5(H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize), "reading a float type's layout");
    if (size == 4) out = {true, c10::ScalarType::Float, "float32"};
    else if (size == 8) out = {true, c10::ScalarType::Double, "float64"};
    else if (size == 2 && msize == 7 && esize == 8) out = {true, c10::ScalarType::BFloat16, "bfloat16"};
    else if (size == 2 && msize == 10 && esize == 5) out = {true, c10::ScalarType::Half, "float16"};
    else out.name = "float" + std::to_string(size * 8) + " (unsupported layout)";
    return out;
  }
  if (type_class == H5T_INTEGER) {
    const bool is_signed = RSO_H5(H5Tget_sign(type), "reading an integer type's sign") == H5T_SGN_2;
    if (is_signed && size == 8) out = {true, c10::ScalarType::Long, "int64"};
    else if (is_signed && size == 4) out = {true, c10::ScalarType::Int, "int32"};
    else if (is_signed && size == 2) out = {true, c10::ScalarType::Short, "int16"};
    else if (is_signed && size == 1) out = {true, c10::ScalarType::Char, "int8"};
    else if (!is_signed && size == 1) out = {true, c10::ScalarType::Byte, "uint8"};
    else out.name = std::string(is_signed ? "int" : "uint") + std::to_string(size * 8) + " (unsupported)";
    return out;
  }
  out.name = "HDF5 class " + std::to_string(static_cast<int>(type_class)) + " (unsupported)";
  return out;
}

std::vector<std::string> read_string_values(hid_t object, bool is_attribute, const std::string& where) {
  Handle file_type(RSO_H5(is_attribute ? H5Aget_type(object) : H5Dget_type(object), "type of " + where));
  if (RSO_H5(H5Tget_class(file_type.get()), "class of " + where) != H5T_STRING)
    RSO_THROW(DataError, where + " holds " + dtype_of(file_type.get()).name + ", not strings");
  Handle space(RSO_H5(is_attribute ? H5Aget_space(object) : H5Dget_space(object), "space of " + where));
  const hssize_t count = RSO_H5(H5Sget_simple_extent_npoints(space.get()), "size of " + where);
  std::vector<std::string> values(static_cast<std::size_t>(count));
  if (count == 0) return values;
  if (RSO_H5(H5Tis_variable_str(file_type.get()), "string type of " + where) > 0) {
    Handle memory_type = utf8_string_type();
    std::vector<char*> raw(values.size(), nullptr);
    RSO_H5(is_attribute ? H5Aread(object, memory_type.get(), raw.data())
                        : H5Dread(object, memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()),
           "reading " + where);
    for (std::size_t i = 0; i < raw.size(); ++i) values[i] = raw[i] ? raw[i] : "";
    RSO_H5(H5Dvlen_reclaim(memory_type.get(), space.get(), H5P_DEFAULT, raw.data()), "freeing the strings of " + where);
  } else {
    const std::size_t width = H5Tget_size(file_type.get());
    if (width == 0) fail("width of the strings of " + where, __FILE__, __LINE__);
    std::vector<char> raw(width * values.size());
    Handle memory_type(RSO_H5(H5Tcopy(file_type.get()), "copying the type of " + where));
    RSO_H5(is_attribute ? H5Aread(object, memory_type.get(), raw.data())
                        : H5Dread(object, memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()),
           "reading " + where);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const char* begin = raw.data() + i * width;
      values[i].assign(begin, strnlen(begin, width));
    }
  }
  return values;
}

// Link creation that makes missing parent groups ("a/b/c" in one call).
Handle intermediate_groups() {
  Handle links(RSO_H5(H5Pcreate(H5P_LINK_CREATE), "creating link properties"));
  RSO_H5(H5Pset_create_intermediate_group(links.get(), 1), "creating link properties");
  return links;
}

// Closing a file closes everything still open in it, so that close() really
// puts the bytes on disk before an atomic rename.
Handle strong_close() {
  Handle access(RSO_H5(H5Pcreate(H5P_FILE_ACCESS), "creating file access properties"));
  RSO_H5(H5Pset_fclose_degree(access.get(), H5F_CLOSE_STRONG), "setting the close degree");
  return access;
}

std::string child_where(const std::string& where, const std::string& name) {
  return where.back() == '/' ? where + name : where + "/" + name;
}

}  // namespace

// --- Handle -----------------------------------------------------------------
Handle::~Handle() { reset(); }

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    other.id_ = -1;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && H5Iis_valid(id_) > 0) H5Idec_ref(id_);
  id_ = -1;
}

// --- Object (attributes) ------------------------------------------------------
bool Object::has_attribute(const std::string& name) const {
  return RSO_H5(H5Aexists(id(), name.c_str()), "attribute lookup on " + where_) > 0;
}

namespace {
void write_attribute(hid_t object, const std::string& name, hid_t type, hid_t memory_type, const void* data,
                     const std::string& where) {
  if (RSO_H5(H5Aexists(object, name.c_str()), "attribute lookup on " + where) > 0)
    RSO_H5(H5Adelete(object, name.c_str()), "replacing attribute");
  Handle space(RSO_H5(H5Screate(H5S_SCALAR), "scalar space"));
  Handle attribute(RSO_H5(H5Acreate2(object, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                          "creating attribute '" + name + "' on " + where));
  RSO_H5(H5Awrite(attribute.get(), memory_type, data), "writing attribute '" + name + "' on " + where);
}
}  // namespace

void Object::set_attribute(const std::string& name, const std::string& value) {
  Handle type = utf8_string_type();
  const char* text = value.c_str();
  write_attribute(id(), name, type.get(), type.get(), &text, where_);
}

void Object::set_attribute(const std::string& name, std::int64_t value) {
  write_attribute(id(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, where_);
}

void Object::set_attribute(const std::string& name, double value) {
  write_attribute(id(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, where_);
}

namespace {
Handle open_attribute(hid_t object, const std::string& name, const std::string& where) {
  if (RSO_H5(H5Aexists(object, name.c_str()), "attribute lookup on " + where) == 0)
    RSO_THROW(DataError, where + " has no attribute '" + name + "'");
  return Handle(RSO_H5(H5Aopen(object, name.c_str(), H5P_DEFAULT), "opening attribute '" + name + "' on " + where));
}
}  // namespace

std::string Object::string_attribute(const std::string& name) const {
  Handle attribute = open_attribute(id(), name, where_);
  auto values = read_string_values(attribute.get(), true, where_ + "@" + name);
  if (values.size() != 1) RSO_THROW(DataError, where_ + "@" + name + " is not a single string");
  return values.front();
}

std::int64_t Object::int_attribute(const std::string& name) const {
  Handle attribute = open_attribute(id(), name, where_);
  Handle type(RSO_H5(H5Aget_type(attribute.get()), "attribute type"));
  if (RSO_H5(H5Tget_class(type.get()), "class of " + where_ + "@" + name) != H5T_INTEGER) RSO_THROW(DataError, where_ + "@" + name + " is not an integer");
  std::int64_t value = 0;
  RSO_H5(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), "reading " + where_ + "@" + name);
  return value;
}

double Object::double_attribute(const std::string& name) const {
  Handle attribute = open_attribute(id(), name, where_);
  Handle type(RSO_H5(H5Aget_type(attribute.get()), "attribute type"));
  const auto type_class = RSO_H5(H5Tget_class(type.get()), "class of " + where_ + "@" + name);
  if (type_class != H5T_FLOAT && type_class != H5T_INTEGER)
    RSO_THROW(DataError, where_ + "@" + name + " is not a number");
  double value = 0;
  RSO_H5(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value), "reading " + where_ + "@" + name);
  return value;
}

std::vector<std::string> Object::attribute_names() const {
  std::vector<std::string> names;
  hsize_t index = 0;
  RSO_H5(H5Aiterate2(
             id(), H5_INDEX_NAME, H5_ITER_INC, &index,
             [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
               static_cast<std::vector<std::string>*>(data)->emplace_back(name);
               return 0;
             },
             &names),
         "listing attributes of " + where_);
  return names;
}

// --- Dataset ----------------------------------------------------------------
std::vector<std::int64_t> Dataset::shape() const {
  Handle space(RSO_H5(H5Dget_space(id()), "space of " + where_));
  const int rank = RSO_H5(H5Sget_simple_extent_ndims(space.get()), "rank of " + where_);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) RSO_H5(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), "dims of " + where_);
  return std::vector<std::int64_t>(dims.begin(), dims.end());
}

std::string Dataset::dtype() const {
  Handle type(RSO_H5(H5Dget_type(id()), "type of " + where_));
  return dtype_of(type.get()).name;
}

at::Tensor Dataset::read_tensor() const {
  Handle file_type(RSO_H5(H5Dget_type(id()), "type of " + where_));
  const DtypeOfType stored = dtype_of(file_type.get());
  if (!stored.known) RSO_THROW(DataError, where_ + " holds " + stored.name + ", which is not a tensor dtype");
  at::Tensor tensor = at::empty(shape(), at::TensorOptions().dtype(stored.scalar));
  if (tensor.numel() == 0) return tensor;
  Handle memory_type = stored_type(stored.scalar);
  if (H5Dread(id(), memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, tensor.data_ptr()) < 0) {
    const std::string reason = hdf5_error_text();
    // HDF5's Fletcher32 filter reports a mismatch as "data error detected by
    // Fletcher32 checksum": the bytes on disk are not the ones written.
    if (reason.find("checksum") != std::string::npos || reason.find("filter") != std::string::npos)
      RSO_THROW(DataError, where_ + " is corrupt: its stored bytes fail their checksum (" + reason + ")");
    RSO_THROW(IoError, "reading " + where_ + ": " + reason);
  }
  // Bool tensors are stored as uint8 and marked, HDF5 having no bool type.
  if (stored.scalar == c10::ScalarType::Byte && has_attribute("dtype") && string_attribute("dtype") == "bool")
    return tensor.ne(0);
  return tensor;
}

std::vector<std::string> Dataset::read_strings() const { return read_string_values(id(), false, where_); }

// --- Group ------------------------------------------------------------------
bool Group::has(const std::string& name) const {
  // H5Lexists needs every intermediate link to exist, so walk the path.
  std::string prefix;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t slash = name.find('/', start);
    prefix = name.substr(0, slash);
    if (RSO_H5(H5Lexists(id(), prefix.c_str(), H5P_DEFAULT), "looking up " + child_where(where_, prefix)) <= 0)
      return false;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

// Objects carry no modification times, so that the same content gives the
// same bytes (rank-count invariance is checked on whole files).
namespace {
Handle untimed(hid_t property_class) {
  Handle properties(RSO_H5(H5Pcreate(property_class), "creating property list"));
  RSO_H5(H5Pset_obj_track_times(properties.get(), 0), "disabling object times");
  return properties;
}
}  // namespace

Group Group::create_group(const std::string& name) {
  const std::string path = child_where(where_, name);
  Handle links = intermediate_groups();
  Handle properties = untimed(H5P_GROUP_CREATE);
  return Group(Handle(RSO_H5(H5Gcreate2(id(), name.c_str(), links.get(), properties.get(), H5P_DEFAULT),
                             "creating group " + path)),
               path);
}

namespace {
// Chunks of at most this many bytes (whole rows of the first dimension): the
// checksum filter works per chunk and needs a chunked layout.
constexpr hsize_t checksum_chunk_bytes = hsize_t{16} << 20;

// Chunked layout with HDF5's Fletcher32 checksum, so that bytes changed on
// disk are found when the dataset is read (HDF5 checks it on every read).
void add_checksum(hid_t properties, const std::vector<hsize_t>& dims, std::size_t element_bytes,
                  const std::string& path) {
  std::vector<hsize_t> chunk = dims;
  hsize_t row_bytes = element_bytes;
  for (std::size_t i = 1; i < dims.size(); ++i) row_bytes *= dims[i];
  chunk[0] = std::clamp<hsize_t>(checksum_chunk_bytes / std::max<hsize_t>(row_bytes, 1), 1, dims[0]);
  RSO_H5(H5Pset_chunk(properties, static_cast<int>(chunk.size()), chunk.data()), "chunking " + path);
  RSO_H5(H5Pset_fletcher32(properties), "checksumming " + path);
}
}  // namespace

Dataset Group::create_dataset(const std::string& name, hid_t type, hid_t space, bool checksummed) {
  const std::string path = child_where(where_, name);
  Handle links = intermediate_groups();
  Handle properties = untimed(H5P_DATASET_CREATE);
  if (checksummed) {
    const int rank = RSO_H5(H5Sget_simple_extent_ndims(space), "rank of " + path);
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0) RSO_H5(H5Sget_simple_extent_dims(space, dims.data(), nullptr), "dims of " + path);
    const std::size_t element_bytes = H5Tget_size(type);
    if (element_bytes == 0) fail("size of the type of " + path, __FILE__, __LINE__);
    add_checksum(properties.get(), dims, element_bytes, path);
  }
  return Dataset(Handle(RSO_H5(H5Dcreate2(id(), name.c_str(), type, space, links.get(), properties.get(), H5P_DEFAULT),
                               "creating dataset " + path)),
                 path);
}

Group Group::open_group(const std::string& name) const {
  const std::string path = child_where(where_, name);
  if (!has(name)) RSO_THROW(DataError, path + " does not exist");
  return Group(Handle(RSO_H5(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), "opening group " + path)), path);
}

Dataset Group::open_dataset(const std::string& name) const {
  const std::string path = child_where(where_, name);
  if (!has(name)) RSO_THROW(DataError, path + " does not exist");
  return Dataset(Handle(RSO_H5(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), "opening dataset " + path)), path);
}

Dataset Group::write_tensor(const std::string& name, const at::Tensor& tensor) {
  const std::string path = child_where(where_, name);
  RSO_CHECK(tensor.defined(), "writing an undefined tensor to " + path);
  const at::Tensor host = tensor.cpu().contiguous();
  Handle type = stored_type(host.scalar_type());
  std::vector<hsize_t> dims(host.sizes().begin(), host.sizes().end());
  Handle space(RSO_H5(dims.empty() ? H5Screate(H5S_SCALAR)
                                   : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                      "space for " + path));
  // Scalars and empty tensors cannot be chunked, so they carry no checksum.
  Dataset dataset = create_dataset(name, type.get(), space.get(), /*checksummed=*/!dims.empty() && host.numel() > 0);
  if (host.numel() > 0)
    RSO_H5(H5Dwrite(dataset.id(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, host.data_ptr()), "writing " + path);
  if (host.scalar_type() == c10::ScalarType::Bool) dataset.set_attribute("dtype", "bool");
  return dataset;
}

Dataset Group::write_strings(const std::string& name, const std::vector<std::string>& values) {
  const std::string path = child_where(where_, name);
  Handle type = utf8_string_type();
  const hsize_t count = values.size();
  Handle space(RSO_H5(H5Screate_simple(1, &count, nullptr), "space for " + path));
  // Variable-length strings: a checksum would cover their heap references, not
  // the text, so none is added.
  Dataset dataset = create_dataset(name, type.get(), space.get(), /*checksummed=*/false);
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& value : values) pointers.push_back(value.c_str());
  if (!values.empty())
    RSO_H5(H5Dwrite(dataset.id(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()), "writing " + path);
  return dataset;
}

at::Tensor Group::read_tensor(const std::string& name) const { return open_dataset(name).read_tensor(); }

std::vector<std::string> Group::read_strings(const std::string& name) const {
  return open_dataset(name).read_strings();
}

std::vector<std::string> Group::children() const {
  H5G_info_t info{};
  RSO_H5(H5Gget_info(id(), &info), "listing " + where_);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t length = RSO_H5(
        H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT), "listing " + where_);
    std::string name(static_cast<std::size_t>(length), '\0');
    RSO_H5(H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT),
           "listing " + where_);
    names.push_back(std::move(name));
  }
  return names;
}

bool Group::is_group(const std::string& name) const {
  Handle object(RSO_H5(H5Oopen(id(), name.c_str(), H5P_DEFAULT), "opening " + child_where(where_, name)));
  return RSO_H5(H5Iget_type(object.get()), "type of " + child_where(where_, name)) == H5I_GROUP;
}

// --- File -------------------------------------------------------------------
File::File(Handle handle, std::string path) : Group(std::move(handle), path + ":/"), path_(std::move(path)) {}

File File::create(const std::string& path, const std::string& format, std::int64_t format_version) {
  silence_hdf5_error_printing();
  File file(Handle(RSO_H5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, strong_close().get()),
                          "cannot create HDF5 file '" + path + "'")),
            path);
  file.set_attribute("format", format);
  file.set_attribute("format_version", format_version);
  return file;
}

File File::open(const std::string& path, Mode mode) {
  silence_hdf5_error_printing();
  if (!std::filesystem::exists(path)) RSO_THROW(IoError, "no such file: '" + path + "'");
  if (!is_hdf5_file(path)) RSO_THROW(DataError, "'" + path + "' is not an HDF5 file");
  const unsigned flags = mode == Mode::read ? H5F_ACC_RDONLY : H5F_ACC_RDWR;
  return File(Handle(RSO_H5(H5Fopen(path.c_str(), flags, strong_close().get()), "cannot open HDF5 file '" + path + "'")), path);
}

File File::open(const std::string& path, const std::string& format, std::int64_t newest_supported, Mode mode) {
  File file = open(path, mode);
  const std::string found = file.format();
  if (found != format)
    RSO_THROW(DataError, "'" + path + "' is " + (found.empty() ? "not a file rso wrote" : "a '" + found + "' file") +
                             ", expected '" + format + "'");
  const std::int64_t version = file.format_version();
  if (version > newest_supported)
    RSO_THROW(DataError, "'" + path + "' has " + format + " format_version " + std::to_string(version) +
                             "; this rso reads up to version " + std::to_string(newest_supported));
  return file;
}

std::string File::format() const { return has_attribute("format") ? string_attribute("format") : ""; }

std::int64_t File::format_version() const {
  return has_attribute("format_version") ? int_attribute("format_version") : -1;
}

void File::flush() { RSO_H5(H5Fflush(id(), H5F_SCOPE_GLOBAL), "flushing " + path_); }

void File::close() {
  if (!handle_.valid()) return;
  RSO_H5(H5Fclose(handle_.release()), "closing " + path_);
}

void skip_library_cleanup_at_exit() { H5dont_atexit(); }

bool is_hdf5_file(const std::string& path) {
  static const char signature[8] = {'\211', 'H', 'D', 'F', '\r', '\n', '\032', '\n'};
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  // The superblock sits at 0 or after a user block of 512 * 2^k bytes.
  for (std::streamoff offset = 0; offset + 8 <= size; offset = offset == 0 ? 512 : offset * 2) {
    char head[8];
    in.seekg(offset);
    if (!in.read(head, 8)) return false;
    if (std::memcmp(head, signature, 8) == 0) return true;
  }
  return false;
}

}  // namespace rso::h5
