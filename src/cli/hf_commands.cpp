// `rso import-hf` and `rso export-hf`: Hugging Face Llama directories to and
// from rso's HDF5 model checkpoints. One rank does the work.
#include <spdlog/spdlog.h>

#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/model/hf_format.hpp"

namespace rso::cli {

int run_import_hf(DistContext& context, const std::string& directory, const std::string& output,
                  const std::string& tokenizer_path) {
  context.agree([&] {
    if (!context.is_root()) return;
    model::Transformer model = model::import_hf(directory);
    const auto tokenizer =
        tokenizer_path.empty() ? text::find_tokenizer_files(directory) : text::read_tokenizer_files(tokenizer_path);
    model::save_model(model, output, tokenizer ? &*tokenizer : nullptr);
    spdlog::info("imported {} -> {} ({})", directory, output,
                 tokenizer ? "tokenizer: " + tokenizer->kind : std::string("no tokenizer found"));
  });
  return exit_code::ok;
}

int run_export_hf(DistContext& context, const std::string& model_path, const std::string& directory) {
  context.agree([&] {
    if (!context.is_root()) return;
    model::Transformer model = model::load_model(model_path);
    model::export_hf(model, directory);
    const auto tokenizer = model::read_model_tokenizer(model_path);
    if (tokenizer) text::write_tokenizer_files(*tokenizer, directory);
    spdlog::info("exported {} -> {}/config.json, model.safetensors{}", model_path, directory,
                 tokenizer ? " and the tokenizer" : "");
  });
  return exit_code::ok;
}

}  // namespace rso::cli
