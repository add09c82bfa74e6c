// Rewrites a gpkg in one pass over the input: the reader verifies while this copies each member
// into the new container; the output only survives when the input verified completely. Signing
// needs each member as a file of its own (the signer runs gpg on it): a member is copied into a
// scratch file beside the output while it streams, signed, and the scratch file removed.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "common/gpkg.hpp"

namespace swarm {

namespace {

constexpr int kZstdLevel = 3;
constexpr int kFileMode = 0644;

using WritePtr = std::unique_ptr<archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

using gpkg_detail::invalid;

Error write_error(archive* a, const std::string& what) {
  return make_error(ErrorKind::io, "gpkg: cannot write " + what + ": " + gpkg_detail::archive_message(a));
}

la_ssize_t append_to_string(archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// Header of one regular file: owner 0/0 without names, mode 0644.
Status write_header(archive* a, const std::string& path, int64_t size, std::time_t mtime) {
  EntryPtr entry(archive_entry_new(), archive_entry_free);
  archive_entry_set_pathname(entry.get(), path.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), kFileMode);
  archive_entry_set_size(entry.get(), size);
  archive_entry_set_mtime(entry.get(), mtime, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK) return write_error(a, path);
  return {};
}

Status write_data(archive* a, const std::string& path, const void* bytes, std::size_t size) {
  if (size == 0) return {};
  if (archive_write_data(a, bytes, size) != static_cast<la_ssize_t>(size)) return write_error(a, path);
  return {};
}

// A ustar metadata archive holding only `metadata/<KEY>` files, compressed with zstd.
Result<std::string> build_metadata_archive(const std::vector<gpkg_detail::MetadataFile>& files) {
  std::string tar;
  WritePtr a(archive_write_new(), archive_write_free);
  if (!a || archive_write_set_format_ustar(a.get()) != ARCHIVE_OK ||
      archive_write_open(a.get(), &tar, nullptr, append_to_string, nullptr) != ARCHIVE_OK)
    return make_error(ErrorKind::internal, "gpkg: cannot start the metadata archive");
  for (const auto& f : files) {
    std::string path = "metadata/" + f.key;
    if (Status s = write_header(a.get(), path, static_cast<int64_t>(f.value.size()), f.mtime); !s) return s.error();
    if (Status s = write_data(a.get(), path, f.value.data(), f.value.size()); !s) return s.error();
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return write_error(a.get(), "the metadata archive");

  std::string out(ZSTD_compressBound(tar.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), tar.data(), tar.size(), kZstdLevel);
  if (ZSTD_isError(n)) return make_error(ErrorKind::internal, std::string("gpkg: zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Error sign_error(const std::string& member, const Error& e) {
  return make_error(e.kind, "gpkg: cannot sign " + member + ": " + e.message);
}

class Rewriter final : public GpkgMemberVisitor {
 public:
  Rewriter(archive* out, const std::map<std::string, std::string>& changes, const std::string& basename,
           PackageSigner* signer, std::filesystem::path scratch)
      : m_out(out), m_changes(changes), m_basename(basename), m_signer(signer), m_scratch(std::move(scratch)) {}
  ~Rewriter() override { close_scratch(); }
  Rewriter(const Rewriter&) = delete;
  Rewriter& operator=(const Rewriter&) = delete;

  Status begin(const std::string& name, int64_t size, std::time_t mtime) override {
    m_name = name;
    m_mtime = mtime;
    if (name == "Manifest") {
      m_manifest_mtime = mtime;
      m_mode = Mode::skip;
    } else if (name.ends_with(".sig")) {
      m_mode = Mode::skip;  // signatures do not survive a rewrite: sign the result instead
    } else if (name.starts_with("metadata.tar")) {
      m_mode = Mode::metadata;
      m_metadata_mtime = mtime;
      m_metadata_bytes.clear();
    } else {
      m_mode = Mode::copy;
      m_digest = std::make_unique<gpkg_detail::ManifestDigest>();
      if (m_signer != nullptr && name != "gpkg-1") {  // Portage signs every member but the marker
        if (Status s = open_scratch(); !s) return s;
      }
      return write_header(m_out, path(name), size, mtime);
    }
    return {};
  }

  Status data(const void* bytes, std::size_t size) override {
    if (m_mode == Mode::metadata) m_metadata_bytes.append(static_cast<const char*>(bytes), size);
    if (m_mode != Mode::copy) return {};
    m_digest->update(bytes, size);
    if (m_scratch_fd >= 0) {
      if (Status s = write_scratch(bytes, size); !s) return s;
    }
    return write_data(m_out, path(m_name), bytes, size);
  }

  Status end() override {
    if (m_mode == Mode::copy) {
      if (archive_write_finish_entry(m_out) != ARCHIVE_OK) return write_error(m_out, path(m_name));
      record(m_name, *m_digest);
      if (m_scratch_fd >= 0) return write_signature(m_name);
    } else if (m_mode == Mode::metadata) {
      return write_metadata();
    }
    return {};
  }

  /// Appends the Manifest of everything written, clear-signed when signing.
  Status finish() {
    std::string manifest = m_manifest;
    if (m_signer != nullptr) {
      auto signed_text = m_signer->clearsign(m_manifest);
      if (!signed_text) return sign_error("the Manifest", signed_text.error());
      manifest = std::move(*signed_text);
    }
    if (Status s = write_header(m_out, path("Manifest"), static_cast<int64_t>(manifest.size()), m_manifest_mtime); !s)
      return s;
    return write_data(m_out, path("Manifest"), manifest.data(), manifest.size());
  }

 private:
  enum class Mode { skip, copy, metadata };

  Status open_scratch() {
    close_scratch();
    m_scratch_fd = ::open(m_scratch.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (m_scratch_fd < 0)
      return make_error(ErrorKind::io, "gpkg: cannot create " + m_scratch.string() + ": " + std::strerror(errno));
    m_scratch_made = true;
    return {};
  }

  void close_scratch() {
    if (m_scratch_fd >= 0) ::close(std::exchange(m_scratch_fd, -1));
    if (m_scratch_made) ::unlink(m_scratch.c_str());
    m_scratch_made = false;
  }

  Status write_scratch(const void* bytes, std::size_t size) {
    const char* p = static_cast<const char*>(bytes);
    while (size > 0) {
      ssize_t n = ::write(m_scratch_fd, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return make_error(ErrorKind::io, "gpkg: cannot write " + m_scratch.string() + ": " + std::strerror(errno));
      p += n;
      size -= static_cast<std::size_t>(n);
    }
    return {};
  }

  // Signs the scratch copy of `name` and appends `<name>.sig` right after the member, as Portage does.
  Status write_signature(const std::string& name) {
    int fd = std::exchange(m_scratch_fd, -1);
    if (::close(fd) != 0)
      return make_error(ErrorKind::io, "gpkg: cannot close " + m_scratch.string() + ": " + std::strerror(errno));
    auto signature = m_signer->sign_detached(m_scratch);
    close_scratch();
    if (!signature) return sign_error(name, signature.error());
    const std::string sig = name + ".sig";
    if (Status s = write_header(m_out, path(sig), static_cast<int64_t>(signature->size()), m_mtime); !s) return s;
    if (Status s = write_data(m_out, path(sig), signature->data(), signature->size()); !s) return s;
    if (archive_write_finish_entry(m_out) != ARCHIVE_OK) return write_error(m_out, path(sig));
    gpkg_detail::ManifestDigest digest;
    digest.update(signature->data(), signature->size());
    record(sig, digest);
    return {};
  }

  std::string path(const std::string& name) const { return m_basename + "/" + name; }

  void record(const std::string& name, gpkg_detail::ManifestDigest& digest) {
    std::string sha512, blake2b;
    uint64_t size = digest.size();
    digest.finish(sha512, blake2b);
    m_manifest += "DATA " + name + " " + std::to_string(size) + " SHA512 " + sha512 + " BLAKE2B " + blake2b + "\n";
  }

  // The input's metadata with the changes applied (BUILD_ID without its newline, as Portage writes it).
  // Runs before the input's Manifest is checked; if that check fails later, the output is removed.
  Status write_metadata() {
    std::string compression = m_name.size() > 13 ? m_name.substr(13) : "";
    auto files = gpkg_detail::parse_metadata_archive(m_metadata_bytes, compression);
    if (!files) return files.error();
    for (const auto& [key, value] : m_changes) {
      std::string raw = key == "BUILD_ID" ? value : value + "\n";
      auto it = std::find_if(files->begin(), files->end(), [&](const auto& f) { return f.key == key; });
      if (it != files->end())
        it->value = std::move(raw);
      else
        files->push_back({key, std::move(raw), m_metadata_mtime});
    }
    std::map<std::string, std::string> values;
    std::size_t total = 0;
    for (const auto& f : *files) {
      total += f.value.size();
      std::string v = f.value;
      if (v.ends_with('\n')) v.pop_back();
      values.emplace(f.key, std::move(v));
    }
    if (total > gpkg_detail::kMaxMetadataBytes) return invalid("the changed metadata is too large");
    if (Status s = gpkg_detail::check_metadata(values, m_basename); !s) return s;

    auto compressed = build_metadata_archive(*files);
    if (!compressed) return compressed.error();
    const std::string name = "metadata.tar.zst";
    if (Status s = write_header(m_out, path(name), static_cast<int64_t>(compressed->size()), m_metadata_mtime); !s)
      return s;
    if (Status s = write_data(m_out, path(name), compressed->data(), compressed->size()); !s) return s;
    if (archive_write_finish_entry(m_out) != ARCHIVE_OK) return write_error(m_out, path(name));
    gpkg_detail::ManifestDigest digest;
    digest.update(compressed->data(), compressed->size());
    record(name, digest);
    if (m_signer == nullptr) return {};
    if (Status s = open_scratch(); !s) return s;
    if (Status s = write_scratch(compressed->data(), compressed->size()); !s) return s;
    return write_signature(name);
  }

  archive* m_out;
  const std::map<std::string, std::string>& m_changes;
  std::string m_basename;
  PackageSigner* m_signer;
  std::filesystem::path m_scratch;  // the member being signed, beside the output
  int m_scratch_fd = -1;
  bool m_scratch_made = false;
  Mode m_mode = Mode::skip;
  std::string m_name;
  std::time_t m_mtime = 0;
  std::unique_ptr<gpkg_detail::ManifestDigest> m_digest;
  std::string m_metadata_bytes;
  std::time_t m_metadata_mtime = 0;
  std::time_t m_manifest_mtime = 0;
  std::string m_manifest;
};

// Writes the rewritten package to the open `out_fd`; the caller closes and, on failure, removes it.
Status rewrite_into(int in_fd, int out_fd, const std::map<std::string, std::string>& changes,
                    const std::string& new_basename, PackageSigner* signer, const std::filesystem::path& scratch) {
  WritePtr a(archive_write_new(), archive_write_free);
  // pax_restricted writes plain ustar headers and falls back to pax only for what ustar cannot hold
  // (an image over 8 GiB).
  if (!a || archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_add_filter_none(a.get()) != ARCHIVE_OK || archive_write_open_fd(a.get(), out_fd) != ARCHIVE_OK)
    return make_error(ErrorKind::internal, "gpkg: cannot start the output archive");
  Rewriter rewriter(a.get(), changes, new_basename, signer, scratch);
  auto info = scan_gpkg_fd(in_fd, rewriter);
  if (!info) return info.error();
  if (Status s = rewriter.finish(); !s) return s;
  if (archive_write_close(a.get()) != ARCHIVE_OK) return write_error(a.get(), "the package");
  if (::fsync(out_fd) != 0) return make_error(ErrorKind::io, std::string("gpkg: fsync: ") + std::strerror(errno));
  return {};
}

}  // namespace

Status rewrite_gpkg(const std::filesystem::path& in, const std::filesystem::path& out,
                    const std::map<std::string, std::string>& changes, const std::string& new_basename,
                    PackageSigner* signer) {
  if (!gpkg_detail::valid_member_name(new_basename))
    return invalid("invalid package directory name '" + new_basename + "'");
  for (const auto& [key, value] : changes) {
    if (!gpkg_detail::valid_metadata_key(key)) return invalid("invalid metadata key '" + key + "'");
  }
  int in_fd = ::open(in.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (in_fd < 0) {
    ErrorKind kind = errno == ENOENT ? ErrorKind::not_found : ErrorKind::io;
    return make_error(kind, "gpkg: cannot open " + in.string() + ": " + std::strerror(errno));
  }
  fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) & ~O_NONBLOCK);
  int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, kFileMode);
  if (out_fd < 0) {
    ErrorKind kind = errno == EEXIST ? ErrorKind::conflict : ErrorKind::io;
    Error e = make_error(kind, "gpkg: cannot create " + out.string() + ": " + std::strerror(errno));
    ::close(in_fd);
    return e;
  }
  std::filesystem::path scratch = out;
  scratch += ".sign.tmp";  // ".tmp": start-up reconciliation removes one a crash left behind
  Status status = rewrite_into(in_fd, out_fd, changes, new_basename, signer, scratch);
  ::close(in_fd);
  if (::close(out_fd) != 0 && status) {
    status = make_error(ErrorKind::io, "gpkg: cannot close " + out.string() + ": " + std::strerror(errno));
  }
  if (!status) ::unlink(out.c_str());
  return status;
}

}  // namespace swarm
