#pragma once
// One spdlog set-up per process: stderr plus an optional rotating file, shared by every component
// logger so that each line is written once per sink.

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace swarm {

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error
  std::string file;             // empty: stderr only
  size_t max_file_bytes = 10 * 1024 * 1024;
  size_t max_files = 5;
  bool to_stderr = true;
};

/// Sets up the process's sinks; call once from main. Later calls replace the sinks of every logger.
void setup_logging(const LogOptions& options);
/// The logger of one component ("http", "store", ...), created on first use with the process's sinks.
std::shared_ptr<spdlog::logger> component_logger(const std::string& name);
/// Whether a level name is one spdlog knows.
bool valid_log_level(const std::string& level);

}  // namespace swarm
