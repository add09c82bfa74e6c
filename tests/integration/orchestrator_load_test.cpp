// Many concurrent drones against a real orchestrator: exclusivity, exactly-once publication, the
// lost-answer case, and kill -9 of the orchestrator during a run.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/atom.hpp"
#include "common/gpkg.hpp"
#include "common/packages_index.hpp"
#include "common/sqlite.hpp"
#include "integration/orchestrator_fixture.hpp"

namespace swarm::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

// Stages a gpkg for the lease by rewriting a template (fast enough for thousands of leases).
json stage_from_template(OrchestratorFixture& o, const fs::path& tmpl, const std::string& drone, const json& lease) {
  auto atom = parse_atom(lease["atom"].get<std::string>()).value();
  std::string rel = atom.category + "/" + atom.pn + "/" + atom.pf() + "-1.gpkg.tar";
  fs::path file = o.data() / "staging" / drone / lease["lease_id"].get<std::string>() / rel;
  fs::create_directories(file.parent_path());
  fs::remove(file);
  auto st = rewrite_gpkg(tmpl, file, {{"CATEGORY", atom.category}, {"PF", atom.pf()}, {"BUILD_ID", "1"}}, atom.pf() + "-1");
  if (!st) throw std::runtime_error("rewrite failed: " + st.error().message);
  return {{"path", rel}, {"sha256", sha256_file_hex(file).value()}, {"size", static_cast<int64_t>(fs::file_size(file))}};
}

struct LoadResult {
  std::set<std::string> accepted;
  std::atomic<size_t> count{0};  // accepted.size(), readable without the lock
  int64_t double_leases = 0;
  int64_t lost_answer_mismatches = 0;
};

// Runs `clients` drones until `total` requests are accepted or `stop` turns true.
void run_drones(OrchestratorFixture& o, const fs::path& tmpl, int clients, size_t total, LoadResult& res,
                std::atomic<bool>& stop) {
  std::mutex m;
  std::map<std::string, std::string> holder;  // cpv -> drone currently building it
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::string name = "drone" + std::to_string(c);
      int claims = 0;
      while (!stop) {
        {
          std::lock_guard lock(m);
          if (res.accepted.size() >= total) return;
        }
        std::optional<json> lease;
        try {
          auto r = o.drone(name).post_json("/api/v1/work?wait=1", json::object());
          if (!r || (r->status != 200 && r->status != 204)) continue;  // restarting: try again
          if (r->status == 204) continue;
          lease = r->json().value();
          if (++claims % 50 == 0) {
            // The lost-answer case: asking again returns the same lease.
            auto again = o.drone(name).post_json("/api/v1/work?wait=0", json::object());
            if (again && again->status == 200 && again->json().value()["lease_id"] != (*lease)["lease_id"]) {
              std::lock_guard lock(m);
              ++res.lost_answer_mismatches;
            }
          }
        } catch (...) {
          continue;
        }
        std::string atom = (*lease)["atom"];
        {
          std::lock_guard lock(m);
          auto [it, fresh] = holder.emplace(atom, name);
          if (!fresh && it->second != name) ++res.double_leases;
        }
        json staged = stage_from_template(o, tmpl, name, *lease);
        for (int attempt = 0; attempt < 200 && !stop; ++attempt) {
          try {
            json a = o.complete(name, *lease, staged);
            if (a.contains("accepted")) {
              std::lock_guard lock(m);
              holder.erase(atom);
              if (a["accepted"] == true) {
                res.accepted.insert(atom);
                res.count = res.accepted.size();
              }
              break;
            }
          } catch (...) {
          }
          // The orchestrator is restarting: wait until it answers again, then send the completion again.
          wait_for([&] { return HttpClient(o.url()).get("/api/v1/health").ok() || stop.load(); },
                   std::chrono::seconds(10));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
}

void check_binhost(OrchestratorFixture& o, const std::set<std::string>& accepted) {
  ASSERT_TRUE(wait_for(
      [&] {
        auto idx = parse_packages(o.packages());
        return idx.ok() && idx->packages.size() >= accepted.size();
      },
      std::chrono::seconds(30)));
  auto idx = parse_packages(o.packages()).value();
  std::map<std::string, int> count;
  std::set<std::string> listed_paths;
  for (const auto& p : idx.packages) {
    ++count[p.at("CPV")];
    listed_paths.insert(p.at("PATH"));
    EXPECT_TRUE(fs::exists(o.data() / "packages" / p.at("PATH"))) << p.at("PATH");
  }
  for (const auto& atom : accepted) EXPECT_EQ(count[atom.substr(1)], 1) << atom << " must be published exactly once";
  Database db((o.data() / "queue.db").string(), DatabaseOptions{Synchronous::full, std::chrono::milliseconds(5000), true, true, true});
  EXPECT_TRUE(db.integrity_check().ok());
  std::set<std::string> recorded;
  auto st = db.prepare("SELECT path FROM binaries");
  while (st.step()) recorded.insert(st.column_text(0));
  for (auto& e : fs::recursive_directory_iterator(o.data() / "packages")) {
    if (!e.is_regular_file()) continue;
    auto rel = fs::relative(e.path(), o.data() / "packages").string();
    if (rel == "Packages" || rel.rfind(".", 0) == 0) continue;
    EXPECT_TRUE(recorded.count(rel)) << "file in PKGDIR unknown to the database: " << rel;
  }
}

class OrchestratorLoad : public ::testing::Test {
 protected:
  void make_template(OrchestratorFixture& o) {
    tmpl = o.dir() / "template.gpkg.tar";
    ASSERT_EQ(run_shell("sh " + (source_dir() / "tests/support/make-gpkg.sh").string() + " '" + tmpl.string() +
                        "' dev-libs tmpl-1 1 2"),
              0);
  }
  fs::path tmpl;
};

TEST_F(OrchestratorLoad, ManyDronesClaimAndCompleteEveryRequestExactlyOnce) {
  OrchestratorFixture o({"--long-poll", "2"});
  make_template(o);
  const int total = env_int("SWARM_LOAD_REQUESTS", 5000);
  const int clients = env_int("SWARM_LOAD_CLIENTS", 64);
  std::vector<std::string> atoms;
  for (int i = 0; i < total; ++i) atoms.push_back("=cat-" + std::to_string(i % 40) + "/pkg" + std::to_string(i) + "-1.0");
  auto sub = o.submit(atoms);
  ASSERT_EQ(sub["added"], total);
  LoadResult res;
  std::atomic<bool> stop{false};
  run_drones(o, tmpl, clients, static_cast<size_t>(total), res, stop);
  EXPECT_EQ(res.accepted.size(), static_cast<size_t>(total));
  EXPECT_EQ(res.double_leases, 0);
  EXPECT_EQ(res.lost_answer_mismatches, 0);
  check_binhost(o, res.accepted);
  ASSERT_TRUE(wait_for([&] {
    auto s = HttpClient(o.url()).get("/api/v1/status");
    return s && s->json().value()["queue"]["published"] == total;
  }, std::chrono::seconds(30)));
}

TEST_F(OrchestratorLoad, KillNineDuringARunLosesNothing) {
  OrchestratorFixture o({"--long-poll", "1"});
  make_template(o);
  const int total = env_int("SWARM_KILL_REQUESTS", 300);
  std::vector<std::string> atoms;
  for (int i = 0; i < total; ++i) atoms.push_back("=kill-test/pkg" + std::to_string(i) + "-1");
  o.submit(atoms);
  LoadResult res;
  std::atomic<bool> stop{false};
  std::thread load([&] { run_drones(o, tmpl, 8, static_cast<size_t>(total), res, stop); });
  std::mt19937 rng(std::random_device{}());
  for (int k = 0; k < 3; ++k) {
    // Kill at a random point of the run, then restart on the same data directory.
    size_t target = static_cast<size_t>(total) * static_cast<size_t>(k + 1) / 4 + rng() % 20;
    ASSERT_TRUE(wait_for([&] { return res.count.load() >= target; }, std::chrono::seconds(120)));
    o.kill9();
    o.start();
  }
  bool done = wait_for([&] { return res.count.load() >= static_cast<size_t>(total); }, std::chrono::seconds(180));
  stop = !done;
  load.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(res.double_leases, 0);
  check_binhost(o, res.accepted);
}

}  // namespace
}  // namespace swarm::test
