// The human output helpers: tables, progress bars, ages, tolerant rendering.

#include "build-swarm/render.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "build-swarm/table.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

TEST(TableTest, PadsColumnsToTheWidestCellWithoutTrailingBlanks) {
  Table t({"A", "LONG HEADER", "C"});
  t.add_row({"wide cell", "x", ""});
  t.add_row({"y"});  // missing cells print empty
  std::ostringstream out;
  t.print(out, "  ");
  EXPECT_EQ(out.str(),
            "  A          LONG HEADER  C\n"
            "  wide cell  x\n"
            "  y\n");
}

TEST(TableTest, CountsUtf8CharactersNotBytes) {
  EXPECT_EQ(display_width("héllo"), 5u);
  Table t({"N", "X"});
  t.add_row({"é", "1"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(), "N  X\né  1\n");
}

TEST(ProgressBarTest, AlwaysExactlyWidthCells) {
  for (int width : {1, 5, 24, 40}) {
    for (const json& counts : {json{{"published", 1}}, json{{"published", 999}, {"quarantined", 1}, {"needed", 3}},
                               json{{"needed", 7},
                                    {"leased", 7},
                                    {"received", 7},
                                    {"published", 7},
                                    {"quarantined", 7},
                                    {"blocked", 7},
                                    {"cancelled", 7},
                                    {"withdrawn", 7}}}) {
      std::string bar = progress_bar(counts, width);
      EXPECT_EQ(bar.size(), static_cast<size_t>(width) + 2) << counts << " width " << width;
    }
  }
}

TEST(ProgressBarTest, SegmentsInStateOrderAndSmallCountsStayVisible) {
  EXPECT_EQ(progress_bar({{"published", 5}, {"needed", 5}}, 10), "[#####.....]");
  EXPECT_EQ(progress_bar({{"published", 998}, {"quarantined", 2}}, 10), "[#########!]");
  EXPECT_EQ(progress_bar({{"cancelled", 1}, {"received", 1}, {"blocked", 1}, {"withdrawn", 1}}, 4), "[+?x-]");
  EXPECT_EQ(progress_bar(json::object(), 4), "[    ]");
  EXPECT_EQ(progress_bar({{"needed", -3}, {"published", "x"}}, 3), "[   ]") << "nonsense counts count as zero";
}

TEST(FormatTest, AgesAndCells) {
  EXPECT_EQ(format_age(0), "0s ago");
  EXPECT_EQ(format_age(119'000), "119s ago");
  EXPECT_EQ(format_age(3 * 3600'000LL), "3h ago");
  EXPECT_EQ(format_age(5 * 86400'000LL), "5d ago");
  EXPECT_EQ(format_age(-1), "-");
  int64_t now = 1'790'000'000'000;
  EXPECT_EQ(format_last_seen(json(now - 5'000), now), "5s ago");
  EXPECT_EQ(format_last_seen(json(now / 1000 - 600), now), "10m ago") << "seconds are understood too";
  EXPECT_EQ(format_last_seen(json("2026-01-01T00:00:00Z"), now), "2026-01-01T00:00:00Z");
  EXPECT_EQ(format_last_seen(json(), now), "-");
  EXPECT_EQ(format_last_seen(json(0), now), "never");
  EXPECT_EQ(cell(json()), "-");
  EXPECT_EQ(cell(json(true)), "yes");
  EXPECT_EQ(cell(json::array({"a", 1})), "a, 1");
}

TEST(RenderTest, StatusToleratesMissingAndMistypedFields) {
  for (const json& status : {json::object(), json::array(), json("text"),
                             json{{"drones", "many"},
                                  {"queue", 5},
                                  {"runs", {1, "x", json::object()}},
                                  {"orchestrators", {"http://o:8080", 7}}}}) {
    std::ostringstream out;
    EXPECT_NO_THROW(render_status(status, out)) << status;
    EXPECT_NE(out.str().find("Drones:"), std::string::npos);
  }
  std::ostringstream out;
  render_status(json::object(), out);
  EXPECT_EQ(out.str(), "Drones: none\nQueue:  empty\nOrchestrators: none\nRuns: none\n");
}

TEST(RenderTest, PausedRunsAndNodeListsOfOddShapes) {
  std::ostringstream out;
  render_status({{"runs", {{{"run", 3}, {"paused", true}, {"queue", {{"needed", 2}}}}}}}, out);
  EXPECT_NE(out.str().find("0/2   paused"), std::string::npos) << out.str();

  std::ostringstream nodes;
  EXPECT_NO_THROW(
      render_nodes({{{"name", "x"}}, 5, {{"name", "y"}, {"fingerprint_diff", {"USE", "CFLAGS"}}}}, 0, nodes));
  EXPECT_NE(nodes.str().find("differs: USE, CFLAGS"), std::string::npos) << nodes.str();
  std::ostringstream none;
  render_nodes(json::array(), 0, none);
  EXPECT_EQ(none.str(), "No drones have registered.\n");
  std::ostringstream empty_queue;
  render_queue(json::array(), empty_queue);
  EXPECT_EQ(empty_queue.str(), "No requests.\n");
}

TEST(RenderTest, GenericObjectsShowScalarsAlignedAndArraysAsTables) {
  // Keys come out sorted (nlohmann::json objects are ordered maps).
  std::ostringstream out;
  render_object({{"name", "alpha"}, {"cores", 4}, {"builds", {{{"id", 1}, {"atom", "a/b-1"}}, {{"id", 2}}}}}, out);
  EXPECT_EQ(out.str(),
            "builds:\n"
            "  ATOM   ID\n"
            "  a/b-1  1\n"
            "  -      2\n"
            "cores: 4\n"
            "name:  alpha\n");
}

}  // namespace
}  // namespace swarm::cli
