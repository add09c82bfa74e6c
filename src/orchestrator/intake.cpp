// Intake: staged upload -> our own verified copy -> rewritten with its BUILD_ID -> linked into PKGDIR.
#include "orchestrator/intake.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/crypto.hpp"
#include "common/logging.hpp"
#include "common/text.hpp"
#include "orchestrator/binhost.hpp"

namespace swarm::orch {

namespace fs = std::filesystem;

namespace {

Error invalid(std::string message) { return make_error(ErrorKind::invalid, std::move(message)); }

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return m_fd; }
  explicit operator bool() const { return m_fd >= 0; }
  void reset() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }
  int release() { return std::exchange(m_fd, -1); }

 private:
  int m_fd = -1;
};

// Why openat(dir, name) failed, for a human: a symlink is named as such.
Error open_error(int dir, const std::string& name, int err, const std::string& shown, const std::string& what) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    return invalid("symlink in " + what + ": " + shown);
  if (err == ENOENT) return make_error(ErrorKind::not_found, "not found in " + what + ": " + shown);
  if (err == ENOTDIR) return invalid("not a directory in " + what + ": " + shown);
  return errno_error("cannot open " + shown, err);
}

// Copies at most max_bytes from src's offset to dst (none when dst < 0), hashing the very bytes written.
Result<int64_t> copy_fd(int src, int dst, int64_t max_bytes, Sha256* hash) {
  std::vector<char> buf(1 << 20);
  int64_t total = 0;
  while (total < max_bytes) {
    size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buf.size()), max_bytes - total));
    ssize_t n = ::read(src, buf.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read", errno);
    if (n == 0) break;
    if (hash) hash->update(buf.data(), static_cast<size_t>(n));
    for (ssize_t done = 0; dst >= 0 && done < n;) {
      ssize_t w = ::write(dst, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno_error("write", errno);
      done += w;
    }
    total += n;
  }
  return total;
}

// The names in a directory, "." and ".." left out.
std::vector<std::string> list_dir(int dir) {
  std::vector<std::string> out;
  int fd = ::dup(dir);
  if (fd < 0) return out;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return out;
  }
  ::rewinddir(d);
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

// Removes parent/name and everything below it through descriptors only: a directory swapped for a
// symlink mid-way is unlinked, never followed out of the tree.
void remove_tree_at(int parent, const std::string& name, int depth = 0) {
  UniqueFd dir(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    ::unlinkat(parent, name.c_str(), 0);
    return;
  }
  if (depth < 64)
    for (const auto& child : list_dir(dir.get())) remove_tree_at(dir.get(), child, depth + 1);
  ::unlinkat(parent, name.c_str(), AT_REMOVEDIR);
}

// Removes a file when the scope ends unless released: nothing half-made stays in `incoming`.
class FileGuard {
 public:
  explicit FileGuard(fs::path p) : m_path(std::move(p)) {}
  ~FileGuard() {
    if (!m_path.empty()) ::unlink(m_path.c_str());
  }
  FileGuard(const FileGuard&) = delete;
  FileGuard& operator=(const FileGuard&) = delete;
  void release() { m_path.clear(); }

 private:
  fs::path m_path;
};

bool is_lower_hex64(const std::string& s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// FILE is PF.gpkg.tar or PF-<digits>.gpkg.tar (a drone's local BUILD_ID, replaced by ours).
bool file_matches_pf(const std::string& file, const std::string& pf) {
  constexpr std::string_view suffix = ".gpkg.tar";
  if (file.size() <= suffix.size() || !file.ends_with(suffix)) return false;
  std::string stem = file.substr(0, file.size() - suffix.size());
  if (stem == pf) return true;
  if (stem.size() <= pf.size() + 1 || stem.compare(0, pf.size(), pf) != 0 || stem[pf.size()] != '-') return false;
  return std::all_of(stem.begin() + static_cast<std::ptrdiff_t>(pf.size()) + 1, stem.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// Validates CATEGORY/PN/FILE for PKGDIR (no hidden names: those are ours, like .orphaned).
Result<std::vector<std::string>> pkgdir_components(const std::string& rel_path) {
  auto comps = split_relative_path(rel_path);
  if (!comps) return comps.error();
  if (comps->size() != 3) return invalid("PKGDIR path must be CATEGORY/PN/FILE: " + rel_path);
  for (const auto& c : *comps)
    if (c.front() == '.') return invalid("hidden name refused in PKGDIR path: " + rel_path);
  return comps;
}

Result<UniqueFd> open_pkgdir_parent(const fs::path& pkgdir, const std::vector<std::string>& comps, bool create) {
  UniqueFd dir(::open(pkgdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno_error("cannot open PKGDIR " + pkgdir.string(), errno);
  for (size_t i = 0; i + 1 < comps.size(); ++i) {
    bool created = create && ::mkdirat(dir.get(), comps[i].c_str(), 0755) == 0;
    if (create && !created && errno != EEXIST) return errno_error("cannot create " + comps[i] + " in PKGDIR", errno);
    UniqueFd sub(::openat(dir.get(), comps[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return errno_error("cannot open " + comps[i] + " in PKGDIR", errno);
    // A new directory entry must survive a crash as much as the file linked into it.
    if (created && ::fsync(dir.get()) != 0) return errno_error("fsync of PKGDIR directory", errno);
    dir = std::move(sub);
  }
  return dir;
}

}  // namespace

Result<std::vector<std::string>> split_relative_path(const std::string& rel_path) {
  if (rel_path.empty()) return invalid("empty path");
  if (rel_path.front() == '/') return invalid("absolute path refused: " + rel_path);
  if (rel_path.find('\0') != std::string::npos) return invalid("NUL byte in path");
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    size_t j = rel_path.find('/', i);
    std::string c = rel_path.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (c.empty()) return invalid("empty component in path: " + rel_path);
    if (c == "..") return invalid("path traversal refused: " + rel_path);
    if (c == ".") return invalid("'.' component refused in path: " + rel_path);
    out.push_back(std::move(c));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

Result<int> open_beneath(const fs::path& root, const std::vector<std::string>& components, bool single_link,
                         const std::string& what) {
  if (components.empty()) return invalid("empty path");
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir)
    return make_error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::io,
                      "cannot open " + root.string() + ": " + std::strerror(errno));
  std::string shown;
  for (size_t i = 0; i < components.size(); ++i) {
    const std::string& c = components[i];
    shown += (i ? "/" : "") + c;
    bool last = i + 1 == components.size();
    // O_NONBLOCK: a FIFO must not block the open; fstat below refuses it.
    int flags = last ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
                     : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd next(::openat(dir.get(), c.c_str(), flags));
    if (!next) return open_error(dir.get(), c, errno, shown, what);
    dir = std::move(next);
  }
  struct stat st {};
  if (::fstat(dir.get(), &st) != 0) return errno_error("stat " + shown, errno);
  if (!S_ISREG(st.st_mode)) return invalid("not a regular file: " + shown);
  if (single_link && st.st_nlink != 1)
    return invalid("file has " + std::to_string(st.st_nlink) + " hard links (must be 1): " + shown);
  ::fcntl(dir.get(), F_SETFL, ::fcntl(dir.get(), F_GETFL) & ~O_NONBLOCK);
  return dir.release();
}

bool valid_path_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.size() > 200) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

Intake::Intake(IntakePaths paths, PackageSigner* signer) : m_paths(std::move(paths)), m_signer(signer) {
  std::error_code ec;  // failures show up, with a reason, in the first operation that needs the directory
  for (const auto* p : {&m_paths.staging_root, &m_paths.pkgdir, &m_paths.incoming, &m_paths.logs})
    if (!p->empty()) fs::create_directories(*p, ec);
}

Result<StagedBinary> Intake::take(const std::string& drone, const std::string& lease_id, const std::string& rel_path,
                                  int64_t expected_size, const std::string& expected_sha256,
                                  const std::string& expected_cpv) {
  if (!valid_path_name(drone)) return invalid("invalid drone name '" + drone + "'");
  if (!valid_path_name(lease_id)) return invalid("invalid lease id '" + lease_id + "'");
  auto atom = parse_atom(expected_cpv);
  if (!atom || atom->cpv() != expected_cpv) return invalid("invalid expected CPV '" + expected_cpv + "'");
  std::string want_sha = ascii_lower(expected_sha256);
  if (!is_lower_hex64(want_sha)) return invalid("invalid sha256 '" + expected_sha256 + "': expected 64 hex digits");
  if (expected_size < 0) return invalid("invalid size " + std::to_string(expected_size));

  auto comps = split_relative_path(rel_path);
  if (!comps) return invalid(comps.error().message);
  if (comps->size() != 3) return invalid("staged path must be CATEGORY/PN/FILE: " + rel_path);
  const auto& file = (*comps)[2];
  if ((*comps)[0] != atom->category || (*comps)[1] != atom->pn)
    return invalid("staged path " + rel_path + " is not under " + atom->category + "/" + atom->pn + "/");
  if (!file_matches_pf(file, atom->pf()))
    return invalid("file name " + file + " does not match PF " + atom->pf() + " (PF[-BUILD_ID].gpkg.tar)");

  std::vector<std::string> all{drone, lease_id};
  all.insert(all.end(), comps->begin(), comps->end());
  auto opened = open_beneath(m_paths.staging_root, all, true);
  if (!opened) return invalid(opened.error().message);
  UniqueFd src(*opened);
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return invalid("cannot stat staged file: " + std::string(std::strerror(errno)));
  if (st.st_size != expected_size)  // early: a wrong size need not be copied
    return invalid("size mismatch: expected " + std::to_string(expected_size) + ", got " + std::to_string(st.st_size));

  fs::path copy = m_paths.incoming / ("take-" + random_token(8) + ".tmp");
  UniqueFd dst(::open(copy.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!dst) return invalid("cannot create our copy " + copy.string() + ": " + std::strerror(errno));
  FileGuard guard(copy);
  Sha256 hash;
  // One byte more than expected is enough to see that the file grew after the check.
  auto copied = copy_fd(src.get(), dst.get(), expected_size + 1, &hash);
  if (!copied) return invalid("copying the staged file failed: " + copied.error().message);
  if (*copied != expected_size)
    return invalid("size mismatch: expected " + std::to_string(expected_size) + ", got " +
                   (*copied > expected_size ? "more" : std::to_string(*copied)) + " bytes while copying");
  std::string got_sha = hash.finish_hex();
  if (got_sha != want_sha) return invalid("sha256 mismatch: expected " + want_sha + ", got " + got_sha);

  auto info = read_gpkg_fd(dst.get());
  if (!info) return invalid("gpkg verification failed: " + info.error().message);
  if (info->category() != atom->category)
    return invalid("metadata CATEGORY is '" + info->category() + "', expected '" + atom->category + "'");
  if (info->pf() != atom->pf()) return invalid("metadata PF is '" + info->pf() + "', expected '" + atom->pf() + "'");

  guard.release();
  return StagedBinary{copy, got_sha, *copied, std::move(*info), std::move(*atom)};
}

Result<std::pair<BinaryRecord, fs::path>> Intake::prepare(const StagedBinary& staged, int64_t build_id) {
  if (build_id <= 0) return invalid("invalid BUILD_ID " + std::to_string(build_id));
  const Atom& atom = staged.atom;
  std::string base = atom.pf() + "-" + std::to_string(build_id);
  fs::path out = m_paths.incoming / ("prepare-" + random_token(8) + ".tmp");
  if (auto st = rewrite_gpkg(staged.copy, out, {{"BUILD_ID", std::to_string(build_id)}}, base, m_signer); !st)
    return st.error();
  FileGuard guard(out);

  // Our own output is verified too: a writer bug must not reach every client.
  UniqueFd fd(::open(out.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("cannot open " + out.string(), errno);
  auto info = read_gpkg_fd(fd.get());
  if (!info) return make_error(ErrorKind::internal, "rewritten package does not verify: " + info.error().message);
  if (info->basename != base || info->build_id() != build_id || info->category() != atom.category ||
      info->pf() != atom.pf())
    return make_error(ErrorKind::internal, "rewritten package has the wrong name or BUILD_ID: " + info->basename);
  if (m_signer != nullptr) {
    for (const auto& m : info->members) {
      bool needs_sig = m != "gpkg-1" && m != "Manifest" && !m.ends_with(".sig");
      if (needs_sig && std::find(info->members.begin(), info->members.end(), m + ".sig") == info->members.end())
        return make_error(ErrorKind::internal, "signed package lacks " + m + ".sig");
    }
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return errno_error("seek " + out.string(), errno);
  Sha256 hash;
  auto hashed = copy_fd(fd.get(), -1, INT64_MAX, &hash);
  if (!hashed) return hashed.error();
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + out.string(), errno);

  BinaryRecord rec;
  rec.cpv = atom.cpv();
  rec.build_id = build_id;
  rec.path = atom.category + "/" + atom.pn + "/" + base + ".gpkg.tar";
  rec.sha256 = hash.finish_hex();
  rec.size = st.st_size;
  rec.mtime = st.st_mtime;  // link() keeps the inode, so the installed file has this mtime
  rec.metadata = index_metadata(info->metadata);
  guard.release();
  return std::make_pair(std::move(rec), out);
}

Status Intake::install(const fs::path& temp, const std::string& rel_path) {
  auto comps = pkgdir_components(rel_path);
  if (!comps) return comps.error();
  auto dir = open_pkgdir_parent(m_paths.pkgdir, *comps, true);
  if (!dir) return dir.error();
  const std::string& name = (*comps)[2];
  if (::linkat(AT_FDCWD, temp.c_str(), dir->get(), name.c_str(), 0) != 0) {
    int err = errno;
    if (err == EEXIST)
      return make_error(ErrorKind::conflict, "refusing to replace existing file in PKGDIR: " + rel_path);
    if (err == EXDEV) return make_error(ErrorKind::io, "incoming and PKGDIR must be on the same filesystem");
    return errno_error("cannot link " + rel_path + " into PKGDIR", err);
  }
  if (::fsync(dir->get()) != 0) {
    int err = errno;
    ::unlinkat(dir->get(), name.c_str(), 0);
    return errno_error("fsync of PKGDIR directory for " + rel_path, err);
  }
  // Not fatal: start-up reconciliation removes temp files left in incoming.
  if (::unlink(temp.c_str()) != 0)
    component_logger("intake")->warn("cannot remove temp file {}: {}", temp.string(), std::strerror(errno));
  return {};
}

void Intake::uninstall(const std::string& rel_path) {
  auto comps = pkgdir_components(rel_path);
  if (!comps) return;
  auto dir = open_pkgdir_parent(m_paths.pkgdir, *comps, false);
  if (!dir) return;
  if (::unlinkat(dir->get(), (*comps)[2].c_str(), 0) == 0) ::fsync(dir->get());
}

void Intake::discard(const fs::path& file) {
  if (file.empty() || file.parent_path() != m_paths.incoming) return;
  ::unlink(file.c_str());
}

Result<fs::path> Intake::store_log(const std::string& drone, const std::string& lease_id, const std::string& log_rel) {
  if (!valid_path_name(drone)) return invalid("invalid drone name '" + drone + "'");
  if (!valid_path_name(lease_id)) return invalid("invalid lease id '" + lease_id + "'");
  auto comps = split_relative_path(log_rel);
  if (!comps) return comps.error();
  if (comps->size() < 2 || (*comps)[0] != "logs") return invalid("log path must be under logs/: " + log_rel);
  std::vector<std::string> all{drone, lease_id};
  all.insert(all.end(), comps->begin(), comps->end());
  auto opened = open_beneath(m_paths.staging_root, all, true);
  if (!opened) return opened.error();
  UniqueFd src(*opened);
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return errno_error("stat of staged log", errno);

  std::error_code ec;
  fs::create_directories(m_paths.logs, ec);
  fs::path tmp = m_paths.logs / ("." + lease_id + "-" + random_token(8) + ".tmp");
  UniqueFd dst(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!dst) return errno_error("cannot create " + tmp.string(), errno);
  FileGuard guard(tmp);
  if (st.st_size > kMaxLogBytes) {
    std::string note =
        "[build-swarm: the first " + std::to_string(st.st_size - kMaxLogBytes) + " bytes were dropped]\n";
    if (::write(dst.get(), note.data(), note.size()) != static_cast<ssize_t>(note.size()) ||
        ::lseek(src.get(), st.st_size - kMaxLogBytes, SEEK_SET) < 0)
      return errno_error("cannot write " + tmp.string(), errno);
  }
  auto copied = copy_fd(src.get(), dst.get(), kMaxLogBytes, nullptr);
  if (!copied) return copied.error();
  if (::fsync(dst.get()) != 0) return errno_error("fsync " + tmp.string(), errno);
  fs::path final_path = m_paths.logs / (lease_id + ".log");
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) return errno_error("cannot rename to " + final_path.string(), errno);
  guard.release();
  return final_path;
}

void Intake::cleanup_lease(const std::string& drone, const std::string& lease_id) {
  if (!valid_path_name(drone) || !valid_path_name(lease_id)) return;
  UniqueFd root(::open(m_paths.staging_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return;
  UniqueFd dir(::openat(root.get(), drone.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return;
  remove_tree_at(dir.get(), lease_id);
}

int64_t Intake::prune_staging(int64_t now_unix, int64_t max_age_s,
                              const std::function<bool(const std::string&, const std::string&)>& keep) {
  UniqueFd root(::open(m_paths.staging_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return 0;
  int64_t removed = 0;
  for (const auto& drone : list_dir(root.get())) {
    if (!valid_path_name(drone)) continue;
    UniqueFd dir(::openat(root.get(), drone.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) continue;
    for (const auto& lease : list_dir(dir.get())) {
      struct stat st {};
      if (::fstatat(dir.get(), lease.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (st.st_mtime >= now_unix - max_age_s || (keep && keep(drone, lease))) continue;
      remove_tree_at(dir.get(), lease);
      ++removed;
    }
  }
  if (removed > 0) component_logger("intake")->info("pruned {} stale staging directories", removed);
  return removed;
}

Status Intake::prepare_lease_dir(const std::string& drone, const std::string& lease_id) {
  if (!valid_path_name(drone)) return invalid("invalid drone name '" + drone + "'");
  if (!valid_path_name(lease_id)) return invalid("invalid lease id '" + lease_id + "'");
  std::error_code ec;
  fs::create_directories(m_paths.staging_root, ec);
  UniqueFd dir(::open(m_paths.staging_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno_error("cannot open staging root " + m_paths.staging_root.string(), errno);
  std::string shown;
  for (const auto* name : {&drone, &lease_id}) {
    shown += (shown.empty() ? "" : "/") + *name;
    if (::mkdirat(dir.get(), name->c_str(), 0755) != 0 && errno != EEXIST)
      return errno_error("cannot create staging directory " + shown, errno);
    UniqueFd sub(::openat(dir.get(), name->c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return open_error(dir.get(), *name, errno, shown, "staging path");
    struct stat st {};
    if (::fstat(sub.get(), &st) != 0) return errno_error("stat " + shown, errno);
    if (st.st_uid != ::geteuid())
      return make_error(ErrorKind::conflict, "staging directory " + shown + " is owned by uid " +
                                                 std::to_string(st.st_uid) + ", not by this user");
    // Exactly 0755 whatever the umask: the upload user writes, nobody else does.
    if ((st.st_mode & 07777) != 0755 && ::fchmod(sub.get(), 0755) != 0) return errno_error("chmod " + shown, errno);
    dir = std::move(sub);
  }
  return {};
}

}  // namespace swarm::orch
