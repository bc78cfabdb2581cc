// The YAML config and its --set overrides: the input is a YAML document,
// then (after a line "--set") one override per line, as `--set k=v` gives them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "rso/core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto [yaml, set_lines] = rso::fuzz::split(input, "\n--set\n");
  std::vector<std::string> overrides;
  std::string_view rest = set_lines;
  while (!rest.empty()) {
    const auto [line, after] = rso::fuzz::split(rest, "\n");
    overrides.emplace_back(line);
    rest = after;
  }
  const std::string path = rso::fuzz::write_scratch_file("config.yaml", yaml);
  rso::fuzz::expect_typed_errors("config", [&] {
    const rso::Config config = rso::load_config(path, overrides);
    // What every command does with an accepted config: print it and hash it.
    (void)rso::to_yaml(config);
    (void)rso::config_hash(config);
  });
  return 0;
}
