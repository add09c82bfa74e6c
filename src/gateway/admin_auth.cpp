#include "gateway/admin_auth.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/crypto.hpp"

namespace swarm::gateway {

Result<std::string> load_or_create_admin_token(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    std::string token = random_token(32);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(ErrorKind::io, "cannot create " + path.string() + ": " + std::strerror(errno));
    std::string line = token + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok) return make_error(ErrorKind::io, "cannot write " + path.string());
    return token;
  }
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::io, "cannot read " + path.string());
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.erase(0, 1);
  if (token.empty()) return make_error(ErrorKind::invalid, "admin token file " + path.string() + " is empty");
  return token;
}

bool holds_admin_token(const HttpRequest& request, const std::string& admin_token) {
  std::string presented = request.bearer_token();
  if (presented.empty() || admin_token.empty()) return false;
  // Comparing digests keeps the time independent of the token's length as well as its content.
  return constant_time_equal(sha256_hex(presented), sha256_hex(admin_token));
}

HttpResponse admin_required() {
  auto r = HttpResponse::error(401, "unauthorized", "this call needs the admin token: Authorization: Bearer <admin token>");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace swarm::gateway
