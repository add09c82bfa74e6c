#include "orchestrator/graph.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <queue>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace swarm::orch {

namespace {

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

using Adjacency = std::vector<std::vector<std::size_t>>;  // adjacency[u]: the nodes u depends on

struct IndexedGraph {
  std::vector<std::string> ids;  // first occurrence order
  std::vector<double> durations;
  Adjacency deps;                // inside the graph, deduplicated, without self loops
  std::vector<bool> self_loop;
};

std::unordered_map<std::string, std::size_t> index_ids(const std::vector<GraphNode>& nodes,
                                                        std::vector<std::size_t>* first_entry) {
  std::unordered_map<std::string, std::size_t> index;
  index.reserve(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (index.emplace(nodes[i].id, index.size()).second && first_entry) first_entry->push_back(i);
  }
  return index;
}

IndexedGraph index_graph(const std::vector<GraphNode>& nodes) {
  std::vector<std::size_t> entry;
  auto index = index_ids(nodes, &entry);
  IndexedGraph g;
  const std::size_t n = entry.size();
  g.ids.resize(n);
  g.durations.resize(n);
  g.deps.resize(n);
  g.self_loop.assign(n, false);
  std::vector<std::size_t> seen(n, kNone);  // seen[v] == u: v already a dep of u
  for (std::size_t u = 0; u < n; ++u) {
    const GraphNode& node = nodes[entry[u]];
    g.ids[u] = node.id;
    g.durations[u] = std::isfinite(node.duration_s) && node.duration_s > 0 ? node.duration_s : 0.0;
    for (const std::string& dep : node.deps) {
      auto it = index.find(dep);
      if (it == index.end()) continue;  // outside the graph: already built
      std::size_t v = it->second;
      if (v == u) {
        g.self_loop[u] = true;
      } else if (seen[v] != u) {
        seen[v] = u;
        g.deps[u].push_back(v);
      }
    }
  }
  return g;
}

/// Tarjan's strongly connected components with an explicit stack (no recursion-depth limit).
std::vector<std::vector<std::size_t>> strongly_connected(const Adjacency& deps) {
  const std::size_t n = deps.size();
  std::vector<std::size_t> order(n, kNone), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<std::size_t> stack;
  struct Frame {
    std::size_t node;
    std::size_t next;
  };
  std::vector<Frame> calls;
  std::vector<std::vector<std::size_t>> components;
  std::size_t counter = 0;
  auto visit = [&](std::size_t v) {
    order[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = true;
    calls.push_back({v, 0});
  };
  for (std::size_t root = 0; root < n; ++root) {
    if (order[root] != kNone) continue;
    visit(root);
    while (!calls.empty()) {
      std::size_t v = calls.back().node;
      if (calls.back().next < deps[v].size()) {
        std::size_t w = deps[v][calls.back().next++];
        if (order[w] == kNone) {
          visit(w);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], order[w]);
        }
        continue;
      }
      calls.pop_back();
      if (!calls.empty()) low[calls.back().node] = std::min(low[calls.back().node], low[v]);
      if (low[v] != order[v]) continue;
      std::vector<std::size_t> component;
      std::size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component.push_back(w);
      } while (w != v);
      components.push_back(std::move(component));
    }
  }
  return components;
}

/// Kahn's algorithm, dependencies first, ties to the smallest index; nodes on a cycle are left out.
std::vector<std::size_t> kahn_order(const Adjacency& deps) {
  const std::size_t n = deps.size();
  std::vector<std::size_t> waiting(n, 0);
  Adjacency dependents(n);
  for (std::size_t u = 0; u < n; ++u) {
    waiting[u] = deps[u].size();
    for (std::size_t v : deps[u]) dependents[v].push_back(u);
  }
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t u = 0; u < n; ++u) {
    if (waiting[u] == 0) ready.push(u);
  }
  std::vector<std::size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    std::size_t v = ready.top();
    ready.pop();
    order.push_back(v);
    for (std::size_t u : dependents[v]) {
      if (--waiting[u] == 0) ready.push(u);
    }
  }
  return order;
}

/// Eades-Lin-Smyth ordering of one component on "built before" arcs; returns each local node's position.
std::vector<std::size_t> greedy_order(const Adjacency& deps, const Adjacency& dependents) {
  const std::size_t k = deps.size();
  std::vector<long> in(k), out(k);  // remaining dependencies / dependents
  std::vector<bool> placed(k, false);
  std::set<std::size_t> sinks, sources;
  std::set<std::pair<long, std::size_t>> by_delta;  // (-(out - in), node): largest delta, then smallest id
  auto key = [&](std::size_t x) { return std::make_pair(in[x] - out[x], x); };
  for (std::size_t x = 0; x < k; ++x) {
    in[x] = static_cast<long>(deps[x].size());
    out[x] = static_cast<long>(dependents[x].size());
    by_delta.insert(key(x));
    if (out[x] == 0) sinks.insert(x);
    if (in[x] == 0) sources.insert(x);
  }
  std::vector<std::size_t> head, tail;
  for (std::size_t step = 0; step < k; ++step) {
    std::size_t x;
    if (!sinks.empty()) {
      x = *sinks.begin();
      tail.push_back(x);
    } else if (!sources.empty()) {
      x = *sources.begin();
      head.push_back(x);
    } else {
      x = by_delta.begin()->second;
      head.push_back(x);
    }
    placed[x] = true;
    sinks.erase(x);
    sources.erase(x);
    by_delta.erase(key(x));
    for (std::size_t v : deps[x]) {  // v loses a dependent
      if (placed[v]) continue;
      by_delta.erase(key(v));
      if (--out[v] == 0) sinks.insert(v);
      by_delta.insert(key(v));
    }
    for (std::size_t w : dependents[x]) {  // w loses a dependency
      if (placed[w]) continue;
      by_delta.erase(key(w));
      if (--in[w] == 0) sources.insert(w);
      by_delta.insert(key(w));
    }
  }
  head.insert(head.end(), tail.rbegin(), tail.rend());
  std::vector<std::size_t> position(k);
  for (std::size_t i = 0; i < k; ++i) position[head[i]] = i;
  return position;
}

/// Whether `to` can be reached from `from` along `deps`; `mark`/`stamp` avoid clearing per search.
bool reaches(const Adjacency& deps, std::size_t from, std::size_t to, std::vector<std::size_t>& mark,
             std::size_t stamp) {
  std::vector<std::size_t> todo{from};
  mark[from] = stamp;
  while (!todo.empty()) {
    std::size_t x = todo.back();
    todo.pop_back();
    if (x == to) return true;
    for (std::size_t y : deps[x]) {
      if (mark[y] != stamp) {
        mark[y] = stamp;
        todo.push_back(y);
      }
    }
  }
  return false;
}

/// Breaks every cycle of one component (members sorted by id); returns removed (from, to) global pairs.
std::vector<std::pair<std::size_t, std::size_t>> break_component(const std::vector<std::size_t>& members,
                                                                 const Adjacency& deps,
                                                                 std::vector<std::size_t>& local_of) {
  const std::size_t k = members.size();
  for (std::size_t l = 0; l < k; ++l) local_of[members[l]] = l;
  Adjacency local_deps(k), local_dependents(k);
  for (std::size_t l = 0; l < k; ++l) {
    for (std::size_t v : deps[members[l]]) {
      std::size_t lv = local_of[v];
      if (lv == kNone) continue;  // outside this component
      local_deps[l].push_back(lv);
      local_dependents[lv].push_back(l);
    }
  }
  std::vector<std::size_t> position = greedy_order(local_deps, local_dependents);

  // Back edges: u depends on v but comes first. Local indices follow id order, so this is (from, to) order.
  std::vector<std::pair<std::size_t, std::size_t>> back;
  Adjacency kept(k);
  for (std::size_t u = 0; u < k; ++u) {
    for (std::size_t v : local_deps[u]) {
      if (position[u] < position[v]) {
        back.emplace_back(u, v);
      } else {
        kept[u].push_back(v);
      }
    }
  }
  std::sort(back.begin(), back.end());

  std::vector<std::pair<std::size_t, std::size_t>> removed;
  std::vector<std::size_t> mark(k, kNone);
  for (std::size_t i = 0; i < back.size(); ++i) {
    auto [u, v] = back[i];
    if (reaches(kept, v, u, mark, i)) {
      removed.emplace_back(members[u], members[v]);
    } else {
      kept[u].push_back(v);  // closes no cycle: keep it
    }
  }
  for (std::size_t x : members) local_of[x] = kNone;
  return removed;
}

}  // namespace

GraphAnalysis analyse_graph(const std::vector<GraphNode>& nodes) {
  IndexedGraph g = index_graph(nodes);
  const std::size_t n = g.ids.size();
  GraphAnalysis result;
  Adjacency removed_of(n);

  std::vector<std::size_t> local_of(n, kNone);
  for (std::vector<std::size_t>& component : strongly_connected(g.deps)) {
    if (component.size() == 1) {
      if (g.self_loop[component[0]]) result.cycles.push_back({g.ids[component[0]]});
      continue;
    }
    std::sort(component.begin(), component.end(),
              [&](std::size_t a, std::size_t b) { return g.ids[a] < g.ids[b]; });
    std::vector<std::string> cycle;
    for (std::size_t x : component) cycle.push_back(g.ids[x]);
    result.cycles.push_back(std::move(cycle));
    for (auto [u, v] : break_component(component, g.deps, local_of)) {
      removed_of[u].push_back(v);
      result.removed.push_back({g.ids[u], g.ids[v]});
    }
  }
  for (std::size_t u = 0; u < n; ++u) {
    if (g.self_loop[u]) result.removed.push_back({g.ids[u], g.ids[u]});
  }
  std::sort(result.removed.begin(), result.removed.end());
  std::sort(result.cycles.begin(), result.cycles.end());

  Adjacency remaining(n);
  for (std::size_t u = 0; u < n; ++u) {
    std::vector<std::string>& names = result.deps[g.ids[u]];
    for (std::size_t v : g.deps[u]) {
      if (std::find(removed_of[u].begin(), removed_of[u].end(), v) != removed_of[u].end()) continue;
      remaining[u].push_back(v);
      names.push_back(g.ids[v]);
    }
  }

  std::vector<std::size_t> order = kahn_order(remaining);
  if (order.size() != n) throw std::logic_error("analyse_graph: a cycle survived cycle breaking");
  // Dependents come later in `order`: walking it backwards finishes every dependent first.
  std::vector<double> longest_after(n, 0.0);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    std::size_t u = *it;
    double path = g.durations[u] + longest_after[u];
    result.critical_path_s[g.ids[u]] = path;
    for (std::size_t v : remaining[u]) longest_after[v] = std::max(longest_after[v], path);
  }
  return result;
}

std::vector<std::string> topological_order(const GraphAnalysis& analysis, const std::vector<GraphNode>& nodes) {
  std::vector<std::size_t> entry;
  auto index = index_ids(nodes, &entry);
  Adjacency deps(entry.size());
  for (std::size_t u = 0; u < entry.size(); ++u) {
    auto found = analysis.deps.find(nodes[entry[u]].id);
    if (found == analysis.deps.end()) continue;
    for (const std::string& dep : found->second) {
      auto it = index.find(dep);
      if (it != index.end()) deps[u].push_back(it->second);
    }
  }
  std::vector<std::string> ids;
  for (std::size_t u : kahn_order(deps)) ids.push_back(nodes[entry[u]].id);
  return ids;
}

}  // namespace swarm::orch
