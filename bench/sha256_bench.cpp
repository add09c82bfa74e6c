// Throughput of sha256_file_hex against coreutils sha256sum on one temporary file.
// Usage: sha256_bench [size_MiB]   (default 256). The file is in the page cache after writing,
// so this measures hashing and read(2) cost, not the disk.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/crypto.hpp"

namespace {

namespace fs = std::filesystem;
using Seconds = std::chrono::duration<double>;

double mb_per_s(std::size_t bytes, Seconds elapsed) { return static_cast<double>(bytes) / 1e6 / elapsed.count(); }

bool write_test_file(const fs::path& path, std::size_t mib) {
  std::vector<char> block(1 << 20);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (std::size_t m = 0; m < mib && out; ++m) {
    // xorshift fill: incompressible content, different in every MiB.
    for (char& c : block) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  return static_cast<bool>(out.flush());
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  if (mib == 0) {
    std::fprintf(stderr, "usage: %s [size_MiB > 0]\n", argv[0]);
    return 2;
  }
  fs::path path = fs::temp_directory_path() / ("sha256_bench." + std::to_string(::getpid()));
  if (!write_test_file(path, mib)) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    fs::remove(path);
    return 1;
  }
  std::size_t bytes = mib << 20;
  std::printf("file: %s, %zu MiB\n", path.c_str(), mib);

  int status = 0;
  std::string digest;
  for (int run = 1; run <= 3; ++run) {
    auto start = std::chrono::steady_clock::now();
    auto r = swarm::sha256_file_hex(path);
    Seconds took = std::chrono::steady_clock::now() - start;
    if (!r) {
      std::fprintf(stderr, "sha256_file_hex: %s\n", r.error().message.c_str());
      status = 1;
      break;
    }
    digest = *r;
    std::printf("sha256_file_hex run %d: %.3f s, %.0f MB/s\n", run, took.count(), mb_per_s(bytes, took));
  }
  std::printf("digest: %s\n", digest.c_str());

  std::string cmd = "sha256sum '" + path.string() + "' > /dev/null";
  for (int run = 1; run <= 3 && status == 0; ++run) {
    auto start = std::chrono::steady_clock::now();
    int rc = std::system(cmd.c_str());
    Seconds took = std::chrono::steady_clock::now() - start;
    if (rc != 0) {
      std::fprintf(stderr, "sha256sum failed (%d)\n", rc);
      break;
    }
    std::printf("sha256sum       run %d: %.3f s, %.0f MB/s\n", run, took.count(), mb_per_s(bytes, took));
  }
  fs::remove(path);
  return status;
}
