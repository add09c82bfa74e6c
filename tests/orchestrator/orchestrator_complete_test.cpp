// POST /api/v1/complete against an in-process Orchestrator: a slow intake is answered 202 "in_progress", a
// replay waits for the same intake, the final answer is stored, and a stop mid-intake loses nothing.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/atom.hpp"
#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "common/ticket.hpp"
#include "orchestrator/orchestrator.hpp"
#include "support/test_support.hpp"

namespace swarm::orch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Blocks intake threads until opened (or, with `until_stopping`, until the orchestrator is stopping).
struct IntakeGate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  bool until_stopping = false;
  int entered = 0;

  void pass(const std::atomic<bool>& stopping) {
    std::unique_lock lock(mutex);
    ++entered;
    cv.notify_all();
    if (until_stopping) {
      lock.unlock();
      EXPECT_TRUE(test::wait_for([&] { return stopping.load(); }));
      return;
    }
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return open; }));
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
  int count() {
    std::lock_guard lock(mutex);
    return entered;
  }
};

class CompleteTest : public ::testing::Test {
 protected:
  void SetUp() override { test::write_file(dir / "gateway.pub", key.public_pem()); }
  void TearDown() override {
    gate.release();
    if (orch) orch->stop();
  }

  void start(double complete_wait_s, bool gated) {
    OrchestratorOptions o;
    o.listen = "127.0.0.1:0";
    o.name = "orch";
    o.data_dir = dir / "data";
    o.gateway_public_key_file = (dir / "gateway.pub").string();
    o.complete_wait_s = complete_wait_s;
    o.http_threads = 2;
    o.index_batch_ms = index_batch_ms;
    if (gated) o.before_intake = [this](const std::string&, const std::atomic<bool>& stopping) { gate.pass(stopping); };
    orch = std::make_unique<Orchestrator>(o);
    auto port = orch->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    url = "http://127.0.0.1:" + std::to_string(*port);
  }

  HttpClient client(const std::string& subject, const std::string& role) const {
    TicketClaims c;
    c.subject = subject;
    c.audience = "orch";
    c.issued_unix = system_clock()->now_unix();
    c.expires_unix = c.issued_unix + 600;
    c.extra = {{"role", role}, {"fp", ""}};
    HttpClientOptions o;
    o.bearer_token = sign_ticket(key, c);
    o.total_timeout = std::chrono::seconds(60);
    return HttpClient(url, o);
  }

  // Queues the atom, takes its lease as d1 and stages a valid gpkg for it; returns the completion body.
  json lease_and_stage(const std::string& atom_text) {
    auto sub = client("gateway", "admin").post_json("/api/v1/queue", {{"atoms", {atom_text}}});
    EXPECT_TRUE(sub.ok() && sub->status == 200);
    auto work = client("d1", "drone").post_json("/api/v1/work?wait=0", json::object());
    EXPECT_TRUE(work.ok() && work->status == 200);
    json lease = work->json().value();
    auto atom = parse_atom(lease["atom"].get<std::string>()).value();
    std::string rel = atom.category + "/" + atom.pn + "/" + atom.pf() + "-1.gpkg.tar";
    staged = dir / "data/staging/d1" / lease["lease_id"].get<std::string>() / rel;
    fs::create_directories(staged.parent_path());
    EXPECT_EQ(test::run_shell("sh '" + (test::source_dir() / "tests/support/make-gpkg.sh").string() + "' '" +
                              staged.string() + "' " + atom.category + " " + atom.pf() + " 1"),
              0);
    return {{"lease_id", lease["lease_id"]}, {"fence", lease["fence"]}, {"result", "built"}, {"path", rel},
            {"sha256", sha256_file_hex(staged).value()}, {"size", static_cast<int64_t>(fs::file_size(staged))},
            {"duration_s", 1.5}, {"max_rss_mb", 100}, {"exit_code", 0}, {"log_tail", "ok\n"}};
  }

  std::pair<int, json> complete(const json& body) {
    auto r = client("d1", "drone").post_json("/api/v1/complete", body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) return {0, json()};
    auto j = r->json();
    return {r->status, j.ok() ? *j : json()};
  }

  size_t binaries_in_pkgdir() {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir / "data/packages"))
      if (e.path().string().ends_with(".gpkg.tar") && e.path().string().find(".orphaned") == std::string::npos) ++n;
    return n;
  }

  test::TempDir dir;
  Ed25519Key key = Ed25519Key::generate().value();
  int64_t index_batch_ms = 300;
  IntakeGate gate;
  std::unique_ptr<Orchestrator> orch;
  std::string url;
  fs::path staged;
};

TEST_F(CompleteTest, SlowIntakeIsAnsweredInProgressAndTheReplayGetsTheFinalAnswer) {
  start(0.2, true);
  json body = lease_and_stage("=app-misc/big-1.0");
  auto [status, first] = complete(body);
  EXPECT_EQ(status, 202) << first.dump();
  EXPECT_EQ(first["status"], "in_progress");
  EXPECT_EQ(first["accepted"], false);
  EXPECT_GT(first.value("retry_after_s", 0), 0);
  auto [status2, replay] = complete(body);  // the intake is still held: the replay waits for it, then 202 again
  EXPECT_EQ(status2, 202) << replay.dump();
  EXPECT_EQ(replay["status"], "in_progress");
  EXPECT_EQ(gate.count(), 1) << "one intake per lease at a time";
  EXPECT_TRUE(fs::exists(staged)) << "the staged file stays until the final answer";

  gate.release();
  json final_answer;
  EXPECT_TRUE(test::wait_for([&] {
    auto [s, a] = complete(body);
    final_answer = a;
    return s == 200;
  }));
  EXPECT_EQ(final_answer["status"], "ok");
  EXPECT_EQ(final_answer["accepted"], true) << final_answer.dump();
  EXPECT_EQ(gate.count(), 1);
  auto [status3, again] = complete(body);  // stored: replays keep getting it
  EXPECT_EQ(status3, 200);
  EXPECT_EQ(again, final_answer);
  EXPECT_EQ(gate.count(), 1) << "a stored answer starts no intake";
  EXPECT_EQ(binaries_in_pkgdir(), 1u);
  EXPECT_FALSE(fs::exists(staged)) << "staging is cleaned up after the final answer";
  auto lease = orch->store().lease(body["lease_id"]);
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(lease->answer.has_value());
  EXPECT_EQ(json::parse(*lease->answer)["accepted"], true);
}

TEST_F(CompleteTest, AnIntakeFinishingWithinTheWaitIsAnsweredDirectly) {
  start(30, true);
  json body = lease_and_stage("=app-misc/small-1.0");
  std::pair<int, json> answer;
  std::thread sender([&] { answer = complete(body); });
  ASSERT_TRUE(test::wait_for([&] { return gate.count() == 1; }));
  gate.release();
  sender.join();
  EXPECT_EQ(answer.first, 200) << answer.second.dump();
  EXPECT_EQ(answer.second["accepted"], true);
}

TEST_F(CompleteTest, StopMidIntakeStoresNothingAndTheRestartedOrchestratorTakesTheStagedFile) {
  gate.until_stopping = true;  // the intake is held until stop() has begun, then must give up
  start(0.1, true);
  json body = lease_and_stage("=app-misc/big-2.0");
  auto [status, first] = complete(body);
  EXPECT_EQ(status, 202) << first.dump();
  ASSERT_TRUE(test::wait_for([&] { return gate.count() == 1; }));
  orch->stop();  // waits for the intake thread, which sees the stop and abandons
  auto lease = orch->store().lease(body["lease_id"]);
  ASSERT_TRUE(lease.has_value());
  EXPECT_FALSE(lease->answer.has_value()) << "no answer stored for an abandoned intake";
  EXPECT_TRUE(fs::exists(staged)) << "the staged file is kept for the replay";
  EXPECT_EQ(binaries_in_pkgdir(), 0u);
  orch.reset();

  gate.until_stopping = false;
  start(30, false);
  auto [status2, answer] = complete(body);  // the drone's replay after the restart
  EXPECT_EQ(status2, 200) << answer.dump();
  EXPECT_EQ(answer["accepted"], true);
  EXPECT_EQ(binaries_in_pkgdir(), 1u);
  auto [status3, again] = complete(body);
  EXPECT_EQ(status3, 200);
  EXPECT_EQ(again, answer);
  EXPECT_EQ(binaries_in_pkgdir(), 1u) << "nothing installed twice";
}

}  // namespace
}  // namespace swarm::orch

namespace swarm::orch {
namespace {

// The drone whose binary was just accepted asks for work before the batched index is written: it gets
// the dependent its binary unblocks (the index is written early), not unrelated ready work.
TEST_F(CompleteTest, AnAcceptedDependencyIsPublishedBeforeTheNextClaim) {
  index_batch_ms = 60000;  // without the early write, the dependent would wait a minute
  start(10, false);
  // lib (critical: app needs it) and an unrelated package that stays ready all along.
  json graph = {{"packages",
                 {{{"atom", "dev-libs/lib-1.0"}, {"duration_s", 600}},
                  {{"atom", "app-misc/app-1.0"}, {"duration_s", 600}, {"deps", {"dev-libs/lib-1.0"}}},
                  {{"atom", "app-misc/other-1.0"}, {"duration_s", 60}}}}};
  auto sub = client("gateway", "admin").post_json("/api/v1/queue", graph);
  ASSERT_TRUE(sub.ok() && sub->status == 200) << (sub.ok() ? sub->body : sub.error().message);
  auto work = client("d1", "drone").post_json("/api/v1/work?wait=0", json::object());
  ASSERT_TRUE(work.ok() && work->status == 200);
  json lease = work->json().value();
  ASSERT_EQ(lease["atom"].get<std::string>().find("lib-1.0") != std::string::npos, true) << lease.dump();
  std::string rel = "dev-libs/lib/lib-1.0-1.gpkg.tar";
  staged = dir / "data/staging/d1" / lease["lease_id"].get<std::string>() / rel;
  fs::create_directories(staged.parent_path());
  ASSERT_EQ(test::run_shell("sh '" + (test::source_dir() / "tests/support/make-gpkg.sh").string() + "' '" +
                            staged.string() + "' dev-libs lib-1.0 1"),
            0);
  json done = {{"lease_id", lease["lease_id"]}, {"fence", lease["fence"]}, {"result", "built"}, {"path", rel},
               {"sha256", sha256_file_hex(staged).value()}, {"size", static_cast<int64_t>(fs::file_size(staged))},
               {"duration_s", 1.5}, {"max_rss_mb", 100}, {"exit_code", 0}, {"log_tail", "ok\n"}};
  auto answer = client("d1", "drone").post_json("/api/v1/complete", done);
  ASSERT_TRUE(answer.ok() && answer->status == 200) << (answer.ok() ? answer->body : answer.error().message);
  ASSERT_TRUE(answer->json().value().value("accepted", false)) << answer->body;
  auto next = client("d1", "drone").post_json("/api/v1/work?wait=0", json::object());
  ASSERT_TRUE(next.ok() && next->status == 200);
  EXPECT_NE(next->json().value()["atom"].get<std::string>().find("app-1.0"), std::string::npos) << next->body;
}

}  // namespace
}  // namespace swarm::orch
