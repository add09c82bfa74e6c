#include "drone/system_info.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/crypto.hpp"

namespace swarm::drone {

int64_t cpu_cores() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int64_t>(n);
}

int64_t total_ram_mb() {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<int64_t>(pages) * page_size / (1024 * 1024);
}

double load_average() {
  double loads[1] = {0};
  return ::getloadavg(loads, 1) == 1 ? loads[0] : 0.0;
}

int64_t free_disk_mb(const std::filesystem::path& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(static_cast<unsigned long long>(st.f_bavail) * st.f_frsize / (1024 * 1024));
}

std::string executable_sha256() {
  auto h = sha256_file_hex("/proc/self/exe");
  return h ? *h : std::string();
}

Result<std::string> local_address_towards(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return make_error(ErrorKind::not_found, "cannot resolve " + host + ": " + ::gai_strerror(rc));
  std::string error = "no address of " + host + " is reachable";
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    bool ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 &&
              ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0;
    ::close(fd);
    if (!ok) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* addr = local.ss_family == AF_INET6
                           ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
                           : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
    if (::inet_ntop(local.ss_family, addr, text, sizeof text)) {
      ::freeaddrinfo(found);
      return std::string(text);
    }
  }
  ::freeaddrinfo(found);
  return make_error(ErrorKind::io, error);
}

std::string read_ssh_host_key(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string type, key;
  if (!(in >> type >> key)) return {};
  return type + " " + key;
}

}  // namespace swarm::drone
