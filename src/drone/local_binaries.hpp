#pragma once
// The drone's own PKGDIR: finding the binary an emerge produced (through $PKGDIR/Packages, never by
// a file name pattern, which would match Portage's empty placeholder) and removing it afterwards.

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include "common/atom.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace swarm::drone {

struct LocalBinary {
  std::string rel_path;  // CATEGORY/PN/FILE, relative to PKGDIR
  int64_t size = 0;
  int64_t build_id = 0;
};

/// The binary produced for `atom` by an emerge started at `start_unix`: the Packages entry for its CPV
/// with the highest BUILD_ID built at or after the start, whose PATH is CATEGORY/PN/FILE and names a
/// regular, non-empty file (not a symlink). not_found (with the reason) otherwise.
Result<LocalBinary> find_built_binary(const std::filesystem::path& pkgdir, const Atom& atom, int64_t start_unix);

/// Deletes PKGDIR/rel_path and drops its entry from PKGDIR/Packages (rewritten atomically); a file or
/// entry already gone is fine.
Status drop_local_binary(const std::filesystem::path& pkgdir, const std::string& rel_path);

/// Drops binaries listed in Packages whose file is older than `max_age_s` and not in `keep`; returns
/// how many went. For leftovers: refused uploads, revoked leases, --keep-binaries.
int prune_local_binaries(const std::filesystem::path& pkgdir, int64_t max_age_s, const std::set<std::string>& keep,
                         const Clock& clock);

/// True for a relative path of exactly three safe components (no "..", no leading '-' or '.').
bool safe_binary_path(const std::string& rel_path);

}  // namespace swarm::drone
