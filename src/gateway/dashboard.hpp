#pragma once
// Dashboard: the static files of the one-page dashboard (index.html, app.js, style.css), served at
// GET / and GET /<file> from the copy compiled into the executable or from --dashboard-dir.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swarm::gateway {

/// The files of src/gateway/dashboard/ as they were at build time (generated source).
const std::vector<std::pair<std::string, std::string_view>>& embedded_dashboard_files();

struct StaticFile {
  std::string body;
  std::string content_type;
};

class Dashboard {
 public:
  /// `dir` empty: serve the embedded copy.
  explicit Dashboard(std::string dir) : m_dir(std::move(dir)) {}

  /// The file `name` ("" means index.html); nothing for unknown names or names with '/' or a leading '.'.
  std::optional<StaticFile> file(const std::string& name) const;

 private:
  std::string m_dir;
};

/// The Content-Type for a file name, by extension.
std::string content_type_for(const std::string& name);

}  // namespace swarm::gateway
