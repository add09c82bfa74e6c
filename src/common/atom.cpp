#include "common/atom.hpp"

#include <array>
#include <cstdio>
#include <optional>
#include <vector>

namespace swarm {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) { return is_digit(c) || is_lower(c) || (c >= 'A' && c <= 'Z'); }
bool is_name_char(char c) { return is_alnum(c) || c == '+' || c == '_' || c == '.' || c == '-'; }

// Suffixes in PMS order; a version without a suffix sorts between _rc and _p.
constexpr std::array<std::string_view, 5> kSuffixes = {"alpha", "beta", "pre", "rc", "p"};
constexpr int kNoSuffixRank = 4;
constexpr int kPatchRank = 5;

int suffix_rank(std::size_t index) { return index == 4 ? kPatchRank : static_cast<int>(index); }

struct Suffix {
  int rank = 0;
  std::string_view number;  // may be empty, meaning 0
};

struct Version {
  std::vector<std::string_view> numbers;
  char letter = 0;
  std::vector<Suffix> suffixes;
  std::string_view revision;  // digits after "-r", empty when absent
};

std::optional<Version> parse_version(std::string_view s, bool allow_revision) {
  Version v;
  std::size_t i = 0;
  auto digits = [&]() {
    std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    return s.substr(start, i - start);
  };
  while (true) {
    std::string_view n = digits();
    if (n.empty()) return std::nullopt;
    v.numbers.push_back(n);
    if (i < s.size() && s[i] == '.') {
      ++i;
      continue;
    }
    break;
  }
  if (i < s.size() && is_lower(s[i])) v.letter = s[i++];
  while (i < s.size() && s[i] == '_') {
    ++i;
    std::optional<std::size_t> found;
    // "pre" is listed before "p", so the longer name wins.
    for (std::size_t k = 0; k < kSuffixes.size() && !found; ++k)
      if (s.substr(i, kSuffixes[k].size()) == kSuffixes[k]) found = k;
    if (!found) return std::nullopt;
    i += kSuffixes[*found].size();
    v.suffixes.push_back(Suffix{suffix_rank(*found), digits()});
  }
  if (allow_revision && s.substr(i, 2) == "-r") {
    i += 2;
    v.revision = digits();
    if (v.revision.empty()) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return v;
}

int sign(int x) { return (x > 0) - (x < 0); }

// Compares decimal digit strings as unbounded integers: no overflow on 20-digit date versions.
int compare_integers(std::string_view a, std::string_view b) {
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return sign(a.compare(b));
}

int compare_parsed(const Version& a, const Version& b) {
  if (int c = compare_integers(a.numbers[0], b.numbers[0])) return c;
  std::size_t common = std::min(a.numbers.size(), b.numbers.size());
  for (std::size_t k = 1; k < common; ++k) {
    std::string_view x = a.numbers[k], y = b.numbers[k];
    // PMS 3.3: a component with a leading zero compares as a decimal fraction.
    if (x.front() == '0' || y.front() == '0') {
      while (!x.empty() && x.back() == '0') x.remove_suffix(1);
      while (!y.empty() && y.back() == '0') y.remove_suffix(1);
      if (int c = sign(x.compare(y))) return c;
    } else if (int c = compare_integers(x, y)) {
      return c;
    }
  }
  if (a.numbers.size() != b.numbers.size()) return a.numbers.size() < b.numbers.size() ? -1 : 1;
  if (a.letter != b.letter) return a.letter < b.letter ? -1 : 1;
  std::size_t common_suffixes = std::min(a.suffixes.size(), b.suffixes.size());
  for (std::size_t k = 0; k < common_suffixes; ++k) {
    if (a.suffixes[k].rank != b.suffixes[k].rank) return a.suffixes[k].rank < b.suffixes[k].rank ? -1 : 1;
    if (int c = compare_integers(a.suffixes[k].number, b.suffixes[k].number)) return c;
  }
  if (a.suffixes.size() > common_suffixes) return a.suffixes[common_suffixes].rank == kPatchRank ? 1 : -1;
  if (b.suffixes.size() > common_suffixes) return b.suffixes[common_suffixes].rank == kPatchRank ? -1 : 1;
  return compare_integers(a.revision, b.revision);
}

// Shows untrusted input in an error message: printable ASCII as is, the rest as \xNN, cut at 80.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < 80; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

std::string describe_char(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return "whitespace";
  if (c < 0x20 || c >= 0x7f) return quoted(std::string_view(&ch, 1)).insert(0, "a non-printable or non-ASCII character ");
  return std::string("forbidden character '") + ch + "'";
}

// Checks a slot or sub-slot name (PMS 3.1.3): same characters as a category.
bool is_valid_slot_name(std::string_view s) { return is_valid_category(s); }

// PMS 3.1.5: repository names use [A-Za-z0-9_-], no leading '-', no trailing "-<version>".
bool is_valid_repo(std::string_view s) {
  if (s.empty() || s.front() == '-') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!is_alnum(c) && c != '_' && c != '-') return false;
    if (c == '-' && is_valid_version(s.substr(i + 1), true)) return false;
  }
  return true;
}

Error atom_error(std::string_view text, const std::string& why) {
  return make_error(ErrorKind::invalid, "invalid atom " + quoted(text) + ": " + why);
}

}  // namespace

bool is_valid_version(std::string_view text, bool allow_revision) {
  return parse_version(text, allow_revision).has_value();
}

int compare_versions(std::string_view pv_a, std::string_view pv_b) {
  auto a = parse_version(pv_a, true);
  auto b = parse_version(pv_b, true);
  if (a && b) return compare_parsed(*a, *b);
  if (a) return -1;
  if (b) return 1;
  return sign(pv_a.compare(pv_b));
}

bool is_valid_category(std::string_view text) {
  if (text.empty() || text.front() == '-' || text.front() == '.' || text.front() == '+') return false;
  for (char c : text)
    if (!is_name_char(c)) return false;
  return true;
}

bool is_valid_pn(std::string_view text) {
  if (!is_valid_category(text)) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '-' && is_valid_version(text.substr(i + 1), true)) return false;
  return true;
}

std::string Atom::pf() const { return pn + "-" + pvr(); }
std::string Atom::cpv() const { return category + "/" + pf(); }
std::string Atom::cp() const { return category + "/" + pn; }
std::string Atom::pvr() const { return pr.empty() ? pv : pv + "-" + pr; }

std::string Atom::to_string() const {
  std::string out = "=" + cpv();
  if (!slot.empty()) out += ":" + slot;
  if (!repo.empty()) out += "::" + repo;
  return out;
}

Result<Atom> parse_atom(std::string_view text) {
  if (text.empty()) return atom_error(text, "it is empty");
  if (text.size() > kMaxAtomLength)
    return atom_error(text, "it is longer than " + std::to_string(kMaxAtomLength) + " characters");
  std::string_view rest = text;
  if (rest.front() == '=') rest.remove_prefix(1);
  if (rest.empty()) return atom_error(text, "nothing follows '='");
  if (rest.front() == '-') return atom_error(text, "it starts with '-' (it would read as an option)");
  if (rest.front() == '@') return atom_error(text, "sets (@...) are not accepted, only exact versions");
  for (char c : rest)
    if (!is_name_char(c) && c != '/' && c != ':') return atom_error(text, "it contains " + describe_char(c));
  if (rest.find("..") != std::string_view::npos) return atom_error(text, "it contains '..'");

  Atom atom;
  if (std::size_t sep = rest.find("::"); sep != std::string_view::npos) {
    std::string_view repo = rest.substr(sep + 2);
    if (!is_valid_repo(repo))
      return atom_error(text, "repository " + quoted(repo) + " is not a valid name ([A-Za-z0-9_-], no leading '-')");
    atom.repo = repo;
    rest = rest.substr(0, sep);
  }
  if (std::size_t sep = rest.find(':'); sep != std::string_view::npos) {
    std::string_view slot = rest.substr(sep + 1);
    std::size_t slash = slot.find('/');
    bool ok = slash == std::string_view::npos
                  ? is_valid_slot_name(slot)
                  : is_valid_slot_name(slot.substr(0, slash)) && is_valid_slot_name(slot.substr(slash + 1));
    if (!ok) return atom_error(text, "slot " + quoted(slot) + " is not SLOT or SLOT/SUBSLOT");
    atom.slot = slot;
    rest = rest.substr(0, sep);
  }

  std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return atom_error(text, "no category (expected CATEGORY/PN-PV)");
  if (rest.find('/', slash + 1) != std::string_view::npos) return atom_error(text, "it has more than one '/'");
  std::string_view category = rest.substr(0, slash);
  std::string_view pf = rest.substr(slash + 1);
  if (category.empty()) return atom_error(text, "the category is empty");
  if (!is_valid_category(category))
    return atom_error(text, "category " + quoted(category) + " must not start with '-', '.' or '+'");
  if (pf.empty()) return atom_error(text, "the package name is empty");

  // The version starts after the first '-' whose remainder is a whole version: "foo-bar-1.2-r3".
  std::optional<std::size_t> split;
  for (std::size_t i = 0; i < pf.size() && !split; ++i)
    if (pf[i] == '-' && is_valid_version(pf.substr(i + 1), true)) split = i;
  if (!split) {
    // Point at the likeliest intended version: the first "-<digit>".
    std::size_t dash = pf.find('-');
    while (dash != std::string_view::npos && (dash + 1 >= pf.size() || !is_digit(pf[dash + 1])))
      dash = pf.find('-', dash + 1);
    if (dash == std::string_view::npos)
      return atom_error(text, "no version (expected CATEGORY/PN-PV, e.g. =cat/pkg-1.0)");
    return atom_error(text, quoted(pf.substr(dash + 1)) +
                                " is not a valid version (e.g. 1.2.3, 2.0b, 1.0_rc1, 1.0-r2)");
  }
  std::string_view pn = pf.substr(0, *split);
  std::string_view pvr = pf.substr(*split + 1);
  if (pn.empty()) return atom_error(text, "the package name is empty");
  if (!is_valid_category(pn))
    return atom_error(text, "package name " + quoted(pn) + " must not start with '-', '.' or '+'");
  for (std::size_t i = 0; i < pn.size(); ++i)
    if (pn[i] == '-' && is_valid_version(pn.substr(i + 1), true))
      return atom_error(text, "package name " + quoted(pn) + " ends in " + quoted(pn.substr(i)) +
                                  ", which reads as a version (two versions?)");
  atom.category = category;
  atom.pn = pn;
  if (std::size_t r = pvr.find("-r"); r != std::string_view::npos) {
    atom.pv = pvr.substr(0, r);
    atom.pr = pvr.substr(r + 1);
  } else {
    atom.pv = pvr;
  }
  return atom;
}

}  // namespace swarm
