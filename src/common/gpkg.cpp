// The parts of gpkg handling shared by the reader and the writer: digests, the Manifest, the
// metadata archive and the metadata rules.
#include "common/gpkg.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <charconv>
#include <memory>
#include <stdexcept>

#include "common/crypto.hpp"
#include "common/text.hpp"

namespace swarm {

namespace {

using gpkg_detail::invalid;

constexpr std::size_t kMaxMetadataFiles = 256;
constexpr std::size_t kMaxNameLength = 255;

std::string find_or_empty(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? std::string() : it->second;
}

// CATEGORY and PF end up in file names: the Portage name characters only, no leading '-' or '.'.
bool valid_package_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength || s.front() == '-' || s.front() == '.') return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '_' ||
              c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

// The DATA lines of a Manifest: all of it, or the signed text of a clear-signed one.
Result<std::vector<std::string_view>> manifest_body(std::string_view text) {
  std::vector<std::string_view> lines = split_lines(text);
  std::size_t i = 0;
  while (i < lines.size() && lines[i].empty()) ++i;
  if (i == lines.size() || lines[i] != "-----BEGIN PGP SIGNED MESSAGE-----") {
    for (auto line : lines) {
      if (line.starts_with("-----")) return invalid("the Manifest has a stray OpenPGP armor line");
    }
    return lines;
  }
  ++i;
  while (i < lines.size() && !lines[i].empty()) ++i;  // armor headers ("Hash: SHA512")
  std::vector<std::string_view> body;
  for (++i; i < lines.size() && lines[i] != "-----BEGIN PGP SIGNATURE-----"; ++i) {
    std::string_view line = lines[i];
    if (line.starts_with("- "))
      line.remove_prefix(2);  // dash-escaping (RFC 4880 section 7.1)
    else if (line.starts_with("-"))
      return invalid("the clear-signed Manifest has an unescaped '-' line");
    body.push_back(line);
  }
  while (i < lines.size() && lines[i] != "-----END PGP SIGNATURE-----") ++i;
  if (i == lines.size()) return invalid("the clear-signed Manifest has no complete signature");
  for (++i; i < lines.size(); ++i) {
    if (!lines[i].empty()) return invalid("the clear-signed Manifest has text after its signature");
  }
  return body;
}

}  // namespace

std::string GpkgInfo::category() const { return find_or_empty(metadata, "CATEGORY"); }
std::string GpkgInfo::pf() const { return find_or_empty(metadata, "PF"); }

std::optional<int64_t> GpkgInfo::build_id() const {
  auto it = metadata.find("BUILD_ID");
  if (it == metadata.end()) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || ptr != it->second.data() + it->second.size()) return std::nullopt;
  return v;
}

namespace gpkg_detail {

Error invalid(std::string message) { return make_error(ErrorKind::invalid, "gpkg: " + std::move(message)); }

ManifestDigest::ManifestDigest() : m_sha512(EVP_MD_CTX_new()), m_blake2b(EVP_MD_CTX_new()) {
  auto init = [](EVP_MD_CTX* ctx, const char* algorithm) {
    EVP_MD* md = EVP_MD_fetch(nullptr, algorithm, nullptr);
    bool ok = ctx != nullptr && md != nullptr && EVP_DigestInit_ex(ctx, md, nullptr) == 1;
    EVP_MD_free(md);
    if (!ok) throw std::runtime_error(std::string("OpenSSL lacks ") + algorithm);
  };
  try {
    init(m_sha512, "SHA512");
    init(m_blake2b, "BLAKE2B-512");
  } catch (...) {
    EVP_MD_CTX_free(m_sha512);
    EVP_MD_CTX_free(m_blake2b);
    throw;
  }
}

ManifestDigest::~ManifestDigest() {
  EVP_MD_CTX_free(m_sha512);
  EVP_MD_CTX_free(m_blake2b);
}

void ManifestDigest::update(const void* bytes, std::size_t size) {
  if (size == 0) return;
  if (EVP_DigestUpdate(m_sha512, bytes, size) != 1 || EVP_DigestUpdate(m_blake2b, bytes, size) != 1)
    throw std::runtime_error("EVP_DigestUpdate failed");
  m_size += size;
}

void ManifestDigest::finish(std::string& sha512_hex, std::string& blake2b_hex) {
  auto final_hex = [](EVP_MD_CTX* ctx) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx, md, &len) != 1) throw std::runtime_error("EVP_DigestFinal_ex failed");
    return to_hex(std::string_view(reinterpret_cast<const char*>(md), len));
  };
  sha512_hex = final_hex(m_sha512);
  blake2b_hex = final_hex(m_blake2b);
}

Result<std::map<std::string, ManifestEntry>> parse_manifest(std::string_view text) {
  auto body = manifest_body(text);
  if (!body) return body.error();
  std::map<std::string, ManifestEntry> entries;
  for (std::string_view line : *body) {
    const std::vector<std::string> w = split_words(line);
    if (w.empty()) continue;
    std::string shown(line.substr(0, 80));
    if (w[0] != "DATA" || w.size() < 3 || (w.size() - 3) % 2 != 0)
      return invalid("unexpected Manifest line '" + shown + "'");
    ManifestEntry entry;
    auto [ptr, ec] = std::from_chars(w[2].data(), w[2].data() + w[2].size(), entry.size);
    if (!all_digits(w[2]) || ec != std::errc() || ptr != w[2].data() + w[2].size())
      return invalid("bad size in Manifest line '" + shown + "'");
    for (std::size_t i = 3; i < w.size(); i += 2) {
      std::string hex = ascii_lower(w[i + 1]);
      std::string* slot = w[i] == "SHA512" ? &entry.sha512 : w[i] == "BLAKE2B" ? &entry.blake2b : nullptr;
      if (slot == nullptr) continue;  // other GLEP 74 hashes are allowed; these two are required
      if (!slot->empty()) return invalid("repeated hash in Manifest line '" + shown + "'");
      if (hex.size() != 128 || !is_hex(hex)) return invalid("bad digest in Manifest line '" + shown + "'");
      *slot = std::move(hex);
    }
    if (entry.sha512.empty() || entry.blake2b.empty())
      return invalid("Manifest line '" + shown + "' lacks SHA512 or BLAKE2B");
    if (!entries.emplace(std::string(w[1]), std::move(entry)).second)
      return invalid("the Manifest lists '" + std::string(w[1]) + "' twice");
  }
  return entries;
}

std::string archive_message(archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "unknown libarchive error";
}

bool valid_member_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name == "." || name == "..") return false;
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == '/' || c == '\\') return false;
  }
  return true;
}

bool valid_metadata_key(std::string_view key) { return valid_package_name(key); }

Result<std::vector<MetadataFile>> parse_metadata_archive(std::string_view bytes, const std::string& compression) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  if (!a) return make_error(ErrorKind::internal, "gpkg: out of memory");
  archive_read_support_format_tar(a.get());
  struct Filter {
    const char* suffix;
    int (*enable)(archive*);
    int code;
  };
  static const Filter kFilters[] = {{"zst", archive_read_support_filter_zstd, ARCHIVE_FILTER_ZSTD},
                                    {"xz", archive_read_support_filter_xz, ARCHIVE_FILTER_XZ},
                                    {"gz", archive_read_support_filter_gzip, ARCHIVE_FILTER_GZIP},
                                    {"bz2", archive_read_support_filter_bzip2, ARCHIVE_FILTER_BZIP2},
                                    {"lz4", archive_read_support_filter_lz4, ARCHIVE_FILTER_LZ4}};
  int expected_filter = ARCHIVE_FILTER_NONE;
  if (!compression.empty()) {
    const Filter* filter = nullptr;
    for (const auto& f : kFilters) {
      if (compression == f.suffix) filter = &f;
    }
    if (filter == nullptr) return invalid("unsupported metadata compression '" + compression + "'");
    // Only the filter the member name announces, and only built in (ARCHIVE_WARN: an external program).
    if (filter->enable(a.get()) != ARCHIVE_OK)
      return make_error(ErrorKind::internal, "gpkg: libarchive lacks built-in " + compression);
    expected_filter = filter->code;
  }
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
    return invalid("unreadable metadata archive: " + archive_message(a.get()));

  std::vector<MetadataFile> files;
  std::size_t total = 0;
  while (true) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return invalid("unreadable metadata archive: " + archive_message(a.get()));
    if (archive_filter_code(a.get(), 0) != expected_filter)
      return invalid("the metadata archive's compression does not match its name");
    const char* raw = archive_entry_pathname(entry);
    std::string path = raw ? raw : "";
    if (archive_entry_filetype(entry) == AE_IFDIR)
      return invalid("the metadata archive holds a directory entry '" + path + "' (Portage refuses it)");
    if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry) != nullptr)
      return invalid("metadata entry '" + path + "' is not a regular file");
    if (!path.starts_with("metadata/") || !valid_metadata_key(std::string_view(path).substr(9)))
      return invalid("unexpected metadata entry '" + path + "'");
    if (files.size() >= kMaxMetadataFiles) return invalid("too many metadata entries");
    int64_t size = archive_entry_size(entry);
    if (size < 0 || static_cast<uint64_t>(size) > gpkg_detail::kMaxMetadataBytes - total)
      return invalid("the metadata is too large");
    MetadataFile file{path.substr(9), std::string(static_cast<std::size_t>(size), '\0'), archive_entry_mtime(entry)};
    for (const auto& f : files) {
      if (f.key == file.key) return invalid("metadata key '" + file.key + "' appears twice");
    }
    la_ssize_t got = size == 0 ? 0 : archive_read_data(a.get(), file.value.data(), file.value.size());
    if (got != size) return invalid("metadata entry '" + path + "' is truncated or damaged");
    total += file.value.size();
    files.push_back(std::move(file));
  }
  return files;
}

std::string expected_basename(const std::map<std::string, std::string>& metadata) {
  std::string pf = find_or_empty(metadata, "PF");
  auto it = metadata.find("BUILD_ID");
  return it == metadata.end() ? pf : pf + "-" + it->second;
}

Status check_metadata(const std::map<std::string, std::string>& metadata, const std::string& basename) {
  for (const char* key : {"CATEGORY", "PF", "SLOT"}) {
    if (find_or_empty(metadata, key).empty()) return invalid(std::string("the metadata lacks ") + key);
  }
  if (!valid_package_name(metadata.at("CATEGORY")))
    return invalid("invalid CATEGORY '" + metadata.at("CATEGORY") + "'");
  if (!valid_package_name(metadata.at("PF"))) return invalid("invalid PF '" + metadata.at("PF") + "'");
  if (auto it = metadata.find("BUILD_ID"); it != metadata.end() && (!all_digits(it->second) || it->second.size() > 18))
    return invalid("BUILD_ID '" + it->second + "' is not a number");
  std::string expected = expected_basename(metadata);
  if (basename != expected)
    return invalid("the package directory '" + basename + "' does not match PF[-BUILD_ID] '" + expected + "'");
  return {};
}

}  // namespace gpkg_detail
}  // namespace swarm
