#include "gateway/dashboard.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace swarm::gateway {

std::string content_type_for(const std::string& name) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  return "application/octet-stream";
}

std::optional<StaticFile> Dashboard::file(const std::string& requested) const {
  std::string name = requested.empty() ? "index.html" : requested;
  if (name.front() == '.' || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return std::nullopt;
  if (m_dir.empty()) {
    for (const auto& [n, content] : embedded_dashboard_files())
      if (n == name) return StaticFile{std::string(content), content_type_for(name)};
    return std::nullopt;
  }
  std::filesystem::path p = std::filesystem::path(m_dir) / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) return std::nullopt;
  return StaticFile{ss.str(), content_type_for(name)};
}

}  // namespace swarm::gateway
