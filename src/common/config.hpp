#pragma once
// Config: every executable's options come from CLI11 flags, environment variables and a config file,
// with precedence flag > environment > file > default.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/result.hpp"

namespace swarm {

/// Lines `key = value` (or `key value`), `#` comments, a key may repeat for list options.
Result<std::multimap<std::string, std::string>> parse_config_text(const std::string& text);

class Config {
 public:
  /// `exe` names the default file /etc/build-swarm/<exe>.conf.
  Config(CLI::App& app, const std::string& exe);

  /// Parses with the precedence above. Returns an exit code when the program should stop now
  /// (--help: 0, a usage or config error: 2, printed), nothing when it should go on.
  std::optional<int> parse(int argc, const char* const* argv);
  /// Same for a vector (tests).
  std::optional<int> parse(const std::vector<std::string>& args);

  /// The config file that was read, or empty when none existed.
  const std::string& config_file() const { return m_loaded_file; }

 private:
  CLI::App& m_app;
  std::string m_default_file;
  std::string m_config_path;
  std::string m_loaded_file;
};

}  // namespace swarm
