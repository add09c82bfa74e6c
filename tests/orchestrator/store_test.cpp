#include "orchestrator/store.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace swarm::orch {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    store.reset();
    StoreOptions o;
    o.offline_after_ms = 60'000;
    o.cool_off_ms = 120'000;
    store = std::make_unique<Store>((dir / "q.db").string(), clock, o);
  }
  QueueSubmitResponse submit(std::vector<PackageSpec> packages, json fingerprint = json::object()) {
    QueueSubmit s;
    s.packages = std::move(packages);
    s.fingerprint = fingerprint;
    auto r = store->submit(s);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : QueueSubmitResponse{};
  }
  static PackageSpec pkg(const std::string& atom, std::vector<std::string> deps = {}) {
    return PackageSpec{atom, 0, std::move(deps), std::nullopt, false};
  }
  std::optional<LeaseRecord> claim(const std::string& drone, const std::string& fp = "") {
    auto r = store->claim(DroneIdentity{drone, fp});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }
  CompleteRequest failed(const LeaseRecord& l, const std::string& cls = "build") {
    CompleteRequest c;
    c.lease_id = l.lease_id;
    c.fence = l.fence;
    c.result = "failed";
    c.exit_code = 1;
    c.failure_class = cls;
    c.log_tail = "line\nERROR: compile failed\n";
    return c;
  }
  CompleteResponse accept(const LeaseRecord& l) {
    CompleteRequest c;
    c.lease_id = l.lease_id;
    c.fence = l.fence;
    c.result = "built";
    c.path = "x";
    c.sha256 = "00";
    c.size = 1;
    BinaryRecord b;
    b.cpv = l.cpv;
    b.build_id = store->allocate_build_id(l.cpv);
    b.path = l.cpv + "-" + std::to_string(b.build_id) + ".gpkg.tar";
    b.metadata = json::object();
    auto r = store->record_acceptance(l, c, Acceptance{b, [] { return Status{}; }, [] {}});
    EXPECT_TRUE(r.ok());
    return *r;
  }
  void publish_all() {
    std::vector<int64_t> ids;
    for (const auto& b : store->binaries()) ids.push_back(b.id);
    store->mark_published(ids);
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

  test::TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::unique_ptr<Store> store;
};

TEST_F(StoreTest, ClaimIsIdempotentAndExclusive) {
  submit({pkg("=dev-libs/a-1"), pkg("=dev-libs/b-1")});
  auto l1 = claim("d1");
  ASSERT_TRUE(l1);
  auto again = claim("d1");  // the answer was lost: same lease
  ASSERT_TRUE(again);
  EXPECT_EQ(again->lease_id, l1->lease_id);
  auto l2 = claim("d2");
  ASSERT_TRUE(l2);
  EXPECT_NE(l2->cpv, l1->cpv);
  EXPECT_FALSE(claim("d3"));
  EXPECT_EQ(state_of("=dev-libs/a-1"), "leased");
}

TEST_F(StoreTest, InvalidAtomsRejectNothingAdded) {
  QueueSubmit s;
  s.packages = {pkg("=dev-libs/ok-1"), pkg("=dev-libs/bad;rm-1"), pkg("@world")};
  auto r = store->submit(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_TRUE(store->queue().empty());
}

TEST_F(StoreTest, DuplicatesSkippedAndCounted) {
  submit({pkg("=dev-libs/a-1")});
  auto r = submit({pkg("=dev-libs/a-1"), pkg("=dev-libs/b-1"), pkg("dev-libs/b-1")});
  EXPECT_EQ(r.added, 1);
  EXPECT_EQ(r.skipped, 2);
}

TEST_F(StoreTest, DependencyReadyOnlyWhenPublished) {
  submit({pkg("=app/top-1", {"=lib/base-1"}), pkg("=lib/base-1")});
  auto l = claim("d1");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->cpv, "lib/base-1");
  EXPECT_FALSE(claim("d2"));
  EXPECT_EQ(reason_of("=app/top-1"), "waiting on lib/base-1");
  accept(*l);
  EXPECT_FALSE(claim("d2")) << "received is not enough: dependents fetch from the binhost";
  publish_all();
  EXPECT_EQ(state_of("=lib/base-1"), "published");
  auto l2 = claim("d2");
  ASSERT_TRUE(l2);
  EXPECT_EQ(l2->cpv, "app/top-1");
}

TEST_F(StoreTest, CyclesAreBrokenAndNeverStall) {
  auto r = submit({pkg("=media-libs/harfbuzz-8", {"=media-libs/freetype-2"}),
                   pkg("=media-libs/freetype-2", {"=media-libs/harfbuzz-8"})});
  EXPECT_EQ(r.cycles_broken.size(), 1u);
  for (int i = 0; i < 2; ++i) {
    auto l = claim("d1");
    ASSERT_TRUE(l) << "the cycle stalled the queue";
    accept(*l);
    publish_all();
  }
  EXPECT_EQ(state_of("=media-libs/harfbuzz-8"), "published");
  EXPECT_EQ(state_of("=media-libs/freetype-2"), "published");
}

TEST_F(StoreTest, RenewNeedsTheFenceAndReclaimAfterOfflineAfter) {
  submit({pkg("=dev-libs/a-1")});
  auto l = claim("d1");
  ASSERT_TRUE(l);
  EXPECT_FALSE(store->renew(l->lease_id, "d1", l->fence + 1).ok());
  EXPECT_FALSE(store->renew(l->lease_id, "d2", l->fence).ok());
  clock->advance(50s);
  EXPECT_TRUE(store->renew(l->lease_id, "d1", l->fence).ok());
  clock->advance(50s);
  EXPECT_EQ(store->reclaim_expired(), 0);
  clock->advance(11s);
  EXPECT_EQ(store->reclaim_expired(), 1);
  EXPECT_EQ(state_of("=dev-libs/a-1"), "needed");
  auto renew = store->renew(l->lease_id, "d1", l->fence);
  ASSERT_FALSE(renew.ok());
  EXPECT_EQ(renew.error().kind, ErrorKind::conflict);
  auto l2 = claim("d2");
  ASSERT_TRUE(l2);
  EXPECT_GT(l2->fence, l->fence);
}

TEST_F(StoreTest, RestartGivesLiveLeasesGrace) {
  submit({pkg("=dev-libs/a-1")});
  auto l = claim("d1");
  ASSERT_TRUE(l);
  clock->advance(59s);
  open();  // a restart
  store->grant_restart_grace();
  clock->advance(30s);
  EXPECT_EQ(store->reclaim_expired(), 0);
  clock->advance(31s);
  EXPECT_EQ(store->reclaim_expired(), 1);
}

TEST_F(StoreTest, ReleaseGivesWorkBackUncharged) {
  submit({pkg("=dev-libs/a-1")});
  auto l = claim("d1");
  ASSERT_TRUE(store->release(l->lease_id, "d1", l->fence).ok());
  EXPECT_EQ(state_of("=dev-libs/a-1"), "needed");
  EXPECT_FALSE(store->release(l->lease_id, "d1", l->fence).ok());
  auto l2 = claim("d1");
  ASSERT_TRUE(l2);
}

TEST_F(StoreTest, FailureBacksOffPrefersAnotherDroneAndQuarantinesOnTwoDrones) {
  submit({pkg("=dev-libs/a-1"), pkg("=app/dep-1", {"=dev-libs/a-1"})});
  store->touch_drone({"d2", ""});
  auto l = claim("d1");
  ASSERT_TRUE(l);
  store->record_failure(*l, failed(*l));
  EXPECT_EQ(state_of("=dev-libs/a-1"), "needed");
  EXPECT_NE(reason_of("=dev-libs/a-1").find("backoff until"), std::string::npos);
  EXPECT_FALSE(claim("d1")) << "backoff";
  clock->advance(11s);
  store->touch_drone({"d2", ""});
  EXPECT_FALSE(claim("d1")) << "d2 has not failed it: d1 must not get it back";
  auto l2 = claim("d2");
  ASSERT_TRUE(l2);
  EXPECT_EQ(l2->cpv, "dev-libs/a-1");
  store->record_failure(*l2, failed(*l2));
  EXPECT_EQ(state_of("=dev-libs/a-1"), "quarantined");
  EXPECT_EQ(state_of("=app/dep-1"), "blocked");
  EXPECT_NE(reason_of("=app/dep-1").find("quarantined"), std::string::npos);
  ASSERT_EQ(store->retry(QueueAction{"=dev-libs/a-1", std::nullopt, std::nullopt}).value(), 1);
  EXPECT_EQ(state_of("=dev-libs/a-1"), "needed");
  EXPECT_EQ(state_of("=app/dep-1"), "needed");
}

TEST_F(StoreTest, FailureThenSuccessEndsPublishedAndLeavesTheQueue) {
  submit({pkg("=dev-libs/flaky-1")});
  auto l = claim("d1");
  store->record_failure(*l, failed(*l));
  clock->advance(11s);
  auto again = claim("d1");
  ASSERT_TRUE(again);
  EXPECT_EQ(accept(*again).accepted, true);
  publish_all();
  EXPECT_EQ(state_of("=dev-libs/flaky-1"), "published");
  for (const auto& r : store->queue("needed")) ADD_FAILURE() << r.atom << " still waiting";
  for (const auto& r : store->queue("leased")) ADD_FAILURE() << r.atom << " still leased";
  auto status = store->status();
  EXPECT_EQ(status["runs"][0]["complete"], true);
  EXPECT_FALSE(claim("d1"));
}

TEST_F(StoreTest, SameDroneGetsItBackWhenNoOtherEligible) {
  submit({pkg("=dev-libs/a-1")});
  auto l = claim("d1");
  store->record_failure(*l, failed(*l));
  clock->advance(11s);
  auto again = claim("d1");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt, 2);
}

TEST_F(StoreTest, MaxAttemptsQuarantines) {
  submit({pkg("=dev-libs/a-1")});
  for (int i = 0; i < 3; ++i) {
    clock->advance(std::chrono::minutes(11));
    auto l = claim("d1");
    ASSERT_TRUE(l) << i;
    store->record_failure(*l, failed(*l));
  }
  EXPECT_EQ(state_of("=dev-libs/a-1"), "quarantined");
}

TEST_F(StoreTest, DroneClassFailuresAreChargedToTheDrone) {
  submit({pkg("=dev-libs/a-1")});
  for (const char* cls : {"oom", "disk", "sync", "no_binary"}) {
    auto l = claim("d1");
    ASSERT_TRUE(l) << cls;
    store->record_failure(*l, failed(*l, cls));
    EXPECT_EQ(state_of("=dev-libs/a-1"), "needed") << cls;
  }
  for (const auto& r : store->queue()) EXPECT_EQ(r.attempts, 0);
}

TEST_F(StoreTest, BreakerGroundsUnchargesAndTrialAfterCoolOff) {
  std::vector<PackageSpec> pk;
  for (int i = 0; i < 6; ++i) pk.push_back(pkg("=dev-libs/p" + std::to_string(i) + "-1"));
  submit(pk);
  for (int i = 0; i < 5; ++i) {
    auto l = claim("bad");
    ASSERT_TRUE(l);
    store->record_failure(*l, failed(*l));
  }
  auto status = store->status();
  bool grounded = false;
  for (const auto& d : status["drones"])
    if (d["name"] == "bad") grounded = d["grounded"];
  EXPECT_TRUE(grounded);
  for (const auto& r : store->queue()) {
    EXPECT_EQ(r.attempts, 0) << r.atom << ": the streak's failures are taken off the package";
    EXPECT_EQ(r.state, "needed");
  }
  EXPECT_FALSE(claim("bad"));
  clock->advance(121s);
  auto trial = claim("bad");
  ASSERT_TRUE(trial) << "one trial job after the cool-off";
  accept(*trial);
  auto next = claim("bad");
  EXPECT_TRUE(next) << "a success resets the breaker";
}

TEST_F(StoreTest, LateBinaryFromReclaimedLeaseWinsOnceThenSuperseded) {
  submit({pkg("=dev-libs/a-1")});
  auto old = claim("d1");
  clock->advance(61s);
  store->reclaim_expired();
  auto current = claim("d2");
  ASSERT_TRUE(current);
  auto old_lease = store->lease(old->lease_id);
  ASSERT_TRUE(store->request_open_for(*old_lease));
  auto r = accept(*old_lease);
  EXPECT_TRUE(r.accepted);
  auto renew = store->renew(current->lease_id, "d2", current->fence);
  ASSERT_FALSE(renew.ok()) << "the current holder is told to stop";
  EXPECT_EQ(renew.error().kind, ErrorKind::conflict);
  auto cur = store->lease(current->lease_id);
  EXPECT_FALSE(store->request_open_for(*cur));
  auto sup = store->record_superseded(*cur);
  EXPECT_EQ(sup.reason, "superseded");
  EXPECT_EQ(store->lease(current->lease_id)->answer.value_or(""), sup.to_json().dump());
}

TEST_F(StoreTest, BuildIdsNeverReused) {
  EXPECT_EQ(store->allocate_build_id("dev-libs/a-1"), 1);
  EXPECT_EQ(store->allocate_build_id("dev-libs/a-1"), 2);
  open();
  EXPECT_EQ(store->allocate_build_id("dev-libs/a-1"), 3);
  EXPECT_EQ(store->allocate_build_id("dev-libs/b-1"), 1);
}

TEST_F(StoreTest, FingerprintMismatchGetsNoWork) {
  submit({pkg("=dev-libs/a-1")}, {{"CHOST", "x86_64-pc-linux-gnu"}, {"hash", "abc"}});
  EXPECT_FALSE(claim("other", "zzz"));
  EXPECT_EQ(reason_of("=dev-libs/a-1"), "no drone matches the reference configuration");
  EXPECT_TRUE(claim("match", "abc"));
}

TEST_F(StoreTest, PauseResumeCancel) {
  auto r = submit({pkg("=dev-libs/a-1"), pkg("=dev-libs/b-1")});
  ASSERT_TRUE(store->set_paused(QueueAction{std::nullopt, r.run, std::nullopt}, true).ok());
  EXPECT_FALSE(claim("d1"));
  EXPECT_EQ(reason_of("=dev-libs/a-1"), "run paused");
  ASSERT_TRUE(store->set_paused(QueueAction{std::nullopt, r.run, std::nullopt}, false).ok());
  ASSERT_EQ(store->cancel(QueueAction{"=dev-libs/b-1", std::nullopt, std::nullopt}).value(), 1);
  EXPECT_EQ(state_of("=dev-libs/b-1"), "cancelled");
  auto l = claim("d1");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->cpv, "dev-libs/a-1");
  EXPECT_FALSE(store->retry(QueueAction{}).ok());
}

TEST_F(StoreTest, QueueActionsActOnlyOnWhatTheyName) {
  auto run1 = submit({pkg("=dev-libs/a-1"), pkg("=dev-libs/b-1")});
  auto run2 = submit({pkg("=dev-libs/c-1")});
  // Pausing an atom holds back that request only: its run and the other runs go on.
  ASSERT_EQ(store->set_paused(QueueAction{"=dev-libs/a-1", std::nullopt, std::nullopt}, true).value(), 1);
  EXPECT_EQ(reason_of("=dev-libs/a-1"), "paused by the operator");
  EXPECT_EQ(store->ready_count(), 2);
  auto l1 = claim("d1");
  auto l2 = claim("d2");
  ASSERT_TRUE(l1 && l2);
  EXPECT_NE(l1->cpv, "dev-libs/a-1");
  EXPECT_NE(l2->cpv, "dev-libs/a-1");
  EXPECT_FALSE(claim("d3"));
  ASSERT_EQ(store->set_paused(QueueAction{"=dev-libs/a-1", std::nullopt, std::nullopt}, false).value(), 1);
  EXPECT_EQ(store->set_paused(QueueAction{"=dev-libs/a-1", std::nullopt, std::nullopt}, false).value(), 0);
  auto l3 = claim("d3");
  ASSERT_TRUE(l3);
  EXPECT_EQ(l3->cpv, "dev-libs/a-1");
  // A run: only that run.
  ASSERT_EQ(store->set_paused(QueueAction{std::nullopt, run2.run, std::nullopt}, true).value(), 1);
  for (const auto& r : store->status()["runs"]) EXPECT_EQ(r["paused"].get<bool>(), r["run"] == run2.run) << r.dump();

  // Unknown atoms and runs are errors, not "0 changed".
  for (auto res : {store->retry(QueueAction{"=dev-libs/nope-1.0", std::nullopt, std::nullopt}),
                   store->cancel(QueueAction{"dev-libs/nope-1.0", std::nullopt, std::nullopt}),
                   store->set_paused(QueueAction{"=dev-libs/nope-1.0", std::nullopt, std::nullopt}, true),
                   store->retry(QueueAction{std::nullopt, 99, std::nullopt}),
                   store->cancel(QueueAction{std::nullopt, 99, std::nullopt}),
                   store->set_paused(QueueAction{std::nullopt, 99, std::nullopt}, false),
                   store->cancel(QueueAction{"=dev-libs/c-1", run1.run, std::nullopt})}) {
    ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.error().kind, ErrorKind::not_found) << res.error().message;
  }
  auto missing = store->retry(QueueAction{"=dev-libs/nope-1.0", std::nullopt, std::nullopt});
  EXPECT_EQ(missing.error().message, "no request for dev-libs/nope-1.0");
  // A known atom with nothing to do: ok, 0 changed.
  EXPECT_EQ(store->retry(QueueAction{"=dev-libs/a-1", std::nullopt, std::nullopt}).value(), 0);
}

TEST_F(StoreTest, RetryOfAnAtomTouchesItsLatestRequestOnly) {
  submit({pkg("=dev-libs/a-1")});
  ASSERT_EQ(store->cancel(QueueAction{"=dev-libs/a-1", std::nullopt, std::nullopt}).value(), 1);
  submit({pkg("=dev-libs/a-1")});
  ASSERT_EQ(store->cancel(QueueAction{"=dev-libs/a-1", std::nullopt, std::nullopt}).value(), 1);
  ASSERT_EQ(store->retry(QueueAction{"=dev-libs/a-1", std::nullopt, std::nullopt}).value(), 1);
  int needed = 0;
  for (const auto& r : store->queue()) needed += r.state == "needed";
  EXPECT_EQ(needed, 1) << "one request, not one per run";
}

TEST_F(StoreTest, EventsRecordEveryTransition) {
  std::vector<std::string> kinds;
  store->set_event_listener([&](const std::vector<StoreEvent>& ev) {
    for (const auto& e : ev) kinds.push_back(e.kind);
  });
  submit({pkg("=dev-libs/a-1")});
  auto l = claim("d1");
  accept(*l);
  publish_all();
  EXPECT_EQ(kinds, (std::vector<std::string>{"queued", "run", "leased", "received", "published"}));
  EXPECT_EQ(store->events_since(0).size(), 5u);
  EXPECT_TRUE(store->integrity_check().ok());
}

}  // namespace
}  // namespace swarm::orch
