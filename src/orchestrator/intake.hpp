#pragma once
// Intake: the file side of accepting a binary (design.md "Accepting a binary", steps 3-4). A drone's
// upload is opened without following links, copied into a file of our own while hashing the bytes
// copied, verified, given its BUILD_ID and linked into PKGDIR without ever replacing a file.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/atom.hpp"
#include "common/gpkg.hpp"
#include "common/result.hpp"
#include "orchestrator/store.hpp"

namespace swarm::orch {

struct IntakePaths {
  std::filesystem::path staging_root;  // per lease: STAGING/<drone>/<lease>/CATEGORY/PN/FILE
  std::filesystem::path pkgdir;
  std::filesystem::path incoming;  // our temp files; must be on the same filesystem as pkgdir (link())
  std::filesystem::path logs;      // stored full build logs, logs/<lease>.log
};

/// A staged upload that passed every check, copied into `incoming`.
struct StagedBinary {
  std::filesystem::path copy;  // our own copy in `incoming`; the drone's file is never read again
  std::string sha256;          // of the bytes copied
  int64_t size = 0;
  GpkgInfo info;
  Atom atom;  // the expected CPV: where the binary goes (CATEGORY/PN), never taken from the drone's path
};

/// Whether `name` may name a drone or a lease in a path: [A-Za-z0-9._-]+ without a leading '.'.
bool valid_path_name(std::string_view name);

/// Splits a relative path into components; invalid for an absolute path, an empty, "." or ".." component.
Result<std::vector<std::string>> split_relative_path(const std::string& rel_path);

/// Opens root/<components...> without following any link (directories one by one with
/// O_DIRECTORY|O_NOFOLLOW, then the file with O_NOFOLLOW); the file must be regular, and have one
/// link when `single_link`. Returns a descriptor the caller closes; not_found, invalid (with the
/// offending path relative to root, e.g. "symlink in staging path: d1/L1/cat") or io.
Result<int> open_beneath(const std::filesystem::path& root, const std::vector<std::string>& components,
                         bool single_link, const std::string& what = "staging path");

class Intake {
 public:
  /// Largest full build log kept per attempt; a longer one keeps its tail (errors are at the end).
  static constexpr int64_t kMaxLogBytes = 64LL << 20;

  /// With a `signer`, every prepared package is signed (GLEP 78); without one, packages stay unsigned.
  explicit Intake(IntakePaths paths, PackageSigner* signer = nullptr);

  /// Copies and verifies STAGING/<drone>/<lease_id>/<rel_path> (CATEGORY/PN/FILE); every failure is
  /// ErrorKind::invalid with a reason a human understands, and leaves nothing behind.
  Result<StagedBinary> take(const std::string& drone, const std::string& lease_id, const std::string& rel_path,
                            int64_t expected_size, const std::string& expected_sha256, const std::string& expected_cpv);

  /// Writes the copy with BUILD_ID = build_id (signed when there is a signer) into a new fsynced temp
  /// file in `incoming`, verifies it, and returns its record (path CATEGORY/PN/PF-BUILD_ID.gpkg.tar,
  /// sha256/size/mtime of that file). A package that cannot be signed is an error, never unsigned output.
  Result<std::pair<BinaryRecord, std::filesystem::path>> prepare(const StagedBinary& staged, int64_t build_id);

  /// Links `temp` at pkgdir/rel_path (conflict if a file is there: never replaced), fsyncs the
  /// directory, then unlinks the temp name.
  Status install(const std::filesystem::path& temp, const std::string& rel_path);

  /// Undoes install(): removes pkgdir/rel_path and fsyncs its directory.
  void uninstall(const std::string& rel_path);

  /// Removes a file of ours (a copy or a prepared temp) from `incoming`; anything else is left alone.
  void discard(const std::filesystem::path& file);

  /// Copies STAGING/<drone>/<lease_id>/<log_rel> (under "logs/", opened like take()) to logs/<lease_id>.log;
  /// not_found when the drone uploaded no log.
  Result<std::filesystem::path> store_log(const std::string& drone, const std::string& lease_id,
                                          const std::string& log_rel);

  /// Removes STAGING/<drone>/<lease_id>/ without following links (after a final answer).
  void cleanup_lease(const std::string& drone, const std::string& lease_id);

  /// Removes lease directories last modified more than max_age_s before now_unix unless keep(drone, lease);
  /// returns how many were removed.
  int64_t prune_staging(int64_t now_unix, int64_t max_age_s,
                        const std::function<bool(const std::string&, const std::string&)>& keep);

  /// Creates STAGING/<drone>/<lease_id>/ mode 0755, owned by this user (the upload user), before the
  /// lease is handed out; refuses a symlink or a directory owned by someone else.
  Status prepare_lease_dir(const std::string& drone, const std::string& lease_id);

  const IntakePaths& paths() const { return m_paths; }

 private:
  IntakePaths m_paths;
  PackageSigner* m_signer;
};

}  // namespace swarm::orch
