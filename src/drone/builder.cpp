#include "drone/builder.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "common/packages_index.hpp"
#include "drone/build_command.hpp"
#include "drone/durable_file.hpp"

namespace swarm::drone {

namespace fs = std::filesystem;

namespace {

// How much of a failed build's log is searched for Portage's reason (it dumps the whole log at the end).
constexpr size_t kFailureSearchBytes = 512 * 1024;

void append_line(const fs::path& log_file, const std::string& line) {
  std::error_code ec;
  fs::create_directories(log_file.parent_path(), ec);
  std::ofstream out(log_file, std::ios::app);
  out << line << "\n";
}

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace

bool revision_matches(const std::string& wanted, const std::string& actual) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string w = lower(wanted), a = lower(actual);
  if (w.empty() || a.empty()) return false;
  return w == a || (w.size() >= 7 && a.size() > w.size() && a.compare(0, w.size(), w) == 0);
}

Builder::Builder(BuilderSettings settings, ProcessRunner& runner, const Clock& clock)
    : m_settings(std::move(settings)), m_runner(runner), m_clock(clock) {}

std::string Builder::local_revision() const {
  auto text = read_whole_file(m_settings.work_dir / "repo_revision");
  if (!text) return {};
  std::string r = *text;
  while (!r.empty() && (r.back() == '\n' || r.back() == ' ')) r.pop_back();
  return r;
}

Result<std::string> Builder::tree_revision() const {
  const fs::path& dir = m_settings.repo_dir;
  std::error_code ec;
  if (!fs::exists(dir / ".git", ec)) {
    auto text = read_whole_file(dir / "metadata" / "timestamp.commit");
    if (!text)
      return make_error(ErrorKind::not_found, "cannot tell the revision of " + dir.string() +
                                                  ": no .git and no metadata/timestamp.commit");
    std::istringstream in(*text);
    std::string word;
    if (!(in >> word))
      return make_error(ErrorKind::invalid, (dir / "metadata" / "timestamp.commit").string() + " is empty");
    return word;
  }
  const fs::path out = m_settings.work_dir / "tmp" / "repo-head.out";
  fs::create_directories(out.parent_path(), ec);
  fs::remove(out, ec);
  ProcessSpec spec;
  // safe.directory: the tree usually belongs to portage, not to the drone's user.
  spec.argv = {"git", "-c", "safe.directory=" + dir.string(), "-C", dir.string(), "rev-parse", "HEAD"};
  spec.env_unset = {"GIT_DIR", "GIT_WORK_TREE"};
  spec.output_file = out;
  spec.timeout = m_settings.revision_timeout;
  spec.kill_grace = m_settings.kill_grace;
  ProcessResult r = m_runner.run(spec, nullptr);
  auto output = read_whole_file(out);
  const std::string text = output ? *output : std::string();
  fs::remove(out, ec);
  if (!r.success())
    return make_error(ErrorKind::io, "git rev-parse HEAD in " + dir.string() + " " + describe(r) + ": " + text);
  // stderr shares the file: the answer is the last word that looks like an object name.
  std::istringstream in(text);
  std::string head;
  for (std::string word; in >> word;)
    if (word.size() >= 40 && std::all_of(word.begin(), word.end(), [](char c) { return std::isxdigit(c & 0xff); }))
      head = word;
  if (head.empty()) return make_error(ErrorKind::io, "git rev-parse HEAD in " + dir.string() + " printed no revision: " + text);
  return head;
}

Status Builder::reach_revision(const std::string& wanted, const fs::path& log_file, const std::atomic<bool>* cancel,
                               const std::string& marker) {
  auto have = tree_revision();
  if (have && revision_matches(wanted, *have)) {
    if (local_revision() != *have) (void)write_file_durably(m_settings.work_dir / "repo_revision", *have + "\n");
    return {};
  }
  if (m_settings.sync_command.empty())
    return make_error(ErrorKind::invalid, "the lease needs repository revision " + wanted + " and no --sync-command is set");
  append_line(log_file, ">>> swarm-drone: syncing to repository revision " + wanted + ": " + join(m_settings.sync_command));
  ProcessSpec spec;
  spec.argv = m_settings.sync_command;
  spec.output_file = log_file;
  spec.timeout = m_settings.sync_timeout;
  spec.kill_grace = m_settings.kill_grace;
  spec.env_set["PKGDIR"] = m_settings.pkgdir.string();
  spec.env_set["SWARM_REPO_REVISION"] = wanted;
  spec.env_set["SWARM_REPO_DIR"] = m_settings.repo_dir.string();
  spec.marker = marker;
  ProcessResult r = m_runner.run(spec, cancel);
  if (r.cancelled) return make_error(ErrorKind::conflict, "sync cancelled");
  if (!r.success()) return make_error(ErrorKind::io, "sync " + describe(r));
  have = tree_revision();
  if (!have) return make_error(ErrorKind::io, "after the sync: " + have.error().message);
  if (!revision_matches(wanted, *have)) {
    const std::string why = "after the sync " + m_settings.repo_dir.string() + " is at " + *have +
                            ", the lease needs " + wanted;
    append_line(log_file, ">>> swarm-drone: " + why);
    return make_error(ErrorKind::io, why);
  }
  return write_file_durably(m_settings.work_dir / "repo_revision", *have + "\n");
}

BuildReport Builder::build(const Atom& atom, std::chrono::milliseconds timeout, const fs::path& log_file,
                           const std::atomic<bool>* cancel, size_t log_tail_bytes, const BuildTracking& tracking) {
  BuildReport report;
  ProcessSpec spec;
  spec.argv = emerge_argv(m_settings.emerge_command, atom);
  spec.output_file = log_file;
  spec.timeout = timeout;
  spec.kill_grace = m_settings.kill_grace;
  spec.env_set["PKGDIR"] = m_settings.pkgdir.string();
  spec.marker = tracking.marker;
  spec.on_start = tracking.on_start;
  append_line(log_file, ">>> swarm-drone: " + join(spec.argv));
  report.start_unix = m_clock.now_unix();
  ProcessResult r = m_runner.run(spec, cancel);
  report.summary = describe(r);
  report.exit_code = r.started && r.signal == 0 ? r.exit_code : (r.signal != 0 ? 128 + r.signal : -1);
  report.duration_s = static_cast<double>(r.duration.count()) / 1000.0;
  report.max_rss_mb = r.max_rss_kb / 1024;
  append_line(log_file, ">>> swarm-drone: emerge " + report.summary);
  if (r.cancelled) {
    report.cancelled = true;
    return report;
  }
  bool found = false;
  if (r.success()) {
    auto bin = find_built_binary(m_settings.pkgdir, atom, report.start_unix);
    if (bin) {
      report.binary = *bin;
      found = true;
    } else {
      append_line(log_file, ">>> swarm-drone: no binary: " + bin.error().message);
      report.summary += ", no binary: " + bin.error().message;
    }
  }
  const std::string tail = tail_of_file(log_file, std::max<size_t>(log_tail_bytes, 4096));
  report.failure_class = classify_build(r, tail, found);
  if (report.failure_class && r.started && !r.timed_out && r.exit_code != 0)
    report.portage_failure = find_portage_failure(tail_of_file(log_file, kFailureSearchBytes));
  return report;
}

int Builder::remove_placeholders(const Atom& atom) const {
  std::set<std::string> listed;
  if (auto text = read_whole_file(m_settings.pkgdir / "Packages"); text) {
    if (auto index = parse_packages(*text); index)
      for (const auto& e : index->packages)
        if (auto it = e.find("PATH"); it != e.end()) listed.insert(it->second);
  }
  const fs::path dir = m_settings.pkgdir / atom.category / atom.pn;
  const std::string prefix = atom.pf() + "-";
  int removed = 0;
  std::error_code ec;
  std::vector<fs::path> empties;
  for (const auto& item : fs::directory_iterator(dir, ec)) {
    const std::string name = item.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || listed.count(atom.category + "/" + atom.pn + "/" + name)) continue;
    std::string rest = name.substr(prefix.size());
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 0 || (rest.substr(digits) != ".gpkg.tar" && rest.substr(digits) != ".xpak")) continue;
    struct stat st {};
    if (::lstat(item.path().c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) empties.push_back(item.path());
  }
  for (const auto& p : empties)
    if (fs::remove(p, ec)) ++removed;
  return removed;
}

}  // namespace swarm::drone
