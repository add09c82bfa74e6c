#include "drone/backoff.hpp"

#include <gtest/gtest.h>

#include "drone/disk_hygiene.hpp"
#include "drone/drone_state.hpp"
#include "support/test_support.hpp"

namespace swarm::drone {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesWithJitterUpToTheMaximum) {
  Backoff b(milliseconds(100), milliseconds(1000), 42);
  const int64_t bases[] = {100, 200, 400, 800, 1000, 1000};
  for (int64_t base : bases) {
    auto d = b.next().count();
    EXPECT_GE(d, base * 8 / 10);
    EXPECT_LE(d, base * 12 / 10);
  }
  b.reset();
  EXPECT_LE(b.next().count(), 120);
}

TEST(BackoffTest, JitterDiffersBetweenDrones) {
  Backoff a(milliseconds(1000), milliseconds(60000), 1), b(milliseconds(1000), milliseconds(60000), 2);
  int same = 0;
  for (int i = 0; i < 5; ++i) same += a.next() == b.next();
  EXPECT_LT(same, 5);
}

TEST(DiskHygieneTest, PrunesOldFilesAndEmptyDirectories) {
  test::TempDir dir;
  test::write_file(dir / "logs/a_b-1/1.log", "old");
  test::write_file(dir / "logs/c_d-1/1.log", "kept");
  test::write_file(dir / "logs/e_f-1/1.log", "old too");
  FakeClock clock(SystemClock().now_unix_ms());
  EXPECT_EQ(prune_old_files(dir / "logs", 3600, clock), 0);
  clock.advance(std::chrono::hours(2));
  EXPECT_EQ(prune_old_files(dir / "logs", 3600, clock, {dir / "logs/c_d-1/1.log"}), 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "logs/a_b-1"));
  EXPECT_TRUE(std::filesystem::exists(dir / "logs/c_d-1/1.log"));
}

TEST(DroneStateTest, RevocationCancelsOnlyTheCurrentLease) {
  FakeClock clock;
  DroneState s("d", clock);
  s.begin_lease(LeaseInfo{"L1", 1, "=a/b-1", 1, "http://o", 0, 60});
  s.revoke("L0");
  EXPECT_FALSE(s.cancel_flag()->load());
  s.revoke("L1");
  EXPECT_TRUE(s.cancel_flag()->load());
  EXPECT_TRUE(s.lease_revoked());
  s.end_lease();
  EXPECT_FALSE(s.cancel_flag()->load());
  s.request_hard_stop();
  s.begin_lease(LeaseInfo{"L2", 1, "=a/b-1", 1, "http://o", 0, 60});
  EXPECT_TRUE(s.cancel_flag()->load()) << "a stopping drone starts nothing";
}

TEST(DroneStateTest, TicketsPerOrchestratorAndDrain) {
  FakeClock clock;
  DroneState s("d", clock);
  EXPECT_FALSE(s.ready_for_work());
  s.apply_gateway_answer(RegisterResponse{"pending", "http://o1", "", 10, ""});
  EXPECT_FALSE(s.ready_for_work());
  s.apply_gateway_answer(RegisterResponse{"approved", "http://o1", "t1", 10, ""});
  EXPECT_TRUE(s.ready_for_work());
  s.apply_gateway_answer(RegisterResponse{"approved", "http://o2", "t2", 10, ""});
  EXPECT_EQ(s.ticket_for("http://o1"), "t1");
  EXPECT_EQ(s.ticket_for("http://o2"), "t2");
  EXPECT_EQ(s.orchestrator(), "http://o2");
  EXPECT_TRUE(s.request_drain());
  EXPECT_FALSE(s.request_drain());
  EXPECT_EQ(s.status().activity, "draining");
  EXPECT_FALSE(s.hard_stop());
  EXPECT_FALSE(s.pause(milliseconds(1000), true)) << "a drain wakes a pause that asks for it";
}

}  // namespace
}  // namespace swarm::drone
