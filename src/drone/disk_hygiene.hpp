#pragma once
// Disk hygiene: old build logs and leftovers go, so a drone left alone for months keeps working.

#include <cstdint>
#include <filesystem>
#include <set>

#include "common/clock.hpp"

namespace swarm::drone {

/// Deletes regular files under `dir` last modified more than `max_age_s` ago (except those in
/// `keep`), then the directories this leaves empty; returns how many files went.
int prune_old_files(const std::filesystem::path& dir, int64_t max_age_s, const Clock& clock,
                    const std::set<std::filesystem::path>& keep = {});

}  // namespace swarm::drone
