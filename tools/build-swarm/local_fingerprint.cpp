#include "build-swarm/local_fingerprint.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/process_runner.hpp"

namespace swarm::cli {

namespace fs = std::filesystem;

Result<std::vector<std::string>> split_command(const std::string& command) {
  std::vector<std::string> argv;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : command) {
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) argv.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) return make_error(ErrorKind::invalid, "unterminated quote in command '" + command + "'");
  if (in_word) argv.push_back(std::move(word));
  if (argv.empty()) return make_error(ErrorKind::invalid, "empty command");
  return argv;
}

namespace {

// Runs argv with its output into a private temporary file and returns that output.
Result<std::string> run_capture(ProcessRunner& runner, const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout) {
  std::string tmpl = (fs::temp_directory_path() / "build-swarm-emerge-info-XXXXXX").string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return make_error(ErrorKind::io, "cannot create a temporary file for the command's output");
  ::close(fd);
  ProcessSpec spec;
  spec.argv = argv;
  spec.timeout = timeout;
  spec.output_file = tmpl;
  spec.env_set["LC_ALL"] = "C";
  spec.env_unset = {"EMERGE_DEFAULT_OPTS"};  // "--ask" there makes emerge --info exit 1 without a terminal
  ProcessResult pr = runner.run(spec);
  std::ifstream in(tmpl, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  in.close();
  std::error_code ec;
  fs::remove(tmpl, ec);
  std::string shown = argv.front();
  for (size_t i = 1; i < argv.size(); ++i) shown += " " + argv[i];
  if (pr.timed_out) return make_error(ErrorKind::timeout, "'" + shown + "' " + describe(pr));
  if (!pr.success())
    return make_error(ErrorKind::io,
                      "'" + shown + "' failed (" + describe(pr) + ")" + (pr.error.empty() ? "" : ": " + pr.error));
  return ss.str();
}

}  // namespace

Result<Fingerprint> local_fingerprint(ProcessRunner& runner, const FingerprintSource& source) {
  auto argv = split_command(source.emerge_info_command);
  if (!argv) return argv.error();
  auto text = run_capture(runner, *argv, source.timeout);
  if (!text) return text.error();
  auto fp = parse_emerge_info(*text);
  if (!fp) return make_error(ErrorKind::invalid, "'" + source.emerge_info_command + "': " + fp.error().message);
  Fingerprint out = resolve_march_native(std::move(*fp), gcc_native_resolver(runner, source.compiler));
  out.values[kPortageConfigHashKey] = hash_portage_config(source.portage_dir);
  return out;
}

}  // namespace swarm::cli
