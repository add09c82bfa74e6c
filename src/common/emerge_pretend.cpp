#include "common/emerge_pretend.hpp"

#include <charconv>
#include <optional>

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

}  // namespace

Result<std::vector<PretendEntry>> parse_emerge_pretend(std::string_view text) {
  std::vector<PretendEntry> entries;
  bool said_empty = false;
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
      said_empty = true;
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
    if (kind == "nomerge" || kind == "uninstall") continue;

    PretendEntry e;
    e.kind = kind;
    if (kind_end != std::string_view::npos) {
      for (char c : inside.substr(kind_end)) {
        if (c != ' ') e.flags += c;
      }
    }
    e.rebuild = e.flags.find('R') != std::string::npos;

    // --tree indents the atom with extra spaces after the bracket.
    std::string_view after = rest.substr(close + 1);
    std::size_t atom_start = after.find_first_not_of(" \t");
    if (atom_start == std::string_view::npos) {
      return make_error(ErrorKind::invalid, "emerge output line " + std::to_string(line_no) + ": no atom after [" +
                                                std::string(inside) + "]");
    }
    std::string_view token = after.substr(atom_start, after.find_first_of(" \t", atom_start) - atom_start);

    if (kind == "blocks") {
      e.atom = std::string(token);
    } else {
      auto parsed = parse_entry_atom(token, kind == "binary");
      if (!parsed) {
        return make_error(ErrorKind::invalid, "emerge output line " + std::to_string(line_no) + ": '" +
                                                  std::string(token) + "' is not a CATEGORY/PF atom");
      }
      e.atom = parsed->atom.cpv();
      e.repo = parsed->atom.repo;
      e.build_id = parsed->build_id;
    }
    entries.push_back(std::move(e));
  }
  if (entries.empty() && !said_empty) {
    return make_error(ErrorKind::invalid,
                      "no emerge --pretend merge list found (no [ebuild ...] or [binary ...] lines)");
  }
  return entries;
}

}  // namespace swarm
