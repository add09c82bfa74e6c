#pragma once
// Finds the drone a user means by part of its name, hostname or address.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarm::cli {

/// The list of node objects in a GET /api/v1/nodes answer (a bare array or {"nodes": [...]}).
nlohmann::json node_list(const nlohmann::json& answer);

/// The nodes whose name, hostname or address (report_ip, source_ip, address) contains `query`,
/// case-insensitively. When some node matches one of those fields exactly, only the exact
/// matches are returned, so "build1" picks build1 over build10.
std::vector<nlohmann::json> match_drones(const nlohmann::json& nodes, const std::string& query);

/// "name (address)" for listing candidates.
std::string describe_node(const nlohmann::json& node);

}  // namespace swarm::cli
