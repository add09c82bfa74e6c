// Binhost: the `Packages` index from the database, written in batches, and the HTTP routes serving PKGDIR.
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

constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

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

int month_index(const char* mon) {
  for (int i = 0; i < 12; ++i)
    if (std::strcmp(mon, kMonths[i]) == 0) return i;
  return -1;
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

std::string format_http_date(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kWeekdays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<int64_t> parse_http_date(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  char wd[16] = {}, mon[4] = {};
  int day = 0, year = 0, h = 0, m = 0, sec = 0, n = -1;
  // Whole string matched, all seven fields read; n is reset before each attempt.
  auto whole = [&](int fields) { return fields == 7 && n == static_cast<int>(s.size()); };
  bool ok = whole(std::sscanf(s.c_str(), "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wd, &day, mon, &year, &h,
                              &m, &sec, &n));  // IMF-fixdate, what every current client sends
  n = -1;
  if (!ok && whole(std::sscanf(s.c_str(), "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wd, &day, mon, &year, &h,
                               &m, &sec, &n))) {
    year += year < 70 ? 2000 : 1900;  // RFC 850's two-digit year
    ok = true;
  }
  n = -1;
  if (!ok)  // asctime
    ok = whole(
        std::sscanf(s.c_str(), "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wd, mon, &day, &h, &m, &sec, &year, &n));
  int mi = month_index(mon);
  if (!ok || mi < 0 || day < 1 || day > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = mi;
  tm.tm_mday = day;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm));
}

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

void Binhost::add_routes(HttpServer& server) {
  // "/binhost" and "/binhost/" (Portage joins sync-uri and PATH with one '/', trimming the URI's own).
  server.route("GET", "/binhost", [](const HttpRequest&) {
    return HttpResponse::error(404, "not_found", "no directory listing: the index is /binhost/Packages");
  });
  server.route("GET", "/binhost/Packages", [this](const HttpRequest& req) { return serve_index(req); });
  server.route("GET", "/binhost/{path...}", [this](const HttpRequest& req) { return serve_file(req); });
}

namespace {

// 304 only when what we have is at least the client tolerance older than If-Modified-Since.
bool not_modified(const HttpRequest& req, int64_t modified) {
  auto ims = req.header("if-modified-since");
  if (!ims) return false;
  auto since = parse_http_date(*ims);
  return since && modified <= *since - Binhost::kClientToleranceS;
}

HttpResponse not_modified_response(int64_t modified) {
  HttpResponse r;
  r.status = 304;
  r.content_type.clear();
  r.headers.emplace_back("Last-Modified", format_http_date(modified));
  return r;
}

// The Range to honour (RFC 9110 13.1.5): one with an If-Range that is not our Last-Modified is ignored.
RangeRequest wanted_range(const HttpRequest& req, int64_t size, int64_t mtime) {
  auto range = req.header("range");
  if (!range) return {};
  if (auto if_range = req.header("if-range")) {
    auto date = parse_http_date(*if_range);  // an entity-tag never matches: we send none
    if (!date || *date != mtime) return {};
  }
  return parse_range(*range, size);
}

}  // namespace

HttpResponse Binhost::serve_index(const HttpRequest& req) const {
  std::shared_ptr<const std::string> text;
  {
    std::lock_guard lock(m_index_mutex);
    text = m_index_text;
  }
  if (!text) return HttpResponse::error(404, "not_found", "no index has been published yet");
  int64_t ts = m_timestamp.load();
  if (not_modified(req, ts)) return not_modified_response(ts);
  auto r = HttpResponse::text(*text, 200, "text/plain; charset=utf-8");
  r.headers.emplace_back("Last-Modified", format_http_date(ts));
  return r;
}

HttpResponse Binhost::serve_file(const HttpRequest& req) const {
  auto it = req.params.find("path");
  std::string rel = it == req.params.end() ? "" : it->second;
  if (rel == "Packages") return serve_index(req);
  auto comps = split_relative_path(rel);
  if (!comps || is_hidden_or_unsafe(*comps)) return HttpResponse::error(404, "not_found", "no such file: " + rel);
  // Directories, links and missing files alike: never a listing, never outside PKGDIR.
  auto fd = open_beneath(m_pkgdir, *comps, false, "PKGDIR");
  if (!fd) return HttpResponse::error(404, "not_found", "no such file: " + rel);
  // Owned from here: the descriptor keeps the file readable even if it is replaced or removed meanwhile.
  auto file = std::make_shared<FileBody>(*fd);
  struct stat st {};
  if (::fstat(file->fd(), &st) != 0) return HttpResponse::error(500, "io", "cannot stat " + rel + ": " + std::strerror(errno));
  int64_t size = st.st_size;
  int64_t mtime = st.st_mtime;
  if (not_modified(req, mtime)) return not_modified_response(mtime);
  HttpResponse r;
  r.content_type = rel.ends_with(".tar") ? "application/x-tar" : "application/octet-stream";
  r.headers.emplace_back("Last-Modified", format_http_date(mtime));
  r.headers.emplace_back("Accept-Ranges", "bytes");
  RangeRequest range = wanted_range(req, size, mtime);
  switch (range.kind) {
    case RangeRequest::Kind::unsatisfiable: {
      auto e = HttpResponse::error(416, "range_not_satisfiable", "no byte of " + rel + " is in the requested range");
      e.headers = std::move(r.headers);
      e.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      return e;
    }
    case RangeRequest::Kind::single:
      r.status = 206;
      r.headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                  std::to_string(range.first + range.length - 1) + "/" +
                                                  std::to_string(size));
      break;
    case RangeRequest::Kind::whole:
      range.first = 0;
      range.length = size;
      break;
  }
  file->set_range(range.first, range.length);
  r.file = std::move(file);
  return r;
}

}  // namespace swarm::orch
