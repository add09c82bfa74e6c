#include "common/emerge_pretend.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "common/atom.hpp"
#include "common/text.hpp"

namespace swarm {

namespace {

/// Removes ANSI colour sequences (ESC [ ... letter), which `emerge --color=y` puts inside the brackets.
std::string strip_ansi(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      i += 2;
      while (i < line.size() && !((line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= 'a' && line[i] <= 'z'))) ++i;
      continue;
    }
    out += line[i];
  }
  return out;
}

struct ParsedAtom {
  Atom atom;
  int64_t build_id = 0;
};

/// A binary's version carries its BUILD_ID ("libdrm-2.4.127-2"); a version never ends in a bare
/// "-N", so the suffix is a build id exactly when the atom only parses without it.
std::optional<ParsedAtom> parse_entry_atom(std::string_view token, bool binary) {
  if (auto a = parse_atom(token); a.ok()) return ParsedAtom{std::move(*a), 0};
  if (!binary) return std::nullopt;
  std::size_t colon = token.find(':');
  std::string_view cpv = token.substr(0, colon);
  std::string_view suffix = colon == std::string_view::npos ? std::string_view() : token.substr(colon);
  std::size_t dash = cpv.rfind('-');
  if (dash == std::string_view::npos || !all_digits(cpv.substr(dash + 1))) return std::nullopt;
  int64_t id = 0;
  auto digits = cpv.substr(dash + 1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  auto a = parse_atom(std::string(cpv.substr(0, dash)) + std::string(suffix));
  if (!a.ok()) return std::nullopt;
  return ParsedAtom{std::move(*a), id};
}

/// Every bracketed line of the merge list, including `[nomerge]` and `[uninstall]`, in the order
/// printed, and what the text says about its order and emptiness.
struct MergeList {
  std::vector<PretendEntry> lines;
  bool said_empty = false;
  bool reverse_header = false;  // "These are the packages that would be merged, in reverse order:"
};

bool is_submitted_kind(const std::string& kind) { return kind == "ebuild" || kind == "binary"; }

Result<MergeList> read_merge_list(std::string_view text) {
  MergeList list;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string line = strip_ansi(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;

    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    std::string_view rest = std::string_view(line).substr(start);
    if (rest.rfind("Total: 0 packages", 0) == 0 || rest.find("No outdated packages") != std::string_view::npos) {
      list.said_empty = true;
    }
    if (rest.rfind("These are the packages that would be", 0) == 0) {
      // --tree prints "in reverse order:", --tree --unordered-display no order at all: both list
      // dependents above their dependencies.
      list.reverse_header = rest.find("in order:") == std::string_view::npos;
      continue;
    }
    if (rest.front() != '[') continue;
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) continue;
    std::string_view inside = rest.substr(1, close - 1);
    std::size_t kind_end = inside.find(' ');
    std::string kind(inside.substr(0, kind_end));
    if (kind != "ebuild" && kind != "binary" && kind != "blocks" && kind != "nomerge" && kind != "uninstall") {
      continue;  // not a merge-list line (e.g. a bracketed prompt)
    }

    PretendEntry e;
    e.kind = kind;
    if (kind_end != std::string_view::npos) {
      for (char c : inside.substr(kind_end)) {
        if (c != ' ') e.flags += c;
      }
    }
    e.rebuild = is_submitted_kind(kind) && e.flags.find('R') != std::string::npos;

    // Portage prints "] " then one space per tree level (output.py: `" " * depth`).
    std::string_view after = rest.substr(close + 1);
    std::size_t atom_start = after.find_first_not_of(" \t");
    if (atom_start == std::string_view::npos) {
      return make_error(ErrorKind::invalid, "emerge output line " + std::to_string(line_no) + ": no atom after [" +
                                                std::string(inside) + "]");
    }
    e.depth = atom_start > 0 ? static_cast<int>(atom_start) - 1 : 0;
    std::string_view token = after.substr(atom_start, after.find_first_of(" \t", atom_start) - atom_start);

    auto parsed = kind == "blocks" ? std::nullopt : parse_entry_atom(token, kind != "ebuild");
    if (parsed) {
      e.atom = parsed->atom.cpv();
      e.slot = parsed->atom.slot;
      e.repo = parsed->atom.repo;
      e.build_id = parsed->build_id;
    } else if (is_submitted_kind(kind)) {
      return make_error(ErrorKind::invalid, "emerge output line " + std::to_string(line_no) + ": '" +
                                                std::string(token) + "' is not a CATEGORY/PF atom");
    } else {
      e.atom = std::string(token);  // a blocker atom; never submitted
    }
    list.lines.push_back(std::move(e));
  }
  bool any = false;
  for (const auto& e : list.lines) any = any || e.kind != "nomerge";
  if (!any && !list.said_empty) {
    return make_error(ErrorKind::invalid,
                      "no emerge --pretend merge list found (no [ebuild ...] or [binary ...] lines)");
  }
  return list;
}

}  // namespace

std::string PretendEntry::full_atom() const {
  std::string out = atom;
  if (!slot.empty()) out += ":" + slot;
  if (!repo.empty()) out += "::" + repo;
  return out;
}

Result<std::vector<PretendEntry>> parse_emerge_pretend(std::string_view text) {
  auto list = read_merge_list(text);
  if (!list) return list.error();
  std::vector<PretendEntry> entries;
  for (auto& e : list->lines) {
    if (e.kind != "nomerge" && e.kind != "uninstall") entries.push_back(std::move(e));
  }
  return entries;
}

Result<PretendGraph> parse_emerge_graph(std::string_view text) {
  auto list = read_merge_list(text);
  if (!list) return list.error();
  PretendGraph graph;
  graph.tree = list->reverse_header;

  // The packages first: a [nomerge] line above its package's own line is that package too.
  std::map<std::string, std::size_t> index_of;  // CATEGORY/PF -> position in graph.packages
  for (const auto& e : list->lines) {
    graph.tree = graph.tree || e.depth > 0;
    if (e.kind == "blocks") ++graph.blockers;
    if (!is_submitted_kind(e.kind)) continue;
    auto [it, added] = index_of.emplace(e.atom, graph.packages.size());
    if (added) {
      graph.packages.push_back(e);
    } else {
      graph.packages[it->second].rebuild = graph.packages[it->second].rebuild || e.rebuild;
    }
  }

  struct Ancestor {
    int depth;
    const std::string* submitted;  // the package's CATEGORY/PF, or null for a transparent line
  };
  std::vector<Ancestor> ancestors;  // the path from the tree's root to the line above
  std::set<PretendEdge> seen;
  for (const auto& e : list->lines) {
    while (!ancestors.empty() && ancestors.back().depth >= e.depth) ancestors.pop_back();
    bool submitted = e.kind != "blocks" && index_of.count(e.atom) > 0;
    if (submitted) {
      for (auto a = ancestors.rbegin(); a != ancestors.rend(); ++a) {
        if (a->submitted == nullptr) continue;
        PretendEdge edge{*a->submitted, e.atom};
        if (edge.dependent != edge.dependency && seen.insert(edge).second) graph.edges.push_back(std::move(edge));
        break;
      }
    }
    ancestors.push_back({e.depth, submitted ? &e.atom : nullptr});
  }

  if (graph.tree) std::reverse(graph.packages.begin(), graph.packages.end());
  return graph;
}

}  // namespace swarm
