#include "common/result.hpp"

#include <cstring>

namespace swarm {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid: return "invalid";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::io: return "io";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::unauthorized: return "unauthorized";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

Error errno_error(const std::string& what, int err) { return make_error(ErrorKind::io, what + ": " + std::strerror(err)); }

}  // namespace swarm
