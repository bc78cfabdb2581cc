// `rso tokenizer train|encode|decode`.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "rso/io/output_path.hpp"
#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/io/hdf5.hpp"
#include "rso/io/jsonl.hpp"
#include "rso/io/utf8.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/text/sentencepiece.hpp"

namespace rso::cli {

text::TokenizerFiles tokenizer_from(const std::string& path) {
  if (std::filesystem::is_regular_file(path) && h5::is_hdf5_file(path)) {
    auto stored = model::read_model_tokenizer(path);
    if (!stored) RSO_THROW(DataError, "model '" + path + "' has no tokenizer; give one with --tokenizer");
    return *stored;
  }
  return text::read_tokenizer_files(path);
}

int run_tokenizer_train(DistContext& context, const TokenizerTrainOptions& options) {
  context.agree([&] {
    const std::filesystem::path output(options.output);
    if (output.extension() != ".model") RSO_THROW(UsageError, "--out must end in .model (got '" + options.output + "')");
    io::refuse_output_over_inputs("--out", options.output, {{"--corpus", options.corpus}});
    io::refuse_output_over_inputs("--out's vocabulary", std::filesystem::path(output).replace_extension(".vocab").string(),
                                  {{"--corpus", options.corpus}});
    if (options.vocab_size < 8) RSO_THROW(UsageError, "--vocab-size must be at least 8");
    if (!(options.character_coverage > 0 && options.character_coverage <= 1))
      RSO_THROW(UsageError, "--character-coverage must be in (0, 1]");
  });
  // One rank trains; the others wait for its outcome.
  context.agree([&] {
    if (!context.is_root()) return;
    std::vector<std::pair<std::string, std::string>> flags = {
        {"vocab_size", std::to_string(options.vocab_size)},
        {"model_type", options.model_type},
        {"character_coverage", std::to_string(options.character_coverage)},
        {"byte_fallback", options.byte_fallback ? "true" : "false"}};
    for (const std::string& extra : options.extra) {
      const auto equals = extra.find('=');
      if (equals == std::string::npos || equals == 0) RSO_THROW(UsageError, "--spm wants FLAG=VALUE, got '" + extra + "'");
      flags.emplace_back(extra.substr(0, equals), extra.substr(equals + 1));
    }
    const std::filesystem::path output(options.output);
    if (!output.parent_path().empty()) std::filesystem::create_directories(output.parent_path());
    const std::string prefix = (output.parent_path() / output.stem()).string();
    spdlog::info("tokenizer: training SentencePiece ({}, {} pieces) on {}", options.model_type, options.vocab_size,
                 options.corpus);
    text::train_sentencepiece(options.corpus, prefix, flags);
    const text::SentencePieceTokenizer trained = text::SentencePieceTokenizer::from_file(options.output);
    spdlog::info("tokenizer: wrote {} ({} pieces; training log {}.train.log)", options.output, trained.vocab_size(),
                 prefix);
  });
  return exit_code::ok;
}

int run_tokenizer_encode(DistContext& context, const std::string& path, const std::vector<std::string>& texts) {
  context.agree([&] {
    if (!context.is_root()) return;
    const auto tokenizer = text::make_tokenizer(tokenizer_from(path));
    for (const std::string& text : texts) {
      nlohmann::ordered_json line;
      line["text"] = text;
      line["ids"] = tokenizer->encode(text);
      std::cout << to_jsonl_line(line) << "\n";
    }
  });
  return exit_code::ok;
}

int run_tokenizer_decode(DistContext& context, const std::string& path, const std::vector<std::int64_t>& ids) {
  context.agree([&] {
    if (!context.is_root()) return;
    const auto tokenizer = text::make_tokenizer(tokenizer_from(path));
    nlohmann::ordered_json line;
    line["ids"] = ids;
    line["text"] = replace_invalid_utf8(tokenizer->decode(ids));
    std::cout << to_jsonl_line(line) << "\n";
  });
  return exit_code::ok;
}

}  // namespace rso::cli
