#include "support/sshd_fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace swarm::test {

namespace fs = std::filesystem;

uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

namespace {

bool port_accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

// Parent pid of every process, from /proc/<pid>/stat.
std::map<pid_t, pid_t> parent_map() {
  std::map<pid_t, pid_t> parents;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) == 2)
      parents[static_cast<pid_t>(std::stol(name))] = static_cast<pid_t>(ppid);
  }
  return parents;
}

}  // namespace

SshdFixture::SshdFixture(fs::path staging_root, std::string drone_name)
    : m_staging_root(std::move(staging_root)), m_drone(std::move(drone_name)) {
  if (passwd* pw = ::getpwuid(::getuid())) m_user = pw->pw_name;
}

SshdFixture::~SshdFixture() { stop(); }

std::string SshdFixture::log() const {
  std::ifstream in(m_dir.path() / "sshd.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool SshdFixture::start() {
  const fs::path d = m_dir.path();
  std::error_code ec;
  fs::create_directories(staging_dir(), ec);
  // sshd refuses to start without its privilege separation directory.
  fs::create_directories("/run/sshd", ec);
  for (const char* key : {"host_key", "user_key"}) {
    if (run_shell("ssh-keygen -q -N '' -t ed25519 -C swarm-test -f " + quote(d / key) + " </dev/null >/dev/null 2>&1") != 0) {
      m_error = std::string("ssh-keygen failed for ") + key;
      return false;
    }
  }
  std::string authorized = "restrict,command=\"/usr/bin/rrsync -wo -no-lock " + staging_dir().string() + "\" " +
                           read_file(d / "user_key.pub");
  for (const auto& name : m_more_drones) {
    fs::path key = user_key(name);
    fs::create_directories(m_staging_root / name, ec);
    if (run_shell("ssh-keygen -q -N '' -t ed25519 -C swarm-test -f " + quote(key) + " </dev/null >/dev/null 2>&1") != 0) {
      m_error = "ssh-keygen failed for " + name;
      return false;
    }
    authorized += "restrict,command=\"/usr/bin/rrsync -wo -no-lock " + (m_staging_root / name).string() + "\" " +
                  read_file(key.string() + ".pub");
  }
  write_file(d / "authorized_keys", authorized);
  m_port = free_loopback_port();
  if (m_port == 0) {
    m_error = "no free port";
    return false;
  }
  std::ostringstream config;
  config << "ListenAddress 127.0.0.1\n"
         << "Port " << m_port << "\n"
         << "HostKey " << (d / "host_key").string() << "\n"
         << "AuthorizedKeysFile " << (d / "authorized_keys").string() << "\n"
         << "PidFile " << (d / "sshd.pid").string() << "\n"
         << "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
         << "PermitRootLogin prohibit-password\nLogLevel ERROR\n"
         // bash started by sshd with SHLVL unset reads ~/.bashrc; SHLVL=1 makes it read no start-up file,
         // as a dedicated upload user's plain shell would (the host's root ~/.bashrc is slow here).
         << "SetEnv SHLVL=1\n";
  write_file(d / "sshd_config", config.str());

  const std::string config_path = (d / "sshd_config").string();
  const std::string log_path = (d / "sshd.log").string();
  pid_t pid = ::fork();
  if (pid < 0) {
    m_error = "fork failed";
    return false;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", config_path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  m_pid = pid;
  bool up = wait_for(
      [&] {
        int status = 0;
        if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
          m_pid = -1;
          return true;
        }
        return port_accepts(m_port);
      },
      std::chrono::seconds(10));
  if (!up || m_pid < 0) {
    m_error = "sshd did not come up: " + log();
    stop();
    return false;
  }
  const std::string host_pub = read_file(d / "host_key.pub");
  std::istringstream fields(host_pub);
  std::string type, key;
  fields >> type >> key;
  write_file(known_hosts(), "[127.0.0.1]:" + std::to_string(m_port) + " " + type + " " + key + "\n");
  return true;
}

void SshdFixture::stop() {
  if (m_pid <= 0) return;
  signal_tree(SIGCONT);
  for (pid_t p : process_tree()) ::kill(p, SIGTERM);
  int status = 0;
  ::waitpid(m_pid, &status, 0);
  m_pid = -1;
}

std::vector<pid_t> SshdFixture::process_tree() const {
  std::vector<pid_t> tree;
  if (m_pid <= 0) return tree;
  auto parents = parent_map();
  tree.push_back(m_pid);
  for (size_t i = 0; i < tree.size(); ++i)
    for (const auto& [child, parent] : parents)
      if (parent == tree[i]) tree.push_back(child);
  return tree;
}

void SshdFixture::signal_tree(int sig) const {
  for (pid_t p : process_tree()) ::kill(p, sig);
}

}  // namespace swarm::test
