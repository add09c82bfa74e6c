#pragma once
// gpkg (GLEP 78) binary packages: verify one (structure, Manifest digests, metadata) while streaming
// it, and rewrite one with changed metadata (a new BUILD_ID) under a renamed inner directory.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

struct archive;
struct evp_md_ctx_st;

namespace swarm {

struct GpkgInfo {
  std::string basename;                         // inner directory name, e.g. "hello-1.0-r1-3"
  std::map<std::string, std::string> metadata;  // KEY -> value with the one trailing newline removed
  std::vector<std::string> members;             // in archive order, e.g. gpkg-1, metadata.tar.zst, ...
  std::string compression;                      // of the image: "zst", "xz", "gz", "bz2", "lz4" or ""

  std::string category() const;
  std::string pf() const;
  /// The BUILD_ID metadata value when present (verification guarantees it is a decimal integer).
  std::optional<int64_t> build_id() const;
};

/// Reads and verifies a gpkg file: structure, Manifest hashes (SHA512 and BLAKE2B) of every member,
/// metadata; every failure of the package itself is ErrorKind::invalid, failure to open it not_found/io.
Result<GpkgInfo> read_gpkg(const std::filesystem::path& file);

/// Same as read_gpkg, from an open regular file (read from offset 0); the descriptor stays open.
Result<GpkgInfo> read_gpkg_fd(int fd);

/// Makes the OpenPGP signatures of a package (GLEP 78); an interface so src/common knows no keys.
class PackageSigner {
 public:
  virtual ~PackageSigner() = default;
  /// An ASCII-armored detached signature of the file's bytes.
  virtual Result<std::string> sign_detached(const std::filesystem::path& file) = 0;
  /// `text` as an ASCII-armored clear-signed message.
  virtual Result<std::string> clearsign(const std::string& text) = 0;
};

/// Writes `out` (which must not exist; O_EXCL) as a copy of the verified `in` whose metadata has
/// `changes` applied (values without their newline), the inner directory renamed to `new_basename`
/// (must equal PF-BUILD_ID after the changes) and a new Manifest; drops the input's .sig members;
/// fsyncs `out`, and removes it on any failure. With a `signer`, the output is signed the way Portage's
/// binpkg-signing does it: each member but gpkg-1 is followed by its detached `<member>.sig`, the
/// Manifest lists the .sig members too and is clear-signed. A signing failure keeps the signer's error.
Status rewrite_gpkg(const std::filesystem::path& in, const std::filesystem::path& out,
                    const std::map<std::string, std::string>& changes, const std::string& new_basename,
                    PackageSigner* signer = nullptr);

/// Receives every outer member's bytes while the reader streams and verifies them.
class GpkgMemberVisitor {
 public:
  virtual ~GpkgMemberVisitor() = default;
  virtual Status begin(const std::string& name, int64_t size, std::time_t mtime) = 0;
  virtual Status data(const void* bytes, std::size_t size) = 0;
  virtual Status end() = 0;
};

/// read_gpkg_fd, also feeding each member to `visitor`; the result is only trustworthy once this returns ok.
Result<GpkgInfo> scan_gpkg_fd(int fd, GpkgMemberVisitor& visitor);

namespace gpkg_detail {

/// An invalid-kind Error whose message starts with "gpkg: ".
Error invalid(std::string message);

/// The metadata values together (binary members such as environment.bz2 included) stay below 16 MiB,
/// so hostile input cannot exhaust memory.
inline constexpr std::size_t kMaxMetadataBytes = (16 << 20) - 1;

/// One `metadata/<key>` file of a metadata archive; `value` is raw (trailing newline kept).
struct MetadataFile {
  std::string key;
  std::string value;
  std::time_t mtime = 0;
};

/// Parses a metadata archive compressed per `compression` ("zst", ..., ""): file entries only, size-limited.
Result<std::vector<MetadataFile>> parse_metadata_archive(std::string_view bytes, const std::string& compression);

/// Checks the metadata the swarm relies on: CATEGORY, PF, SLOT, a numeric BUILD_ID, the directory name.
Status check_metadata(const std::map<std::string, std::string>& metadata, const std::string& basename);

/// Whether `name` may name a container member or the package directory: printable ASCII, no '/'.
bool valid_member_name(std::string_view name);

/// Whether `key` may name a `metadata/<key>` file.
bool valid_metadata_key(std::string_view key);

/// The directory name a package with this metadata must have: PF-BUILD_ID, or PF without BUILD_ID.
std::string expected_basename(const std::map<std::string, std::string>& metadata);

/// libarchive's message for the last error on `a`, never null.
std::string archive_message(archive* a);

/// One `DATA` line of a Manifest: size and lower-case hex digests.
struct ManifestEntry {
  uint64_t size = 0;
  std::string sha512;
  std::string blake2b;
};

/// Parses a (possibly clear-signed, signature not verified) Manifest: DATA lines only, each name once.
Result<std::map<std::string, ManifestEntry>> parse_manifest(std::string_view text);

/// SHA512 and BLAKE2B-512 of a byte stream, as the Manifest lists them.
class ManifestDigest {
 public:
  ManifestDigest();
  ~ManifestDigest();
  ManifestDigest(const ManifestDigest&) = delete;
  ManifestDigest& operator=(const ManifestDigest&) = delete;
  void update(const void* bytes, std::size_t size);
  /// Finishes both digests: `DATA <name> <size> SHA512 <hex> BLAKE2B <hex>` fields.
  void finish(std::string& sha512_hex, std::string& blake2b_hex);
  uint64_t size() const { return m_size; }

 private:
  evp_md_ctx_st* m_sha512 = nullptr;
  evp_md_ctx_st* m_blake2b = nullptr;
  uint64_t m_size = 0;
};

}  // namespace gpkg_detail
}  // namespace swarm
