#pragma once
// Human output of the read commands. Pure functions of the API's JSON: tolerant of missing or extra
// fields, so a newer gateway never makes the CLI fail to print.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarm::cli {

/// The request states in their one order (design.md "The queue").
const std::vector<std::string>& request_states();
/// The drone counts GET /api/v1/status carries, in order.
const std::vector<std::string>& drone_counts();

/// obj[key] when `obj` is an object holding `key`, else a null value (never throws).
const nlohmann::json& member(const nlohmann::json& obj, const std::string& key);
/// member() as a bool when it is one, else `fallback`.
bool flag_of(const nlohmann::json& obj, const std::string& key, bool fallback);
/// member() as a non-negative integer when it is a number, else 0.
int64_t count_of(const nlohmann::json& obj, const std::string& key);

/// One cell: strings as they are, numbers, yes/no, "-" for null/missing, arrays joined by ", ".
std::string cell(const nlohmann::json& value);
/// "12s ago", "5m ago", "3h ago", "2d ago"; "-" for a negative or unknown age.
std::string format_age(int64_t age_ms);
/// The age of a timestamp field: numbers above 1e11 are Unix milliseconds, others Unix seconds;
/// strings are shown as they are.
std::string format_last_seen(const nlohmann::json& value, int64_t now_ms);

/// A bar of exactly `width` characters between '[' and ']', one segment per non-zero state of
/// `counts`, each at least one character wide (when width allows), the rest shared by
/// largest-remainder rounding: '#' published, '+' received, '>' leased, '.' needed,
/// '!' quarantined, '?' blocked, 'x' cancelled, '-' withdrawn.
std::string progress_bar(const nlohmann::json& counts, int width);
/// The legend of progress_bar's characters, one line.
std::string progress_legend();

/// One line per orchestrator GET /api/v1/status reports down ("orchestrator 'a' (URL) is unreachable: why").
std::vector<std::string> unreachable_orchestrators(const nlohmann::json& status);
/// GET /api/v1/status: drone and queue counts, orchestrators, one progress bar per run.
void render_status(const nlohmann::json& status, std::ostream& out);
/// GET /api/v1/nodes: one row per drone and a count line.
void render_nodes(const nlohmann::json& nodes, int64_t now_ms, std::ostream& out);
/// GET /api/v1/queue: one row per request and a count line per state.
void render_queue(const nlohmann::json& items, std::ostream& out);
/// Any object: scalar fields as aligned "key: value" lines, arrays of objects as tables, nested
/// objects indented below their key.
void render_object(const nlohmann::json& object, std::ostream& out, const std::string& indent = "");
/// An array of objects as a table whose columns are the union of their keys, first-seen order.
void render_array(const nlohmann::json& array, std::ostream& out, const std::string& indent = "");

}  // namespace swarm::cli
