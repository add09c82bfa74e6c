#include "common/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace swarm {

namespace {
std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}
}  // namespace

Result<std::multimap<std::string, std::string>> parse_config_text(const std::string& text) {
  std::multimap<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') continue;  // sections are ignored: one file per executable
    auto eq = t.find('=');
    std::string key, value;
    if (eq != std::string::npos) {
      key = trim(t.substr(0, eq));
      value = trim(t.substr(eq + 1));
    } else {
      auto sp = t.find_first_of(" \t");
      key = t.substr(0, sp);
      value = sp == std::string::npos ? "true" : trim(t.substr(sp));
    }
    if (key.rfind("--", 0) == 0) key = key.substr(2);
    if (key.empty() || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
      return make_error(ErrorKind::invalid, "line " + std::to_string(n) + ": bad key '" + key + "'");
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    std::replace(key.begin(), key.end(), '_', '-');
    out.emplace(key, value);
  }
  return out;
}

Config::Config(CLI::App& app, const std::string& exe) : m_app(app), m_default_file("/etc/build-swarm/" + exe + ".conf") {
  m_app.add_option("--config", m_config_path,
                   "Config file with `option = value` lines (default " + m_default_file +
                       "); precedence: flag > environment > file > default");
}

std::optional<int> Config::parse(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return parse(args);
}

std::optional<int> Config::parse(const std::vector<std::string>& args) {
  // Pass 1: the command line alone, to learn which options it sets and where the file is.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    m_app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return m_app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return m_app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return m_app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << m_app.get_name() << ": " << e.what() << "\n";
    return 2;
  }
  std::vector<std::string> extra;
  std::multimap<std::string, std::string> file_values;
  bool explicit_file = !m_config_path.empty();
  std::string path = explicit_file ? m_config_path : m_default_file;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) {
      std::cerr << m_app.get_name() << ": cannot read config file " << path << "\n";
      return 2;
    }
    auto parsed = parse_config_text(ss.str());
    if (!parsed) {
      std::cerr << m_app.get_name() << ": config file " << path << ": " << parsed.error().message << "\n";
      return 2;
    }
    file_values = std::move(*parsed);
    m_loaded_file = path;
  } else if (explicit_file) {
    std::cerr << m_app.get_name() << ": config file " << path << " does not exist\n";
    return 2;
  }
  for (const auto& [key, value] : file_values) {
    bool known = false;
    for (const CLI::Option* opt : m_app.get_options()) {
      for (const auto& name : opt->get_lnames())
        if (name == key) known = true;
    }
    if (!known || key == "config") {
      std::cerr << m_app.get_name() << ": config file " << path << ": unknown option '" << key << "'\n";
      return 2;
    }
  }
  for (CLI::Option* opt : m_app.get_options()) {
    if (opt->count() > 0 || opt->get_lnames().empty()) continue;
    const std::string& lname = opt->get_lnames().front();
    if (lname == "config" || lname == "help") continue;
    const std::string& env = opt->get_envname();
    if (!env.empty()) {
      if (const char* v = std::getenv(env.c_str()); v && *v) {
        extra.push_back("--" + lname + "=" + v);
        continue;
      }
    }
    auto range = file_values.equal_range(lname);
    for (auto it = range.first; it != range.second; ++it) {
      if (opt->get_type_size() == 0) {  // a flag
        if (it->second == "true" || it->second == "1" || it->second == "yes") extra.push_back("--" + lname);
      } else {
        extra.push_back("--" + lname + "=" + it->second);
      }
    }
  }
  if (extra.empty()) return std::nullopt;
  // Pass 2: the command line plus the values from the environment and the file.
  std::vector<std::string> all = args;
  all.insert(all.end(), extra.begin(), extra.end());
  std::vector<std::string> all_reversed(all.rbegin(), all.rend());
  m_app.clear();
  try {
    m_app.parse(all_reversed);
  } catch (const CLI::ParseError& e) {
    std::cerr << m_app.get_name() << ": " << e.what() << " (from the environment or " << path << ")\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace swarm
