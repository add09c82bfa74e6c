// Binhost over HTTP: dates, the If-Modified-Since rule, and the routes serving the index and PKGDIR's
// files (streamed, byte ranges); docs/BINHOST.md lists what Portage asks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/logging.hpp"
#include "orchestrator/binhost.hpp"
#include "orchestrator/intake.hpp"

namespace swarm::orch {

namespace fs = std::filesystem;

namespace {

constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_index(const char* mon) {
  for (int i = 0; i < 12; ++i)
    if (std::strcmp(mon, kMonths[i]) == 0) return i;
  return -1;
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
