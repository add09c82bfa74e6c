#pragma once
// Turns what `build-swarm submit` is given (atoms, a list file, a package graph, emerge --pretend
// output) into the packages of a POST /api/v1/queue.

#include <string>
#include <string_view>
#include <vector>

#include "common/messages.hpp"
#include "common/result.hpp"

namespace swarm::cli {

/// Checks an exact-version atom and returns it as CATEGORY/PF[:SLOT][::REPO] (a leading '=' dropped);
/// invalid says why.
Result<std::string> normalize_atom(std::string_view text);

/// Packages for atoms given on the command line; invalid names the first bad atom.
Result<std::vector<PackageSpec>> packages_from_atoms(const std::vector<std::string>& atoms);

/// Packages from a list file: one atom per line, blank lines and '#' comments (whole or trailing)
/// skipped; invalid names the line; an empty list is invalid.
Result<std::vector<PackageSpec>> packages_from_list(std::string_view text);

/// Packages from a package graph {"packages":[{atom, deps?, duration_s?, priority?, rebuild?}]};
/// atoms and deps are normalised; invalid says which entry is wrong.
Result<std::vector<PackageSpec>> packages_from_graph(const std::string& text);

/// What packages_from_emerge found besides the packages.
struct EmergeSummary {
  size_t blockers_skipped = 0;
  size_t rebuilds = 0;
  size_t edges = 0;   // dependency edges sent (the packages' deps)
  bool tree = false;  // the output came from `emerge --tree`, so the edges are known
};

/// Packages from `emerge --pretend [--tree]` output (parse_emerge_graph), in merge order, with the
/// --tree edges as deps: atoms keep the slot and repository emerge printed, blockers skipped,
/// `[ebuild R]` lines submitted with rebuild=true; invalid when the text is not a merge list or
/// lists nothing.
Result<std::vector<PackageSpec>> packages_from_emerge(std::string_view text, EmergeSummary* summary = nullptr);

}  // namespace swarm::cli
