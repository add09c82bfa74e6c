#pragma once
// The binhost `Packages` index (portage-formats.md "The `Packages` index"): blocks of `KEY: value`
// lines separated by blank lines, the first block being the header.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace swarm {

using PackagesEntry = std::map<std::string, std::string>;

struct PackagesIndex {
  std::map<std::string, std::string> header;
  std::vector<PackagesEntry> packages;
};

/// Parses an index; invalid (with the line number) on a line that is not `KEY: value`, a repeated
/// key in a block, a package block without CPV, or no header. Blank lines around blocks are fine.
Result<PackagesIndex> parse_packages(std::string_view text);

/// Writes the index as Portage does: header keys sorted with PACKAGES set to the entry count, then
/// entries sorted by CPV and BUILD_ID, keys sorted, each block followed by one blank line; keys
/// with empty values are left out.
std::string format_packages(const PackagesIndex& index);

/// The entry for `cpv` with the highest BUILD_ID whose BUILD_TIME is at or after
/// `not_before_unix`: the binary an emerge started at that time produced.
std::optional<PackagesEntry> find_built_entry(const PackagesIndex& index, std::string_view cpv,
                                              int64_t not_before_unix);

/// Removes the entry whose PATH is `path`; not_found when there is none.
Status remove_entry(PackagesIndex& index, std::string_view path);

}  // namespace swarm
