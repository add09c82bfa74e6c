// The whole user path on real Portage: a workstation's `emerge -p --tree` submitted to a swarm whose
// drones build with real emerge (dependencies fetched as signed binaries from the swarm), and a
// workstation with Portage's default `verify-signature = true` installing everything from it.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "common/emerge_pretend.hpp"
#include "common/fingerprint.hpp"
#include "common/http_client.hpp"
#include "common/packages_index.hpp"
#include "portage/portage_fixture.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string text_of(const fs::path& p) {
  try {
    return read_file(p);
  } catch (const std::exception&) {
    return "(no " + p.string() + ")";
  }
}

// The targets a user updates, and the edges their ebuilds declare (each package is needed by one other
// only, so Portage's tree, which prints a package once, shows every one of them).
const std::vector<std::string> kTargets{"=app-misc/swarm-app-1.0",     "=app-misc/cycle-a-1.0",
                                        "=app-misc/swarm-broken-1.0",  "=dev-libs/swarm-slotted-1.0",
                                        "=dev-libs/swarm-slotted-2.0", "=app-misc/twin-1.0::swarmlay"};

TEST(RealPortage, TreeEdgesAreExactlyWhatTheEbuildsDeclare) {
  SKIP_WITHOUT_PORTAGE();
  TempDir t;
  write_test_repos(t / "repos");
  PortagePrefix ws(t / "ws", {t / "repos", "", true, {}});
  std::vector<std::string> args{"--pretend", "--verbose", "--tree"};
  args.insert(args.end(), kTargets.begin(), kTargets.end());
  auto r = ws.emerge(args, t / "tree.txt", 300s);
  ASSERT_TRUE(r.success()) << describe(r) << "\n" << text_of(t / "tree.txt");
  auto graph = parse_emerge_graph(read_file(t / "tree.txt"));
  ASSERT_TRUE(graph.ok()) << graph.error().message;
  EXPECT_TRUE(graph->tree);
  std::set<PretendEdge> edges(graph->edges.begin(), graph->edges.end());
  EXPECT_EQ(edges, (std::set<PretendEdge>{{"app-misc/swarm-app-1.0", "dev-util/swarm-tool-1.0"},
                                          {"dev-util/swarm-tool-1.0", "app-misc/swarm-lib-1.0"},
                                          {"app-misc/cycle-a-1.0", "app-misc/cycle-b-1.0"},
                                          {"app-misc/cycle-b-1.0", "app-misc/cycle-a-1.0"}}))
      << text_of(t / "tree.txt");
  EXPECT_EQ(graph->packages.size(), 9u);
  // Merge order: a dependency before what needs it (the cycle aside).
  auto pos = [&](const std::string& cpv) {
    for (size_t i = 0; i < graph->packages.size(); ++i)
      if (graph->packages[i].atom == cpv) return i;
    return graph->packages.size();
  };
  EXPECT_LT(pos("app-misc/swarm-lib-1.0"), pos("dev-util/swarm-tool-1.0"));
  EXPECT_LT(pos("dev-util/swarm-tool-1.0"), pos("app-misc/swarm-app-1.0"));
}

TEST(RealPortage, EmergeInfoGivesTheFingerprint) {
  SKIP_WITHOUT_PORTAGE();
  TempDir t;
  write_test_repos(t / "repos");
  PortagePrefix ws(t / "ws", {t / "repos", "", true, {}});
  auto r = ws.emerge({"--info"}, t / "info.log", 300s);
  ASSERT_TRUE(r.success()) << describe(r) << "\n" << text_of(t / "info.log");
  auto fp = parse_emerge_info(read_file(t / "info.log"));
  ASSERT_TRUE(fp.ok()) << fp.error().message;
  EXPECT_EQ(fp->values.at("CHOST"), "x86_64-pc-linux-gnu");
  EXPECT_EQ(fp->values.at("CFLAGS"), "-O2 -pipe");
  EXPECT_EQ(fp->values.at("LDFLAGS"), "-Wl,-O1 -Wl,--as-needed");
  EXPECT_EQ(fp->values.at("ACCEPT_KEYWORDS"), "amd64");
  EXPECT_NE(fp->values.at("USE").find("swarm"), std::string::npos);
}

class RealPortageSwarm : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_PORTAGE(); }
};

TEST_F(RealPortageSwarm, DronesBuildWithRealEmergeAndAVerifyingWorkstationInstallsEverything) {
  PortageSwarm swarm(2);
  const fs::path& d = swarm.dir.path();

  // The workstation: Portage's defaults (verify-signature = true), the swarm's key trusted.
  PortagePrefix ws(d / "ws", {swarm.repos, swarm.binhost_url(), true, {}});
  ASSERT_TRUE(ws.trust_key(swarm.public_key()));

  // What a user does: emerge --pretend --tree of the update, submitted as it is.
  const std::vector<std::string>& targets = kTargets;
  std::vector<std::string> pretend{"--pretend", "--verbose", "--tree"};
  pretend.insert(pretend.end(), targets.begin(), targets.end());
  auto p = ws.emerge(pretend, d / "pretend.txt", 300s);
  ASSERT_TRUE(p.success()) << describe(p) << "\n" << text_of(d / "pretend.txt");

  auto submitted = swarm.cli({"submit", "--from-emerge", (d / "pretend.txt").string(), "--fingerprint",
                              "--emerge-info-command", ws.bin("emerge").string() + " --info", "--portage-dir",
                              ws.etc_portage().string()},
                             d / "submit.log");
  ASSERT_TRUE(submitted.success()) << text_of(d / "submit.log") << "\n" << text_of(d / "pretend.txt");

  const std::vector<std::string> good{"app-misc/swarm-lib-1.0", "dev-util/swarm-tool-1.0", "app-misc/swarm-app-1.0",
                                      "app-misc/cycle-a-1.0",   "app-misc/cycle-b-1.0",    "dev-libs/swarm-slotted-1.0",
                                      "dev-libs/swarm-slotted-2.0", "app-misc/twin-1.0"};
  auto state_of = [&](const std::string& cpv) {
    json r = swarm.row(cpv);
    return r.is_null() ? std::string("absent") : r.value("state", "");
  };
  bool done = wait_for(
      [&] {
        for (const auto& cpv : good)
          if (state_of(cpv) != "published") return false;
        return state_of("app-misc/swarm-broken-1.0") == "quarantined";
      },
      scaled(std::chrono::seconds(1500)));
  ASSERT_TRUE(done) << swarm.queue().dump(1) << "\n" << swarm.logs();

  // The failure shown is Portage's own, not the drone's exit line.
  json broken = swarm.row("app-misc/swarm-broken-1.0");
  EXPECT_NE(broken.value("reason", "").find("ERROR: app-misc/swarm-broken-1.0::swarmtest failed (compile phase)"),
            std::string::npos)
      << broken.dump();

  // Every drone compiled only its target: whatever it needed came as a binary from the swarm (or was
  // already installed by its own earlier build).
  for (const auto& cpv : good) {
    json row = swarm.row(cpv);
    ASSERT_TRUE(row.contains("last_build_id")) << row.dump();
    auto log = HttpClient(swarm.orch_url).get("/api/v1/builds/" + std::to_string(row["last_build_id"].get<int64_t>()) + "/log");
    ASSERT_TRUE(log && log->status == 200) << cpv;
    std::string body = log->body;
    std::regex compiled(R"(>>> Emerging \(\d+ of \d+\) ([^ \n]+))");
    std::vector<std::string> built;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), compiled); it != std::sregex_iterator(); ++it)
      built.push_back((*it)[1]);
    if (cpv.find("cycle-") == std::string::npos) {  // a broken cycle's first package needs the other at run time
      ASSERT_EQ(built.size(), 1u) << cpv << "\n" << body;
      EXPECT_EQ(built[0].substr(0, built[0].find("::")), cpv) << body;
    }
  }

  // The index as served: the overlay's twin, both slots, every binary signed (checked by the install).
  auto index = HttpClient(swarm.orch_url).get("/binhost/Packages");
  ASSERT_TRUE(index && index->status == 200);
  auto parsed = parse_packages(index->body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  std::set<std::string> slots;
  for (const auto& e : parsed->packages) {
    if (e.at("CPV") == "app-misc/twin-1.0") {
      EXPECT_EQ(e.at("REPO"), "swarmlay");
    }
    if (e.at("CPV").rfind("dev-libs/swarm-slotted-", 0) == 0) slots.insert(e.count("SLOT") ? e.at("SLOT") : "0");
  }
  EXPECT_EQ(slots, (std::set<std::string>{"1", "2"}));

  // The workstation installs the whole graph from binaries only, verifying every signature.
  std::vector<std::string> install{"--usepkgonly", "--getbinpkg", "--oneshot", "=app-misc/swarm-lib-1.0",
                                   "=dev-util/swarm-tool-1.0"};
  for (const auto& t : targets) {
    if (t.find("broken") == std::string::npos) install.push_back(t);
  }
  auto inst = ws.emerge(install, d / "install.log", 900s);
  ASSERT_TRUE(inst.success()) << describe(inst) << "\n" << text_of(d / "install.log");
  for (const auto& cpv : good) EXPECT_TRUE(ws.installed(cpv)) << cpv;
  EXPECT_EQ(text_of(d / "install.log").find("appears unsigned"), std::string::npos);
  auto ran = run_logged({(ws.root() / "usr/bin/swarm-app-1.0").string()}, d / "app.out", 30s);
  ASSERT_TRUE(ran.success());
  EXPECT_EQ(read_file(d / "app.out"), "swarm-app 1.0 using swarm-tool 1.0 built with swarm-lib 1.0\n");
  ASSERT_TRUE(run_logged({(ws.root() / "usr/bin/twin-1.0").string()}, d / "twin.out", 30s).success());
  EXPECT_EQ(read_file(d / "twin.out"), "twin from swarmlay\n");

  // An attacker on the binhost: one package's content altered, another re-signed with a key the client
  // never trusted, the index made consistent again. Portage refuses both and installs the rest.
  {
    fs::path stranger = d / "stranger-gnupg";
    fs::create_directories(stranger);
    fs::permissions(stranger, fs::perms::owner_all);
    ASSERT_TRUE(run_logged({"gpg", "--homedir", stranger.string(), "--batch", "--passphrase", "", "--quick-gen-key",
                            "mallory <mallory@example.invalid>", "ed25519", "sign", "never"},
                           d / "stranger.log", 120s)
                    .success());
    auto tampered = run_logged({"python3", (source_dir() / "tests/portage/tamper-binhost.py").string(), swarm.binhost_url(),
                                (d / "evil").string(), "--content", "app-misc/swarm-lib-1.0", "--signature",
                                "dev-libs/swarm-slotted-1.0", "--stranger-gnupg", stranger.string()},
                               d / "tamper.log", 300s);
    ASSERT_TRUE(tampered.success()) << text_of(d / "tamper.log");
    uint16_t port = free_loopback_port();
    DaemonProcess server("/usr/bin/python3",
                         {"-m", "http.server", std::to_string(port), "--bind", "127.0.0.1", "--directory", (d / "evil").string()},
                         d / "evil-server.log");
    std::string evil_url = "http://127.0.0.1:" + std::to_string(port);
    ASSERT_TRUE(wait_for([&] { auto r = HttpClient(evil_url).get("/Packages"); return r && r->status == 200; },
                         scaled(std::chrono::seconds(20))));
    PortagePrefix victim(d / "victim", {swarm.repos, evil_url, true, {}});
    ASSERT_TRUE(victim.trust_key(swarm.public_key()));
    for (const std::string cpv : {"app-misc/swarm-lib-1.0", "dev-libs/swarm-slotted-1.0"}) {
      fs::path log = d / ("victim-" + cpv.substr(cpv.find('/') + 1) + ".log");
      auto r = victim.emerge({"--usepkgonly", "--getbinpkg", "--oneshot", "=" + cpv}, log, 600s);
      EXPECT_FALSE(r.success()) << cpv << "\n" << text_of(log);
      EXPECT_FALSE(victim.installed(cpv)) << cpv;
      // Portage's own refusal: BADSIG for the altered content, NO_PUBKEY for the stranger's signatures.
      EXPECT_NE(text_of(log).find("GnuPG verification failed"), std::string::npos) << text_of(log);
      EXPECT_NE(text_of(log).find(cpv.find("swarm-lib") != std::string::npos ? "[GNUPG:] BADSIG" : "[GNUPG:] NO_PUBKEY"),
                std::string::npos)
          << text_of(log);
    }
    auto ok = victim.emerge({"--usepkgonly", "--getbinpkg", "--oneshot", "=dev-libs/swarm-slotted-2.0"},
                            d / "victim-ok.log", 600s);
    EXPECT_TRUE(ok.success()) << text_of(d / "victim-ok.log");
    EXPECT_TRUE(victim.installed("dev-libs/swarm-slotted-2.0"));
  }

  // A drone that joins later, with nothing installed, rebuilds swarm-app: its build dependency comes
  // as a signed binary from the swarm (Portage says so), and only swarm-app is compiled. Portage
  // numbers the local build after the binhost's instance.
  swarm.stop_drones();
  int late = swarm.add_drone();
  ASSERT_EQ(late, 2);
  write_file(d / "rebuild.json", R"({"packages":[{"atom":"=app-misc/swarm-app-1.0","rebuild":true}]})");
  auto rebuilt = swarm.cli({"submit", "--graph", (d / "rebuild.json").string()}, d / "submit2.log");
  ASSERT_TRUE(rebuilt.success()) << text_of(d / "submit2.log");
  int64_t first_build = swarm.row("app-misc/swarm-app-1.0").value("last_build_id", int64_t{0});
  bool again = wait_for(
      [&] {
        for (const auto& r : swarm.queue())
          if (r.value("atom", "").find("swarm-app-1.0") != std::string::npos && r.value("state", "") == "published" &&
              r.value("last_build_id", int64_t{0}) != first_build)
            return true;
        return false;
      },
      scaled(std::chrono::seconds(600)));
  ASSERT_TRUE(again) << swarm.queue().dump(1) << "\n" << swarm.logs();
  json newest;
  for (const auto& r : swarm.queue())
    if (r.value("atom", "").find("swarm-app-1.0") != std::string::npos && r.value("last_build_id", int64_t{0}) != first_build)
      newest = r;
  auto log = HttpClient(swarm.orch_url).get("/api/v1/builds/" + std::to_string(newest["last_build_id"].get<int64_t>()) + "/log");
  ASSERT_TRUE(log && log->status == 200);
  EXPECT_TRUE(std::regex_search(log->body, std::regex(R"(>>> Emerging binary \(\d+ of \d+\) dev-util/swarm-tool-1\.0::swarmtest)")))
      << log->body;
  EXPECT_TRUE(std::regex_search(log->body, std::regex(R"(>>> Emerging \(\d+ of \d+\) app-misc/swarm-app-1\.0::swarmtest)")))
      << log->body;
  const std::regex compiles(R"(>>> Emerging \()");
  EXPECT_EQ(std::distance(std::sregex_iterator(log->body.begin(), log->body.end(), compiles), std::sregex_iterator()), 1)
      << log->body;
  // The binhost now has both instances; the newer one got the next BUILD_ID.
  auto index2 = HttpClient(swarm.orch_url).get("/binhost/Packages");
  ASSERT_TRUE(index2 && index2->status == 200);
  std::set<std::string> ids;
  auto parsed2 = parse_packages(index2->body);
  ASSERT_TRUE(parsed2.ok()) << parsed2.error().message;
  for (const auto& e : parsed2->packages)
    if (e.at("CPV") == "app-misc/swarm-app-1.0") ids.insert(e.at("BUILD_ID"));
  EXPECT_EQ(ids, (std::set<std::string>{"1", "2"}));
}

}  // namespace
}  // namespace swarm::test
