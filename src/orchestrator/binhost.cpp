// Binhost: the `Packages` index from the database, written in batches (serving: binhost_http.cpp).
#include "orchestrator/binhost.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

#include "common/crypto.hpp"
#include "common/logging.hpp"
#include "common/packages_index.hpp"
#include "common/text.hpp"
#include "orchestrator/intake.hpp"

namespace swarm::orch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Metadata keys copied into each package block as they are (REPO comes from `repository`).
constexpr const char* kCopiedKeys[] = {"BUILD_TIME", "EAPI",     "USE",      "IUSE",      "KEYWORDS", "LICENSE",
                                       "RDEPEND",    "DEPEND",   "BDEPEND",  "PDEPEND",   "IDEPEND",  "DEFINED_PHASES",
                                       "PROVIDES",   "REQUIRES", "RESTRICT", "PROPERTIES"};

std::shared_ptr<spdlog::logger> logger() { return component_logger("binhost"); }

// Printable UTF-8 on one line: what a `Packages` value may hold.
bool index_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t') return false;
      ++i;
      continue;
    }
    int n = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || c == 0xC0 || c == 0xC1 || c > 0xF4 || i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n + 1;
  }
  return true;
}

bool is_hidden_or_unsafe(const std::vector<std::string>& comps) {
  return std::any_of(comps.begin(), comps.end(), [](const std::string& c) { return c.front() == '.'; });
}

// Moves pkgdir/rel to pkgdir/.orphaned/rel (a free name: never overwrites, never deletes).
Result<std::string> move_to_orphaned(const fs::path& pkgdir, const std::string& rel) {
  fs::path dest = pkgdir / ".orphaned" / rel;
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return make_error(ErrorKind::io, "cannot create " + dest.parent_path().string() + ": " + ec.message());
  fs::path target = dest;
  for (int n = 1; fs::symlink_status(target, ec).type() != fs::file_type::not_found; ++n)
    target = dest.string() + "." + std::to_string(n);
  if (::rename((pkgdir / rel).c_str(), target.c_str()) != 0) return errno_error("cannot move " + rel, errno);
  return fs::relative(target, pkgdir).string();
}

bool is_binary_name(const std::string& name) { return name.ends_with(".gpkg.tar") || name.ends_with(".xpak"); }

// Entries of a directory that are themselves directories (not links), hidden names left out.
std::vector<std::string> subdirs(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.front() != '.' && it->symlink_status(ec).type() == fs::file_type::directory) out.push_back(name);
  }
  return out;
}

}  // namespace


Binhost::Binhost(Store& store, fs::path pkgdir, std::shared_ptr<Clock> clock, std::chrono::milliseconds batch_delay,
                 json header)
    : m_store(store),
      m_pkgdir(std::move(pkgdir)),
      m_clock(std::move(clock)),
      m_batch_delay(batch_delay),
      m_header(header.is_object() ? std::move(header) : json::object()) {
  std::error_code ec;
  fs::create_directories(m_pkgdir, ec);
  load_existing_index();
}

Binhost::~Binhost() { stop(); }

void Binhost::load_existing_index() {
  std::error_code ec;
  if (!fs::is_regular_file(m_pkgdir / "Packages", ec)) return;
  std::string text;
  {
    std::FILE* f = std::fopen((m_pkgdir / "Packages").c_str(), "rb");
    if (!f) return;
    char buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
  }
  auto index = parse_packages(text);
  if (!index) {
    logger()->warn("ignoring unreadable {}: {}", (m_pkgdir / "Packages").string(), index.error().message);
    return;
  }
  auto ts = index->header.find("TIMESTAMP");
  if (ts != index->header.end()) m_timestamp = std::strtoll(ts->second.c_str(), nullptr, 10);
  // Digests of files unchanged since that index are reused: a restart does not re-read every binary.
  for (const auto& e : index->packages) {
    auto get = [&](const char* k) {
      auto it = e.find(k);
      return it == e.end() ? std::string() : it->second;
    };
    if (get("PATH").empty() || get("MD5").empty() || get("SHA1").empty()) continue;
    m_digests[get("PATH")] = Digests{std::strtoll(get("SIZE").c_str(), nullptr, 10),
                                     std::strtoll(get("MTIME").c_str(), nullptr, 10), get("MD5"), get("SHA1")};
  }
  std::lock_guard lock(m_index_mutex);
  m_index_text = std::make_shared<const std::string>(std::move(text));
}

json Binhost::reconcile(const fs::path& incoming) {
  json missing = json::array(), damaged = json::array(), orphaned = json::array();
  int64_t temps = 0;
  std::set<std::string> known;
  for (const auto& b : m_store.binaries()) {
    known.insert(b.path);
    struct stat st {};
    if (::lstat((m_pkgdir / b.path).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      m_store.forget_binary(b.id, "file missing from PKGDIR: " + b.path);
      missing.push_back(b.path);
    } else if (st.st_size != b.size) {
      auto moved = move_to_orphaned(m_pkgdir, b.path);
      m_store.forget_binary(b.id, "file in PKGDIR has " + std::to_string(st.st_size) + " bytes, recorded " +
                                      std::to_string(b.size) + ": " + b.path);
      damaged.push_back({{"path", b.path}, {"moved_to", moved ? *moved : moved.error().message}});
    }
  }
  for (const auto& cat : subdirs(m_pkgdir)) {
    for (const auto& pn : subdirs(m_pkgdir / cat)) {
      std::error_code ec;
      std::vector<std::string> names;
      for (fs::directory_iterator it(m_pkgdir / cat / pn, ec), end; !ec && it != end; it.increment(ec))
        names.push_back(it->path().filename().string());
      for (const auto& name : names) {
        std::string rel = (fs::path(cat) / pn / name).string();
        if (!is_binary_name(name) || known.count(rel)) continue;
        auto moved = move_to_orphaned(m_pkgdir, rel);
        orphaned.push_back({{"path", rel}, {"moved_to", moved ? *moved : moved.error().message}});
      }
    }
  }
  // A Packages.gz we did not write would be fetched by clients before our Packages.
  if (std::error_code ec; fs::exists(fs::symlink_status(m_pkgdir / "Packages.gz", ec))) {
    auto moved = move_to_orphaned(m_pkgdir, "Packages.gz");
    orphaned.push_back({{"path", "Packages.gz"}, {"moved_to", moved ? *moved : moved.error().message}});
  }
  if (!incoming.empty()) {
    std::error_code ec;
    for (fs::directory_iterator it(incoming, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() != ".tmp" || it->symlink_status(ec).type() != fs::file_type::regular) continue;
      if (::unlink(it->path().c_str()) == 0) ++temps;
    }
  }
  json summary = {{"missing", missing}, {"damaged", damaged}, {"orphaned", orphaned}, {"temp_files_removed", temps}};
  if (!missing.empty() || !damaged.empty() || !orphaned.empty() || temps > 0)
    logger()->warn("reconciled PKGDIR with the database: {}", summary.dump());
  else
    logger()->info("PKGDIR and the database agree");
  if (auto st = publish_now(); !st) {
    logger()->error("cannot write the index after reconciliation: {}", st.error().message);
    summary["index_error"] = st.error().message;
  }
  return summary;
}

void Binhost::start() {
  std::lock_guard lock(m_wake_mutex);
  if (m_thread.joinable()) return;
  m_stopping = false;
  m_thread = std::thread([this] { run(); });
}

void Binhost::stop() {
  {
    std::lock_guard lock(m_wake_mutex);
    m_stopping = true;
  }
  m_wake_cv.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

void Binhost::wake() {
  {
    std::lock_guard lock(m_wake_mutex);
    m_pending = true;
  }
  m_wake_cv.notify_all();
}

void Binhost::run() {
  std::unique_lock lock(m_wake_mutex);
  while (true) {
    m_wake_cv.wait(lock, [&] { return m_pending || m_stopping; });
    if (!m_pending) break;
    // The delay runs from the first wake, not the last: a steady stream of acceptances still
    // gets an index every batch_delay, never one per package.
    if (!m_stopping) m_wake_cv.wait_for(lock, m_batch_delay, [&] { return m_stopping; });
    m_pending = false;
    lock.unlock();
    Status st = make_error(ErrorKind::internal, "not written");
    try {
      st = publish(false);
    } catch (const std::exception& e) {
      st = make_error(ErrorKind::internal, e.what());
    }
    lock.lock();
    if (!st) {
      logger()->error("writing the binhost index failed (retrying): {}", st.error().message);
      m_pending = true;
      m_wake_cv.wait_for(lock, std::max(m_batch_delay, std::chrono::milliseconds(2000)), [&] { return m_stopping; });
      if (m_stopping) break;
    }
  }
}

Status Binhost::publish_now() { return publish(true); }

Status Binhost::publish_pending() {
  {
    std::lock_guard lock(m_wake_mutex);
    if (!m_pending) return {};
  }
  // The publisher thread may still write its batch afterwards: it then finds nothing new to list.
  return publish(false);
}

Result<Binhost::Digests> Binhost::digests_for(const std::string& path, int64_t size, int64_t mtime) {
  auto cached = m_digests.find(path);
  if (cached != m_digests.end() && cached->second.size == size && cached->second.mtime == mtime) return cached->second;
  auto comps = split_relative_path(path);
  if (!comps) return comps.error();
  auto fd = open_beneath(m_pkgdir, *comps, false, "PKGDIR");
  if (!fd) return fd.error();
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md5(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha1(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!md5 || !sha1 || EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr) != 1 ||
      EVP_DigestInit_ex(sha1.get(), EVP_sha1(), nullptr) != 1) {
    ::close(*fd);
    return make_error(ErrorKind::internal, "cannot initialise MD5/SHA1");
  }
  std::vector<unsigned char> buf(1 << 20);
  while (true) {
    ssize_t n = ::read(*fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(*fd);
      return errno_error("read " + path, err);
    }
    if (n == 0) break;
    EVP_DigestUpdate(md5.get(), buf.data(), static_cast<size_t>(n));
    EVP_DigestUpdate(sha1.get(), buf.data(), static_cast<size_t>(n));
  }
  ::close(*fd);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  Digests d{size, mtime, "", ""};
  EVP_DigestFinal_ex(md5.get(), out, &len);
  d.md5 = to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
  EVP_DigestFinal_ex(sha1.get(), out, &len);
  d.sha1 = to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
  m_digests[path] = d;
  return d;
}

nlohmann::json index_metadata(const std::map<std::string, std::string>& metadata) {
  nlohmann::json out = nlohmann::json::object();
  auto keep = [&](const std::string& key) {
    auto it = metadata.find(key);
    if (it == metadata.end()) return;
    std::string_view v = it->second;
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
    if (v.find('\n') != std::string_view::npos) {
      // Portage writes dependency strings over several lines in ebuilds, one line in the index.
      std::string joined;
      for (std::string_view w : split_words(v)) joined += (joined.empty() ? "" : " ") + std::string(w);
      if (index_text(joined)) out[key] = joined;
      return;
    }
    if (index_text(v)) out[key] = std::string(v);
  };
  for (const char* key : kCopiedKeys) keep(key);
  for (const char* key : {"CATEGORY", "PF", "SLOT", "repository", "BUILD_ID", "DESCRIPTION"}) keep(key);
  return out;
}

Status Binhost::publish(bool force) {
  std::lock_guard lock(m_publish_mutex);
  PackagesIndex index;
  std::vector<int64_t> listed, newly_listed;
  std::set<std::string> paths;
  for (const auto& b : m_store.binaries()) {
    struct stat st {};
    // Never list a missing file: the binary stays recorded, start-up reconciliation sorts it out.
    if (::lstat((m_pkgdir / b.path).c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != b.size) {
      if (!m_warned[b.path]) logger()->error("not listing {}: file missing or not {} bytes", b.path, b.size);
      m_warned[b.path] = true;
      continue;
    }
    auto digests = digests_for(b.path, st.st_size, st.st_mtime);
    if (!digests) {
      logger()->error("not listing {}: {}", b.path, digests.error().message);
      continue;
    }
    PackagesEntry e;
    auto meta = [&](const char* key) {
      auto it = b.metadata.is_object() ? b.metadata.find(key) : b.metadata.end();
      return it != b.metadata.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    for (const char* key : kCopiedKeys) e[key] = meta(key);
    if (std::string slot = meta("SLOT"); slot != "0") e["SLOT"] = slot;
    e["REPO"] = meta("repository");
    e["CPV"] = b.cpv;
    e["PATH"] = b.path;
    e["SIZE"] = std::to_string(st.st_size);
    e["MTIME"] = std::to_string(st.st_mtime);
    e["BUILD_ID"] = std::to_string(b.build_id);
    e["MD5"] = digests->md5;
    e["SHA1"] = digests->sha1;
    index.packages.push_back(std::move(e));
    listed.push_back(b.id);
    paths.insert(b.path);
    if (!b.indexed) newly_listed.push_back(b.id);
  }
  std::sort(listed.begin(), listed.end());
  bool have_index = false;
  {
    std::lock_guard ilock(m_index_mutex);
    have_index = m_index_text != nullptr;
  }
  if (!force && have_index && listed == m_last_listed) return {};  // nothing new: keep the TIMESTAMP clients cached

  for (auto& [key, value] : m_header.items())
    index.header[key] = value.is_string() ? value.get<std::string>() : value.dump();
  int64_t ts = std::max(m_clock->now_unix(), m_timestamp.load() + 1);
  index.header["VERSION"] = "0";
  index.header["TIMESTAMP"] = std::to_string(ts);
  std::string text = format_packages(index);
  if (auto st = write_index(text); !st) return st;
  {
    std::lock_guard ilock(m_index_mutex);
    m_index_text = std::make_shared<const std::string>(std::move(text));
  }
  m_timestamp = ts;
  ++m_writes;
  m_last_listed = std::move(listed);
  std::erase_if(m_digests, [&](const auto& kv) { return !paths.count(kv.first); });
  int64_t published = m_store.mark_published(newly_listed);  // only now: the index listing them is in place
  logger()->info("wrote Packages: {} binaries, TIMESTAMP {}, {} requests published", paths.size(), ts, published);
  return {};
}

Status Binhost::write_index(const std::string& text) {
  fs::path tmp = m_pkgdir / ".Packages.tmp";  // hidden: never served, never mistaken for a package
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("cannot create " + tmp.string(), errno);
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return errno_error("write " + tmp.string(), err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return errno_error("fsync " + tmp.string(), err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), (m_pkgdir / "Packages").c_str()) != 0) return errno_error("rename to Packages", errno);
  int dir = ::open(m_pkgdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return errno_error("open " + m_pkgdir.string(), errno);
  int rc = ::fsync(dir);
  int err = errno;
  ::close(dir);
  if (rc != 0) return errno_error("fsync " + m_pkgdir.string(), err);
  return {};
}

}  // namespace swarm::orch
