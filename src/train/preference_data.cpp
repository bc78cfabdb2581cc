#include "rso/train/preference_data.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "rso/core/error.hpp"
#include "rso/io/file_digest.hpp"
#include "rso/io/json_file.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/sampling/sample_shard.hpp"
#include "rso/text/record_tokens.hpp"

namespace rso::train {

namespace fs = std::filesystem;

namespace {

std::vector<PreferencePair> from_sample_directory(const fs::path& directory) {
  const nlohmann::json manifest = read_json_file((directory / "manifest.json").string());
  if (!manifest.value("complete", false))
    RSO_THROW(DataError, (directory / "manifest.json").string() +
                             " is not complete: finish the sampling stage (run rso sample again) first");
  std::map<std::int64_t, nlohmann::json> blocks;  // by index
  for (const auto& [key, block] : manifest["blocks"].items()) blocks[std::stoll(key)] = block;
  std::vector<PreferencePair> pairs;
  for (const auto& [index, block] : blocks) {
    const fs::path path = directory / block["file"].get<std::string>();
    // The manifest names each block's digest (manifests before it was
    // recorded: its prompt range and pair count only): a block from another
    // run, or damaged, is refused, not trained on.
    if (block.contains("digest") && io::hex_digest(io::digest_file(path)) != block["digest"].get<std::string>())
      RSO_THROW(DataError, path.string() + " is not the block " + (directory / "manifest.json").string() +
                               " records (digest " + io::hex_digest(io::digest_file(path)) + ", recorded " +
                               block["digest"].get<std::string>() +
                               "): a block of another run, or damaged; remove it and run rso sample again");
    const sampling::SampleShard shard = sampling::read_sample_shard(path.string());
    if (shard.first_prompt != block.value("first", shard.first_prompt) ||
        shard.num_prompts != block.value("count", shard.num_prompts) ||
        static_cast<std::int64_t>(shard.pair_prompt.size()) !=
            block.value("pairs", static_cast<std::int64_t>(shard.pair_prompt.size())))
      RSO_THROW(DataError, path.string() + " holds prompts " + std::to_string(shard.first_prompt) + "+" +
                               std::to_string(shard.num_prompts) + " and " + std::to_string(shard.pair_prompt.size()) +
                               " pairs, not what " + (directory / "manifest.json").string() +
                               " records for block " + std::to_string(index) + ": a block of another run");
    for (std::size_t q = 0; q < shard.pair_prompt.size(); ++q)
      pairs.push_back({shard.pair_prompt_tokens[q], shard.pair_chosen_tokens[q], shard.pair_rejected_tokens[q],
                       shard.pair_chosen_sft_logprob[q], shard.pair_rejected_sft_logprob[q], /*line=*/0, /*id=*/""});
  }
  return pairs;
}

std::vector<PreferencePair> from_jsonl(const std::string& path, const text::Tokenizer* tokenizer,
                                       std::int64_t vocab_size) {
  std::vector<PreferencePair> pairs;
  JsonlReader reader(path);
  while (reader.next()) {
    text::PairTokens tokens = text::record_pair_tokens(reader.record(), tokenizer, vocab_size);
    PreferencePair pair;
    pair.prompt = std::move(tokens.prompt);
    pair.chosen = std::move(tokens.chosen);
    pair.rejected = std::move(tokens.rejected);
    pair.line = reader.line_number();
    if (reader.record().has("id")) pair.id = reader.record().json()["id"].dump();
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

}  // namespace

std::vector<PreferencePair> load_preference_pairs(const std::string& path, const text::Tokenizer* tokenizer,
                                                  std::int64_t vocab_size) {
  std::vector<PreferencePair> pairs = fs::is_directory(path) ? from_sample_directory(path)
                                                             : from_jsonl(path, tokenizer, vocab_size);
  if (pairs.empty()) RSO_THROW(DataError, "'" + path + "' holds no preference pairs");
  return pairs;
}

std::vector<std::string> preference_pair_warnings(const std::vector<PreferencePair>& pairs, const std::string& path) {
  auto where = [&](std::size_t i) {
    return pairs[i].line > 0 ? path + ":" + std::to_string(pairs[i].line)
                             : path + ": pair " + std::to_string(i + 1) + " (in block order)";
  };
  std::vector<std::string> warnings;
  std::size_t same = 0, first_same = 0;
  for (std::size_t i = 0; i < pairs.size(); ++i)
    if (pairs[i].chosen == pairs[i].rejected && same++ == 0) first_same = i;
  if (same > 0)
    warnings.push_back(std::to_string(same) + " of " + std::to_string(pairs.size()) + " pairs in " + path +
                       " have the chosen response equal to the rejected one (the first: " + where(first_same) +
                       "): they carry no preference, and train nothing");
  std::map<std::string, std::size_t> first_line_of_id;
  std::size_t repeated = 0;
  std::string example;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (pairs[i].id.empty()) continue;
    const auto [it, fresh] = first_line_of_id.emplace(pairs[i].id, i);
    if (!fresh && repeated++ == 0) example = "id " + pairs[i].id + " at " + where(it->second) + " and " + where(i);
  }
  if (repeated > 0)
    warnings.push_back(std::to_string(repeated) + " records of " + path + " repeat an id used before (the first: " +
                       example + "): a file concatenated twice, or ids that do not identify their pair?");
  return warnings;
}

void require_pairs_fit(const std::vector<PreferencePair>& pairs, const std::string& path, std::int64_t limit,
                       const std::string& limit_reason,
                       const std::function<std::int64_t(const PreferencePair&)>& length) {
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const std::int64_t tokens = length(pairs[i]);
    if (tokens <= limit) continue;
    const std::string where = pairs[i].line > 0 ? path + ":" + std::to_string(pairs[i].line)
                                                : path + ": pair " + std::to_string(i + 1) + " (in block order)";
    RSO_THROW(DataError, where + ": the pair is read as " + std::to_string(tokens) + " tokens; " + limit_reason +
                             " allows at most " + std::to_string(limit));
  }
}

std::int64_t prompt_and_longer_response(const PreferencePair& pair) {
  return static_cast<std::int64_t>(pair.prompt.size() + std::max(pair.chosen.size(), pair.rejected.size()));
}

}  // namespace rso::train
