// The whole swarm as real processes: gateway, orchestrator, a drone with the stand-in emerge, a real
// sshd with the rrsync restriction and real rsync uploads. Checked from views the swarm does not
// control: the stand-in's ledger, the drone's PKGDIR, the binhost served over HTTP.
#include <gtest/gtest.h>

#include <csignal>
#include <sstream>

#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "common/packages_index.hpp"
#include "integration/swarm_fixture.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(SwarmProcesses, PackagesAreBuiltUploadedAcceptedAndPublished) {
  Swarm s;
  auto sub = s.admin().post_json(
      "/api/v1/queue", {{"packages",
                         {{{"atom", "=dev-libs/base-1.0"}},
                          {{"atom", "=dev-libs/mid-2.1-r1"}, {"deps", {"=dev-libs/base-1.0"}}},
                          {{"atom", "=app-misc/top-3"}, {"deps", {"=dev-libs/mid-2.1-r1"}}}}}});
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->status, 200) << sub->body << s.logs();
  ASSERT_TRUE(wait_for([&] { return s.count("published") == 3; }, std::chrono::seconds(90))) << s.logs();

  auto pk = HttpClient(s.orch_url).get("/binhost/Packages");
  ASSERT_TRUE(pk.ok());
  auto idx = parse_packages(pk->body).value();
  ASSERT_EQ(idx.packages.size(), 3u);
  std::set<std::string> cpvs;
  for (const auto& p : idx.packages) {
    cpvs.insert(p.at("CPV"));
    auto file = s.dir / "orch" / "packages" / p.at("PATH");
    ASSERT_TRUE(fs::exists(file)) << p.at("PATH");
    auto served = HttpClient(s.orch_url).get("/binhost/" + p.at("PATH"));
    ASSERT_TRUE(served.ok());
    EXPECT_EQ(served->status, 200);
    EXPECT_EQ(std::to_string(served->body.size()), p.at("SIZE"));
  }
  EXPECT_EQ(cpvs, (std::set<std::string>{"dev-libs/base-1.0", "dev-libs/mid-2.1-r1", "app-misc/top-3"}));
  // The stand-in's own ledger: each package built once, by d1.
  auto ledger = lines_of(s.dir / "ledger");
  EXPECT_EQ(ledger.size(), 3u);
  // Local copies are gone once accepted, and the drone's Packages no longer lists them.
  ASSERT_TRUE(wait_for([&] {
    size_t left = 0;
    if (fs::exists(s.dir / "d1-pkgdir"))
      for (auto& e : fs::recursive_directory_iterator(s.dir / "d1-pkgdir"))
        if (e.is_regular_file() && e.path().string().ends_with(".gpkg.tar")) ++left;
    return left == 0;
  }, std::chrono::seconds(20)));
  // The drone is known to the gateway, approved, with both addresses.
  auto nodes = HttpClient(s.gateway_url).get("/api/v1/nodes");
  ASSERT_TRUE(nodes.ok());
  auto list = nodes->json().value();
  auto& arr = list.is_array() ? list : list["nodes"];
  ASSERT_FALSE(arr.empty()) << nodes->body;
  EXPECT_EQ(arr[0]["name"], "d1");
  EXPECT_EQ(arr[0]["approval"], "approved");
  EXPECT_EQ(arr[0]["report_ip"], "127.0.0.1");
}

TEST(SwarmProcesses, FailedBuildIsReportedAndNeverUploaded) {
  Swarm s(std::map<std::string, std::string>{{"FAKE_EMERGE_FAIL", "dev-libs/broken-1"}});
  auto sub = s.admin().post_json("/api/v1/queue", {{"atoms", {"=dev-libs/broken-1"}}});
  ASSERT_EQ(sub->status, 200) << sub->body;
  ASSERT_TRUE(wait_for(
      [&] {
        auto q = HttpClient(s.orch_url).get("/api/v1/queue");
        if (!q || q->status != 200) return false;
        for (const auto& e : q->json().value())
          if (e["atom"] == "=dev-libs/broken-1" && e["attempts"].get<int64_t>() >= 1) return true;
        return false;
      },
      std::chrono::seconds(60)))
      << s.logs();
  // Nothing reached staging or PKGDIR; the argv was the canonical command.
  size_t staged = 0;
  for (auto& e : fs::recursive_directory_iterator(s.dir / "orch" / "staging"))
    if (e.is_regular_file() && e.path().string().ends_with(".gpkg.tar")) ++staged;
  EXPECT_EQ(staged, 0u);
  EXPECT_EQ(parse_packages(HttpClient(s.orch_url).get("/binhost/Packages")->body).value().packages.size(), 0u);
  std::vector<std::string> builds;
  for (const auto& l : lines_of(s.dir / "argv.log"))
    if (l.find("=dev-libs/broken-1") != std::string::npos) builds.push_back(l);
  ASSERT_FALSE(builds.empty());
  EXPECT_NE(builds[0].find("--usepkg-exclude=dev-libs/broken"), std::string::npos) << builds[0];
  for (const auto& b : builds) EXPECT_EQ(b, builds[0]) << "retry information never enters the command line";
}

}  // namespace
}  // namespace swarm::test
