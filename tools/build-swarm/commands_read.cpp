#include <algorithm>

#include "build-swarm/cli.hpp"
#include "build-swarm/commands.hpp"
#include "build-swarm/drone_match.hpp"
#include "build-swarm/render.hpp"
#include "common/clock.hpp"
#include "common/http_types.hpp"

namespace swarm::cli {

using nlohmann::json;

int fail(const CommandContext& ctx, const std::string& message) {
  ctx.err << "build-swarm: " << message << "\n";
  return kExitFailed;
}

int usage(std::ostream& err, const std::string& message) {
  err << "build-swarm: " << message << "\n";
  return kExitUsage;
}

void print_raw(const CommandContext& ctx, const std::string& body) {
  ctx.out << body;
  if (body.empty() || body.back() != '\n') ctx.out << "\n";
}

namespace {

// The list in a list answer: a bare array, or the first array under one of `keys`.
json list_in(const json& answer, std::initializer_list<const char*> keys) {
  if (answer.is_array()) return answer;
  for (const char* k : keys)
    if (const json& v = member(answer, k); v.is_array()) return v;
  return json::array();
}

std::string node_name(const json& node) {
  const json& n = member(node, "name");
  return n.is_string() ? n.get<std::string>() : std::string();
}

int node_status(const CommandContext& ctx, const std::string& name) {
  auto a = ctx.api.get("/api/v1/drones/" + url_encode(name));
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
  } else {
    render_object(a->json, ctx.out);
  }
  return kExitOk;
}

int node_queue(const CommandContext& ctx, const std::string& name) {
  auto a = ctx.api.get("/api/v1/queue");
  if (!a) return fail(ctx, a.error().message);
  json mine = json::array();
  for (const auto& item : list_in(a->json, {"requests", "queue", "items"}))
    if (const json& d = member(item, "drone"); d.is_string() && d.get<std::string>() == name) mine.push_back(item);
  if (ctx.json) {
    ctx.out << mine.dump() << "\n";
  } else {
    render_queue(mine, ctx.out);
  }
  return kExitOk;
}

int node_logs(const CommandContext& ctx, const std::string& name, int64_t lines) {
  auto a = ctx.api.get("/api/v1/drones/" + url_encode(name) + "/logs?lines=" + std::to_string(lines));
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
    return kExitOk;
  }
  for (const auto& line : list_in(a->json, {"lines"}))
    ctx.out << (line.is_string() ? line.get<std::string>() : line.dump()) << "\n";
  return kExitOk;
}

int node_control(const CommandContext& ctx, const std::string& name, const std::string& action) {
  auto a = ctx.api.post("/api/v1/drones/" + url_encode(name) + "/" + action, json::object());
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
    return kExitOk;
  }
  ctx.out << name << ": " << action << " requested";
  if (const json& m = member(a->json, "message"); m.is_string()) ctx.out << " (" << m.get<std::string>() << ")";
  ctx.out << "\n";
  return kExitOk;
}

int node_ip(const CommandContext& ctx, const json& node) {
  if (ctx.json) {
    ctx.out << node.dump() << "\n";
    return kExitOk;
  }
  for (const char* k : {"report_ip", "address", "source_ip"})
    if (const json& v = member(node, k); v.is_string() && !v.get<std::string>().empty()) {
      ctx.out << v.get<std::string>() << "\n";
      return kExitOk;
    }
  return fail(ctx, node_name(node) + " has reported no address");
}

}  // namespace

int cmd_status(const CommandContext& ctx) {
  auto a = ctx.api.get("/api/v1/status");
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
  } else {
    render_status(a->json, ctx.out);
  }
  // The queue of an orchestrator that does not answer is unknown, not empty: a failure.
  auto down = unreachable_orchestrators(a->json);
  for (const auto& line : down) ctx.err << "build-swarm: " << line << "\n";
  return down.empty() ? kExitOk : kExitFailed;
}

int cmd_drones(const CommandContext& ctx) {
  auto a = ctx.api.get("/api/v1/nodes");
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
  } else {
    render_nodes(node_list(a->json), ctx.clock->now_unix_ms(), ctx.out);
  }
  return kExitOk;
}

int cmd_queue(const CommandContext& ctx, const std::string& state) {
  std::string path = "/api/v1/queue";
  if (!state.empty()) path += "?state=" + url_encode(state);
  auto a = ctx.api.get(path);
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
  } else {
    render_queue(list_in(a->json, {"requests", "queue", "items"}), ctx.out);
  }
  return kExitOk;
}

int cmd_binhost_snapshots(const CommandContext& ctx) {
  auto a = ctx.api.get("/api/v1/binhost/snapshots");
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
  } else {
    render_object(a->json, ctx.out);
  }
  return kExitOk;
}

const std::vector<std::string>& node_actions() {
  static const std::vector<std::string> actions = {"status", "queue", "logs", "restart", "drain", "ip", "ssh"};
  return actions;
}

int cmd_node(const CommandContext& ctx, const std::string& query, const std::string& action,
             const std::vector<std::string>& args) {
  const auto& known = node_actions();
  if (std::find(known.begin(), known.end(), action) == known.end())
    return usage(ctx.err, "unknown drone action '" + action + "' (status, queue, logs [N], restart, drain, ip)");
  if (action == "ssh") return fail(ctx, "'<drone> ssh' is not implemented yet");
  int64_t lines = 100;
  if (action == "logs" && !args.empty()) {
    const std::string& n = args.front();
    if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos || std::stoll(n) == 0)
      return usage(ctx.err, "logs: N must be a whole number from 1 to 999999, not '" + n + "'");
    lines = std::stoll(n);
  }
  if (args.size() > (action == "logs" ? 1u : 0u))
    return usage(ctx.err, action + ": unexpected argument '" + args.back() + "'");

  auto a = ctx.api.get("/api/v1/nodes");
  if (!a) return fail(ctx, a.error().message);
  json nodes = node_list(a->json);
  auto matches = match_drones(nodes, query);
  if (matches.empty()) {
    std::string names;
    for (const auto& n : nodes) names += (names.empty() ? "" : ", ") + node_name(n);
    return fail(ctx, "no drone matches '" + query + "' (and it is not a command; see build-swarm --help); " +
                         (names.empty() ? "no drones have registered" : "drones: " + names));
  }
  if (matches.size() > 1) {
    ctx.err << "build-swarm: '" << query << "' matches " << matches.size() << " drones; say which:\n";
    for (const auto& m : matches) ctx.err << "  " << describe_node(m) << "\n";
    return kExitUsage;
  }
  const json& node = matches.front();
  std::string name = node_name(node);
  if (action == "status") return node_status(ctx, name);
  if (action == "queue") return node_queue(ctx, name);
  if (action == "logs") return node_logs(ctx, name, lines);
  if (action == "ip") return node_ip(ctx, node);
  return node_control(ctx, name, action);
}

}  // namespace swarm::cli
