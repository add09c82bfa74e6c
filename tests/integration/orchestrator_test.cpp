// swarm-orchestrator as a real process on 127.0.0.1: authentication, the accept path, intake attacks,
// the data-directory lock.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "common/packages_index.hpp"
#include "integration/orchestrator_fixture.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

size_t listed(const std::string& packages, const std::string& cpv) {
  auto idx = parse_packages(packages);
  if (!idx) return 0;
  size_t n = 0;
  for (const auto& p : idx->packages)
    if (p.count("CPV") && p.at("CPV") == cpv) ++n;
  return n;
}

TEST(OrchestratorProcess, RefusesRequestsWithoutAValidTicket) {
  OrchestratorFixture o;
  HttpClient anonymous(o.url());
  auto none = anonymous.post_json("/api/v1/queue", {{"atoms", {"=dev-libs/a-1"}}});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->json().value()["error"], "unauthorized");

  auto with = [&](const std::string& token) {
    HttpClientOptions opt;
    opt.bearer_token = token;
    return HttpClient(o.url(), opt).post_json("/api/v1/queue", {{"atoms", {"=dev-libs/a-1"}}});
  };
  EXPECT_EQ(with("garbage")->status, 401);
  EXPECT_EQ(with(o.ticket("gateway", "admin", 600, "another-orchestrator"))->status, 403);
  EXPECT_EQ(with(o.ticket("gateway", "admin", -5))->status, 401);
  EXPECT_EQ(with(o.ticket("drone1", "drone"))->status, 403) << "a drone ticket is not an admin ticket";
  auto work = HttpClient(o.url()).post_json("/api/v1/work", json::object());
  EXPECT_EQ(work->status, 401);
  auto q = HttpClient(o.url()).get("/api/v1/queue");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->json().value().empty()) << "refused calls change nothing";
}

TEST(OrchestratorProcess, AcceptedBinaryIsPublishedAndUnblocksItsDependent) {
  OrchestratorFixture o;
  auto sub = o.admin().post_json(
      "/api/v1/queue",
      {{"packages", {{{"atom", "=app-misc/top-1"}, {"deps", {"=dev-libs/base-2.1"}}}, {{"atom", "=dev-libs/base-2.1"}}}}});
  ASSERT_EQ(sub->status, 200) << sub->body;
  EXPECT_EQ(sub->json().value()["added"], 2);
  auto lease = o.work("d1");
  ASSERT_TRUE(lease);
  EXPECT_EQ((*lease)["atom"], "=dev-libs/base-2.1");
  EXPECT_EQ((*lease)["upload"]["path"], (*lease)["lease_id"].get<std::string>() + "/");
  EXPECT_FALSE(o.work("d2")) << "the dependent waits for the binhost";
  auto answer = o.complete("d1", *lease, o.stage("d1", *lease));
  EXPECT_EQ(answer["accepted"], true) << answer.dump();
  ASSERT_TRUE(wait_for([&] { return o.state_of("=dev-libs/base-2.1") == "published"; }));
  std::string pk = o.packages();
  EXPECT_EQ(listed(pk, "dev-libs/base-2.1"), 1u);
  auto idx = parse_packages(pk).value();
  ASSERT_EQ(idx.packages.size(), 1u);
  std::string path = idx.packages[0].at("PATH");
  EXPECT_TRUE(fs::exists(o.data() / "packages" / path)) << path;
  auto file = HttpClient(o.url()).get("/binhost/" + path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->status, 200);
  EXPECT_EQ(std::to_string(file->body.size()), idx.packages[0].at("SIZE"));
  // The replay of a completion gets the stored answer.
  auto replay = o.complete("d1", *lease, o.stage("d1", *lease));
  EXPECT_EQ(replay["accepted"], true);
  auto next = o.work("d2");
  ASSERT_TRUE(next);
  EXPECT_EQ((*next)["atom"], "=app-misc/top-1");
  // Metrics count the lease and the completion and time the routes.
  auto metrics = HttpClient(o.url()).get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("swarm_requests{state=\"published\"} 1"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("swarm_completions_total{result=\"accepted\"} 1"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("swarm_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/complete\"}"),
            std::string::npos)
      << metrics->body;
  // A forged fence is refused with no effect.
  json forged = *next;
  forged["fence"] = (*next)["fence"].get<int64_t>() + 7;
  auto r = o.complete("d2", forged, o.stage("d2", *next));
  EXPECT_EQ(r["http_status"], 409);
  EXPECT_EQ(o.state_of("=app-misc/top-1"), "leased");
}

TEST(OrchestratorProcess, IntakeAttacksAreRefusedAndNothingPublished) {
  OrchestratorFixture o;
  struct Attack {
    std::string name;
    std::function<void(const fs::path& file, json& staged)> apply;
  };
  std::vector<Attack> attacks = {
      {"wrong sha256", [](const fs::path&, json& s) { s["sha256"] = std::string(64, '0'); }},
      {"wrong size", [](const fs::path&, json& s) { s["size"] = s["size"].get<int64_t>() + 1; }},
      {"truncated", [](const fs::path& f, json& s) {
         fs::resize_file(f, fs::file_size(f) / 2);
         s["size"] = static_cast<int64_t>(fs::file_size(f));
         s["sha256"] = sha256_file_hex(f).value();
       }},
      {"flipped byte", [](const fs::path& f, json& s) {
         std::string data = read_file(f);
         data[data.size() / 2] ^= 0x5a;
         write_file(f, data);
         s["sha256"] = sha256_file_hex(f).value();
       }},
      {"path traversal", [](const fs::path&, json& s) { s["path"] = "../../../etc/passwd"; }},
      {"symlink", [](const fs::path& f, json&) {
         fs::path real = f.string() + ".real";
         fs::rename(f, real);
         fs::create_symlink(real, f);
       }},
      {"hard link", [&o](const fs::path& f, json&) {
         fs::path outside = o.dir() / "outside.gpkg.tar";
         fs::copy_file(f, outside);
         fs::remove(f);
         fs::create_hard_link(outside, f);
       }},
      {"missing file", [](const fs::path& f, json&) { fs::remove(f); }},
  };
  std::vector<std::string> atoms;
  for (size_t i = 0; i < attacks.size(); ++i) atoms.push_back("=dev-libs/attack" + std::to_string(i) + "-1");
  o.submit(atoms);
  for (size_t i = 0; i < attacks.size(); ++i) {
    auto lease = o.work("d1");
    ASSERT_TRUE(lease);
    json staged = o.stage("d1", *lease);
    fs::path file = o.data() / "staging" / "d1" / (*lease)["lease_id"].get<std::string>() / staged["path"].get<std::string>();
    std::string atom = (*lease)["atom"];
    attacks[std::stoul(atom.substr(atom.find("attack") + 6))].apply(file, staged);
    auto answer = o.complete("d1", *lease, staged);
    EXPECT_EQ(answer["accepted"], false) << atom << " " << answer.dump();
    EXPECT_EQ(answer["retry_upload"], true) << atom << " " << answer.dump();
    EXPECT_FALSE(answer.value("reason", "").empty());
    // Give the request back so the next attack gets the next request.
    auto rel = o.drone("d1").post_json("/api/v1/leases/" + (*lease)["lease_id"].get<std::string>() + "/release",
                                       {{"fence", (*lease)["fence"]}});
    ASSERT_EQ(rel->status, 200);
    (void)o.admin().post_json("/api/v1/queue/cancel", {{"atom", atom}});
  }
  auto idx = parse_packages(o.packages());
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(idx->packages.size(), 0u);
  size_t files = 0;
  for (auto& e : fs::recursive_directory_iterator(o.data() / "packages"))
    if (e.is_regular_file() && e.path().filename() != "Packages") ++files;
  EXPECT_EQ(files, 0u);
}

TEST(OrchestratorProcess, WrongCategoryInMetadataIsRefused) {
  OrchestratorFixture o;
  o.submit({"=dev-libs/real-1"});
  auto lease = o.work("d1");
  ASSERT_TRUE(lease);
  std::string rel = "dev-libs/real/real-1-1.gpkg.tar";
  fs::path file = o.data() / "staging" / "d1" / (*lease)["lease_id"].get<std::string>() / rel;
  fs::create_directories(file.parent_path());
  ASSERT_EQ(run_shell("sh " + (source_dir() / "tests/support/make-gpkg.sh").string() + " '" + file.string() +
                      "' app-misc real-1 1"),
            0);
  json staged = {{"path", rel}, {"sha256", sha256_file_hex(file).value()}, {"size", static_cast<int64_t>(fs::file_size(file))}};
  auto answer = o.complete("d1", *lease, staged);
  EXPECT_EQ(answer["accepted"], false);
  EXPECT_NE(answer.value("reason", "").find("CATEGORY"), std::string::npos) << answer.dump();
}

TEST(OrchestratorProcess, SecondInstanceOnTheSameDataDirRefusesToStart) {
  OrchestratorFixture o;
  DaemonProcess second(executable("swarm-orchestrator"),
                       {"--listen", "127.0.0.1:0", "--data-dir", o.data().string(), "--gateway-public-key",
                        (o.dir() / "gateway.pub").string(), "--config", "/dev/null"},
                       o.dir() / "second.log");
  auto rc = second.wait(std::chrono::seconds(20));
  ASSERT_TRUE(rc.has_value());
  EXPECT_NE(*rc, 0);
  EXPECT_NE(second.log_text().find("another orchestrator"), std::string::npos) << second.log_text();
}

TEST(OrchestratorProcess, TwoAcceptancesOfOneCpvGetDifferentBuildIds) {
  OrchestratorFixture o;
  o.submit({"=dev-libs/twice-1"});
  auto l1 = o.work("d1");
  ASSERT_EQ(o.complete("d1", *l1, o.stage("d1", *l1))["accepted"], true);
  ASSERT_TRUE(wait_for([&] { return o.state_of("=dev-libs/twice-1") == "published"; }));
  auto r = o.admin().post_json("/api/v1/queue", {{"packages", {{{"atom", "=dev-libs/twice-1"}, {"rebuild", true}}}}});
  ASSERT_EQ(r->json().value()["added"], 1) << r->body;
  auto l2 = o.work("d2");
  ASSERT_TRUE(l2);
  ASSERT_EQ(o.complete("d2", *l2, o.stage("d2", *l2))["accepted"], true);
  ASSERT_TRUE(wait_for([&] { return listed(o.packages(), "dev-libs/twice-1") == 2; }));
  auto idx = parse_packages(o.packages()).value();
  std::set<std::string> ids, paths;
  for (const auto& p : idx.packages) {
    ids.insert(p.at("BUILD_ID"));
    paths.insert(p.at("PATH"));
    auto f = o.data() / "packages" / p.at("PATH");
    ASSERT_TRUE(fs::exists(f));
    EXPECT_EQ(std::to_string(fs::file_size(f)), p.at("SIZE"));
  }
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(paths.size(), 2u);
}

}  // namespace
}  // namespace swarm::test
