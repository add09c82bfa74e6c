#include "orchestrator/binhost.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/atom.hpp"
#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "common/packages_index.hpp"
#include "orchestrator/intake.hpp"
#include "orchestrator/store.hpp"
#include "support/test_support.hpp"

namespace swarm::orch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string digest_hex(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
}

const PackagesEntry* find_cpv(const PackagesIndex& index, const std::string& cpv) {
  for (const auto& e : index.packages)
    if (e.at("CPV") == cpv) return &e;
  return nullptr;
}

class BinhostTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  Store store{(dir / "store.db").string(), clock};
  IntakePaths paths{dir / "staging", dir / "pkgdir", dir / "incoming", dir / "logs"};
  Intake intake{paths};

  std::unique_ptr<Binhost> make_binhost(std::chrono::milliseconds delay = 300ms) {
    return std::make_unique<Binhost>(store, paths.pkgdir, clock, delay, nlohmann::json{{"ARCH", "amd64"}});
  }

  // Queues the CPVs and drives each through claim, upload, intake and acceptance; returns the records.
  std::vector<BinaryRecord> accept(const std::vector<std::string>& cpvs) {
    QueueSubmit submission;
    for (const auto& cpv : cpvs) submission.packages.push_back(PackageSpec{"=" + cpv, 0, {}, std::nullopt, false});
    auto submitted = store.submit(submission);
    EXPECT_TRUE(submitted.ok());
    std::vector<BinaryRecord> out;
    for (size_t i = 0; i < cpvs.size(); ++i) {
      auto claimed = store.claim(DroneIdentity{"d1", ""});
      if (!claimed.ok() || !claimed->has_value()) {
        ADD_FAILURE() << "nothing to claim";
        return out;
      }
      LeaseRecord lease = **claimed;
      Atom atom = *parse_atom(lease.cpv);
      std::string rel = atom.category + "/" + atom.pn + "/" + atom.pf() + "-1.gpkg.tar";
      fs::path file = paths.staging_root / "d1" / lease.lease_id / rel;
      std::string cmd = "sh '" + (test::source_dir() / "tests/support/make-gpkg.sh").string() + "' '" + file.string() +
                        "' " + atom.category + " " + atom.pf() + " 1";
      EXPECT_EQ(test::run_shell(cmd), 0);
      auto size = static_cast<int64_t>(fs::file_size(file));
      std::string sha = *sha256_file_hex(file);
      auto staged = intake.take("d1", lease.lease_id, rel, size, sha, lease.cpv);
      if (!staged.ok()) {
        ADD_FAILURE() << staged.error().message;
        return out;
      }
      auto prepared = intake.prepare(*staged, store.allocate_build_id(lease.cpv));
      if (!prepared.ok()) {
        ADD_FAILURE() << prepared.error().message;
        return out;
      }
      auto [record, temp] = *prepared;
      CompleteRequest req;
      req.lease_id = lease.lease_id;
      req.fence = lease.fence;
      req.result = "built";
      req.path = rel;
      req.sha256 = sha;
      req.size = size;
      Acceptance acc{record, [this, temp = temp, path = record.path] { return intake.install(temp, path); },
                     [this, path = record.path] { intake.uninstall(path); }};
      auto answer = store.record_acceptance(lease, req, acc);
      EXPECT_TRUE(answer.ok() && answer->accepted);
      intake.discard(staged->copy);
      out.push_back(record);
    }
    return out;
  }

  PackagesIndex index_on_disk() {
    auto parsed = parse_packages(test::read_file(paths.pkgdir / "Packages"));
    EXPECT_TRUE(parsed.ok());
    return parsed.ok() ? *parsed : PackagesIndex{};
  }
};

TEST_F(BinhostTest, PublishListsAcceptedBinariesAndMarksThemPublished) {
  auto records = accept({"app-misc/hello-1.0-r1", "dev-libs/foo-2.3", "app-misc/bar-0.1"});
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(store.queue("received").size(), 3u);
  EXPECT_TRUE(store.queue("published").empty());
  auto binhost = make_binhost();
  ASSERT_TRUE(binhost->publish_now().ok());
  EXPECT_EQ(store.queue("published").size(), 3u);
  EXPECT_EQ(binhost->index_writes(), 1);
  EXPECT_EQ(binhost->timestamp(), clock->now_unix());

  auto index = index_on_disk();
  EXPECT_EQ(index.header["VERSION"], "0");
  EXPECT_EQ(index.header["TIMESTAMP"], std::to_string(clock->now_unix()));
  EXPECT_EQ(index.header["PACKAGES"], "3");
  EXPECT_EQ(index.header["ARCH"], "amd64");
  ASSERT_EQ(index.packages.size(), 3u);
  EXPECT_EQ(index.packages[0].at("CPV"), "app-misc/bar-0.1");  // sorted by CPV
  EXPECT_EQ(index.packages[2].at("CPV"), "dev-libs/foo-2.3");
  const auto* e = find_cpv(index, "app-misc/hello-1.0-r1");
  ASSERT_NE(e, nullptr);
  std::string bytes = test::read_file(paths.pkgdir / records[0].path);
  EXPECT_EQ(e->at("PATH"), "app-misc/hello/hello-1.0-r1-1.gpkg.tar");
  EXPECT_EQ(e->at("SIZE"), std::to_string(bytes.size()));
  EXPECT_EQ(e->at("MTIME"), std::to_string(records[0].mtime));
  EXPECT_EQ(e->at("BUILD_ID"), "1");
  EXPECT_EQ(e->at("MD5"), digest_hex(EVP_md5(), bytes));
  EXPECT_EQ(e->at("SHA1"), digest_hex(EVP_sha1(), bytes));
  EXPECT_EQ(e->at("EAPI"), "8");
  EXPECT_EQ(e->at("REPO"), "gentoo");
  EXPECT_EQ(e->at("KEYWORDS"), "amd64");
  EXPECT_EQ(e->at("LICENSE"), "GPL-2");
  EXPECT_EQ(e->at("DEFINED_PHASES"), "compile install");
  EXPECT_FALSE(e->at("BUILD_TIME").empty());
  EXPECT_EQ(e->count("SLOT"), 0u);     // SLOT 0 is left out
  EXPECT_EQ(e->count("RDEPEND"), 0u);  // empty values are left out
}

TEST_F(BinhostTest, TimestampAlwaysIncreases) {
  accept({"app-misc/hello-1.0"});
  auto binhost = make_binhost();
  ASSERT_TRUE(binhost->publish_now().ok());
  int64_t first = binhost->timestamp();
  ASSERT_TRUE(binhost->publish_now().ok());
  EXPECT_EQ(binhost->timestamp(), first + 1);  // same second: last + 1
  clock->advance(-60s);                        // the clock steps back
  ASSERT_TRUE(binhost->publish_now().ok());
  EXPECT_EQ(binhost->timestamp(), first + 2);
  // A restart picks up the index's TIMESTAMP from disk.
  binhost.reset();
  auto again = make_binhost();
  EXPECT_EQ(again->timestamp(), first + 2);
  ASSERT_TRUE(again->publish_now().ok());
  EXPECT_EQ(again->timestamp(), first + 3);
}

TEST_F(BinhostTest, ManyWakesWithinTheBatchWindowGiveOneWrite) {
  accept({"app-misc/a-1", "app-misc/b-1"});
  auto binhost = make_binhost(1000ms);
  binhost->start();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) binhost->wake();
  ASSERT_TRUE(test::wait_for([&] { return binhost->index_writes() >= 1; }, 10s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1000ms);  // it waited to gather more
  binhost->stop();  // joins; would write once more if a wake were still pending
  EXPECT_EQ(binhost->index_writes(), 1);
  EXPECT_EQ(store.queue("published").size(), 2u);
}

TEST_F(BinhostTest, LaterAcceptancesGetANewIndexAndIdleWakesDoNot) {
  auto binhost = make_binhost(50ms);
  binhost->start();
  accept({"app-misc/a-1"});
  binhost->wake();
  ASSERT_TRUE(test::wait_for([&] { return binhost->index_writes() == 1; }));
  accept({"app-misc/b-1"});
  binhost->wake();
  ASSERT_TRUE(test::wait_for([&] { return binhost->index_writes() == 2; }));
  EXPECT_EQ(index_on_disk().packages.size(), 2u);
  EXPECT_EQ(store.queue("published").size(), 2u);
  binhost->wake();  // nothing new: the index (and its TIMESTAMP) stays
  binhost->stop();
  EXPECT_EQ(binhost->index_writes(), 2);
}

TEST_F(BinhostTest, NeverListsAMissingFile) {
  auto records = accept({"app-misc/a-1", "app-misc/b-1"});
  ASSERT_EQ(records.size(), 2u);
  fs::remove(paths.pkgdir / records[0].path);
  auto binhost = make_binhost();
  ASSERT_TRUE(binhost->publish_now().ok());
  auto index = index_on_disk();
  EXPECT_EQ(index.header["PACKAGES"], "1");
  ASSERT_EQ(index.packages.size(), 1u);
  EXPECT_EQ(index.packages[0].at("CPV"), "app-misc/b-1");
  EXPECT_EQ(store.queue("published").size(), 1u);  // the missing one is not published
  EXPECT_EQ(store.queue("received").size(), 1u);
}

TEST_F(BinhostTest, ReconcileFixesRecordedButMissingAndPresentButUnrecorded) {
  auto records = accept({"app-misc/a-1", "app-misc/b-1"});
  ASSERT_EQ(records.size(), 2u);
  auto binhost = make_binhost();
  ASSERT_TRUE(binhost->publish_now().ok());
  fs::remove(paths.pkgdir / records[0].path);
  test::write_file(paths.pkgdir / "app-misc/stray/stray-1.0-1.gpkg.tar", "left by a crash");
  test::write_file(paths.pkgdir / "app-misc/b/b-1-9.xpak", "old format");
  test::write_file(paths.pkgdir / "app-misc/b/notes.txt", "not a package: left alone");
  test::write_file(paths.pkgdir / "Packages.gz", "stale");
  test::write_file(paths.incoming / "prepare-x.tmp", "half written");

  auto summary = binhost->reconcile(paths.incoming);
  EXPECT_EQ(summary["missing"], nlohmann::json::array({records[0].path}));
  EXPECT_EQ(summary["orphaned"].size(), 3u) << summary.dump();
  EXPECT_EQ(summary["temp_files_removed"], 1);
  EXPECT_EQ(test::read_file(paths.pkgdir / ".orphaned/app-misc/stray/stray-1.0-1.gpkg.tar"), "left by a crash");
  EXPECT_TRUE(fs::exists(paths.pkgdir / ".orphaned/app-misc/b/b-1-9.xpak"));
  EXPECT_TRUE(fs::exists(paths.pkgdir / ".orphaned/Packages.gz"));
  EXPECT_FALSE(fs::exists(paths.pkgdir / "app-misc/stray/stray-1.0-1.gpkg.tar"));
  EXPECT_FALSE(fs::exists(paths.pkgdir / "Packages.gz"));
  EXPECT_TRUE(fs::exists(paths.pkgdir / "app-misc/b/notes.txt"));
  EXPECT_TRUE(fs::exists(paths.pkgdir / records[1].path));
  EXPECT_FALSE(fs::exists(paths.incoming / "prepare-x.tmp"));

  auto binaries = store.binaries();
  ASSERT_EQ(binaries.size(), 1u);
  EXPECT_EQ(binaries[0].path, records[1].path);
  auto needed = store.queue("needed");
  ASSERT_EQ(needed.size(), 1u);  // a request whose binary vanished is built again
  EXPECT_EQ(needed[0].atom, "=app-misc/a-1");
  auto index = index_on_disk();
  ASSERT_EQ(index.packages.size(), 1u);
  EXPECT_EQ(index.packages[0].at("PATH"), records[1].path);

  // A second orphan of the same name never overwrites the first.
  test::write_file(paths.pkgdir / "app-misc/stray/stray-1.0-1.gpkg.tar", "second");
  binhost->reconcile();
  EXPECT_EQ(test::read_file(paths.pkgdir / ".orphaned/app-misc/stray/stray-1.0-1.gpkg.tar"), "left by a crash");
  EXPECT_EQ(test::read_file(paths.pkgdir / ".orphaned/app-misc/stray/stray-1.0-1.gpkg.tar.1"), "second");
}

TEST(HttpDate, FormatsAndParsesTheThreeForms) {
  EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(parse_http_date(format_http_date(1'790'000'005)), 1'790'000'005);
  EXPECT_FALSE(parse_http_date("yesterday").has_value());
  EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT").has_value());
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT trailing").has_value());
}

class BinhostHttpTest : public BinhostTest {
 protected:
  void SetUp() override {
    records = accept({"app-misc/hello-1.0", "dev-libs/foo-2"});
    binhost = make_binhost();
    ASSERT_TRUE(binhost->publish_now().ok());
    binhost->add_routes(server);
    auto port = server.start();
    ASSERT_TRUE(port.ok());
    client = std::make_unique<HttpClient>("http://127.0.0.1:" + std::to_string(*port));
  }
  void TearDown() override { server.stop(); }

  HttpClientResponse get(const std::string& path, const std::map<std::string, std::string>& headers = {}) {
    auto r = client->request("GET", path, "", headers);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : HttpClientResponse{};
  }

  std::vector<BinaryRecord> records;
  std::unique_ptr<Binhost> binhost;
  HttpServer server{HttpServerOptions{}};
  std::unique_ptr<HttpClient> client;
};

TEST_F(BinhostHttpTest, ServesTheIndexWithLengthAndLastModified) {
  auto r = get("/binhost/Packages");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size()));
  EXPECT_EQ(r.headers["last-modified"], format_http_date(binhost->timestamp()));
  EXPECT_EQ(r.body, test::read_file(paths.pkgdir / "Packages"));
  auto parsed = parse_packages(r.body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header["PACKAGES"], "2");
  EXPECT_EQ(parsed->packages.size(), 2u);
  EXPECT_EQ(get("/binhost/Packages.gz").status, 404);  // so Portage falls back to Packages
}

TEST_F(BinhostHttpTest, AnswersNotModifiedOnlyWhenTheIndexIsFiveSecondsOlder) {
  int64_t ts = binhost->timestamp();
  auto ims = [&](int64_t t) { return get("/binhost/Packages", {{"If-Modified-Since", format_http_date(t)}}); };
  auto exact = ims(ts + 5);  // what Portage sends for an unchanged index: TIMESTAMP + 5 s
  EXPECT_EQ(exact.status, 304);
  EXPECT_TRUE(exact.body.empty());
  EXPECT_EQ(exact.headers["last-modified"], format_http_date(ts));
  EXPECT_EQ(ims(ts + 60).status, 304);
  EXPECT_EQ(ims(ts + 4).status, 200);  // the index is newer than the client's copy by less than 5 s
  EXPECT_EQ(ims(ts).status, 200);
  EXPECT_EQ(ims(ts - 100).status, 200);
  EXPECT_EQ(get("/binhost/Packages", {{"If-Modified-Since", "garbage"}}).status, 200);
  // A new index one second later is served to a client that cached the previous one.
  ASSERT_TRUE(binhost->publish_now().ok());
  EXPECT_EQ(ims(ts + 5).status, 200);
}

TEST_F(BinhostHttpTest, ServesPackageFiles) {
  const auto& rec = records[0];
  auto r = get("/binhost/" + rec.path);
  ASSERT_EQ(r.status, 200);
  std::string bytes = test::read_file(paths.pkgdir / rec.path);
  EXPECT_EQ(r.body, bytes);
  EXPECT_EQ(r.headers["content-length"], std::to_string(bytes.size()));
  EXPECT_EQ(r.headers["last-modified"], format_http_date(rec.mtime));
  EXPECT_EQ(sha256_hex(r.body), rec.sha256);
  EXPECT_EQ(get("/binhost/" + rec.path, {{"If-Modified-Since", format_http_date(rec.mtime + 5)}}).status, 304);
  EXPECT_EQ(get("/binhost/" + rec.path, {{"If-Modified-Since", format_http_date(rec.mtime + 4)}}).status, 200);
}

TEST_F(BinhostHttpTest, RefusesTraversalHiddenFilesSymlinksAndDirectories) {
  test::write_file(dir / "secret", "TOP-SECRET-CONTENT");
  test::write_file(paths.pkgdir / ".orphaned/app-misc/x/x-1-1.gpkg.tar", "orphan");
  fs::create_symlink(dir / "secret", paths.pkgdir / "app-misc/link.gpkg.tar");
  fs::create_directory_symlink(dir.path(), paths.pkgdir / "dirlink");
  for (const std::string path :
       {"/binhost/../secret", "/binhost/%2e%2e/secret", "/binhost/app-misc/%2e%2e/%2e%2e/secret",
        "/binhost/.orphaned/app-misc/x/x-1-1.gpkg.tar", "/binhost/.Packages.tmp", "/binhost/app-misc/link.gpkg.tar",
        "/binhost/dirlink/secret", "/binhost/app-misc", "/binhost/app-misc/hello/nothing.gpkg.tar", "/binhost/%00"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find("TOP-SECRET-CONTENT"), std::string::npos) << path;
    EXPECT_NE(r.body.find("\"error\""), std::string::npos) << path << ": " << r.body;
  }
}

}  // namespace
}  // namespace swarm::orch
