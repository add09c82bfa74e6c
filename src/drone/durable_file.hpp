#pragma once
// Writing files so that a crash leaves either the old or the new content, never a torn one.

#include <filesystem>
#include <string_view>

#include "common/result.hpp"

namespace swarm::drone {

/// Writes `data` to a temp file beside `path`, fsyncs it, renames it over `path`, fsyncs the directory.
Status write_file_durably(const std::filesystem::path& path, std::string_view data);

/// fsyncs a directory so a rename or unlink inside it survives a crash.
Status fsync_directory(const std::filesystem::path& dir);

/// Reads a whole file; not_found or io on failure.
Result<std::string> read_whole_file(const std::filesystem::path& path);

}  // namespace swarm::drone
