// The binhost as clients fetch it: Binhost behind a real HttpServer on 127.0.0.1, files of any size
// streamed, byte ranges, HEAD, and the real `wget`, `wget -c` (Portage's FETCHCOMMAND/RESUMECOMMAND) and `curl -r`.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "orchestrator/binhost.hpp"
#include "orchestrator/store.hpp"
#include "support/test_support.hpp"

namespace swarm::orch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Bytes that differ at every offset, so a misplaced range shows.
std::string pattern(size_t n, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Runs a shell command; its standard output (test set-up and client tools only).
std::string capture(const std::string& cmd, int* status = nullptr) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
  if (!p) return out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p.get())) > 0;) out.append(buf, n);
  int rc = ::pclose(p.release());
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

class BinhostServingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(binhost.publish_now().ok());
    binhost.add_routes(server);
    auto port = server.start();
    ASSERT_TRUE(port.ok());
    base = "http://127.0.0.1:" + std::to_string(*port);
    client = std::make_unique<HttpClient>(base);
    content = pattern(1000);
    test::write_file(pkgdir / rel, content);
  }
  void TearDown() override { server.stop(); }

  HttpClientResponse get(const std::string& path, const std::map<std::string, std::string>& headers = {}) {
    auto r = client->request("GET", path, "", headers);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : HttpClientResponse{};
  }
  HttpClientResponse range(const std::string& spec) { return get("/binhost/" + rel, {{"Range", spec}}); }
  std::string url(const std::string& path) const { return base + "/binhost/" + path; }

  test::TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  Store store{(dir / "store.db").string(), clock};
  fs::path pkgdir = dir / "pkgdir";
  Binhost binhost{store, pkgdir, clock, 50ms};
  HttpServer server{HttpServerOptions{}};
  std::string base;
  std::unique_ptr<HttpClient> client;
  std::string rel = "app-misc/hello/hello-1.0-1.gpkg.tar";
  std::string content;
};

TEST_F(BinhostServingTest, WholeFileAdvertisesRanges) {
  auto r = get("/binhost/" + rel);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, content);
  EXPECT_EQ(r.headers["content-length"], "1000");
  EXPECT_EQ(r.headers["accept-ranges"], "bytes");
  EXPECT_EQ(r.headers["content-type"], "application/x-tar");
  struct stat st {};
  ASSERT_EQ(::stat((pkgdir / rel).c_str(), &st), 0);
  EXPECT_EQ(r.headers["last-modified"], format_http_date(st.st_mtime));
}

TEST_F(BinhostServingTest, SingleRangesAreAnswered206) {
  struct Case {
    std::string spec;
    int64_t first, last;
  };
  for (const Case& c : {Case{"bytes=10-19", 10, 19}, Case{"bytes=990-", 990, 999}, Case{"bytes=-5", 995, 999},
                        Case{"bytes=-5000", 0, 999}, Case{"bytes=995-2000", 995, 999}, Case{"bytes=0-0", 0, 0},
                        Case{"BYTES = 3-4", 3, 4}, Case{"bytes=7-8,", 7, 8}, Case{"bytes=999-99999999999999999999", 999, 999}}) {
    auto r = range(c.spec);
    ASSERT_EQ(r.status, 206) << c.spec;
    EXPECT_EQ(r.body, content.substr(static_cast<size_t>(c.first), static_cast<size_t>(c.last - c.first + 1))) << c.spec;
    EXPECT_EQ(r.headers["content-range"],
              "bytes " + std::to_string(c.first) + "-" + std::to_string(c.last) + "/1000") << c.spec;
    EXPECT_EQ(r.headers["content-length"], std::to_string(c.last - c.first + 1)) << c.spec;
  }
}

TEST_F(BinhostServingTest, UnsatisfiableRangesAre416AndBadOnesAreIgnored) {
  for (const std::string spec : {"bytes=1000-", "bytes=5000-6000", "bytes=-0"}) {
    auto r = range(spec);
    EXPECT_EQ(r.status, 416) << spec;
    EXPECT_EQ(r.headers["content-range"], "bytes */1000") << spec;
    EXPECT_EQ(r.json().value()["error"], "range_not_satisfiable") << spec;
  }
  // Bad syntax, other units and several ranges: the whole file, never a 5xx (RFC 9110: a server may ignore Range).
  for (const std::string spec : {"bytes=5-2", "bytes=abc", "items=0-5", "bytes=0-1,5-6", "bytes=", "bytes=-", "5-6",
                                 "bytes=--5", "bytes=1-2-3", "bytes=+1-2"}) {
    auto r = range(spec);
    EXPECT_EQ(r.status, 200) << spec;
    EXPECT_EQ(r.body, content) << spec;
    EXPECT_EQ(r.headers.count("content-range"), 0u) << spec;
  }
}

TEST_F(BinhostServingTest, IfRangeHonoursTheRangeOnlyForTheCurrentLastModified) {
  std::string lm = get("/binhost/" + rel).headers["last-modified"];
  ASSERT_FALSE(lm.empty());
  auto same = get("/binhost/" + rel, {{"Range", "bytes=0-9"}, {"If-Range", lm}});
  EXPECT_EQ(same.status, 206);
  EXPECT_EQ(same.body, content.substr(0, 10));
  int64_t t = parse_http_date(lm).value();
  for (const std::string& validator : {format_http_date(t - 60), std::string("\"some-etag\""), std::string("garbage")}) {
    auto r = get("/binhost/" + rel, {{"Range", "bytes=0-9"}, {"If-Range", validator}});
    EXPECT_EQ(r.status, 200) << validator;
    EXPECT_EQ(r.body, content) << validator;
  }
}

TEST_F(BinhostServingTest, HeadIsAnsweredLikeGetWithoutABody) {
  int rc = -1;
  std::string head = capture("curl -sS -I '" + url(rel) + "'", &rc);
  ASSERT_EQ(rc, 0) << head;
  EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Length: 1000"), std::string::npos) << head;
  EXPECT_NE(head.find("Accept-Ranges: bytes"), std::string::npos) << head;
  EXPECT_NE(head.find("Last-Modified: "), std::string::npos) << head;
  std::string ranged = capture("curl -sS -I -H 'Range: bytes=100-149' '" + url(rel) + "'", &rc);
  EXPECT_NE(ranged.find("HTTP/1.1 206"), std::string::npos) << ranged;
  EXPECT_NE(ranged.find("Content-Length: 50"), std::string::npos) << ranged;
  EXPECT_NE(ranged.find("Content-Range: bytes 100-149/1000"), std::string::npos) << ranged;
  std::string index = capture("curl -sS -I '" + url("Packages") + "'", &rc);
  EXPECT_NE(index.find("HTTP/1.1 200"), std::string::npos) << index;
  EXPECT_NE(index.find("Last-Modified: " + format_http_date(binhost.timestamp())), std::string::npos) << index;
  // The connection stays usable after a HEAD: two in a row on one connection.
  std::string twice = capture("curl -sS -I '" + url(rel) + "' -I '" + url(rel) + "'", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(std::count(twice.begin(), twice.end(), '\n') > 8, true) << twice;
}

TEST_F(BinhostServingTest, RootAndUnknownPathsAre404JsonWithoutAListing) {
  for (const std::string path : {"/binhost", "/binhost/", "/binhost/app-misc", "/binhost/app-misc/hello/",
                                 "/binhost/Packages.gz", "/binhost/app-misc/hello/hello-9-1.gpkg.tar"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.headers["content-type"], "application/json") << path;
    EXPECT_EQ(r.json().value()["error"], "not_found") << path;
    EXPECT_EQ(r.body.find("hello-1.0-1"), std::string::npos) << path << " lists the directory";
  }
  // Portage joins sync-uri and PATH with one '/' after trimming; a doubled one still finds the file.
  EXPECT_EQ(get("/binhost//" + rel).status, 200);
  EXPECT_EQ(client->request("POST", "/binhost/" + rel)->status, 405);
}

TEST_F(BinhostServingTest, FilesOfAnySizeAreStreamedWithRanges) {
  // Sparse: 5 GiB on the file system costs nothing; a few marked bytes check offsets past 4 GiB.
  const int64_t size = 5LL << 30;
  std::string big = "app-misc/big/big-1.0-1.gpkg.tar";
  fs::create_directories((pkgdir / big).parent_path());
  int fd = ::open((pkgdir / big).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, size), 0);
  ASSERT_EQ(::pwrite(fd, "TAIL-OF-FIVE-GIB", 16, size - 16), 16);
  ASSERT_EQ(::pwrite(fd, "PAST4G", 6, (4LL << 30) + 100), 6);
  ::close(fd);
  int rc = -1;
  std::string head = capture("curl -sS -I '" + url(big) + "'", &rc);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(size)), std::string::npos) << head;
  auto tail = get("/binhost/" + big, {{"Range", "bytes=-16"}});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, "TAIL-OF-FIVE-GIB");
  EXPECT_EQ(tail.headers["content-range"], "bytes " + std::to_string(size - 16) + "-" + std::to_string(size - 1) + "/" +
                                               std::to_string(size));
  auto mid = get("/binhost/" + big, {{"Range", "bytes=" + std::to_string((4LL << 30) + 100) + "-" +
                                                   std::to_string((4LL << 30) + 105)}});
  EXPECT_EQ(mid.body, "PAST4G");

  // Larger than the old 256 MiB in-memory limit, sent whole: every byte arrives, in order.
  std::string whole = "app-misc/big/big-2.0-1.gpkg.tar";
  const int64_t whole_size = 300LL << 20;
  fd = ::open((pkgdir / whole).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, whole_size), 0);
  for (int64_t off : {int64_t{0}, int64_t{1} << 20, int64_t{(256LL << 20) + 3}, whole_size - 7})
    ASSERT_EQ(::pwrite(fd, "MARK", 4, off), 4);
  ::close(fd);
  std::string expected = sha256_file_hex(pkgdir / whole).value();
  std::string got = capture("curl -sS '" + url(whole) + "' | sha256sum", &rc);
  EXPECT_EQ(got.substr(0, 64), expected);
}

TEST_F(BinhostServingTest, WgetAndResumedWgetAndCurlRangesGiveIdenticalFiles) {
  // Portage's FETCHCOMMAND and RESUMECOMMAND (make.globals), with a file several chunks long.
  std::string name = "dev-libs/foo/foo-2-1.gpkg.tar";
  std::string bytes = pattern(3 * 1024 * 1024 + 12345, 11);
  test::write_file(pkgdir / name, bytes);
  fs::path out = dir / "fetched.gpkg.tar";
  std::string wget = "wget -q -t 3 -T 60 -U 'Portage (Gentoo, https://www.gentoo.org) distfile-fetch' ";
  ASSERT_EQ(test::run_shell(wget + "-O '" + out.string() + "' '" + url(name) + "'"), 0);
  EXPECT_EQ(test::read_file(out), bytes);

  // A download cut off after 1 MiB, resumed with wget -c: byte-identical.
  test::write_file(out, bytes.substr(0, 1 << 20));
  ASSERT_EQ(test::run_shell(wget + "-c -O '" + out.string() + "' '" + url(name) + "'"), 0);
  EXPECT_EQ(test::read_file(out), bytes);
  // Resuming a complete file: 416 from us, "nothing to do" for wget, the file untouched.
  ASSERT_EQ(test::run_shell(wget + "-c -O '" + out.string() + "' '" + url(name) + "'"), 0);
  EXPECT_EQ(test::read_file(out), bytes);

  int rc = -1;
  std::string part = capture("curl -sS -r 100-199 '" + url(name) + "'", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(part, bytes.substr(100, 100));
  std::string suffix = capture("curl -sS -r -300 '" + url(name) + "'", &rc);
  EXPECT_EQ(suffix, bytes.substr(bytes.size() - 300));
  fs::path resumed = dir / "curl.gpkg.tar";
  test::write_file(resumed, bytes.substr(0, 777777));
  ASSERT_EQ(test::run_shell("curl -sS -C - -o '" + resumed.string() + "' '" + url(name) + "'"), 0);
  EXPECT_EQ(test::read_file(resumed), bytes);
}

TEST_F(BinhostServingTest, PortageIndexRequestsAreAnsweredAsItExpects) {
  // What bintree.py's _populate_remote sends through urllib: Packages.gz first (404 -> Packages), with
  // If-Modified-Since = cached TIMESTAMP + 5 s, Accept-Encoding it can undo, and its User-Agent.
  std::map<std::string, std::string> portage = {{"User-Agent", "Gentoo Portage"},
                                                {"Accept-Encoding", "bzip2,gzip,deflate"}};
  auto gz = get("/binhost/Packages.gz", portage);
  EXPECT_EQ(gz.status, 404);
  auto first = get("/binhost/Packages", portage);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(first.headers.count("content-encoding"), 0u) << "served as is";
  int64_t ts = binhost.timestamp();
  EXPECT_EQ(first.headers["last-modified"], format_http_date(ts));
  auto cached = portage;
  cached["If-Modified-Since"] = format_http_date(ts + Binhost::kClientToleranceS);
  EXPECT_EQ(get("/binhost/Packages.gz", cached).status, 404);
  auto not_modified = get("/binhost/Packages", cached);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.headers["last-modified"], format_http_date(ts));
}

// Replaced (renamed over) or removed while being sent: the open descriptor keeps the old bytes coming; a
// file truncated in place ends the connection early, and the server goes on serving.
TEST_F(BinhostServingTest, FilesChangedWhileBeingServedDoNotBreakTheServer) {
  std::string name = "dev-libs/moving/moving-1-1.gpkg.tar";
  std::string bytes = pattern(24 * 1024 * 1024, 5);
  test::write_file(pkgdir / name, bytes);
  auto fetch_while = [&](const std::function<void()>& change) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(base.substr(base.rfind(':') + 1))));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string req = "GET /binhost/" + name + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    EXPECT_EQ(::send(s, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    std::string got;
    char buf[65536];
    bool changed = false;
    for (ssize_t n; (n = ::recv(s, buf, sizeof buf, 0)) > 0;) {
      got.append(buf, static_cast<size_t>(n));
      if (!changed && got.size() > (1u << 20)) {  // the answer is under way, most of it not yet read
        change();
        changed = true;
      }
    }
    ::close(s);
    auto body = got.find("\r\n\r\n");
    return body == std::string::npos ? std::string() : got.substr(body + 4);
  };
  EXPECT_EQ(fetch_while([&] {
              test::write_file(pkgdir / "replacement", "other");
              fs::rename(pkgdir / "replacement", pkgdir / name);
            }),
            bytes);
  test::write_file(pkgdir / name, bytes);
  EXPECT_EQ(fetch_while([&] { fs::remove(pkgdir / name); }), bytes);
  test::write_file(pkgdir / name, bytes);
  std::string cut = fetch_while([&] { fs::resize_file(pkgdir / name, 2 << 20); });
  EXPECT_LT(cut.size(), bytes.size()) << "a truncated file cannot be sent whole";
  EXPECT_EQ(cut, bytes.substr(0, cut.size()));
  EXPECT_EQ(get("/binhost/" + rel).body, content) << "the server goes on";
}

}  // namespace
}  // namespace swarm::orch
