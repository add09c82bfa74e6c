#include "common/logging.hpp"

#include <mutex>
#include <vector>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace swarm {

namespace {
std::mutex g_mutex;
std::vector<spdlog::sink_ptr>& sinks() {
  static std::vector<spdlog::sink_ptr> s{std::make_shared<spdlog::sinks::stderr_color_sink_mt>()};
  return s;
}
spdlog::level::level_enum g_level = spdlog::level::info;
}  // namespace

bool valid_log_level(const std::string& level) {
  return level == "trace" || level == "debug" || level == "info" || level == "warn" || level == "error" ||
         level == "critical" || level == "off";
}

void setup_logging(const LogOptions& options) {
  std::lock_guard lock(g_mutex);
  std::vector<spdlog::sink_ptr> s;
  if (options.to_stderr) s.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!options.file.empty())
    s.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(options.file, options.max_file_bytes, options.max_files));
  sinks() = s;
  g_level = spdlog::level::from_str(options.level);
  // Replace, rather than add to, the sinks of loggers made earlier: a line is written once per sink.
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks() = s;
    l->set_level(g_level);
  });
  auto def = std::make_shared<spdlog::logger>("main", s.begin(), s.end());
  def->set_level(g_level);
  spdlog::set_default_logger(def);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  spdlog::flush_on(spdlog::level::warn);
}

std::shared_ptr<spdlog::logger> component_logger(const std::string& name) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(name)) return existing;
  auto l = std::make_shared<spdlog::logger>(name, sinks().begin(), sinks().end());
  l->set_level(g_level);
  l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  spdlog::register_logger(l);
  return l;
}

}  // namespace swarm
