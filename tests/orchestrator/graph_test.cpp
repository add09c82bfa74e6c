#include "orchestrator/graph.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace swarm::orch {
namespace {

using Ids = std::vector<std::string>;

GraphNode node(std::string id, double duration, Ids deps = {}) { return {std::move(id), duration, std::move(deps)}; }

/// A graph given as "from depends on to" pairs, every node lasting 1 s.
std::vector<GraphNode> from_edges(const Ids& ids, const std::vector<std::pair<std::string, std::string>>& edges) {
  std::vector<GraphNode> nodes;
  for (const auto& id : ids) nodes.push_back(node(id, 1));
  for (const auto& [from, to] : edges) {
    for (auto& n : nodes) {
      if (n.id == from) n.deps.push_back(to);
    }
  }
  return nodes;
}

/// Asserts a topological order covers every distinct id and puts each remaining dep first.
void expect_acyclic(const GraphAnalysis& a, const std::vector<GraphNode>& nodes) {
  std::set<std::string> distinct;
  for (const auto& n : nodes) distinct.insert(n.id);
  Ids order = topological_order(a, nodes);
  ASSERT_EQ(order.size(), distinct.size());
  std::map<std::string, std::size_t> pos;
  for (std::size_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
  for (const auto& [id, deps] : a.deps) {
    for (const auto& d : deps) EXPECT_LT(pos.at(d), pos.at(id)) << id << " -> " << d;
  }
}

/// Asserts no removed edge (other than a self loop) could have been kept on its own.
void expect_minimal(const GraphAnalysis& a, const std::vector<GraphNode>& nodes) {
  for (const Edge& e : a.removed) {
    if (e.from == e.to) continue;
    GraphAnalysis with = a;
    with.deps[e.from].push_back(e.to);
    EXPECT_LT(topological_order(with, nodes).size(), a.deps.size()) << e.from << " -> " << e.to << " closes no cycle";
  }
}

TEST(Graph, NoCyclesCriticalPathsByHand) {
  // a <- b <- d, a <- c <- d: d waits on b and c, which wait on a.
  std::vector<GraphNode> nodes = {node("d", 7, {"b", "c"}), node("b", 20, {"a"}), node("c", 5, {"a"}),
                                  node("a", 10)};
  GraphAnalysis a = analyse_graph(nodes);
  EXPECT_TRUE(a.removed.empty());
  EXPECT_TRUE(a.cycles.empty());
  EXPECT_EQ(a.deps.at("d"), (Ids{"b", "c"}));
  EXPECT_EQ(a.deps.at("a"), Ids{});
  EXPECT_DOUBLE_EQ(a.critical_path_s.at("d"), 7);
  EXPECT_DOUBLE_EQ(a.critical_path_s.at("b"), 27);
  EXPECT_DOUBLE_EQ(a.critical_path_s.at("c"), 12);
  EXPECT_DOUBLE_EQ(a.critical_path_s.at("a"), 37);
  EXPECT_EQ(topological_order(a, nodes), (Ids{"a", "b", "c", "d"}));
}

TEST(Graph, TopologicalOrderBreaksTiesByInputOrder) {
  std::vector<GraphNode> nodes = {node("z", 1), node("y", 1, {"x"}), node("x", 1), node("w", 1)};
  EXPECT_EQ(topological_order(analyse_graph(nodes), nodes), (Ids{"z", "x", "y", "w"}));
}

TEST(Graph, TopologicalOrderOmitsNodesOnACycleLeftInTheAnalysis) {
  std::vector<GraphNode> nodes = {node("a", 1), node("b", 1), node("c", 1)};
  GraphAnalysis a;
  a.deps = {{"a", {"b"}}, {"b", {"a"}}, {"c", {"ghost"}}};
  EXPECT_EQ(topological_order(a, nodes), Ids{"c"});
}

TEST(Graph, EmptyGraph) {
  GraphAnalysis a = analyse_graph({});
  EXPECT_TRUE(a.removed.empty() && a.deps.empty() && a.critical_path_s.empty() && a.cycles.empty());
  EXPECT_TRUE(topological_order(a, {}).empty());
}

TEST(Graph, TwoCycleRemovesExactlyOneEdge) {
  std::vector<GraphNode> nodes = {node("media-libs/harfbuzz-8.3.0", 300, {"media-libs/freetype-2.13.2"}),
                                  node("media-libs/freetype-2.13.2", 100, {"media-libs/harfbuzz-8.3.0"})};
  GraphAnalysis a = analyse_graph(nodes);
  // The documented rule: freetype (smaller id) is built first, without harfbuzz.
  ASSERT_EQ(a.removed, (std::vector<Edge>{{"media-libs/freetype-2.13.2", "media-libs/harfbuzz-8.3.0"}}));
  EXPECT_EQ(a.cycles, (std::vector<Ids>{{"media-libs/freetype-2.13.2", "media-libs/harfbuzz-8.3.0"}}));
  EXPECT_TRUE(a.deps.at("media-libs/freetype-2.13.2").empty());
  EXPECT_DOUBLE_EQ(a.critical_path_s.at("media-libs/freetype-2.13.2"), 400);
  EXPECT_DOUBLE_EQ(a.critical_path_s.at("media-libs/harfbuzz-8.3.0"), 300);
  expect_acyclic(a, nodes);
}

TEST(Graph, ThreeCycleRemovesOneEdge) {
  auto nodes = from_edges({"a", "b", "c"}, {{"a", "b"}, {"b", "c"}, {"c", "a"}});
  GraphAnalysis a = analyse_graph(nodes);
  EXPECT_EQ(a.removed.size(), 1u);
  EXPECT_EQ(a.cycles, (std::vector<Ids>{{"a", "b", "c"}}));
  expect_acyclic(a, nodes);
}

TEST(Graph, TwoCyclesSharingANodeRemoveOneEdgeEach) {
  auto nodes = from_edges({"a", "b", "c", "d", "e"},
                          {{"a", "b"}, {"b", "c"}, {"c", "a"}, {"a", "d"}, {"d", "e"}, {"e", "a"}});
  GraphAnalysis a = analyse_graph(nodes);
  ASSERT_EQ(a.removed.size(), 2u);
  EXPECT_EQ(a.cycles, (std::vector<Ids>{{"a", "b", "c", "d", "e"}}));
  expect_acyclic(a, nodes);
  expect_minimal(a, nodes);
}

TEST(Graph, TwoCyclesSharingAnEdgeRemoveThatEdgeOnly) {
  auto nodes = from_edges({"a", "b", "c", "d"}, {{"a", "b"}, {"b", "c"}, {"c", "a"}, {"b", "d"}, {"d", "a"}});
  GraphAnalysis a = analyse_graph(nodes);
  EXPECT_EQ(a.removed, (std::vector<Edge>{{"a", "b"}}));
  expect_acyclic(a, nodes);
}

TEST(Graph, SelfLoopIsDropped) {
  std::vector<GraphNode> nodes = {node("a", 2, {"a", "b"}), node("b", 3)};
  GraphAnalysis a = analyse_graph(nodes);
  EXPECT_EQ(a.removed, (std::vector<Edge>{{"a", "a"}}));
  EXPECT_EQ(a.cycles, (std::vector<Ids>{{"a"}}));
  EXPECT_EQ(a.deps.at("a"), Ids{"b"});
  EXPECT_DOUBLE_EQ(a.critical_path_s.at("b"), 5);
  expect_acyclic(a, nodes);
}

TEST(Graph, CompleteDigraphOnSixNodesBecomesAcyclic) {
  Ids ids = {"n1", "n2", "n3", "n4", "n5", "n6"};
  std::vector<std::pair<std::string, std::string>> edges;
  for (const auto& u : ids) {
    for (const auto& v : ids) {
      if (u != v) edges.emplace_back(u, v);
    }
  }
  auto nodes = from_edges(ids, edges);
  GraphAnalysis a = analyse_graph(nodes);
  EXPECT_EQ(a.cycles, std::vector<Ids>{ids});
  // Every pair is a 2-cycle: at least one edge of each must go, and one is enough.
  ASSERT_EQ(a.removed.size(), 15u);
  std::set<std::pair<std::string, std::string>> pairs;
  for (const Edge& e : a.removed) pairs.insert(std::minmax(e.from, e.to));
  EXPECT_EQ(pairs.size(), 15u);
  expect_acyclic(a, nodes);
}

TEST(Graph, DepsOutsideTheGraphAndDuplicatesAreDropped) {
  std::vector<GraphNode> nodes = {node("a", 1, {"sys-libs/glibc-2.38", "b", "b", "c", "sys-libs/glibc-2.38"}),
                                  node("b", 1, {"c"}), node("c", 1)};
  GraphAnalysis a = analyse_graph(nodes);
  EXPECT_TRUE(a.removed.empty());
  EXPECT_EQ(a.deps.at("a"), (Ids{"b", "c"}));
  EXPECT_EQ(a.deps.count("sys-libs/glibc-2.38"), 0u);
  EXPECT_DOUBLE_EQ(a.critical_path_s.at("c"), 3);
}

TEST(Graph, RepeatedIdKeepsFirstEntryAndBadDurationsCountAsZero) {
  std::vector<GraphNode> nodes = {node("a", -5, {"b"}), node("b", std::nan("")), node("a", 100, {}),
                                  node("c", std::numeric_limits<double>::infinity(), {"a"})};
  GraphAnalysis a = analyse_graph(nodes);
  EXPECT_EQ(a.deps.size(), 3u);
  EXPECT_EQ(a.deps.at("a"), Ids{"b"});
  EXPECT_DOUBLE_EQ(a.critical_path_s.at("b"), 0);
  EXPECT_EQ(topological_order(a, nodes), (Ids{"b", "a", "c"}));
}

/// A reproducible graph of `n` nodes and about `n * degree` random deps, full of cycles.
std::vector<GraphNode> random_graph(std::size_t n, std::size_t degree, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<GraphNode> nodes;
  for (std::size_t i = 0; i < n; ++i) nodes.push_back(node("p" + std::to_string(i), static_cast<double>(rng() % 100)));
  for (std::size_t i = 0; i < n * degree; ++i) nodes[rng() % n].deps.push_back("p" + std::to_string(rng() % n));
  return nodes;
}

TEST(Graph, DeterministicAndIndependentOfNodeOrder) {
  for (unsigned seed : {1u, 2u, 3u, 4u}) {
    std::vector<GraphNode> nodes = seed < 4 ? random_graph(40, 3, seed) : random_graph(300, 2, seed);
    GraphAnalysis first = analyse_graph(nodes);
    ASSERT_FALSE(first.removed.empty());
    expect_acyclic(first, nodes);
    expect_minimal(first, nodes);
    EXPECT_EQ(analyse_graph(nodes).removed, first.removed);

    std::mt19937 rng(seed);
    for (int round = 0; round < 5; ++round) {
      std::vector<GraphNode> shuffled = nodes;
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      for (auto& n : shuffled) std::shuffle(n.deps.begin(), n.deps.end(), rng);
      GraphAnalysis again = analyse_graph(shuffled);
      EXPECT_EQ(again.removed, first.removed) << "seed " << seed << " round " << round;
      EXPECT_EQ(again.cycles, first.cycles);
      EXPECT_EQ(again.critical_path_s, first.critical_path_s);
    }
  }
}

TEST(Graph, LongCycleNeedsNoRecursion) {
  // 200,000 nodes in one chain closed into a cycle: a recursive Tarjan would overflow the stack.
  const std::size_t n = 200'000;
  std::vector<GraphNode> nodes;
  for (std::size_t i = 0; i < n; ++i) {
    nodes.push_back(node("p" + std::to_string(i), 1, {"p" + std::to_string((i + 1) % n)}));
  }
  GraphAnalysis a = analyse_graph(nodes);
  ASSERT_EQ(a.removed.size(), 1u);
  ASSERT_EQ(a.cycles.size(), 1u);
  EXPECT_EQ(a.cycles[0].size(), n);
  EXPECT_EQ(topological_order(a, nodes).size(), n);
  double longest = 0;
  for (const auto& [id, path] : a.critical_path_s) longest = std::max(longest, path);
  EXPECT_DOUBLE_EQ(longest, static_cast<double>(n));
}

TEST(Graph, RealDebianXfceGraph) {
  auto path = swarm::test::shared_dir() / "bench" / "graphs" / "debian-xfce-desktop.json";
  nlohmann::json j = nlohmann::json::parse(swarm::test::read_file(path));
  std::vector<GraphNode> nodes;
  for (const auto& p : j.at("packages")) {
    nodes.push_back(node(p.at("atom").get<std::string>(), p.at("duration_s").get<double>(),
                         p.at("deps").get<Ids>()));
  }
  ASSERT_EQ(nodes.size(), 2015u);

  auto start = std::chrono::steady_clock::now();
  GraphAnalysis a = analyse_graph(nodes);
  std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;

  expect_acyclic(a, nodes);
  expect_minimal(a, nodes);
  // Known from the file: six components (sizes 2, 2, 2, 2, 3, 4), e.g. libc6 <-> libgcc-s1.
  ASSERT_EQ(a.cycles.size(), 6u);
  std::multiset<std::size_t> sizes;
  for (const auto& c : a.cycles) sizes.insert(c.size());
  EXPECT_EQ(sizes, (std::multiset<std::size_t>{2, 2, 2, 2, 3, 4}));
  EXPECT_EQ(a.removed.size(), 6u);  // one edge per component is enough here
  std::set<std::string> in_cycles;
  for (const auto& c : a.cycles) in_cycles.insert(c.begin(), c.end());
  for (const Edge& e : a.removed) EXPECT_TRUE(in_cycles.count(e.from) && in_cycles.count(e.to));

  double longest = 0;
  for (const auto& [id, p] : a.critical_path_s) longest = std::max(longest, p);
  std::cout << "debian-xfce-desktop: " << nodes.size() << " packages, " << a.cycles.size() << " cycles, "
            << a.removed.size() << " edges removed, longest critical path " << longest << " s, analysed in "
            << took.count() << " ms\n";
  for (const Edge& e : a.removed) std::cout << "  removed: " << e.from << " -> " << e.to << "\n";
}

}  // namespace
}  // namespace swarm::orch
