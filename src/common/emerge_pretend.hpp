#pragma once
// Reads the merge list of `emerge --pretend` (with or without --tree, --verbose, colours) for
// `build-swarm submit --from-emerge F`: the packages, and with --tree the dependency edges.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace swarm {

/// One line of the merge list, e.g. `[ebuild     U  ] sys-libs/foo-1.2-r1:0/8::gentoo [1.1::gentoo] ...`.
struct PretendEntry {
  std::string atom;      // CATEGORY/PF ("sys-libs/foo-1.2-r1"); for blocks, the blocker atom as printed
  std::string kind;      // "ebuild", "binary" or "blocks" (callers skip blocks)
  std::string flags;     // the letters in the brackets, spaces removed: "N", "U", "NS", "R~", "rR", "UD", "b"
  bool rebuild = false;  // flags hold 'R': a reinstall of the installed version
  std::string slot;      // "0/8", "3.11", or empty when not printed
  std::string repo;      // "gentoo", or empty when not printed (binary lines)
  int64_t build_id = 0;  // the "-N" suffix binary lines carry, 0 when absent
  int depth = 0;         // --tree depth: Portage indents the atom one space per level after "] "

  /// CATEGORY/PF[:SLOT][::REPO]: the atom with the slot and repository emerge printed (no build id).
  std::string full_atom() const;
};

/// The ebuild, binary and blocks lines of the merge list, in the order printed. `[nomerge]` tree
/// parents and `[uninstall]` lines are left out. invalid (with the line number) when an ebuild or
/// binary line holds no valid CATEGORY/PF, or when the text has no merge list at all (an empty
/// list is fine when emerge said so: "Total: 0 packages" or "No outdated packages").
Result<std::vector<PretendEntry>> parse_emerge_pretend(std::string_view text);

/// `dependent` needs `dependency` merged (for the swarm: published) first; both are CATEGORY/PF.
struct PretendEdge {
  std::string dependent;
  std::string dependency;
  auto operator<=>(const PretendEdge&) const = default;
};

/// The merge list as a dependency graph.
struct PretendGraph {
  std::vector<PretendEntry> packages;  // ebuild and binary lines in merge order, one per CATEGORY/PF
  std::vector<PretendEdge> edges;      // between `packages` only, each once, in the order printed
  std::size_t blockers = 0;            // [blocks] lines, never submitted
  bool tree = false;                   // --tree output: indented lines or emerge's "in reverse order" header
};

/// Reads `emerge --pretend [--tree]` output as a graph; fails like parse_emerge_pretend.
/// Merge order: with --tree emerge prints the list in reverse ("These are the packages that would
/// be merged, in reverse order"), so the packages are the printed ebuild/binary lines reversed;
/// without, as printed. Edges: every bracketed line's tree parent is the nearest line above it
/// with a smaller indentation. A `[nomerge]` line naming a package of the list is that package
/// shown again as a parent; one naming an installed package, a `[blocks]` and an `[uninstall]`
/// line are not submitted and are transparent: their children are dependencies of the nearest
/// submitted line above them. Plain output has no indentation, hence no edges.
Result<PretendGraph> parse_emerge_graph(std::string_view text);

}  // namespace swarm
