#include "common/fingerprint.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/crypto.hpp"
#include "common/process_runner.hpp"
#include "common/text.hpp"

namespace swarm {

namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

/// Word order carries no meaning (USE, keywords, USE_EXPAND groups): sort and deduplicate.
std::string sorted_words(std::string_view s) {
  auto words = split_words(s);
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return join(words);
}

/// Compiler flags keep their order (later ones override earlier ones); only spacing is normalised.
std::string collapsed_words(std::string_view s) { return join(split_words(s)); }

bool is_var_name(std::string_view s) {
  if (s.empty() || !(s[0] >= 'A' && s[0] <= 'Z')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
}

/// `KEY="v1" KEY2="v2 v3"` as printed on the USE line, where values hold no quotes.
std::vector<std::pair<std::string, std::string>> parse_assignments(std::string_view line) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t eq = line.find("=\"", i);
    if (eq == std::string_view::npos) break;
    std::string_view key = line.substr(i, eq - i);
    std::size_t close = line.find('"', eq + 2);
    if (!is_var_name(key) || close == std::string_view::npos) break;
    out.emplace_back(std::string(key), std::string(line.substr(eq + 2, close - eq - 2)));
    i = close + 1;
  }
  return out;
}

/// The profile from the banner "Portage 3.0.72 (python 3.13, default/linux/amd64/23.0, gcc-16, ...)".
std::string profile_from_banner(std::string_view line) {
  std::size_t open = line.find('(');
  std::size_t close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return "";
  std::string_view inner = line.substr(open + 1, close - open - 1);
  std::size_t pos = 0;
  while (pos <= inner.size()) {
    std::size_t comma = inner.find(',', pos);
    if (comma == std::string_view::npos) comma = inner.size();
    std::string item = collapsed_words(inner.substr(pos, comma - pos));
    if (item.find('/') != std::string::npos && item.rfind("python", 0) != 0) return item;
    pos = comma + 1;
  }
  return "";
}

/// A profile given as a path (a custom location, or the make.profile symlink) is named from "profiles/".
std::string normalise_profile(std::string p) {
  p = collapsed_words(p);
  std::size_t at = p.rfind("/profiles/");
  if (at != std::string::npos) p = p.substr(at + 10);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

// ---- Fingerprint ----

std::string Fingerprint::hash() const {
  Sha256 h;
  for (const auto& [key, value] : values) {
    h.update(key);
    h.update("=");
    h.update(value);
    h.update("\n");
  }
  return h.finish_hex();
}

nlohmann::json Fingerprint::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : values) j[key] = value;
  j["hash"] = hash();
  return j;
}

Result<Fingerprint> Fingerprint::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error(ErrorKind::invalid, "fingerprint: expected a JSON object");
  Fingerprint fp;
  std::string claimed;
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string())
      return make_error(ErrorKind::invalid, "fingerprint: value of '" + key + "' is not a string");
    if (key == "hash") {
      claimed = value.get<std::string>();
    } else {
      fp.values[key] = value.get<std::string>();
    }
  }
  if (j.contains("hash") && claimed != fp.hash()) {
    return make_error(ErrorKind::invalid, "fingerprint: 'hash' does not match the values");
  }
  return fp;
}

// ---- emerge --info ----

Result<Fingerprint> parse_emerge_info(std::string_view text) {
  std::map<std::string, std::string> vars;                    // single KEY="value" lines
  std::vector<std::pair<std::string, std::string>> use_line;  // the USE line's assignments
  std::string profile;

  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);

    if (profile.empty() && line.rfind("Portage ", 0) == 0) {
      profile = profile_from_banner(line);
      continue;
    }
    if (profile.empty() && (line.rfind("Profile:", 0) == 0 || line.rfind("profile:", 0) == 0)) {
      profile = normalise_profile(std::string(line.substr(8)));
      continue;
    }
    if (profile.empty() && line.find("make.profile -> ") != std::string_view::npos) {
      profile = normalise_profile(std::string(line.substr(line.find(" -> ") + 4)));
      continue;
    }
    if (line.rfind("USE=\"", 0) == 0) {
      use_line = parse_assignments(line);
      continue;
    }
    std::size_t eq = line.find("=\"");
    if (eq == std::string_view::npos || !is_var_name(line.substr(0, eq)) || line.back() != '"' ||
        line.size() < eq + 3) {
      continue;
    }
    // Verbose values may hold quotes themselves (FETCHCOMMAND): the value runs to the last quote.
    vars[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 2, line.size() - eq - 3));
  }

  auto chost = vars.find("CHOST");
  if (chost == vars.end() || collapsed_words(chost->second).empty()) {
    return make_error(ErrorKind::invalid, "no CHOST=\"...\" line: this is not emerge --info output");
  }

  Fingerprint fp;
  auto put = [&](const std::string& key, std::string value) {
    if (!value.empty()) fp.values[key] = std::move(value);
  };
  put("CHOST", collapsed_words(chost->second));
  put("PROFILE", normalise_profile(profile));
  for (const char* key : {"CFLAGS", "CXXFLAGS", "LDFLAGS"}) {
    if (auto it = vars.find(key); it != vars.end()) put(key, collapsed_words(it->second));
  }
  if (auto it = vars.find("ACCEPT_KEYWORDS"); it != vars.end()) put("ACCEPT_KEYWORDS", sorted_words(it->second));

  if (!use_line.empty()) {
    // The short and the --verbose form both print USE and its USE_EXPAND groups on this one line,
    // so taking them from here gives one machine the same fingerprint in either form.
    for (const auto& [key, value] : use_line) put(key, sorted_words(value));
  }
  if (use_line.size() <= 1) {
    // No groups on the USE line: fall back to the standalone lines of the USE_EXPAND variables.
    if (auto list = vars.find("USE_EXPAND"); list != vars.end()) {
      for (const auto& key : split_words(list->second)) {
        if (auto it = vars.find(key); it != vars.end()) put(key, sorted_words(it->second));
      }
    }
  }
  return fp;
}

std::vector<std::string> fingerprint_diff(const Fingerprint& a, const Fingerprint& b) {
  std::vector<std::string> out;
  auto ia = a.values.begin();
  auto ib = b.values.begin();
  while (ia != a.values.end() || ib != b.values.end()) {
    if (ib == b.values.end() || (ia != a.values.end() && ia->first < ib->first)) {
      out.push_back((ia++)->first);
    } else if (ia == a.values.end() || ib->first < ia->first) {
      out.push_back((ib++)->first);
    } else {
      if (ia->second != ib->second) out.push_back(ia->first);
      ++ia;
      ++ib;
    }
  }
  return out;
}

// ---- -march=native ----

Fingerprint resolve_march_native(Fingerprint fp, const NativeResolver& resolver) {
  std::map<std::string, std::string> answers;  // one resolver call per distinct flags string
  for (const char* key : {"CFLAGS", "CXXFLAGS", "LDFLAGS"}) {
    auto it = fp.values.find(key);
    if (it == fp.values.end()) continue;
    auto words = split_words(it->second);
    if (std::find(words.begin(), words.end(), "-march=native") == words.end()) continue;
    auto known = answers.find(it->second);
    if (known == answers.end()) {
      auto r = resolver(it->second);
      if (!r.ok()) {
        fp.values[kMarchUnresolvedKey] = r.error().message;
        continue;
      }
      known = answers.emplace(it->second, collapsed_words(*r)).first;
    }
    for (auto& w : words) {
      if (w == "-march=native") w = known->second;
    }
    it->second = join(words);
  }
  return fp;
}

std::string GccTarget::flags() const {
  std::string out = "-march=" + march;
  for (const auto& f : enabled) out += " " + f;
  return out;
}

Result<GccTarget> parse_gcc_target_help(std::string_view text) {
  GccTarget target;
  bool have_march = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    auto words = split_words(line);
    // Option lines are "  -mname  [enabled]" or "  -mname=  value"; anything else is prose or a list.
    if (words.empty() || words[0].rfind("-m", 0) != 0) continue;
    const std::string& option = words[0];
    if (option == "-march=") {
      if (words.size() >= 2) {
        target.march = words[1];
        have_march = true;
      }
    } else if (option.back() != '=' && words.size() == 2 && words[1] == "[enabled]") {
      target.enabled.push_back(option);
    }
  }
  if (!have_march) return make_error(ErrorKind::invalid, "gcc --help=target output has no -march= value");
  return target;
}

Result<std::string> gcc_resolve_native(ProcessRunner& runner, const std::string& compiler, const std::string& flags) {
  ProcessSpec spec;
  spec.argv.push_back(compiler);
  // -m options (e.g. -mno-avx512f) change what native means; everything else is irrelevant here.
  for (const auto& w : split_words(flags)) {
    if (w.rfind("-m", 0) == 0 && w.rfind("-march=", 0) != 0) spec.argv.push_back(w);
  }
  spec.argv.insert(spec.argv.end(), {"-march=native", "-Q", "--help=target"});
  spec.timeout = std::chrono::seconds(30);
  spec.env_set["LC_ALL"] = "C";  // the parser reads the English "[enabled]"

  std::string tmpl = (fs::temp_directory_path() / "swarm-gcc-target-XXXXXX").string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return make_error(ErrorKind::io, "cannot create a temporary file for gcc output");
  ::close(fd);
  spec.output_file = tmpl;
  ProcessResult pr = runner.run(spec);
  std::ifstream in(tmpl, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  in.close();
  std::error_code ec;
  fs::remove(tmpl, ec);

  if (pr.timed_out) return make_error(ErrorKind::timeout, compiler + " -Q --help=target timed out");
  if (!pr.success()) {
    return make_error(ErrorKind::io, compiler + " -march=native -Q --help=target failed (" + describe(pr) + ")" +
                                         (pr.error.empty() ? "" : ": " + pr.error));
  }
  auto target = parse_gcc_target_help(out.str());
  if (!target.ok()) return target.error();
  return target->flags();
}

NativeResolver gcc_native_resolver(ProcessRunner& runner, std::string compiler) {
  return [&runner, compiler = std::move(compiler)](const std::string& flags) {
    return gcc_resolve_native(runner, compiler, flags);
  };
}

// ---- /etc/portage ----

const std::vector<std::string>& portage_config_entries() {
  static const std::vector<std::string> entries = {
      "bashrc",          "env",          "package.accept_keywords", "package.env", "package.keywords",
      "package.license", "package.mask", "package.unmask",          "package.use", "patches",
      "profile",
  };
  return entries;
}

std::string hash_portage_config(const fs::path& etc_portage) {
  auto skipped = [](const fs::path& p) {
    std::string name = p.filename().string();
    return name.empty() || name[0] == '.' || name.back() == '~';
  };
  std::set<std::string> files;  // relative paths, sorted
  for (const auto& entry : portage_config_entries()) {
    fs::path top = etc_portage / entry;
    std::error_code ec;
    if (fs::is_regular_file(top, ec)) {
      files.insert(entry);
    } else if (fs::is_directory(top, ec)) {
      auto opts = fs::directory_options::follow_directory_symlink | fs::directory_options::skip_permission_denied;
      fs::recursive_directory_iterator it(top, opts, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        if (skipped(it->path())) {
          if (it->is_directory(ec)) it.disable_recursion_pending();
          continue;
        }
        // Lexically: a symlinked directory must keep its name under etc_portage, not its target's.
        if (it->is_regular_file(ec)) files.insert(it->path().lexically_relative(etc_portage).generic_string());
      }
    }
  }
  Sha256 h;
  for (const auto& rel : files) {
    std::ifstream in(etc_portage / rel, std::ios::binary);
    const bool readable = static_cast<bool>(in);
    std::stringstream content;
    if (readable) content << in.rdbuf();
    // Path and size framing keep "a"+"bc" and "ab"+"c" apart.
    std::string data = readable ? content.str() : std::string("\x01unreadable");
    h.update(rel);
    h.update(std::string_view("\0", 1));
    h.update(std::to_string(data.size()));
    h.update(std::string_view("\0", 1));
    h.update(data);
  }
  return h.finish_hex();
}

}  // namespace swarm
