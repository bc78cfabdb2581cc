// Loading, printing and hashing of rso::Config through the visitors below.
#include "rso/core/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "rso/core/error.hpp"
#include "rso/core/random.hpp"

namespace rso {

namespace {

// Where the values being read came from, to name them in errors.
struct Provenance {
  std::string file;                                   // empty: no config file
  std::vector<std::pair<std::string, std::string>> overrides;  // key, full "--set" text

  std::string where(const std::string& key, const YAML::Node& node) const {
    // The newest --set that wrote this key or something below it.
    for (auto it = overrides.rbegin(); it != overrides.rend(); ++it)
      if (it->first == key || it->first.rfind(key + ".", 0) == 0) return "--set " + it->second;
    if (file.empty()) return "defaults";
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return file;
    return file + ":" + std::to_string(mark.line + 1);
  }
};

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string format_double(double value) {
  // Shortest text that reads back as the same double, in positional
  // notation where that stays short ("10.0", "0.0001"), else with an exponent.
  char text[40];
  auto shortest = [&](const char* format) {
    for (int precision = 1; precision <= 17; ++precision) {
      std::snprintf(text, sizeof text, format, precision, value);
      if (std::strtod(text, nullptr) == value) return std::string(text);
    }
    return std::string(text);
  };
  std::string out = shortest("%.*g");
  const double magnitude = std::fabs(value);
  if (out.find('e') != std::string::npos && magnitude >= 1e-4 && magnitude < 1e15) out = shortest("%.*f");
  // Keep it a YAML float, not an int, so the type reads back unchanged.
  if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
  return out;
}

std::string describe(const Bound& bound) {
  auto number = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return std::string(text);
  };
  std::string out;
  if (std::isfinite(bound.lo)) out += std::string(bound.lo_open ? "> " : ">= ") + number(bound.lo);
  if (std::isfinite(bound.hi)) {
    if (!out.empty()) out += " and ";
    out += std::string(bound.hi_open ? "< " : "<= ") + number(bound.hi);
  }
  return out;
}

bool within(double value, const Bound& bound) {
  if (bound.lo_open ? !(value > bound.lo) : !(value >= bound.lo)) return false;
  if (bound.hi_open ? !(value < bound.hi) : !(value <= bound.hi)) return false;
  return true;
}

// Visitors that treat operational fields like params (reader, writer).
template <class Visitor>
struct OperationalAsParam {
  template <class... Args>
  void operational(Args&&... args) {
    static_cast<Visitor*>(this)->param(std::forward<Args>(args)...);
  }
};

// ---------------------------------------------------------------------------
// Reader: YAML node -> struct fields, rejecting unknown keys.
class YamlReader : public OperationalAsParam<YamlReader> {
 public:
  YamlReader(const YAML::Node& node, std::string prefix, const Provenance& provenance)
      : node_(node), prefix_(std::move(prefix)), provenance_(provenance) {}

  template <class Section>
  void section(const char* key, Section& section, const char* /*doc*/) {
    known_.push_back(key);
    const YAML::Node child = node_[key];
    if (!child || child.IsNull()) return;
    if (!child.IsMap()) fail(key, child, "must be a mapping of keys to values");
    YamlReader reader(child, prefix_ + key + ".", provenance_);
    section.visit(reader);
    reader.reject_unknown_keys();
  }

  template <class T>
  void param(const char* key, T& value, const char* /*doc*/, Bound bound = unbounded()) {
    read(key, value, bound);
  }
  template <class E, std::size_t N>
  void param(const char* key, E& value, const EnumNames<E, N>& names, const char* /*doc*/) {
    read_enum(key, value, names);
  }

  void reject_unknown_keys() const {
    for (const auto& entry : node_) {
      const YAML::Node& key_node = entry.first;
      if (!key_node.IsScalar()) fail("?", key_node, "keys must be plain names");
      const std::string key = key_node.Scalar();
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      std::string message = "unknown config key '" + prefix_ + key + "' (" +
                            provenance_.where(prefix_ + key, key_node) + ")";
      std::string best;
      std::size_t best_distance = 3;  // suggest only close matches
      for (const auto& candidate : known_) {
        const std::size_t d = edit_distance(key, candidate);
        if (d < best_distance) best_distance = d, best = candidate;
      }
      if (!best.empty()) message += "; did you mean '" + prefix_ + best + "'?";
      else message += "; known keys here: " + join_known();
      RSO_THROW(ConfigError, message);
    }
  }

 private:
  std::string join_known() const {
    std::string out;
    for (const auto& k : known_) out += (out.empty() ? "" : ", ") + prefix_ + k;
    return out;
  }

  [[noreturn]] void fail(const std::string& key, const YAML::Node& node, const std::string& what) const {
    RSO_THROW(ConfigError, "config key '" + prefix_ + key + "' " + what + " (" +
                               provenance_.where(prefix_ + key, node) + ")");
  }

  // Returns the scalar text of `key`, or nullptr when the key is absent.
  const YAML::Node* scalar(const char* key, const char* expected) {
    known_.push_back(key);
    current_ = node_[key];
    if (!current_) return nullptr;
    if (!current_.IsScalar()) fail(key, current_, std::string("must be ") + expected);
    return &current_;
  }

  void check_bound(const char* key, double value, const std::string& text, const Bound& bound) const {
    if (!within(value, bound))
      fail(key, current_, "= " + text + " is out of range: must be " + describe(bound));
  }

  void read(const char* key, std::string& value, const Bound&) {
    if (const YAML::Node* n = scalar(key, "a string")) value = n->Scalar();
  }

  void read(const char* key, bool& value, const Bound&) {
    const YAML::Node* n = scalar(key, "true or false");
    if (!n) return;
    const std::string& t = n->Scalar();
    if (t == "true" || t == "True" || t == "TRUE") value = true;
    else if (t == "false" || t == "False" || t == "FALSE") value = false;
    else fail(key, *n, "= '" + t + "' must be true or false");
  }

  void read(const char* key, std::int64_t& value, const Bound& bound) {
    const YAML::Node* n = scalar(key, "an integer");
    if (!n) return;
    const std::string& t = n->Scalar();
    errno = 0;
    char* end = nullptr;
    const long long parsed = std::strtoll(t.c_str(), &end, 10);
    if (t.empty() || *end != '\0' || errno == ERANGE) fail(key, *n, "= '" + t + "' must be an integer");
    check_bound(key, static_cast<double>(parsed), t, bound);
    value = parsed;
  }

  void read(const char* key, std::uint64_t& value, const Bound& bound) {
    const YAML::Node* n = scalar(key, "a non-negative integer");
    if (!n) return;
    const std::string& t = n->Scalar();
    errno = 0;
    char* end = nullptr;
    const unsigned long long parsed = std::strtoull(t.c_str(), &end, 10);
    if (t.empty() || t[0] == '-' || *end != '\0' || errno == ERANGE)
      fail(key, *n, "= '" + t + "' must be a non-negative integer");
    check_bound(key, static_cast<double>(parsed), t, bound);
    value = parsed;
  }

  void read(const char* key, double& value, const Bound& bound) {
    const YAML::Node* n = scalar(key, "a number");
    if (!n) return;
    const std::string& t = n->Scalar();
    errno = 0;
    char* end = nullptr;
    const double parsed = std::strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(parsed))
      fail(key, *n, "= '" + t + "' must be a finite number");
    check_bound(key, parsed, t, bound);
    value = parsed;
  }

  template <class E, std::size_t N>
  void read_enum(const char* key, E& value, const EnumNames<E, N>& names) {
    std::string choices;
    for (const auto& entry : names) choices += (choices.empty() ? "" : ", ") + std::string(entry.second);
    const std::string expected = "one of: " + choices;
    const YAML::Node* n = scalar(key, expected.c_str());
    if (!n) return;
    for (const auto& [v, name] : names) {
      if (n->Scalar() == name) {
        value = v;
        return;
      }
    }
    fail(key, *n, "= '" + n->Scalar() + "' must be one of: " + choices);
  }

  YAML::Node node_;
  std::string prefix_;
  const Provenance& provenance_;
  std::vector<std::string> known_;
  YAML::Node current_;
};

// ---------------------------------------------------------------------------
// Writer: struct -> YAML text, one field a line, docs as comments.
std::string yaml_scalar(const std::string& text) {
  YAML::Emitter emitter;
  emitter << text;
  return emitter.c_str();
}

class YamlWriter : public OperationalAsParam<YamlWriter> {
 public:
  explicit YamlWriter(bool documented) : documented_(documented) {}

  template <class Section>
  void section(const char* key, Section& section, const char* doc) {
    line(key, "", doc);
    indent_ += "  ";
    section.visit(*this);
    indent_.resize(indent_.size() - 2);
  }
  template <class T>
  void param(const char* key, T& value, const char* doc, Bound = unbounded()) {
    line(key, text(value), doc);
  }
  template <class E, std::size_t N>
  void param(const char* key, E& value, const EnumNames<E, N>& names, const char* doc) {
    line(key, enum_name(value, names), doc);
  }

  std::string str() const { return out_.str(); }

 private:
  static std::string text(const std::string& v) { return yaml_scalar(v); }
  static std::string text(bool v) { return v ? "true" : "false"; }
  static std::string text(std::int64_t v) { return std::to_string(v); }
  static std::string text(std::uint64_t v) { return std::to_string(v); }
  static std::string text(double v) { return format_double(v); }

  void line(const char* key, const std::string& value, const char* doc) {
    out_ << indent_ << key << ":";
    if (!value.empty()) out_ << " " << value;
    if (documented_ && doc && *doc) out_ << "  # " << doc;
    out_ << "\n";
  }

  bool documented_;
  std::string indent_;
  std::ostringstream out_;
};

// ---------------------------------------------------------------------------
// Hasher: only `param` fields; canonical "section.key=value" lines.
class Hasher {
 public:
  template <class Section>
  void section(const char* key, Section& section, const char*) {
    const std::string saved = prefix_;
    prefix_ += std::string(key) + ".";
    section.visit(*this);
    prefix_ = saved;
  }
  template <class T>
  void param(const char* key, T& value, const char* doc, Bound = unbounded()) {
    YamlWriter one(false);
    one.param(key, value, doc);
    add(key, one.str());
  }
  template <class E, std::size_t N>
  void param(const char* key, E& value, const EnumNames<E, N>& names, const char*) {
    add(key, std::string(key) + ": " + enum_name(value, names) + "\n");
  }
  explicit Hasher(bool with_operational = false) : with_operational_(with_operational) {}

  // Operational fields are not hashed; they are listed when asked for.
  template <class... Args>
  void operational(Args&&... args) {
    if (with_operational_) param(std::forward<Args>(args)...);
  }

  // "section.key" -> the value as YAML writes it.
  const std::map<std::string, std::string>& params() const { return params_; }

  std::string hex() const {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(fnv1a64(canonical_)));
    return out;
  }

 private:
  // `line` is "key: value\n" as the YAML writer gives it.
  void add(const char* key, const std::string& line) {
    canonical_ += prefix_ + line;
    const std::size_t value_at = std::strlen(key) + 2;
    std::string value = line.size() > value_at ? line.substr(value_at) : "";
    while (!value.empty() && value.back() == '\n') value.pop_back();
    params_[prefix_ + key] = value;
  }

  bool with_operational_;
  std::string prefix_;
  std::string canonical_;
  std::map<std::string, std::string> params_;
};

// Applies "a.b=value" to the YAML tree.
void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    RSO_THROW(ConfigError, "--set '" + assignment + "' must have the form section.key=value");
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  // The value is taken verbatim (a path such as "a: b" stays a string);
  // only flow collections, "[...]" and "{...}", are parsed as YAML.
  YAML::Node value(text);
  if (!text.empty() && (text.front() == '[' || text.front() == '{')) {
    try {
      value = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      RSO_THROW(ConfigError, "--set '" + assignment + "': value is not valid YAML: " + e.msg);
    }
  }
  std::vector<std::string> parts;
  std::stringstream stream(path);
  for (std::string part; std::getline(stream, part, '.');) {
    if (part.empty()) RSO_THROW(ConfigError, "--set '" + assignment + "': empty key component");
    parts.push_back(part);
  }
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node cursor = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = cursor[parts[i]];
    if (!next || next.IsNull()) {
      cursor[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = cursor[parts[i]];
    } else if (!next.IsMap()) {
      RSO_THROW(ConfigError, "--set '" + assignment + "': '" + parts[i] + "' is not a section");
    }
    cursor.reset(next);
  }
  cursor[parts.back()] = value;
}

// YAML keeps a map's repeated keys (the reader would then use one of them
// silently): a key given twice in one section, or a section given twice, is
// an error naming both lines.
void reject_duplicate_keys(const YAML::Node& node, const std::string& prefix, const std::string& path) {
  if (!node.IsMap()) return;
  std::map<std::string, int> first_line;
  for (const auto& entry : node) {
    const int line = entry.first.Mark().line + 1;
    // "? {a: 1}: x" makes a key of a map: only names are keys here.
    if (!entry.first.IsScalar())
      RSO_THROW(ConfigError, "config file " + path + ":" + std::to_string(line) + ": a key in " +
                                 (prefix.empty() ? std::string("the top level") : "'" + prefix.substr(0, prefix.size() - 1) + "'") +
                                 " is not a name");
    const std::string key = entry.first.as<std::string>();
    const auto [seen, inserted] = first_line.emplace(key, line);
    if (!inserted)
      RSO_THROW(ConfigError, "config file " + path + ":" + std::to_string(line) + ": '" + prefix + key +
                                 "' is given twice (first at line " + std::to_string(seen->second) + ")");
    reject_duplicate_keys(entry.second, prefix + key + ".", path);
  }
}

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  Provenance provenance;
  provenance.file = path;
  YAML::Node root;
  if (!path.empty()) {
    // A directory opens as a stream that reads nothing: it would give every default.
    if (std::filesystem::is_directory(path))
      RSO_THROW(ConfigError, "config file '" + path + "' is a directory, not a YAML file");
    std::ifstream in(path);
    if (!in) RSO_THROW(ConfigError, "cannot open config file '" + path + "': " + std::strerror(errno));
    try {
      root = YAML::Load(in);
    } catch (const YAML::ParserException& e) {
      RSO_THROW(ConfigError, "config file " + path + ":" + std::to_string(e.mark.line + 1) +
                                 ": invalid YAML: " + e.msg);
    }
    if (root && !root.IsNull() && !root.IsMap())
      RSO_THROW(ConfigError, "config file '" + path + "' must be a mapping of sections");
    if (root) reject_duplicate_keys(root, "", path);
  }
  for (const auto& assignment : overrides) {
    apply_override(root, assignment);
    provenance.overrides.emplace_back(assignment.substr(0, assignment.find('=')), assignment);
  }
  Config config;
  if (root && !root.IsNull()) {
    try {
      YamlReader reader(root, "", provenance);
      config.visit(reader);
      reader.reject_unknown_keys();
    } catch (const YAML::Exception& e) {
      // The reader names keys and values it refuses; what yaml-cpp itself
      // cannot convert still gets the file and line.
      RSO_THROW(ConfigError, "config file " + (path.empty() ? std::string("(none)") : path) + ":" +
                                 std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
  }
  return config;
}

std::string to_yaml(const Config& config, bool documented) {
  YamlWriter writer(documented);
  Config copy = config;  // visit() is shared with the reader, so it is non-const
  copy.visit(writer);
  return writer.str();
}

std::string config_hash(const Config& config) {
  Hasher hasher;
  Config copy = config;
  copy.visit(hasher);
  return hasher.hex();
}

std::map<std::string, std::string> config_params(const Config& config) {
  Hasher hasher;
  Config copy = config;
  copy.visit(hasher);
  return hasher.params();
}

std::map<std::string, std::string> config_fields(const Config& config) {
  Hasher hasher(/*with_operational=*/true);
  Config copy = config;
  copy.visit(hasher);
  return hasher.params();
}

}  // namespace rso
