#include "common/http_server.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>

#include "common/health.hpp"
#include "common/http_client.hpp"
#include "support/test_support.hpp"

namespace swarm {
namespace {

using nlohmann::json;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    o.body_limit = 1024;
    o.header_limit = 2048;
    o.read_timeout = std::chrono::milliseconds(300);
    o.idle_timeout = std::chrono::milliseconds(300);
    server = std::make_unique<HttpServer>(o);
    add_health_route(*server, "test");
    server->route("GET", "/items/{id}", [](const HttpRequest& r) {
      return HttpResponse::json({{"id", r.params.at("id")}, {"q", r.query_or("q", "")}});
    });
    server->route("GET", "/files/{rest...}", [](const HttpRequest& r) { return HttpResponse::text(r.params.at("rest")); });
    server->route("POST", "/echo", [](const HttpRequest& r) {
      auto j = r.json();
      if (!j) return HttpResponse::from_error(j.error());
      return HttpResponse::json({{"got", *j}, {"token", r.bearer_token()}});
    });
    // A file body: /file/{offset}/{length} of `file_path`, unlinked before the answer when ?unlink=1.
    server->route("GET", "/file/{offset}/{length}", [this](const HttpRequest& r) {
      int fd = ::open(file_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return HttpResponse::error(404, "not_found", "no file");
      if (r.query_or("unlink", "") == "1") ::unlink(file_path.c_str());
      HttpResponse resp;
      resp.content_type = "application/octet-stream";
      resp.file = std::make_shared<FileBody>(fd, std::stoll(r.params.at("offset")), std::stoll(r.params.at("length")));
      return resp;
    });
    server->route("GET", "/throw", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
    server->route_async("POST", "/later", [this](const HttpRequest&, Responder respond) {
      std::lock_guard lock(mutex);
      pending.push_back(std::move(respond));
      cv.notify_all();
    });
    server->route_stream("/events", [this](const HttpRequest&, std::shared_ptr<EventStream> s) {
      std::lock_guard lock(mutex);
      streams.push_back(s);
      cv.notify_all();
    });
    auto port = server->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    ASSERT_NE(*port, 0);
    base = "http://127.0.0.1:" + std::to_string(*port);
  }

  std::unique_ptr<HttpServer> server;
  std::string base;
  test::TempDir dir;
  std::string file_path = (dir / "body.bin").string();
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Responder> pending;
  std::vector<std::shared_ptr<EventStream>> streams;
};

TEST_F(HttpServerTest, RoutesWithPathParametersAndQuery) {
  HttpClient c(base);
  auto r = c.get("/items/42?q=a%20b");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->json().value()["id"], "42");
  EXPECT_EQ(r->json().value()["q"], "a b");
  auto f = c.get("/files/dev-libs/foo/foo-1.gpkg.tar");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->body, "dev-libs/foo/foo-1.gpkg.tar");
}

TEST_F(HttpServerTest, HealthReportsVersionAndApi) {
  auto r = HttpClient(base).get("/api/v1/health");
  ASSERT_TRUE(r.ok());
  auto j = r->json().value();
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["api"], json::array({"v1"}));
  EXPECT_FALSE(j["version"].get<std::string>().empty());
}

TEST_F(HttpServerTest, ErrorsAreJsonBodies) {
  HttpClient c(base);
  auto nf = c.get("/nope");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nf->json().value()["error"], "not_found");
  auto wrong_method = c.request("DELETE", "/echo");
  ASSERT_TRUE(wrong_method.ok());
  EXPECT_EQ(wrong_method->status, 405);
  auto bad_json = c.request("POST", "/echo", "{not json");
  ASSERT_TRUE(bad_json.ok());
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_EQ(bad_json->json().value()["error"], "invalid");
  auto thrown = c.get("/throw");
  ASSERT_TRUE(thrown.ok());
  EXPECT_EQ(thrown->status, 500);
  EXPECT_TRUE(thrown->json().value().contains("message"));
}

TEST_F(HttpServerTest, BodyAndHeaderLimits) {
  HttpClient c(base);
  auto big = c.request("POST", "/echo", std::string(4096, 'x'));
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(big->json().value()["error"], "too_large");
  auto big_header = c.request("GET", "/items/1", "", {{"X-Big", std::string(4096, 'h')}});
  if (big_header.ok()) {
    EXPECT_EQ(big_header->status, 431);
  }
}

TEST_F(HttpServerTest, BearerTokenAndJsonEcho) {
  HttpClientOptions o;
  o.bearer_token = "secret-token";
  auto r = HttpClient(base, o).post_json("/echo", {{"a", 1}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->json().value()["got"]["a"], 1);
  EXPECT_EQ(r->json().value()["token"], "secret-token");
}

TEST_F(HttpServerTest, LongPollAnswersLaterWithoutBlockingOthers) {
  std::atomic<int> status{0};
  std::thread t([&] {
    auto r = HttpClient(base).post_json("/later", json::object());
    if (r.ok()) status = r->status;
  });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !pending.empty(); }));
  }
  // While the long-poll waits, other requests are served.
  auto h = HttpClient(base).get("/api/v1/health");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 200);
  {
    std::lock_guard lock(mutex);
    pending[0](HttpResponse::json({{"done", true}}, 200));
    pending[0](HttpResponse::json({{"done", false}}, 500));  // a second answer is ignored
  }
  t.join();
  EXPECT_EQ(status.load(), 200);
}

TEST_F(HttpServerTest, ReadTimeoutClosesSlowClient) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  std::string partial = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n";  // never finished
  boost::asio::write(s, boost::asio::buffer(partial));
  char buf[64];
  boost::system::error_code ec;
  auto start = std::chrono::steady_clock::now();
  s.read_some(boost::asio::buffer(buf), ec);  // returns when the server gives up on us
  EXPECT_TRUE(ec);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  std::string two = "GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  boost::asio::write(s, boost::asio::buffer(two));
  std::string all;
  boost::system::error_code ec;
  char buf[1024];
  while (true) {
    size_t n = s.read_some(boost::asio::buffer(buf), ec);
    if (ec) break;
    all.append(buf, n);
  }
  EXPECT_NE(all.find("\"id\":\"1\""), std::string::npos);
  EXPECT_NE(all.find("\"id\":\"2\""), std::string::npos);
}

TEST_F(HttpServerTest, EventStreamDeliversEvents) {
  std::atomic<bool> stop{false};
  std::vector<std::string> got;
  std::mutex got_mutex;
  std::thread reader([&] {
    (void)HttpClient(base).stream_events("/events", [&](const std::string& ev, const std::string& data) {
      std::lock_guard lock(got_mutex);
      got.push_back(ev + "|" + data);
    }, stop, std::chrono::seconds(5));
  });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !streams.empty(); }));
  }
  streams[0]->send_event("state", "{\"a\":1}");
  streams[0]->send_comment("keepalive");
  streams[0]->send_event("", "two\nlines");
  EXPECT_TRUE(test::wait_for([&] {
    std::lock_guard lock(got_mutex);
    return got.size() == 2;
  }));
  stop = true;
  reader.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "state|{\"a\":1}");
  EXPECT_EQ(got[1], "|two\nlines");
}

TEST_F(HttpServerTest, FileBodiesAreStreamedFromTheDescriptor) {
  std::string bytes;
  for (int i = 0; i < 1'000'000; ++i) bytes.push_back(static_cast<char>('a' + i % 26 + (i / 26) % 3));
  test::write_file(file_path, bytes);
  HttpClient c(base);
  auto whole = c.get("/file/0/1000000");
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->headers["content-length"], "1000000");
  EXPECT_EQ(whole->body, bytes);
  auto part = c.get("/file/300000/5");
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->body, bytes.substr(300000, 5));
  auto empty = c.get("/file/10/0");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(empty->body, "");
  // Unlinked after opening: the descriptor still has every byte.
  auto gone = c.get("/file/0/1000000?unlink=1");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->body, bytes);
}

TEST_F(HttpServerTest, AFileBodyShorterThanPromisedEndsTheConnectionNotTheServer) {
  test::write_file(file_path, std::string(1000, 'x'));
  auto short_body = HttpClient(base).get("/file/0/5000000");
  EXPECT_FALSE(short_body.ok() && short_body->body.size() == 5000000u);
  auto next = HttpClient(base).get("/file/0/1000");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->body, std::string(1000, 'x'));
}

TEST_F(HttpServerTest, KeepAliveAfterAFileBody) {
  test::write_file(file_path, "0123456789");
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  std::string two = "GET /file/0/10 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /file/2/3 HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /file/2/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  boost::asio::write(sock, boost::asio::buffer(two));
  std::string got;
  boost::system::error_code ec;
  char buf[4096];
  while (!ec) got.append(buf, sock.read_some(boost::asio::buffer(buf), ec));
  EXPECT_NE(got.find("Content-Length: 10\r\n\r\n0123456789HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_NE(got.find("Content-Length: 3\r\n\r\nHTTP/1.1 200"), std::string::npos) << "HEAD sends no body: " << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\n234")) << got;
}

TEST(ParseRange, FollowsRfc9110) {
  using K = RangeRequest::Kind;
  auto check = [](const std::string& h, int64_t size, K kind, int64_t first = 0, int64_t length = 0) {
    auto r = parse_range(h, size);
    EXPECT_EQ(r.kind, kind) << h;
    if (kind == K::single) {
      EXPECT_EQ(r.first, first) << h;
      EXPECT_EQ(r.length, length) << h;
    }
  };
  check("bytes=0-499", 1000, K::single, 0, 500);
  check("bytes=500-", 1000, K::single, 500, 500);
  check("bytes=-200", 1000, K::single, 800, 200);
  check("bytes=-2000", 1000, K::single, 0, 1000);
  check("bytes=900-5000", 1000, K::single, 900, 100);
  check(" Bytes=1-1 ", 1000, K::single, 1, 1);
  check("bytes=0-99999999999999999999999", 1000, K::single, 0, 1000);
  check("bytes=6000000000-6000000009", 7000000000, K::single, 6000000000, 10);
  check("bytes=1000-", 1000, K::unsatisfiable);
  check("bytes=-0", 1000, K::unsatisfiable);
  check("bytes=0-", 0, K::unsatisfiable);
  check("bytes=-5", 0, K::unsatisfiable);
  check("bytes=99999999999999999999999-", 1000, K::unsatisfiable);
  for (const char* bad : {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-1", "bytes=0-1,3-4", "items=0-1",
                          "bytes=1", "bytes=1-2-3", "bytes= -", "bytes=0x10-"})
    check(bad, 1000, K::whole);
}

TEST_F(HttpServerTest, StopIsGracefulAndIdempotent) {
  server->stop();
  server->stop();
  auto r = HttpClient(base, HttpClientOptions{std::chrono::milliseconds(500), std::chrono::milliseconds(500), "", "", 1024}).get("/api/v1/health");
  EXPECT_FALSE(r.ok());
}

TEST(HttpServerObserver, SeesEveryAnswerWithItsRoutePattern) {
  std::mutex m;
  std::vector<std::string> seen;
  HttpServerOptions o;
  o.observer = [&](const std::string& method, const std::string& route, int status, double seconds) {
    std::lock_guard lock(m);
    seen.push_back(method + " " + route + " " + std::to_string(status) + (seconds >= 0 ? "" : " negative"));
  };
  HttpServer server(o);
  server.route("GET", "/items/{id}", [](const HttpRequest&) { return HttpResponse::json({{"ok", true}}); });
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  HttpClient c("http://127.0.0.1:" + std::to_string(*port));
  ASSERT_TRUE(c.get("/items/7").ok());
  ASSERT_TRUE(c.get("/nothing").ok());
  ASSERT_TRUE(test::wait_for([&] {
    std::lock_guard lock(m);
    return seen.size() == 2;
  }));
  std::lock_guard lock(m);
  EXPECT_EQ(seen[0], "GET /items/{id} 200");
  EXPECT_EQ(seen[1], "GET unmatched 404");
}

TEST(HttpClientTest, ConnectRefusedAndTimeout) {
  HttpClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(300);
  o.total_timeout = std::chrono::milliseconds(300);
  // A listening socket that never answers: the total timeout fires.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acc(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto r = HttpClient("http://127.0.0.1:" + std::to_string(acc.local_endpoint().port()), o).get("/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::timeout);
  acc.close();
  EXPECT_FALSE(HttpClient("http://127.0.0.1:1", o).get("/x").ok());
}

TEST(HttpClientTest, ParsesUrls) {
  auto u = parse_url("http://example:8080/base/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "example");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->base_path, "/base");
  EXPECT_FALSE(parse_url("ftp://x").ok());
  EXPECT_FALSE(parse_url("http://:80").ok());
  EXPECT_FALSE(parse_url("http://h:99999").ok());
  EXPECT_FALSE(parse_host_port("nohost").ok());
  EXPECT_FALSE(parse_host_port("h:abc").ok());
  auto hp = parse_host_port("127.0.0.1:0");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->second, 0);
}

}  // namespace
}  // namespace swarm
