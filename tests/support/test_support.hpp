#pragma once
// Helpers shared by tests: temporary directories, waiting on a condition with a deadline,
// paths to the fixtures and the built executables.

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace swarm::test {

/// A fresh directory under $TMPDIR, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& p) const { return m_path / p; }

 private:
  std::filesystem::path m_path;
};

/// The one factor every real-time limit in tests is multiplied by: $SWARM_TEST_TIME_SCALE (default 1;
/// raise it on a slow or busy machine). Deadlines only: a larger factor never slows a passing test.
double time_scale();
/// `d` multiplied by time_scale().
std::chrono::milliseconds scaled(std::chrono::milliseconds d);

/// Polls `cond` until it holds or `deadline` passes; returns whether it held.
bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds deadline = std::chrono::seconds(10));

std::filesystem::path source_dir();
std::filesystem::path binary_dir();
std::filesystem::path shared_dir();
std::filesystem::path fixture(const std::string& name);  // ../shared/fixtures/emerge/<name>

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& data);
/// The non-empty lines of a file (none when it does not exist): ledgers, argv logs.
std::vector<std::string> lines_of(const std::filesystem::path& p);
/// Runs a shell command (test set-up only); returns its exit status.
int run_shell(const std::string& cmd);

}  // namespace swarm::test
