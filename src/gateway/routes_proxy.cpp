#include "gateway/gateway_context.hpp"

namespace swarm::gateway {

using nlohmann::json;

namespace {

// The items of a queue listing: the answer itself when it is an array, else its first array member.
const json* queue_items(const json& answer) {
  if (answer.is_array()) return &answer;
  if (!answer.is_object()) return nullptr;
  for (const char* key : {"requests", "items", "queue"}) {
    auto it = answer.find(key);
    if (it != answer.end() && it->is_array()) return &*it;
  }
  return nullptr;
}

// Query string of `req` without the gateway's own `orchestrator` parameter.
std::string forwarded_query(const HttpRequest& req) {
  std::string q;
  for (const auto& [k, v] : req.query) {
    if (k == "orchestrator") continue;
    q += (q.empty() ? "?" : "&") + url_encode(k) + "=" + url_encode(v);
  }
  return q;
}

HttpResponse submit(GatewayContext& ctx, const HttpRequest& req) {
  if (auto denied = ctx.require_admin(req)) return *denied;
  auto body = req.json();
  if (!body) return HttpResponse::from_error(body.error());
  auto sub = QueueSubmit::from_json(*body);
  if (!sub) return HttpResponse::from_error(sub.error());
  auto target = ctx.proxy.pick(sub->orchestrator.value_or(""));
  if (!target) return pick_error(target.error());
  sub->orchestrator.reset();
  auto r = ctx.proxy.forward(*target, "POST", "/api/v1/queue", sub->to_json().dump());
  json answer = json::parse(r.body, nullptr, false);
  if (r.status >= 200 && r.status < 300 && answer.is_object()) {
    answer["orchestrator"] = target->name;
    ctx.events("queue_submitted", "",
               {{"orchestrator", target->name}, {"run", answer.value("run", json())}, {"added", answer.value("added", json())},
                {"skipped", answer.value("skipped", json())}});
    return HttpResponse::json(answer, r.status);
  }
  return r;
}

// Forwards one queue action to `target`; an event when it was done.
HttpResponse forward_action(GatewayContext& ctx, const OrchestratorState& target, const std::string& verb,
                            const QueueAction& act) {
  auto r = ctx.proxy.forward(target, "POST", "/api/v1/queue/" + verb, act.to_json().dump());
  if (r.status >= 200 && r.status < 300) {
    json data = act.to_json();
    data["orchestrator"] = target.name;
    ctx.events("queue_" + verb, "", data);
  }
  return r;
}

std::string names_of(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// An action on exactly what it names: the named orchestrator; a run (numbered per orchestrator) on the only
// one; an atom, or every run, on each live orchestrator, merged.
HttpResponse action(GatewayContext& ctx, const HttpRequest& req, const std::string& verb) {
  if (auto denied = ctx.require_admin(req)) return *denied;
  auto body = req.json();
  if (!body) return HttpResponse::from_error(body.error());
  auto act = QueueAction::from_json(*body);
  if (!act) return HttpResponse::from_error(act.error());
  std::string key = act->orchestrator.value_or("");
  act->orchestrator.reset();
  auto all = ctx.pool.snapshot();
  if (!key.empty() || (act->run && all.size() <= 1)) {
    auto target = ctx.proxy.pick(key);
    if (!target) return pick_error(target.error());
    return forward_action(ctx, *target, verb, *act);
  }
  std::vector<std::string> names, down;
  for (const auto& o : all) (o.up ? names : down).push_back(o.name);
  if (act->run)
    return HttpResponse::error(400, "invalid", "runs are numbered per orchestrator: say which with 'orchestrator' (" +
                                                   names_of(names.empty() ? down : names) + ")");
  if (names.empty()) return pick_error(make_error(ErrorKind::io, "no orchestrator is reachable"));
  int64_t affected = 0;
  json acted = json::array();
  json failed = json::array();
  std::optional<HttpResponse> not_found, failure;
  for (const auto& o : all) {
    if (!o.up) continue;
    auto r = forward_action(ctx, o, verb, *act);
    json answer = json::parse(r.body, nullptr, false);
    if (r.status >= 200 && r.status < 300) {
      acted.push_back(o.name);
      if (answer.is_object() && answer.value("affected", json()).is_number_integer())
        affected += answer["affected"].get<int64_t>();
    } else if (r.status == 404 && answer.is_object() && answer.value("error", "") == "not_found") {
      not_found = r;
    } else {
      if (!failure) failure = r;
      failed.push_back({{"orchestrator", o.name}, {"status", r.status},
                        {"message", answer.is_object() ? answer.value("message", r.body) : r.body}});
    }
  }
  if (acted.empty()) {
    if (failure) return *failure;
    json answer = json::parse(not_found->body, nullptr, false);
    std::string message = answer.is_object() ? answer.value("message", "not found") : "not found";
    if (!down.empty()) message += " (not asked, down: " + names_of(down) + ")";
    return HttpResponse::error(404, "not_found", message);
  }
  json out = {{"status", "ok"}, {"affected", affected}, {"orchestrators", acted}};
  if (!failed.empty()) out["failed"] = failed;
  if (!down.empty()) out["down"] = down;
  return HttpResponse::json(out);
}

HttpResponse list_queue(GatewayContext& ctx, const HttpRequest& req) {
  if (auto denied = ctx.require_reader(req)) return *denied;
  std::string path = "/api/v1/queue" + forwarded_query(req);
  std::string only = req.query_or("orchestrator", "");
  if (!only.empty()) {
    auto target = ctx.proxy.pick(only);
    if (!target) return pick_error(target.error());
    return ctx.proxy.forward(*target, "GET", path);
  }
  json merged = json::array();
  int answered = 0;
  std::optional<HttpResponse> last_failure;
  for (const auto& o : ctx.pool.snapshot()) {
    if (!o.up) continue;
    auto r = ctx.proxy.forward(o, "GET", path);
    if (r.status != 200) {
      last_failure = r;
      continue;
    }
    json answer = json::parse(r.body, nullptr, false);
    const json* items = queue_items(answer);
    if (!items) continue;
    ++answered;
    for (auto item : *items) {
      if (item.is_object()) item["orchestrator"] = o.name;
      merged.push_back(std::move(item));
    }
  }
  if (answered == 0 && last_failure) return *last_failure;
  return HttpResponse::json(merged);
}

HttpResponse build_log(GatewayContext& ctx, const HttpRequest& req) {
  if (auto denied = ctx.require_reader(req)) return *denied;
  const std::string& id = req.params.at("id");
  if (id.empty() || id.size() > 64 ||
      id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != std::string::npos)
    return HttpResponse::error(400, "invalid", "bad build id '" + id + "'");
  std::string path = "/api/v1/builds/" + id + "/log" + forwarded_query(req);
  std::string only = req.query_or("orchestrator", "");
  if (!only.empty()) {
    auto target = ctx.proxy.pick(only);
    if (!target) return pick_error(target.error());
    return ctx.proxy.forward(*target, "GET", path);
  }
  // Build ids are per orchestrator: the first one that knows the id answers.
  for (const auto& o : ctx.pool.snapshot()) {
    if (!o.up) continue;
    auto r = ctx.proxy.forward(o, "GET", path);
    if (r.status != 404) return r;
  }
  return HttpResponse::error(404, "not_found", "no orchestrator knows build " + id);
}

}  // namespace

void add_proxy_routes(HttpServer& server, GatewayContext& ctx) {
  server.route("POST", "/api/v1/queue", [&ctx](const HttpRequest& req) { return submit(ctx, req); });
  server.route("GET", "/api/v1/queue", [&ctx](const HttpRequest& req) { return list_queue(ctx, req); });
  for (const char* verb : {"retry", "cancel", "pause", "resume"}) {
    std::string v = verb;
    server.route("POST", "/api/v1/queue/" + v, [&ctx, v](const HttpRequest& req) { return action(ctx, req, v); });
  }
  server.route("GET", "/api/v1/builds/{id}/log", [&ctx](const HttpRequest& req) { return build_log(ctx, req); });
  server.route("GET", "/api/v1/binhost/snapshots", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_reader(req)) return *denied;
    auto target = ctx.proxy.pick(req.query_or("orchestrator", ""));
    if (!target) return pick_error(target.error());
    return ctx.proxy.forward(*target, "GET", "/api/v1/binhost/snapshots" + forwarded_query(req));
  });
  server.route("POST", "/api/v1/binhost/rollback", [&ctx](const HttpRequest& req) {
    if (auto denied = ctx.require_admin(req)) return *denied;
    auto body = req.json();
    if (!body) return HttpResponse::from_error(body.error());
    std::string key;
    if (auto it = body->find("orchestrator"); it != body->end()) {
      if (!it->is_string()) return HttpResponse::error(400, "invalid", "'orchestrator' must be a string");
      key = it->get<std::string>();
      body->erase("orchestrator");
    }
    auto target = ctx.proxy.pick(key);
    if (!target) return pick_error(target.error());
    auto r = ctx.proxy.forward(*target, "POST", "/api/v1/binhost/rollback", body->dump());
    if (r.status >= 200 && r.status < 300) ctx.events("binhost_rollback", "", {{"orchestrator", target->name}});
    return r;
  });
}

}  // namespace swarm::gateway
