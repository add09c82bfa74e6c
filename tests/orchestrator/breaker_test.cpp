// The circuit breaker per drone (design.md, "Health and self-healing"): grounding, un-charging, the trial job.
#include <gtest/gtest.h>

#include "orchestrator/store.hpp"
#include "support/test_support.hpp"

namespace swarm::orch {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class BreakerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.offline_after_ms = 60'000;
    o.cool_off_ms = 120'000;
    o.ground_after = 5;
    store = std::make_unique<Store>((dir / "q.db").string(), clock, o);
  }
  void submit(int n) {
    QueueSubmit s;
    for (int i = 0; i < n; ++i) s.packages.push_back(PackageSpec{atom(i), 0, {}, std::nullopt, false});
    s.fingerprint = json::object();
    ASSERT_TRUE(store->submit(s).ok());
  }
  static std::string atom(int i) { return "=dev-libs/p" + std::to_string(i) + "-1"; }
  std::optional<LeaseRecord> claim(const std::string& drone) {
    auto r = store->claim(DroneIdentity{drone, ""});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }
  void fail(const LeaseRecord& l) {
    CompleteRequest c;
    c.lease_id = l.lease_id;
    c.fence = l.fence;
    c.result = "failed";
    c.exit_code = 1;
    c.failure_class = "build";
    c.log_tail = "ERROR: compile failed\n";
    store->record_failure(l, c);
  }
  void accept(const LeaseRecord& l) {
    CompleteRequest c;
    c.lease_id = l.lease_id;
    c.fence = l.fence;
    c.result = "built";
    BinaryRecord b;
    b.cpv = l.cpv;
    b.build_id = store->allocate_build_id(l.cpv);
    b.path = l.cpv + "-" + std::to_string(b.build_id) + ".gpkg.tar";
    b.metadata = json::object();
    ASSERT_TRUE(store->record_acceptance(l, c, Acceptance{b, [] { return Status{}; }, [] {}}).ok());
  }
  // Claims and fails `n` jobs on `drone`; each claim must succeed.
  void fail_jobs(const std::string& drone, int n) {
    for (int i = 0; i < n; ++i) {
      auto l = claim(drone);
      ASSERT_TRUE(l) << drone << " job " << i;
      fail(*l);
    }
  }
  bool grounded(const std::string& drone) {
    auto status = store->status();  // kept: a range over a temporary's member would dangle
    for (const auto& d : status["drones"])
      if (d["name"] == drone) return d["grounded"].get<bool>();
    return false;
  }
  int64_t attempts_of(const std::string& a) {
    for (const auto& r : store->queue())
      if (r.atom == a) return r.attempts;
    return -1;
  }
  std::string state_of(const std::string& a) {
    for (const auto& r : store->queue())
      if (r.atom == a) return r.state;
    return "";
  }
  int groundings(const std::string& drone) {
    int n = 0;
    for (const auto& e : store->events_since(0, 100000)) n += e.kind == "grounded" && e.drone == drone;
    return n;
  }

  test::TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::unique_ptr<Store> store;
};

TEST_F(BreakerTest, AfterTheCoolOffOneTrialJobAndAFailedTrialGroundsAtOnce) {
  submit(12);
  fail_jobs("bad", 5);
  ASSERT_TRUE(grounded("bad"));
  EXPECT_FALSE(claim("bad")) << "no work during the cool-off";
  clock->advance(121s);
  auto trial = claim("bad");
  ASSERT_TRUE(trial) << "one trial job after the cool-off";
  auto again = claim("bad");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->lease_id, trial->lease_id) << "only the trial lease until it completes";
  fail(*trial);
  EXPECT_TRUE(grounded("bad")) << "a failed trial grounds the drone at once: one failure, not five";
  EXPECT_FALSE(claim("bad"));
  EXPECT_EQ(groundings("bad"), 2);
  EXPECT_EQ(attempts_of(trial->atom), 0) << "the failed trial is the drone's, not the package's";
  clock->advance(121s);
  EXPECT_TRUE(claim("bad")) << "another trial after the next cool-off";
}

TEST_F(BreakerTest, ASuccessfulTrialResetsTheStreak) {
  submit(12);
  fail_jobs("bad", 5);
  clock->advance(121s);
  auto trial = claim("bad");
  ASSERT_TRUE(trial);
  accept(*trial);
  EXPECT_FALSE(grounded("bad"));
  fail_jobs("bad", 4);
  EXPECT_FALSE(grounded("bad")) << "four failures after a success do not ground";
  EXPECT_EQ(groundings("bad"), 1);
  fail_jobs("bad", 1);
  EXPECT_TRUE(grounded("bad")) << "the fifth consecutive failure does";
  EXPECT_EQ(groundings("bad"), 2);
}

TEST_F(BreakerTest, AReclaimedTrialLeavesTheDroneOnTrial) {
  submit(12);
  fail_jobs("bad", 5);
  clock->advance(121s);
  auto trial = claim("bad");
  ASSERT_TRUE(trial);
  clock->advance(61s);  // the drone died: its trial lease is not renewed
  EXPECT_EQ(store->reclaim_expired(), 1);
  EXPECT_EQ(state_of(trial->atom), "needed");
  EXPECT_EQ(attempts_of(trial->atom), 0) << "a reclaim charges nobody";
  auto second = claim("bad");
  ASSERT_TRUE(second) << "back again, the drone gets a new trial job";
  EXPECT_NE(second->lease_id, trial->lease_id);
  fail(*second);
  EXPECT_TRUE(grounded("bad")) << "still on trial: one failure grounds it";
  EXPECT_EQ(groundings("bad"), 2);
}

TEST_F(BreakerTest, UnchargingKeepsOtherDronesChargesWhenTheGroundingFailureIsThePackage) {
  submit(5);  // p0 is P; p1..p4 the others
  auto onb = claim("B");
  ASSERT_TRUE(onb);
  ASSERT_EQ(onb->atom, atom(0));
  fail(*onb);  // charged: P has 1 attempt (B's) and backs off
  ASSERT_EQ(attempts_of(atom(0)), 1);
  fail_jobs("A", 4);  // p1..p4 while P backs off
  clock->advance(11s);
  auto p = claim("A");  // B is eligible, so A is given the one it has not failed: P
  ASSERT_TRUE(p);
  ASSERT_EQ(p->atom, atom(0));
  fail(*p);  // A's fifth failure grounds it
  ASSERT_TRUE(grounded("A"));
  EXPECT_EQ(attempts_of(atom(0)), 1) << "B's failure stays charged";
  EXPECT_EQ(state_of(atom(0)), "needed");
  for (int i = 1; i < 5; ++i) EXPECT_EQ(attempts_of(atom(i)), 0) << atom(i);
}

TEST_F(BreakerTest, UnchargingLiftsAQuarantineTheStreakCaused) {
  submit(5);
  auto onb = claim("B");
  ASSERT_TRUE(onb);
  fail(*onb);
  clock->advance(11s);
  auto p = claim("A");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->atom, atom(0));
  fail(*p);
  ASSERT_EQ(state_of(atom(0)), "quarantined") << "failed on two drones";
  ASSERT_EQ(attempts_of(atom(0)), 2);
  fail_jobs("A", 4);
  ASSERT_TRUE(grounded("A"));
  EXPECT_EQ(attempts_of(atom(0)), 1) << "only A's attempt is taken off";
  EXPECT_EQ(state_of(atom(0)), "needed") << "one drone's failure no longer quarantines it";
  for (int i = 1; i < 5; ++i) EXPECT_EQ(attempts_of(atom(i)), 0) << atom(i);
}

TEST_F(BreakerTest, UnchargingTakesOffOnlyTheStreaksAttemptWhenOthersQuarantinedIt) {
  StoreOptions o;
  o.quarantine_after_drones = 4;  // only max_attempts (3) quarantines here
  store = std::make_unique<Store>((dir / "q2.db").string(), clock, o);
  submit(5);
  auto fail_p_on = [&](const std::string& drone) {
    clock->advance(std::chrono::minutes(11));
    auto l = claim(drone);
    ASSERT_TRUE(l) << drone;
    ASSERT_EQ(l->atom, atom(0)) << drone;
    fail(*l);
  };
  fail_p_on("A");  // the first failure of A's streak
  fail_p_on("B");
  fail_p_on("C");
  ASSERT_EQ(state_of(atom(0)), "quarantined");
  ASSERT_EQ(attempts_of(atom(0)), 3);
  fail_jobs("A", 4);
  ASSERT_TRUE(grounded("A"));
  EXPECT_EQ(attempts_of(atom(0)), 2) << "B's and C's failures stay charged";
  EXPECT_EQ(state_of(atom(0)), "needed") << "two attempts of three";
  for (int i = 1; i < 5; ++i) EXPECT_EQ(attempts_of(atom(i)), 0) << atom(i);
}

}  // namespace
}  // namespace swarm::orch
