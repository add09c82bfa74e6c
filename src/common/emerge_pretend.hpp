#pragma once
// Reads the merge list of `emerge --pretend` (with or without --tree, --verbose, colours) for
// `build-swarm submit --from-emerge F`.

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
  std::string repo;      // "gentoo", or empty when not printed (binary lines)
  int64_t build_id = 0;  // the "-N" suffix binary lines carry, 0 when absent
};

/// The ebuild, binary and blocks lines of the merge list, in the order printed. `[nomerge]` tree
/// parents and `[uninstall]` lines are left out. invalid (with the line number) when an ebuild or
/// binary line holds no valid CATEGORY/PF, or when the text has no merge list at all (an empty
/// list is fine when emerge said so: "Total: 0 packages" or "No outdated packages").
Result<std::vector<PretendEntry>> parse_emerge_pretend(std::string_view text);

}  // namespace swarm
