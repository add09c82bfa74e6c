#include "support/test_support.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace swarm::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  const char* base = std::getenv("TMPDIR");
  for (int i = 0; i < 100; ++i) {
    fs::path p = fs::path(base ? base : "/tmp") / ("swarm-test-" + std::to_string(rd()));
    if (fs::create_directory(p)) {
      m_path = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("SWARM_KEEP_TEST_DIRS")) fs::remove_all(m_path, ec);
}

double time_scale() {
  static const double scale = [] {
    const char* s = std::getenv("SWARM_TEST_TIME_SCALE");
    double v = s ? std::strtod(s, nullptr) : 1.0;
    return v >= 1.0 ? v : 1.0;
  }();
  return scale;
}

std::chrono::milliseconds scaled(std::chrono::milliseconds d) {
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(d.count()) * time_scale()));
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() > until) return cond();
    // A short poll interval: the condition is the point, not the wait.
    std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

fs::path source_dir() { return SWARM_SOURCE_DIR; }
fs::path binary_dir() { return SWARM_BINARY_DIR; }
fs::path shared_dir() {
  if (const char* s = std::getenv("SWARM_SHARED_DIR")) return s;
  return SWARM_SHARED_DIR;
}
fs::path fixture(const std::string& name) { return shared_dir() / "fixtures" / "emerge" / name; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& data) {
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  if (!fs::exists(p)) return out;
  std::istringstream in(read_file(p));
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

int run_shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

}  // namespace swarm::test
