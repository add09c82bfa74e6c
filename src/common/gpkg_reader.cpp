// Streams a gpkg through libarchive once: every member is hashed as it passes, the small ones
// (metadata archive, Manifest) are kept, and everything is checked once the Manifest is known.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>

#include "common/gpkg.hpp"

namespace swarm {

namespace {

constexpr int kMaxMembers = 15;
constexpr int64_t kMaxMetadataArchiveBytes = 16 << 20;
constexpr int64_t kMaxManifestBytes = 1 << 20;
constexpr std::size_t kReadBlock = 64 * 1024;

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

using gpkg_detail::invalid;

const char* describe_type(archive_entry* entry) {
  if (archive_entry_hardlink(entry) != nullptr) return "a hard link";
  switch (archive_entry_filetype(entry)) {
    case AE_IFDIR: return "a directory entry";
    case AE_IFLNK: return "a symbolic link";
    case AE_IFCHR:
    case AE_IFBLK: return "a device";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "not a regular file";
  }
}

enum class MemberKind { marker, metadata, image, manifest, other };

struct Member {
  std::string name;
  gpkg_detail::ManifestEntry digest;
};

struct ScanState {
  GpkgInfo info;
  std::set<std::string> names;
  std::vector<Member> members;
  std::string metadata_bytes;
  std::string metadata_compression;
  std::string manifest_text;
  int metadata_count = 0;
  int image_count = 0;
  bool have_manifest = false;
};

// Splits "dir/name", refusing anything but exactly one safe directory level.
Result<std::pair<std::string, std::string>> split_member_path(const char* raw) {
  if (raw == nullptr || *raw == '\0') return invalid("a member has no name");
  std::string path(raw);
  if (path.front() == '/') return invalid("member '" + path + "' has an absolute path");
  std::size_t slash = path.find('/');
  if (slash == std::string::npos) return invalid("member '" + path + "' is not inside the package directory");
  std::string dir = path.substr(0, slash);
  std::string name = path.substr(slash + 1);
  if (dir == ".." || name == ".." || name.rfind("../", 0) == 0 || path.find("/../") != std::string::npos)
    return invalid("member '" + path + "' escapes the package directory");
  if (name.find('/') != std::string::npos) return invalid("member '" + path + "' is more than one directory deep");
  if (!gpkg_detail::valid_member_name(dir) || !gpkg_detail::valid_member_name(name))
    return invalid("member '" + path + "' has an unsafe name");
  return std::make_pair(std::move(dir), std::move(name));
}

Result<MemberKind> classify(const std::string& name, std::string& compression) {
  if (name == "gpkg-1") return MemberKind::marker;
  if (name == "Manifest") return MemberKind::manifest;
  if (name.size() > 4 && name.ends_with(".sig")) return MemberKind::other;
  for (auto [prefix, kind] :
       {std::pair{"metadata.tar", MemberKind::metadata}, std::pair{"image.tar", MemberKind::image}}) {
    std::string_view p(prefix);
    if (!name.starts_with(p)) continue;
    std::string rest = name.substr(p.size());
    if (rest.empty() || rest == ".zst" || rest == ".xz" || rest == ".gz" || rest == ".bz2" || rest == ".lz4") {
      compression = rest.empty() ? "" : rest.substr(1);
      return kind;
    }
    return invalid("member '" + name + "' uses an unsupported compression");
  }
  return MemberKind::other;
}

// Reads one member's data through the digests, the keep buffer (if any) and the visitor.
Status stream_member(archive* a, const std::string& name, int64_t size, std::string* keep, GpkgMemberVisitor& visitor,
                     gpkg_detail::ManifestEntry& digest_out) {
  gpkg_detail::ManifestDigest digest;
  int64_t done = 0;
  while (true) {
    const void* block = nullptr;
    std::size_t len = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(a, &block, &len, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      return invalid("member '" + name + "' is truncated or damaged: " + gpkg_detail::archive_message(a));
    }
    if (offset != done) return invalid("member '" + name + "' has holes");
    digest.update(block, len);
    if (keep) keep->append(static_cast<const char*>(block), len);
    if (Status s = visitor.data(block, len); !s) return s;
    done += static_cast<int64_t>(len);
  }
  if (done != size) return invalid("member '" + name + "' is truncated");
  digest_out.size = static_cast<uint64_t>(done);
  digest.finish(digest_out.sha512, digest_out.blake2b);
  return {};
}

Status scan_entry(archive* a, archive_entry* entry, ScanState& st, GpkgMemberVisitor& visitor) {
  int format = archive_format(a);
  if (format != ARCHIVE_FORMAT_TAR_USTAR && format != ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE &&
      format != ARCHIVE_FORMAT_TAR_PAX_RESTRICTED && format != ARCHIVE_FORMAT_TAR_GNUTAR)
    return invalid("the container is not a ustar/pax/GNU tar archive");
  if (archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE) return invalid("the container tar must not be compressed");
  if (static_cast<int>(st.members.size()) >= kMaxMembers) return invalid("too many members");

  if (archive_entry_hardlink(entry) != nullptr || archive_entry_filetype(entry) != AE_IFREG) {
    const char* raw = archive_entry_pathname(entry);
    return invalid("member '" + std::string(raw ? raw : "") + "' is " + describe_type(entry));
  }
  auto split = split_member_path(archive_entry_pathname(entry));
  if (!split) return split.error();
  auto& [dir, name] = *split;
  if (archive_entry_sparse_count(entry) > 0) return invalid("member '" + name + "' is a sparse file");
  if (!archive_entry_size_is_set(entry) || archive_entry_size(entry) < 0)
    return invalid("member '" + name + "' has no size");
  if (st.members.empty()) {
    if (name != "gpkg-1") return invalid("the first member is '" + name + "', not gpkg-1");
    st.info.basename = dir;
  } else if (dir != st.info.basename) {
    return invalid("member '" + dir + "/" + name + "' is outside the package directory '" + st.info.basename + "'");
  }
  if (!st.names.insert(name).second) return invalid("duplicate member '" + name + "'");

  std::string compression;
  auto kind = classify(name, compression);
  if (!kind) return kind.error();
  int64_t size = archive_entry_size(entry);
  std::string* keep = nullptr;
  switch (*kind) {
    case MemberKind::metadata:
      if (++st.metadata_count > 1) return invalid("more than one metadata archive");
      if (size > kMaxMetadataArchiveBytes) return invalid("metadata archive '" + name + "' is too large");
      st.metadata_compression = compression;
      keep = &st.metadata_bytes;
      break;
    case MemberKind::image:
      if (++st.image_count > 1) return invalid("more than one image archive");
      st.info.compression = compression;
      break;
    case MemberKind::manifest:
      if (size > kMaxManifestBytes) return invalid("the Manifest is too large");
      st.have_manifest = true;
      keep = &st.manifest_text;
      break;
    case MemberKind::marker:
    case MemberKind::other: break;
  }
  if (Status s = visitor.begin(name, size, archive_entry_mtime(entry)); !s) return s;
  Member member{name, {}};
  if (Status s = stream_member(a, name, size, keep, visitor, member.digest); !s) return s;
  if (Status s = visitor.end(); !s) return s;
  st.info.members.push_back(name);
  st.members.push_back(std::move(member));
  return {};
}

Status verify_manifest(const ScanState& st) {
  auto manifest = gpkg_detail::parse_manifest(st.manifest_text);
  if (!manifest) return manifest.error();
  for (const auto& m : st.members) {
    if (m.name == "Manifest") continue;
    auto it = manifest->find(m.name);
    if (it == manifest->end()) return invalid("member '" + m.name + "' is not listed in the Manifest");
    if (it->second.size != m.digest.size) return invalid("member '" + m.name + "' has the wrong size");
    if (it->second.sha512 != m.digest.sha512) return invalid("member '" + m.name + "' fails its SHA512 check");
    if (it->second.blake2b != m.digest.blake2b) return invalid("member '" + m.name + "' fails its BLAKE2B check");
  }
  for (const auto& [name, entry] : *manifest) {
    if (name == "Manifest") return invalid("the Manifest lists itself");
    if (!st.names.contains(name)) return invalid("the Manifest lists '" + name + "', which the package lacks");
  }
  return {};
}

Result<GpkgInfo> scan(int fd, GpkgMemberVisitor& visitor) {
  struct stat sb {};
  if (fstat(fd, &sb) != 0) return make_error(ErrorKind::io, "gpkg: cannot stat the package");
  if (!S_ISREG(sb.st_mode)) return invalid("the package is not a regular file");
  if (sb.st_size == 0) return invalid("the package is empty (an unfilled Portage placeholder?)");
  if (lseek(fd, 0, SEEK_SET) != 0) return make_error(ErrorKind::io, "gpkg: cannot seek the package");

  ArchivePtr a(archive_read_new(), archive_read_free);
  if (!a) return make_error(ErrorKind::internal, "gpkg: out of memory");
  archive_read_support_format_tar(a.get());  // no filters: the container is an uncompressed tar
  if (archive_read_open_fd(a.get(), fd, kReadBlock) != ARCHIVE_OK)
    return invalid("not a valid tar archive: " + gpkg_detail::archive_message(a.get()));

  ScanState st;
  while (true) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      return invalid("not a valid tar archive (truncated or damaged?): " + gpkg_detail::archive_message(a.get()));
    }
    if (Status s = scan_entry(a.get(), entry, st, visitor); !s) return s.error();
  }
  if (st.members.empty()) return invalid("the archive holds no members");
  if (st.metadata_count == 0) return invalid("no metadata archive");
  if (st.image_count == 0) return invalid("no image archive");
  if (!st.have_manifest) return invalid("no Manifest");
  if (Status s = verify_manifest(st); !s) return s.error();

  // Only verified bytes are decompressed.
  auto files = gpkg_detail::parse_metadata_archive(st.metadata_bytes, st.metadata_compression);
  if (!files) return files.error();
  for (auto& f : *files) {
    if (f.value.ends_with('\n')) f.value.pop_back();
    st.info.metadata.emplace(std::move(f.key), std::move(f.value));
  }
  if (Status s = gpkg_detail::check_metadata(st.info.metadata, st.info.basename); !s) return s.error();
  return std::move(st.info);
}

class NullVisitor final : public GpkgMemberVisitor {
 public:
  Status begin(const std::string&, int64_t, std::time_t) override { return {}; }
  Status data(const void*, std::size_t) override { return {}; }
  Status end() override { return {}; }
};

}  // namespace

Result<GpkgInfo> scan_gpkg_fd(int fd, GpkgMemberVisitor& visitor) { return scan(fd, visitor); }

Result<GpkgInfo> read_gpkg_fd(int fd) {
  NullVisitor visitor;
  return scan(fd, visitor);
}

Result<GpkgInfo> read_gpkg(const std::filesystem::path& file) {
  // O_NONBLOCK so that a FIFO cannot block the open; the fstat in scan() refuses it.
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    ErrorKind kind = errno == ENOENT ? ErrorKind::not_found : ErrorKind::io;
    return make_error(kind, "gpkg: cannot open " + file.string() + ": " + std::strerror(errno));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  auto result = read_gpkg_fd(fd);
  ::close(fd);
  return result;
}

}  // namespace swarm
