// Load generator: N simulated drones over HTTP doing claim + complete against an in-process
// orchestrator (a small real gpkg staged per lease), next to the raw SQLite rate of the same two
// transactions (claim, accept) on the same store settings. Results go to docs/benchmarks.md.
//
//   orchestrator_load_bench [--drones N] [--requests M] [--template FILE.gpkg.tar]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/atom.hpp"
#include "common/crypto.hpp"
#include "common/gpkg.hpp"
#include "common/http_client.hpp"
#include "common/logging.hpp"
#include "common/ticket.hpp"
#include "orchestrator/orchestrator.hpp"
#include "orchestrator/store.hpp"

namespace fs = std::filesystem;
using namespace swarm;
using nlohmann::json;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

double raw_rate(const fs::path& dir, int requests) {
  orch::Store store((dir / "raw.db").string(), system_clock());
  QueueSubmit s;
  for (int i = 0; i < requests; ++i) s.packages.push_back(PackageSpec{"=raw/pkg" + std::to_string(i) + "-1", 0, {}, {}, false});
  if (!store.submit(s)) return 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < requests; ++i) {
    auto lease = store.claim(orch::DroneIdentity{"raw" + std::to_string(i % 64), ""});
    if (!lease || !*lease) return 0;
    CompleteRequest c;
    c.lease_id = (*lease)->lease_id;
    c.fence = (*lease)->fence;
    c.result = "built";
    orch::BinaryRecord b;
    b.cpv = (*lease)->cpv;
    b.build_id = store.allocate_build_id(b.cpv);
    b.path = b.cpv + "-" + std::to_string(b.build_id) + ".gpkg.tar";
    b.metadata = json::object();
    (void)store.record_acceptance(**lease, c, orch::Acceptance{b, [] { return Status{}; }, [] {}});
  }
  double s_elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return requests / s_elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  int drones = 64, requests = 2000;
  std::string tmpl_arg;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--drones")) drones = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--requests")) requests = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--template")) tmpl_arg = argv[i + 1];
  }
  LogOptions lo;
  lo.level = "warn";
  setup_logging(lo);
  fs::path dir = fs::temp_directory_path() / ("swarm-bench-" + random_token(6));
  fs::create_directories(dir);
  fs::path tmpl = tmpl_arg.empty() ? dir / "template.gpkg.tar" : fs::path(tmpl_arg);
  if (tmpl_arg.empty()) {
    std::string script = fs::path(__FILE__).parent_path().parent_path() / "tests/support/make-gpkg.sh";
    std::string cmd = "sh " + script + " " + tmpl.string() + " dev-libs tmpl-1 1 2";
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "cannot make the template gpkg\n");
      return 1;
    }
  }

  double raw = raw_rate(dir, requests);

  auto key = Ed25519Key::generate().value();
  (void)key.save_private_pem(dir / "gw.key");
  {
    FILE* f = std::fopen((dir / "gw.pub").c_str(), "w");
    std::fputs(key.public_pem().c_str(), f);
    std::fclose(f);
  }
  orch::OrchestratorOptions o;
  o.listen = "127.0.0.1:0";
  o.name = "bench";
  o.data_dir = dir / "orch";
  o.gateway_public_key_file = (dir / "gw.pub").string();
  o.long_poll_s = 1;
  orch::Orchestrator orchestrator(o);
  auto port = orchestrator.start();
  if (!port) {
    std::fprintf(stderr, "orchestrator: %s\n", port.error().message.c_str());
    return 1;
  }
  std::string url = "http://127.0.0.1:" + std::to_string(*port);
  {
    TicketClaims c{"gateway", "bench", system_clock()->now_unix() + 600, system_clock()->now_unix(), {{"role", "admin"}}};
    HttpClientOptions co;
    co.bearer_token = sign_ticket(key, c);
    json atoms = json::array();
    for (int i = 0; i < requests; ++i) atoms.push_back("=bench-" + std::to_string(i % 50) + "/pkg" + std::to_string(i) + "-1");
    auto r = HttpClient(url, co).post_json("/api/v1/queue", {{"atoms", atoms}});
    if (!r || r->status != 200) {
      std::fprintf(stderr, "submit failed\n");
      return 1;
    }
  }
  // Binaries are made before the clock starts: the drones' side of the work is not the orchestrator's rate.
  struct Prepared {
    fs::path file;
    std::string sha256;
    int64_t size;
  };
  std::map<std::string, Prepared> prepared;
  fs::create_directories(dir / "pre");
  for (int i = 0; i < requests; ++i) {
    auto atom = parse_atom("=bench-" + std::to_string(i % 50) + "/pkg" + std::to_string(i) + "-1").value();
    fs::path f = dir / "pre" / (std::to_string(i) + ".gpkg.tar");
    (void)rewrite_gpkg(tmpl, f, {{"CATEGORY", atom.category}, {"PF", atom.pf()}, {"BUILD_ID", "1"}}, atom.pf() + "-1");
    prepared[atom.to_string()] = Prepared{f, sha256_file_hex(f).value(), static_cast<int64_t>(fs::file_size(f))};
  }
  std::atomic<int> done{0};
  std::mutex m;
  std::vector<double> claim_ms;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int d = 0; d < drones; ++d) {
    threads.emplace_back([&, d] {
      std::string name = "drone" + std::to_string(d);
      TicketClaims c{name, "bench", system_clock()->now_unix() + 600, system_clock()->now_unix(), {{"role", "drone"}, {"fp", ""}}};
      HttpClientOptions co;
      co.bearer_token = sign_ticket(key, c);
      HttpClient client(url, co);
      while (done.load() < requests) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = client.post_json("/api/v1/work?wait=1", json::object());
        auto t1 = std::chrono::steady_clock::now();
        if (!r || r->status != 200) continue;
        {
          std::lock_guard lock(m);
          claim_ms.push_back(Ms(t1 - t0).count());
        }
        json lease = r->json().value();
        auto atom = parse_atom(lease["atom"].get<std::string>()).value();
        std::string rel = atom.category + "/" + atom.pn + "/" + atom.pf() + "-1.gpkg.tar";
        fs::path file = o.data_dir / "staging" / name / lease["lease_id"].get<std::string>() / rel;
        fs::create_directories(file.parent_path());
        Prepared p;
        {
          std::lock_guard lock(m);
          p = prepared.at(atom.to_string());
        }
        std::error_code ec;
        fs::rename(p.file, file, ec);  // the upload, as rsync leaves it
        json body = {{"lease_id", lease["lease_id"]}, {"fence", lease["fence"]}, {"result", "built"}, {"path", rel},
                     {"sha256", p.sha256}, {"size", p.size},
                     {"duration_s", 1}, {"max_rss_mb", 1}, {"exit_code", 0}, {"log_tail", ""}};
        auto a = client.post_json("/api/v1/complete", body);
        if (a && a->status == 200) ++done;
      }
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(claim_ms.begin(), claim_ms.end());
  auto pct = [&](double p) { return claim_ms.empty() ? 0.0 : claim_ms[static_cast<size_t>(p * (claim_ms.size() - 1))]; };
  double e2e = requests / elapsed;
  std::printf("drones=%d requests=%d\n", drones, requests);
  std::printf("end-to-end: %.1f cycles/s (claim p50 %.2f ms, p99 %.2f ms)\n", e2e, pct(0.5), pct(0.99));
  std::printf("raw sqlite (claim + accept transactions, synchronous=FULL): %.1f cycles/s\n", raw);
  std::printf("ratio: %.2f\n", raw > 0 ? e2e / raw : 0.0);
  orchestrator.stop();
  fs::remove_all(dir);
  return 0;
}
