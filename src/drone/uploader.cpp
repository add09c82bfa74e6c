#include "drone/uploader.hpp"

#include <cctype>

namespace swarm::drone {

namespace {

// ssh and rsync take whole seconds; round up so a 1.5 s setting never becomes 1 s.
std::string whole_seconds(std::chrono::milliseconds d) {
  long long s = (d.count() + 999) / 1000;
  return std::to_string(s < 1 ? 1 : s);
}

bool all_of_chars(const std::string& s, const char* extra) {
  for (char ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && std::string_view(extra).find(ch) == std::string_view::npos)
      return false;
  return true;
}

}  // namespace

Status check_upload_target(const UploadTarget& t) {
  if (t.host.empty() || t.host[0] == '-' || !all_of_chars(t.host, ".-:[]_"))
    return make_error(ErrorKind::invalid, "upload host '" + t.host + "' is not a host name or address");
  if (t.user.empty() || t.user[0] == '-' || !all_of_chars(t.user, "._-"))
    return make_error(ErrorKind::invalid, "upload user '" + t.user + "' is not a user name");
  if (t.port <= 0 || t.port > 65535) return make_error(ErrorKind::invalid, "upload port out of range");
  if (t.path.empty() || t.path[0] == '/' || t.path[0] == '-' || !all_of_chars(t.path, "._-/"))
    return make_error(ErrorKind::invalid, "upload path '" + t.path + "' is not a relative staging path");
  size_t start = 0;
  while (start <= t.path.size()) {
    size_t end = t.path.find('/', start);
    if (end == std::string::npos) end = t.path.size();
    if (t.path.compare(start, end - start, "..") == 0)
      return make_error(ErrorKind::invalid, "upload path '" + t.path + "' climbs out of the staging root");
    start = end + 1;
  }
  return {};
}

std::vector<std::string> rsync_argv(const UploadSettings& s, const UploadTarget& t,
                                    const std::vector<std::string>& sources) {
  std::string ssh = "ssh -o ConnectTimeout=" + whole_seconds(s.connect_timeout) +
                    " -o ServerAliveInterval=" + whole_seconds(s.alive_interval) +
                    " -o ServerAliveCountMax=3 -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" +
                    s.known_hosts.string() + " -o IdentitiesOnly=yes -p " + std::to_string(t.port) + " -i " +
                    s.key.string();
  // Never rsync's remove-source option (the copy is deleted only after acceptance), never its daemon-only connect timeout.
  // --ignore-times: a re-upload over a damaged copy of the same size and second must not be skipped.
  std::vector<std::string> argv = {s.rsync_program, "--relative", "--ignore-times",
                                   "--timeout=" + whole_seconds(s.stall_timeout), "-e", ssh};
  argv.insert(argv.end(), sources.begin(), sources.end());
  std::string host = t.host.find(':') != std::string::npos && t.host.front() != '[' ? "[" + t.host + "]" : t.host;
  std::string path = t.path.back() == '/' ? t.path : t.path + "/";
  argv.push_back(t.user + "@" + host + ":" + path);
  return argv;
}

Uploader::Uploader(ProcessRunner& runner, UploadSettings settings) : m_runner(runner), m_settings(std::move(settings)) {}

Status Uploader::upload(const std::filesystem::path& cwd, const std::vector<std::string>& sources,
                        const UploadTarget& target, const std::filesystem::path& transcript,
                        const std::atomic<bool>* cancel) const {
  if (auto st = check_upload_target(target); !st) return st;
  ProcessSpec spec;
  spec.argv = rsync_argv(m_settings, target, sources);
  spec.cwd = cwd;
  spec.output_file = transcript;
  spec.timeout = m_settings.overall_timeout;
  spec.kill_grace = m_settings.kill_grace;
  ProcessResult r = m_runner.run(spec, cancel);
  if (r.success()) return {};
  std::string tail = tail_of_file(transcript, 600);
  while (!tail.empty() && std::isspace(static_cast<unsigned char>(tail.back()))) tail.pop_back();
  std::string message = "rsync " + describe(r) + (tail.empty() ? "" : ": " + tail);
  if (r.cancelled) return make_error(ErrorKind::conflict, message);
  if (r.timed_out) return make_error(ErrorKind::timeout, message);
  return make_error(ErrorKind::io, message);
}

}  // namespace swarm::drone
