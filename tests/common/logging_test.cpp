#include "common/logging.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace swarm {
namespace {

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

TEST(LoggingTest, EachLineWrittenOnceEvenAfterRepeatedSetup) {
  test::TempDir dir;
  auto file = (dir / "log.txt").string();
  auto early = component_logger("early-component");  // made before the set-up
  LogOptions o;
  o.file = file;
  o.to_stderr = false;
  setup_logging(o);
  setup_logging(o);  // a second set-up replaces the sinks, it does not add to them
  auto late = component_logger("late-component");
  EXPECT_EQ(late, component_logger("late-component"));
  early->info("unique-line-early");
  late->info("unique-line-late");
  spdlog::info("unique-line-default");
  early->flush();
  late->flush();
  spdlog::default_logger()->flush();
  std::string text = test::read_file(file);
  EXPECT_EQ(count(text, "unique-line-early"), 1u);
  EXPECT_EQ(count(text, "unique-line-late"), 1u);
  EXPECT_EQ(count(text, "unique-line-default"), 1u);
  EXPECT_NE(text.find("[late-component]"), std::string::npos);
  LogOptions back;
  setup_logging(back);
}

TEST(LoggingTest, ValidLevels) {
  EXPECT_TRUE(valid_log_level("debug"));
  EXPECT_FALSE(valid_log_level("loud"));
}

}  // namespace
}  // namespace swarm
