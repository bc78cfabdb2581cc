// Training runs the SentencePiece library in the helper program rso-spm
// (src/tools/sentencepiece_helper.cpp), which LibTorch never loads.
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rso/core/error.hpp"
#include "rso/core/helper_process.hpp"
#include "rso/text/sentencepiece.hpp"

namespace rso::text {

std::string sentencepiece_helper_path() {
  if (const char* explicit_path = std::getenv("RSO_SPM"); explicit_path != nullptr && *explicit_path != '\0') {
    if (!std::filesystem::exists(explicit_path))
      RSO_THROW(UnavailableError, std::string("RSO_SPM names '") + explicit_path + "', which does not exist");
    return explicit_path;
  }
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  const auto beside = self.parent_path() / "rso-spm";
  if (!error && std::filesystem::exists(beside)) return beside.string();
  RSO_THROW(UnavailableError, "the SentencePiece helper 'rso-spm' is not beside '" + self.string() +
                                  "'; build the target rso-spm or set RSO_SPM to its path");
}

void train_sentencepiece(const std::string& corpus, const std::string& model_prefix,
                         const std::vector<std::pair<std::string, std::string>>& flags) {
  if (!std::filesystem::is_regular_file(corpus))
    RSO_THROW(IoError, "SentencePiece corpus '" + corpus + "' is not a readable file");
  namespace fs = std::filesystem;
  const std::string helper = fs::absolute(sentencepiece_helper_path()).string();
  // The trainer records --input and --model_prefix in the model it writes:
  // given as paths, the same corpus trained in another run directory would
  // give another model file (and every checkpoint that stores it). So the
  // helper runs in a scratch directory beside the model with fixed names.
  const fs::path scratch = fs::absolute(model_prefix).string() + ".training";
  std::error_code error;
  fs::remove_all(scratch, error);
  fs::create_directories(scratch, error);
  if (!error) fs::create_symlink(fs::absolute(corpus), scratch / "corpus.txt", error);
  if (error) RSO_THROW(IoError, "cannot prepare '" + scratch.string() + "' for SentencePiece training: " + error.message());
  std::vector<std::string> arguments = {helper, "train", "--input=corpus.txt", "--model_prefix=spm"};
  for (const auto& [name, value] : flags) {
    if (name == "input" || name == "model_prefix")
      RSO_THROW(UsageError, "SentencePiece flag '" + name + "' is set by rso itself");
    if (value.find_first_of(" \t\n") != std::string::npos)
      RSO_THROW(UsageError, "SentencePiece flag '" + name + "' has whitespace in its value");
    arguments.push_back("--" + name + "=" + value);
  }
  // The library's trainer sums piece scores over threads in the order they
  // finish, so the same corpus gives models that differ in a few bytes from
  // run to run. One thread unless asked: the same corpus, the same model.
  const bool threads_given = std::any_of(flags.begin(), flags.end(), [](const auto& flag) {
    return flag.first == "num_threads";
  });
  if (!threads_given) arguments.push_back("--num_threads=1");
  // The library logs every step; keep it in a file and show its end on
  // failure. The helper ignores the stop signals that reach it with the
  // rank's (core/helper_process.hpp): the stage finishes, then rso stops.
  const std::string log_path = model_prefix + ".train.log";
  HelperStreams streams;
  streams.stdout_file = fs::absolute(log_path).string();
  streams.working_directory = scratch.string();
  const int status = wait_for_helper(spawn_helper(arguments, streams));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream log(log_path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(log, line);) lines.push_back(line);
    std::ostringstream tail;
    for (std::size_t i = lines.size() > 5 ? lines.size() - 5 : 0; i < lines.size(); ++i) tail << "\n  " << lines[i];
    RSO_THROW(DataError, "SentencePiece training failed (" +
                             describe_wait_status(status) +
                             "); the end of " + log_path + ":" + tail.str());
  }
  for (const char* extension : {".model", ".vocab"}) {
    fs::rename(scratch / (std::string("spm") + extension), model_prefix + extension, error);
    if (error) RSO_THROW(IoError, "cannot move the trained SentencePiece model to '" + model_prefix + extension + "': " +
                                      error.message());
  }
  fs::remove_all(scratch, error);
}

}  // namespace rso::text
