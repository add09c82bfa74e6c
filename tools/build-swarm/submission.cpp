#include "build-swarm/submission.hpp"

#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/atom.hpp"
#include "common/emerge_pretend.hpp"

namespace swarm::cli {

namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

PackageSpec package(std::string atom) {
  PackageSpec p;
  p.atom = std::move(atom);
  return p;
}

}  // namespace

Result<std::string> normalize_atom(std::string_view text) {
  auto atom = parse_atom(trim(text));
  if (!atom) return make_error(ErrorKind::invalid, "'" + std::string(text) + "': " + atom.error().message);
  return atom->to_string().substr(1);  // CATEGORY/PF[:SLOT][::REPO]: both reach the drone's emerge
}

Result<std::vector<PackageSpec>> packages_from_atoms(const std::vector<std::string>& atoms) {
  std::vector<PackageSpec> out;
  for (const auto& a : atoms) {
    auto cpv = normalize_atom(a);
    if (!cpv) return cpv.error();
    out.push_back(package(std::move(*cpv)));
  }
  if (out.empty()) return make_error(ErrorKind::invalid, "no atoms given");
  return out;
}

Result<std::vector<PackageSpec>> packages_from_list(std::string_view text) {
  std::vector<PackageSpec> out;
  std::istringstream in{std::string(text)};
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::string t = trim(line);
    if (t.empty()) continue;
    auto cpv = normalize_atom(t);
    if (!cpv) return make_error(ErrorKind::invalid, "line " + std::to_string(n) + ": " + cpv.error().message);
    out.push_back(package(std::move(*cpv)));
  }
  if (out.empty()) return make_error(ErrorKind::invalid, "the list holds no atoms");
  return out;
}

Result<std::vector<PackageSpec>> packages_from_graph(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error(ErrorKind::invalid, "not valid JSON");
  if (!j.is_object() || !j.contains("packages") || !j["packages"].is_array())
    return make_error(ErrorKind::invalid, "expected {\"packages\": [...]}");
  std::vector<PackageSpec> out;
  const auto& list = j["packages"];
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = "packages[" + std::to_string(i) + "]: ";
    auto p = PackageSpec::from_json(list[i]);
    if (!p) return make_error(ErrorKind::invalid, where + p.error().message);
    auto cpv = normalize_atom(p->atom);
    if (!cpv) return make_error(ErrorKind::invalid, where + cpv.error().message);
    p->atom = *cpv;
    for (auto& dep : p->deps) {
      auto d = normalize_atom(dep);
      if (!d) return make_error(ErrorKind::invalid, where + "dependency " + d.error().message);
      dep = *d;
    }
    out.push_back(std::move(*p));
  }
  if (out.empty()) return make_error(ErrorKind::invalid, "the graph holds no packages");
  return out;
}

Result<std::vector<PackageSpec>> packages_from_emerge(std::string_view text, EmergeSummary* summary) {
  auto graph = parse_emerge_graph(text);
  if (!graph) return graph.error();
  EmergeSummary s;
  s.blockers_skipped = graph->blockers;
  s.tree = graph->tree;
  s.edges = graph->edges.size();
  std::map<std::string, size_t> index_of;  // CATEGORY/PF -> position in out
  std::vector<PackageSpec> out;
  for (const auto& e : graph->packages) {
    index_of[e.atom] = out.size();
    PackageSpec p = package(e.full_atom());
    p.rebuild = e.rebuild;
    if (p.rebuild) ++s.rebuilds;
    out.push_back(std::move(p));
  }
  // A dep names its package exactly as that package is submitted.
  for (const auto& edge : graph->edges)
    out[index_of.at(edge.dependent)].deps.push_back(out[index_of.at(edge.dependency)].atom);
  if (summary) *summary = s;
  if (out.empty()) return make_error(ErrorKind::invalid, "emerge would merge nothing: no packages to submit");
  return out;
}

}  // namespace swarm::cli
