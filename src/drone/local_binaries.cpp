#include "drone/local_binaries.hpp"

#include <sys/stat.h>

#include <cctype>

#include "common/packages_index.hpp"
#include "drone/durable_file.hpp"

namespace swarm::drone {

namespace fs = std::filesystem;

namespace {

bool safe_component(const std::string& c) {
  if (c.empty() || c == "." || c == ".." || c[0] == '-' || c[0] == '.') return false;
  for (char ch : c)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '+' && ch != '_' && ch != '.' && ch != '-') return false;
  return true;
}

std::string field(const PackagesEntry& e, const char* key) {
  auto it = e.find(key);
  return it == e.end() ? std::string() : it->second;
}

Result<PackagesIndex> read_index(const fs::path& pkgdir) {
  auto text = read_whole_file(pkgdir / "Packages");
  if (!text) return text.error();
  return parse_packages(*text);
}

}  // namespace

bool safe_binary_path(const std::string& rel_path) {
  fs::path p(rel_path);
  if (p.is_absolute()) return false;
  int n = 0;
  for (const auto& part : p) {
    if (!safe_component(part.string())) return false;
    ++n;
  }
  return n == 3;
}

Result<LocalBinary> find_built_binary(const fs::path& pkgdir, const Atom& atom, int64_t start_unix) {
  auto index = read_index(pkgdir);
  if (!index) return make_error(ErrorKind::not_found, "no usable Packages index: " + index.error().message);
  auto entry = find_built_entry(*index, atom.cpv(), start_unix);
  if (!entry) return make_error(ErrorKind::not_found, "Packages lists no " + atom.cpv() + " built since the start");
  LocalBinary bin;
  bin.rel_path = field(*entry, "PATH");
  try {
    bin.build_id = std::stoll(field(*entry, "BUILD_ID"));
  } catch (const std::exception&) {
    bin.build_id = 0;
  }
  if (!safe_binary_path(bin.rel_path) || fs::path(bin.rel_path).parent_path() != fs::path(atom.category) / atom.pn)
    return make_error(ErrorKind::not_found, "Packages entry for " + atom.cpv() + " has PATH '" + bin.rel_path +
                                                "', not " + atom.cp() + "/FILE (binpkg-multi-instance layout)");
  struct stat st {};
  const fs::path full = pkgdir / bin.rel_path;
  if (::lstat(full.c_str(), &st) != 0) return make_error(ErrorKind::not_found, full.string() + " does not exist");
  if (!S_ISREG(st.st_mode)) return make_error(ErrorKind::not_found, full.string() + " is not a regular file");
  if (st.st_size <= 0) return make_error(ErrorKind::not_found, full.string() + " is empty (Portage's placeholder)");
  bin.size = st.st_size;
  return bin;
}

Status drop_local_binary(const fs::path& pkgdir, const std::string& rel_path) {
  if (!safe_binary_path(rel_path)) return make_error(ErrorKind::invalid, "unsafe binary path '" + rel_path + "'");
  // The index first: a listed file that is missing misleads Portage; an unlisted file is only litter.
  if (auto index = read_index(pkgdir); index) {
    if (remove_entry(*index, rel_path)) {
      if (auto st = write_file_durably(pkgdir / "Packages", format_packages(*index)); !st) return st;
    }
  } else if (index.error().kind != ErrorKind::not_found) {
    return index.error();
  }
  std::error_code ec;
  fs::remove(pkgdir / rel_path, ec);
  if (ec) return make_error(ErrorKind::io, "cannot remove " + (pkgdir / rel_path).string() + ": " + ec.message());
  return {};
}

int prune_local_binaries(const fs::path& pkgdir, int64_t max_age_s, const std::set<std::string>& keep,
                         const Clock& clock) {
  auto index = read_index(pkgdir);
  if (!index) return 0;
  const int64_t cutoff = clock.now_unix() - max_age_s;
  std::set<std::string> listed;
  std::vector<std::string> old;
  for (const auto& entry : index->packages) {
    std::string path = field(entry, "PATH");
    listed.insert(path);
    if (!safe_binary_path(path) || keep.count(path)) continue;
    struct stat st {};
    if (::lstat((pkgdir / path).c_str(), &st) != 0 || st.st_mtime < cutoff) old.push_back(path);
  }
  int removed = 0;
  for (const auto& path : old)
    if (drop_local_binary(pkgdir, path)) ++removed;
  // Old empty placeholders nothing lists: what failed builds leave behind.
  std::error_code ec;
  std::vector<fs::path> placeholders;
  for (auto it = fs::recursive_directory_iterator(pkgdir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it.depth() != 2 || !it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), pkgdir, ec).string();
    struct stat st {};
    if (ec || listed.count(rel) || keep.count(rel) || ::lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_size == 0 && st.st_mtime < cutoff) placeholders.push_back(it->path());
  }
  for (const auto& p : placeholders)
    if (fs::remove(p, ec)) ++removed;
  return removed;
}

}  // namespace swarm::drone
