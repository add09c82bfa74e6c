#pragma once
// Dependency-graph algorithms for scheduling a submitted package graph: cycle detection and breaking,
// critical paths, topological order. Pure functions, no I/O (docs/SCHEDULING.md).
//
// Cycle-breaking rule (deterministic; it depends on ids only, never on input order):
//  1. Self-loops (a node naming itself) are dropped.
//  2. Strongly connected components are found with an iterative Tarjan.
//  3. Within each component of size > 1, the Eades-Lin-Smyth greedy ordering is computed on the
//     "built before" relation (dependency -> dependent): repeatedly take a sink (no remaining
//     dependents in the component; it goes last), else a source (no remaining dependencies; it goes
//     first), else the node with the largest (dependents - dependencies) left; ties go to the
//     smallest id. Every "u depends on v" where u comes before v in that order is a back edge.
//  4. Back edges are tried again in (from, to) id order: one whose return closes no cycle is kept.
//     So no removed edge could have been kept alone: the set is minimal by inclusion, and it is
//     small (greedy), not guaranteed minimum (minimum feedback arc set is NP-hard).
// For harfbuzz <-> freetype both have one dependent and one dependency: freetype (smaller id) is
// built first, and the removed edge is "freetype depends on harfbuzz", as Gentoo does it by hand.

#include <map>
#include <string>
#include <vector>

namespace swarm::orch {

struct GraphNode {
  std::string id;
  double duration_s = 0;          // negative or non-finite counts as 0
  std::vector<std::string> deps;  // ids; may name ids not in the graph (already built)
};

struct Edge {
  std::string from, to;  // `from` depends on `to`
  bool operator==(const Edge&) const = default;
  auto operator<=>(const Edge&) const = default;
};

struct GraphAnalysis {
  std::vector<Edge> removed;  // edges removed to break cycles, sorted by (from, to)
  std::map<std::string, std::vector<std::string>> deps;  // remaining deps per node, only ids in the graph
  // Own duration + the longest chain of dependents after it: the time from starting this node to
  // finishing everything that waits on it.
  std::map<std::string, double> critical_path_s;
  // Strongly connected components of size > 1, and self loops; each sorted by id, the list sorted.
  std::vector<std::vector<std::string>> cycles;
};

/// Finds cycles, breaks them by the rule above and computes critical paths on the resulting DAG;
/// outside deps are dropped, duplicate deps merged, and a repeated node id keeps its first entry.
GraphAnalysis analyse_graph(const std::vector<GraphNode>& nodes);

/// Ids of `nodes` in dependency-first order over `analysis.deps`, ties broken by input order; nodes
/// on a cycle left in `analysis.deps` are omitted, so a shorter result means it was not acyclic.
std::vector<std::string> topological_order(const GraphAnalysis& analysis, const std::vector<GraphNode>& nodes);

}  // namespace swarm::orch
