// Content digests of files: 64-bit FNV-1a over the bytes, read in 1 MiB
// pieces. Not cryptographic: they tell a changed or foreign file from the
// one recorded, not a forged one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rso::io {

// FNV-1a of the file's bytes continued from `hash`. IoError when unreadable.
std::uint64_t digest_file(const std::filesystem::path& path, std::uint64_t hash = 0xcbf29ce484222325ULL);

// 16 lower-case hex digits.
std::string hex_digest(std::uint64_t digest);

}  // namespace rso::io
