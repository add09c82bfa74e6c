#pragma once
// Gentoo package atoms (exact versions only), validated before any reaches a command line or a path.
// Grammar: PMS 3.1 (names), 3.2 (versions), 3.3 (comparison); PN also allows '.' as portage-formats.md says.

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace swarm {

/// The longest atom parse_atom accepts, "=" and slot/repo included.
inline constexpr std::size_t kMaxAtomLength = 256;

/// An exact-version atom: =CATEGORY/PN-PV[-rN][:SLOT[/SUBSLOT]][::REPO].
struct Atom {
  std::string category;
  std::string pn;
  std::string pv;    // "1.2.3_rc1", without revision
  std::string pr;    // "r3", or empty when the atom has no revision
  std::string slot;  // "0", "0/1.2", or empty
  std::string repo;  // "gentoo", or empty

  /// PN-PV[-rN]
  std::string pf() const;
  /// CATEGORY/PF
  std::string cpv() const;
  /// CATEGORY/PN
  std::string cp() const;
  /// PV[-rN], the full version as compare_versions takes it.
  std::string pvr() const;
  /// "=" + cpv() [+ ":" + slot] [+ "::" + repo]; parse_atom(to_string()) gives the same atom back.
  std::string to_string() const;

  bool operator==(const Atom&) const = default;
};

/// Parses an exact-version atom, with or without the leading "="; invalid with a message saying why.
Result<Atom> parse_atom(std::string_view text);

/// True when `text` is a valid Portage version, e.g. "1.2.3b_rc1_p2" (with `-rN` if allow_revision).
bool is_valid_version(std::string_view text, bool allow_revision = false);

/// Compares Portage versions (each optionally with "-rN") per PMS: <0, 0 or >0 like strcmp.
/// Invalid versions sort after valid ones, and among themselves as plain strings (a total order).
int compare_versions(std::string_view pv_a, std::string_view pv_b);

/// True for a valid category name: [A-Za-z0-9+_.-]+, not starting with '-', '.' or '+'.
bool is_valid_category(std::string_view text);

/// True for a valid package name: [A-Za-z0-9+_.-]+, not starting with '-', '.' or '+', and not
/// ending in '-' followed by a valid version (so "foo-1" is not a PN).
bool is_valid_pn(std::string_view text);

}  // namespace swarm
