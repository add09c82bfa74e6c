#pragma once
// --port-file: a daemon listening on port 0 tells its starter which port it got.

#include <cstdint>
#include <string>

namespace swarm {

/// Writes "PORT\n" to `path` atomically (temp file + rename); false on failure.
bool write_port_file(const std::string& path, uint16_t port);

}  // namespace swarm
