// Time of analyse_graph (cycles, cycle breaking, critical paths) and topological_order on a package graph.
// Usage: graph_bench GRAPH.json [runs]   e.g. graph_bench ../shared/bench/graphs/debian-xfce-desktop.json
// The file is {"packages":[{"atom","duration_s","deps"}]} (design.md, "A package graph").

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/graph.hpp"

namespace {

using Millis = std::chrono::duration<double, std::milli>;

bool load(const char* path, std::vector<swarm::orch::GraphNode>& nodes) {
  std::ifstream in(path);
  if (!in) return false;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("packages") || !j["packages"].is_array()) return false;
  for (const auto& p : j["packages"]) {
    nodes.push_back({p.value("atom", std::string()), p.value("duration_s", 0.0),
                     p.value("deps", std::vector<std::string>())});
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s GRAPH.json [runs]\n", argv[0]);
    return 2;
  }
  int runs = argc > 2 ? std::atoi(argv[2]) : 20;
  std::vector<swarm::orch::GraphNode> nodes;
  if (runs <= 0 || !load(argv[1], nodes)) {
    std::fprintf(stderr, "cannot read a package graph from %s (or runs <= 0)\n", argv[1]);
    return 1;
  }
  std::size_t edges = 0;
  for (const auto& n : nodes) edges += n.deps.size();

  std::vector<double> analyse_ms, order_ms;
  swarm::orch::GraphAnalysis analysis;
  std::size_t ordered = 0;
  for (int run = 0; run < runs; ++run) {
    auto start = std::chrono::steady_clock::now();
    analysis = swarm::orch::analyse_graph(nodes);
    auto middle = std::chrono::steady_clock::now();
    ordered = swarm::orch::topological_order(analysis, nodes).size();
    auto end = std::chrono::steady_clock::now();
    analyse_ms.push_back(Millis(middle - start).count());
    order_ms.push_back(Millis(end - middle).count());
  }
  std::sort(analyse_ms.begin(), analyse_ms.end());
  std::sort(order_ms.begin(), order_ms.end());
  double longest = 0;
  for (const auto& [id, s] : analysis.critical_path_s) longest = std::max(longest, s);

  std::printf("graph: %s: %zu packages, %zu deps\n", argv[1], nodes.size(), edges);
  std::printf("cycles: %zu, edges removed: %zu, ordered: %zu, longest critical path: %.0f s\n",
              analysis.cycles.size(), analysis.removed.size(), ordered, longest);
  std::printf("analyse_graph over %d runs: min %.2f ms, median %.2f ms\n", runs, analyse_ms.front(),
              analyse_ms[analyse_ms.size() / 2]);
  std::printf("topological_order over %d runs: min %.2f ms, median %.2f ms\n", runs, order_ms.front(),
              order_ms[order_ms.size() / 2]);
  return ordered == analysis.deps.size() ? 0 : 1;
}
