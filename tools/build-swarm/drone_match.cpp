#include "build-swarm/drone_match.hpp"

#include <algorithm>
#include <cctype>

#include "common/text.hpp"

namespace swarm::cli {

namespace {

const char* const kMatchFields[] = {"name", "hostname", "report_ip", "source_ip", "address"};

std::string field(const nlohmann::json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

nlohmann::json node_list(const nlohmann::json& answer) {
  if (answer.is_array()) return answer;
  if (answer.is_object())
    for (const char* key : {"nodes", "drones"})
      if (auto it = answer.find(key); it != answer.end() && it->is_array()) return *it;
  return nlohmann::json::array();
}

std::vector<nlohmann::json> match_drones(const nlohmann::json& nodes, const std::string& query) {
  std::vector<nlohmann::json> exact, partial;
  std::string q = ascii_lower(query);
  if (q.empty()) return {};
  for (const auto& node : nodes) {
    if (!node.is_object()) continue;
    bool is_exact = false, is_partial = false;
    for (const char* key : kMatchFields) {
      std::string value = ascii_lower(field(node, key));
      if (value.empty()) continue;
      if (value == q) is_exact = true;
      if (value.find(q) != std::string::npos) is_partial = true;
    }
    if (is_exact) exact.push_back(node);
    if (is_partial) partial.push_back(node);
  }
  return exact.empty() ? partial : exact;
}

std::string describe_node(const nlohmann::json& node) {
  std::string out = field(node, "name");
  std::string address = field(node, "report_ip");
  if (address.empty()) address = field(node, "address");
  if (address.empty()) address = field(node, "source_ip");
  std::string host = field(node, "hostname");
  std::vector<std::string> extra;
  if (!host.empty() && host != out) extra.push_back(host);
  if (!address.empty()) extra.push_back(address);
  if (!extra.empty()) {
    out += " (";
    for (size_t i = 0; i < extra.size(); ++i) out += (i ? ", " : "") + extra[i];
    out += ")";
  }
  return out;
}

}  // namespace swarm::cli
