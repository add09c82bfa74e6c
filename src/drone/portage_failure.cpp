#include "drone/portage_failure.hpp"

#include <regex>
#include <vector>

namespace swarm::drone {

namespace {

// Build output lines shown before the ERROR line.
constexpr size_t kContextLines = 8;
// Lines of a resolver message kept after its first line.
constexpr size_t kResolverLines = 8;
// A summary longer than this is cut: it is one line in a table.
constexpr size_t kMaxSummary = 300;

// The output as lines, without ANSI colour sequences and carriage returns (progress redraws).
std::vector<std::string> clean_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::string line;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (ch == '\x1b') {
      // CSI: ESC [ parameters final-byte; other escapes: ESC and one character.
      if (i + 1 < text.size() && text[i + 1] == '[') {
        i += 2;
        while (i < text.size() && !(text[i] >= '@' && text[i] <= '~')) ++i;
      } else {
        ++i;
      }
      continue;
    }
    if (ch == '\n') {
      lines.push_back(std::move(line));
      line.clear();
    } else if (ch != '\r') {
      line += ch;
    }
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string trim_blanks(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

bool is_blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }

// The text of an eerror/einfo line (" * text"), or nullopt for another line.
std::optional<std::string> elog_text(const std::string& line) {
  static const std::regex re(R"(^\s*\*(\s(.*))?$)");
  std::smatch m;
  if (!std::regex_match(line, m, re)) return std::nullopt;
  return m[2].str();
}

// Portage's own bookkeeping lines, not build output.
bool portage_chatter(const std::string& line) {
  const std::string t = trim_blanks(line);
  for (const char* p : {"* Messages for package", "* Log file:", "* Error messages for package", ">>> Failed to",
                        "* The following package has failed", "* IMPORTANT:"})
    if (t.rfind(p, 0) == 0) return true;
  return false;
}

std::string clip_summary(std::string s) {
  if (s.size() > kMaxSummary) s = s.substr(0, kMaxSummary - 3) + "...";
  return s;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// die(): " * ERROR: CAT/PF::REPO failed (PHASE phase):", then " *   message" lines.
std::optional<PortageFailure> die_block(const std::vector<std::string>& lines) {
  static const std::regex error_re(R"(^\s*\*\s+ERROR: (\S+) failed(?: \((\S+) phase\))?:\s*$)");
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, error_re)) continue;
    std::vector<std::string> shown;
    std::vector<std::string> context;
    for (size_t j = i; j-- > 0 && context.size() < kContextLines;) {
      if (is_blank(lines[j])) continue;
      if (portage_chatter(lines[j])) break;
      context.insert(context.begin(), lines[j]);
    }
    shown = context;
    shown.push_back(lines[i]);
    std::vector<std::string> messages;
    size_t j = i + 1;
    for (; j < lines.size(); ++j) {
      auto text = elog_text(lines[j]);
      if (!text || is_blank(*text)) break;
      messages.push_back(trim_blanks(*text));
      shown.push_back(lines[j]);
    }
    // The log location follows within the same eerror block.
    for (size_t k = j; k < lines.size() && k < j + 40; ++k) {
      auto text = elog_text(lines[k]);
      if (!text) break;
      if (text->find("The complete build log is located at") != std::string::npos) {
        shown.push_back(lines[k]);
        break;
      }
    }
    std::string summary = "ERROR: " + m[1].str() + " failed";
    if (m[2].matched) summary += " (" + m[2].str() + " phase)";
    if (!messages.empty()) {
      summary += ": " + messages.front();
      for (size_t n = 1; n < messages.size() && summary.size() < kMaxSummary; ++n) summary += " " + messages[n];
    }
    summary = clip_summary(summary);
    return PortageFailure{summary, join_lines(shown) + summary + "\n"};
  }
  return std::nullopt;
}

// The dependency resolver's messages (depgraph.py, resolver/slot_collision.py).
std::optional<PortageFailure> resolver_message(const std::vector<std::string>& lines) {
  static const char* const kStarts[] = {
      "emerge: there are no ebuilds to satisfy",
      "emerge: there are no binary packages to satisfy",
      "emerge: there are no ebuilds built with USE flags to satisfy",
      "All ebuilds that could satisfy",
      "Multiple package instances within a single package slot have been pulled",
      "Error: The above package list contains packages which cannot be",
      "The ebuild selected to satisfy",
      "Problem resolving dependencies for",
      "Error: circular dependencies:",
  };
  static const std::regex autounmask_re(R"(^The following .* changes are necessary to proceed:)");
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string text = trim_blanks(lines[i]);
    for (const char* prefix : {"!!! ", "* "})
      if (text.rfind(prefix, 0) == 0) text = trim_blanks(text.substr(std::string_view(prefix).size()));
    bool hit = std::regex_search(text, autounmask_re);
    for (const char* start : kStarts) hit = hit || text.rfind(start, 0) == 0;
    if (!hit) continue;
    std::vector<std::string> shown{lines[i]};
    std::string summary = text;
    // Wrapped messages (textwrap at 70 columns) continue on the next " * " line.
    if (text.rfind("Error: The above package list", 0) == 0 && i + 1 < lines.size())
      if (auto more = elog_text(lines[i + 1]); more && !is_blank(*more)) summary += " " + trim_blanks(*more);
    for (size_t j = i + 1; j < lines.size() && shown.size() <= kResolverLines; ++j) {
      if (is_blank(lines[j]) && shown.size() > 1) break;
      if (!is_blank(lines[j])) shown.push_back(lines[j]);
    }
    // A masked package's reason is the useful half: "- cat/pkg-1.0::repo (masked by: ~amd64 keyword)".
    for (size_t k = 1; k < shown.size(); ++k) {
      const std::string t = trim_blanks(shown[k]);
      if (t.rfind("- ", 0) == 0 && t.find("(masked by:") != std::string::npos) {
        summary += " " + t.substr(2);
        break;
      }
    }
    summary = clip_summary(summary);
    return PortageFailure{summary, join_lines(shown) + summary + "\n"};
  }
  return std::nullopt;
}

}  // namespace

std::optional<PortageFailure> find_portage_failure(std::string_view output) {
  const auto lines = clean_lines(output);
  if (auto f = die_block(lines)) return f;
  if (auto f = resolver_message(lines)) return f;
  // Nothing more specific: the scheduler's own line (Scheduler.py _failed_pkg_msg).
  static const std::regex failed_re(R"(^>>> Failed to (\S+) (\S+?)(,.*)?$)");
  for (const auto& line : lines) {
    std::smatch m;
    if (std::regex_match(line, m, failed_re)) {
      std::string summary = clip_summary("failed to " + m[1].str() + " " + m[2].str());
      return PortageFailure{summary, line + "\n" + summary + "\n"};
    }
  }
  return std::nullopt;
}

}  // namespace swarm::drone
