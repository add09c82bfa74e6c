#pragma once
// Facts about this machine that the drone reports: cores, memory, load, free disk, its own
// executable's hash, the address it is reached at and its SSH host key.

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace swarm::drone {

/// Online CPUs (at least 1).
int64_t cpu_cores();
/// Physical memory in MiB (0 when unknown).
int64_t total_ram_mb();
/// The 1-minute load average (0 when unknown).
double load_average();
/// Free space for unprivileged users on the file system holding `path`, in MiB; -1 when unknown.
int64_t free_disk_mb(const std::filesystem::path& path);
/// SHA-256 of the running executable (/proc/self/exe), or "" when it cannot be read.
std::string executable_sha256();
/// The local address the kernel would use to reach `host:port` (a UDP connect: no packet is sent).
Result<std::string> local_address_towards(const std::string& host, uint16_t port);
/// The first "type base64" of an OpenSSH public key file, or "" when absent.
std::string read_ssh_host_key(const std::filesystem::path& path);

}  // namespace swarm::drone
