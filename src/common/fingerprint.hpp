#pragma once
// Configuration fingerprint (design.md "Configuration fingerprint"): the settings that make two
// machines build the same binaries. A drone whose fingerprint differs from its run's gets no work.
//
// Keys: CHOST, PROFILE, CFLAGS, CXXFLAGS, LDFLAGS (whitespace collapsed, order kept: it matters to
// the compiler), ACCEPT_KEYWORDS and USE (sorted, deduplicated), every USE_EXPAND group emerge --info
// prints on its USE line (CPU_FLAGS_X86, PYTHON_TARGETS, ...; sorted, deduplicated) and
// PORTAGE_CONFIG_HASH. FEATURES and MAKEOPTS are left out: they differ between machines building
// the same binaries. Empty values are left out, so "unset" and "empty" compare equal.

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace swarm {

class ProcessRunner;

inline constexpr const char* kPortageConfigHashKey = "PORTAGE_CONFIG_HASH";
/// Set instead of failing when -march=native could not be resolved, so the drone stands out.
inline constexpr const char* kMarchUnresolvedKey = "MARCH_NATIVE_UNRESOLVED";

struct Fingerprint {
  std::map<std::string, std::string> values;

  /// Lower-case hex SHA-256 of the "key=value\n" lines in key order.
  std::string hash() const;
  /// {"KEY": "value", ..., "hash": hash()} (the shape RegisterRequest::fingerprint carries).
  nlohmann::json to_json() const;
  /// Reads an object of string values; a "hash" member, when present, must match; invalid otherwise.
  static Result<Fingerprint> from_json(const nlohmann::json& j);

  bool operator==(const Fingerprint&) const = default;
};

/// Extracts the fingerprint keys from `emerge --info` output (short or --verbose form);
/// invalid when there is no CHOST line (not emerge --info output).
Result<Fingerprint> parse_emerge_info(std::string_view text);

/// The keys whose values differ, or that only one side has, in key order.
std::vector<std::string> fingerprint_diff(const Fingerprint& a, const Fingerprint& b);

/// Answers, for a CFLAGS-like string holding -march=native, what to put in place of that token.
using NativeResolver = std::function<Result<std::string>(const std::string& flags)>;

/// Replaces each -march=native in CFLAGS, CXXFLAGS and LDFLAGS with the resolver's answer; when the
/// resolver fails, the flags stay as they are and kMarchUnresolvedKey holds the error message.
Fingerprint resolve_march_native(Fingerprint fp, const NativeResolver& resolver);

/// What `gcc -march=native -Q --help=target` reports.
struct GccTarget {
  std::string march;                 // e.g. "znver3"
  std::vector<std::string> enabled;  // every "[enabled]" -m option, in gcc's order, e.g. "-mavx2"
  /// "-march=<march> <enabled...>": the stand-in for -march=native in a fingerprint.
  std::string flags() const;
};

/// Parses `gcc -Q --help=target` output; invalid when it has no "-march=" value.
Result<GccTarget> parse_gcc_target_help(std::string_view text);

/// Runs `<compiler> <the -m options of flags> -march=native -Q --help=target` (30 s timeout) and
/// returns GccTarget::flags(); io or timeout on failure.
Result<std::string> gcc_resolve_native(ProcessRunner& runner, const std::string& compiler, const std::string& flags);

/// A NativeResolver calling gcc_resolve_native; `runner` must outlive it.
NativeResolver gcc_native_resolver(ProcessRunner& runner, std::string compiler = "gcc");

/// The /etc/portage entries whose contents change what gets built. make.conf is not among them:
/// its build-relevant values reach the fingerprint through emerge --info, and the rest (MAKEOPTS,
/// FEATURES, mirrors) differs between machines that build identical binaries.
const std::vector<std::string>& portage_config_entries();

/// SHA-256 over the sorted relative paths and contents of the regular files under
/// portage_config_entries() of `etc_portage` (files or directories; missing ones, hidden files
/// and "~" backups skipped, as Portage skips them). Unreadable files count as a marker.
std::string hash_portage_config(const std::filesystem::path& etc_portage);

}  // namespace swarm
