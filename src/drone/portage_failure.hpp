#pragma once
// Portage's own account of a failed emerge, found in its output: the ` * ERROR: CAT/PF::REPO failed
// (PHASE phase):` block that die() prints (bin/isolated-functions.sh) with the build output before
// it, or the dependency resolver's message (lib/_emerge/depgraph.py: no ebuilds to satisfy, masked,
// blockers, slot conflicts, unmet REQUIRED_USE, autounmask changes).

#include <optional>
#include <string>
#include <string_view>

namespace swarm::drone {

struct PortageFailure {
  std::string summary;  // one line, e.g. "ERROR: app-misc/foo-1.0::gentoo failed (compile phase): emake failed"
  std::string excerpt;  // the lines worth showing, ending with `summary` as its own last line
};

/// The reason Portage gives in `output` (colours and carriage returns ignored); nullopt when none.
std::optional<PortageFailure> find_portage_failure(std::string_view output);

}  // namespace swarm::drone
