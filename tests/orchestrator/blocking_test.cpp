// The blocking rule (docs/ORCHESTRATOR.md, "Blocked requests"): a cancelled or quarantined dependency
// blocks its dependents transitively, naming it, until no such dependency is left; every run completes.
#include <gtest/gtest.h>

#include "orchestrator/store.hpp"
#include "support/test_support.hpp"

namespace swarm::orch {
namespace {

using nlohmann::json;

class BlockingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.max_attempts = 1;  // one failure quarantines
    store = std::make_unique<Store>((dir / "q.db").string(), clock, o);
  }
  int64_t submit(std::vector<PackageSpec> packages) {
    QueueSubmit s;
    s.packages = std::move(packages);
    s.fingerprint = json::object();
    auto r = store->submit(s);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->run : 0;
  }
  static PackageSpec pkg(const std::string& atom, std::vector<std::string> deps = {}) {
    return PackageSpec{atom, 0, std::move(deps), std::nullopt, false};
  }
  static QueueAction named(const std::string& atom) { return QueueAction{atom, std::nullopt, std::nullopt}; }
  // Claims until `atom` is handed out (each claim by a new drone), giving back the others.
  std::optional<LeaseRecord> lease(const std::string& atom) {
    std::optional<LeaseRecord> found;
    std::vector<LeaseRecord> others;
    while (!found) {
      auto r = store->claim(DroneIdentity{"d" + std::to_string(++m_drones), ""});
      if (!r.ok() || !*r) break;
      if ("=" + (*r)->cpv == atom) found = *r;
      else others.push_back(**r);
    }
    for (const auto& o : others) EXPECT_TRUE(store->release(o.lease_id, o.drone, o.fence).ok());
    return found;
  }
  void quarantine(const std::string& atom) {
    auto l = lease(atom);
    ASSERT_TRUE(l) << atom << " is not handed out";
    CompleteRequest c;
    c.lease_id = l->lease_id;
    c.fence = l->fence;
    c.result = "failed";
    c.exit_code = 1;
    c.failure_class = "build";
    c.log_tail = "ERROR: compile failed\n";
    store->record_failure(*l, c);
    ASSERT_EQ(state_of(atom), "quarantined");
  }
  void build_and_publish(const std::string& atom) {
    auto l = lease(atom);
    ASSERT_TRUE(l) << atom << " is not handed out";
    CompleteRequest c;
    c.lease_id = l->lease_id;
    c.fence = l->fence;
    c.result = "built";
    BinaryRecord b;
    b.cpv = l->cpv;
    b.build_id = store->allocate_build_id(l->cpv);
    b.path = l->cpv + "-" + std::to_string(b.build_id) + ".gpkg.tar";
    b.metadata = json::object();
    ASSERT_TRUE(store->record_acceptance(*l, c, Acceptance{b, [] { return Status{}; }, [] {}}).ok());
    std::vector<int64_t> ids;
    for (const auto& bin : store->binaries()) ids.push_back(bin.id);
    store->mark_published(ids);
    ASSERT_EQ(state_of(atom), "published");
  }
  std::string state_of(const std::string& atom) {
    for (const auto& r : store->queue())
      if (r.atom == atom) return r.state;
    return "";
  }
  std::string reason_of(const std::string& atom) {
    for (const auto& r : store->queue())
      if (r.atom == atom) return r.reason.value_or("");
    return "";
  }
  bool complete(int64_t run) {
    auto status = store->status();  // kept: a range over a temporary's member would dangle
    for (const auto& r : status["runs"])
      if (r["run"] == run) return r["complete"].get<bool>();
    ADD_FAILURE() << "no run " << run;
    return false;
  }

  test::TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::unique_ptr<Store> store;

 private:
  int m_drones = 0;
};

TEST_F(BlockingTest, ACancelledDependencyBlocksItsDependentsAndTheRunCompletes) {
  int64_t run = submit({pkg("=lib/a-1"), pkg("=lib/b-1", {"=lib/a-1"}), pkg("=app/c-1", {"=lib/b-1"}),
                        pkg("=app/other-1")});
  ASSERT_EQ(store->cancel(named("=lib/a-1")).value(), 1);
  for (const char* atom : {"=lib/b-1", "=app/c-1"}) {
    EXPECT_EQ(state_of(atom), "blocked") << atom;
    EXPECT_EQ(reason_of(atom), "dependency lib/a-1 was cancelled") << atom;
  }
  build_and_publish("=app/other-1");
  EXPECT_TRUE(complete(run)) << "every request is published, blocked or cancelled";
  EXPECT_FALSE(lease("=lib/b-1"));

  // Retrying a blocked dependent alone does not strand it: the cancelled dependency still blocks it.
  ASSERT_EQ(store->retry(named("=lib/b-1")).value(), 1);
  EXPECT_EQ(state_of("=lib/b-1"), "blocked");
  EXPECT_EQ(reason_of("=lib/b-1"), "dependency lib/a-1 was cancelled");
  EXPECT_TRUE(complete(run));

  // Retrying the cancelled one lets the chain wait on it again, and build once it is published.
  ASSERT_EQ(store->retry(named("=lib/a-1")).value(), 1);
  EXPECT_EQ(state_of("=lib/b-1"), "needed");
  EXPECT_EQ(reason_of("=lib/b-1"), "waiting on lib/a-1");
  EXPECT_EQ(state_of("=app/c-1"), "needed");
  EXPECT_FALSE(complete(run));
  build_and_publish("=lib/a-1");
  build_and_publish("=lib/b-1");
  build_and_publish("=app/c-1");
  EXPECT_TRUE(complete(run));
}

TEST_F(BlockingTest, CancellingABuildingDependencyBlocksItsDependents) {
  int64_t run = submit({pkg("=lib/a-1"), pkg("=app/b-1", {"=lib/a-1"})});
  ASSERT_TRUE(lease("=lib/a-1"));
  ASSERT_EQ(store->cancel(named("=lib/a-1")).value(), 1);
  EXPECT_EQ(state_of("=app/b-1"), "blocked");
  EXPECT_EQ(reason_of("=app/b-1"), "dependency lib/a-1 was cancelled");
  EXPECT_TRUE(complete(run));
}

TEST_F(BlockingTest, TwoQuarantinedDependenciesBlockUntilNeitherIsLeft) {
  int64_t run = submit({pkg("=lib/q1-1"), pkg("=lib/q2-1"), pkg("=app/d-1", {"=lib/q1-1", "=lib/q2-1"})});
  quarantine("=lib/q1-1");
  quarantine("=lib/q2-1");
  EXPECT_EQ(state_of("=app/d-1"), "blocked");
  EXPECT_EQ(reason_of("=app/d-1"), "dependency lib/q1-1 is quarantined");
  EXPECT_TRUE(complete(run));

  ASSERT_EQ(store->retry(named("=lib/q1-1")).value(), 1);
  EXPECT_EQ(state_of("=app/d-1"), "blocked") << "the second dependency is still quarantined";
  EXPECT_EQ(reason_of("=app/d-1"), "dependency lib/q2-1 is quarantined");
  build_and_publish("=lib/q1-1");
  EXPECT_EQ(state_of("=app/d-1"), "blocked");
  EXPECT_EQ(reason_of("=app/d-1"), "dependency lib/q2-1 is quarantined");
  EXPECT_TRUE(complete(run));
  EXPECT_FALSE(lease("=app/d-1"));

  ASSERT_EQ(store->retry(named("=lib/q2-1")).value(), 1);
  EXPECT_EQ(state_of("=app/d-1"), "needed");
  EXPECT_EQ(reason_of("=app/d-1"), "waiting on lib/q2-1");
  build_and_publish("=lib/q2-1");
  EXPECT_EQ(state_of("=app/d-1"), "needed");
  build_and_publish("=app/d-1");
  EXPECT_TRUE(complete(run));
}

TEST_F(BlockingTest, AQuarantineBlocksTheWholeChainAndItsPublicationUnblocksIt) {
  int64_t run = submit({pkg("=lib/a-1"), pkg("=lib/b-1", {"=lib/a-1"}), pkg("=app/c-1", {"=lib/b-1"})});
  quarantine("=lib/a-1");
  for (const char* atom : {"=lib/b-1", "=app/c-1"}) {
    EXPECT_EQ(state_of(atom), "blocked") << atom;
    EXPECT_EQ(reason_of(atom), "dependency lib/a-1 is quarantined") << atom;
  }
  EXPECT_TRUE(complete(run));

  // A later request on a blocked one is blocked from the start, naming the root.
  int64_t later = submit({pkg("=app/c-1"), pkg("=app/e-1", {"=app/c-1"})});
  EXPECT_EQ(state_of("=app/e-1"), "blocked");
  EXPECT_EQ(reason_of("=app/e-1"), "dependency lib/a-1 is quarantined");
  EXPECT_TRUE(complete(later));

  ASSERT_EQ(store->retry(named("=lib/a-1")).value(), 1);
  build_and_publish("=lib/a-1");
  for (const char* atom : {"=lib/b-1", "=app/c-1", "=app/e-1"}) EXPECT_EQ(state_of(atom), "needed") << atom;
  EXPECT_EQ(reason_of("=app/c-1"), "waiting on lib/b-1");
  build_and_publish("=lib/b-1");
  build_and_publish("=app/c-1");
  build_and_publish("=app/e-1");
  EXPECT_TRUE(complete(run));
  EXPECT_TRUE(complete(later));
}

TEST_F(BlockingTest, ACancelledLinkKeepsTheChainBlockedAfterItsRootIsPublished) {
  submit({pkg("=lib/a-1"), pkg("=lib/b-1", {"=lib/a-1"}), pkg("=app/c-1", {"=lib/b-1"})});
  quarantine("=lib/a-1");
  ASSERT_EQ(store->cancel(named("=lib/b-1")).value(), 1);
  EXPECT_EQ(reason_of("=app/c-1"), "dependency lib/b-1 was cancelled");
  ASSERT_EQ(store->retry(named("=lib/a-1")).value(), 1);
  build_and_publish("=lib/a-1");
  EXPECT_EQ(state_of("=lib/b-1"), "cancelled");
  EXPECT_EQ(state_of("=app/c-1"), "blocked");
  EXPECT_EQ(reason_of("=app/c-1"), "dependency lib/b-1 was cancelled");
}

TEST_F(BlockingTest, ARetriedDependencyThatFailsAgainBlocksAgain) {
  int64_t run = submit({pkg("=lib/a-1"), pkg("=app/b-1", {"=lib/a-1"})});
  quarantine("=lib/a-1");
  ASSERT_EQ(store->retry(named("=lib/a-1")).value(), 1);
  EXPECT_EQ(state_of("=app/b-1"), "needed");
  EXPECT_FALSE(complete(run));
  quarantine("=lib/a-1");
  EXPECT_EQ(state_of("=app/b-1"), "blocked");
  EXPECT_EQ(reason_of("=app/b-1"), "dependency lib/a-1 is quarantined");
  EXPECT_TRUE(complete(run));
}

}  // namespace
}  // namespace swarm::orch
