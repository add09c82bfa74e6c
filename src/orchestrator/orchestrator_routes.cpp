// Orchestrator: the HTTP routes (design.md, "The HTTP API", orchestrator table).
#include <fstream>
#include <sstream>

#include "common/health.hpp"
#include "common/json_fields.hpp"
#include "orchestrator/orchestrator_impl.hpp"

namespace swarm::orch {

using nlohmann::json;

namespace {
// Runs a handler body, turning a store exception into a 500 with a JSON body.
template <typename F>
HttpResponse guarded(const std::shared_ptr<spdlog::logger>& log, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    log->error("request failed: {}", e.what());
    return HttpResponse::error(500, "internal", e.what());
  }
}
}  // namespace

void Orchestrator::Impl::add_routes() {
  auto& s = *server;
  add_health_route(s, "orchestrator");
  binhost->add_routes(s);

  s.route_async("POST", "/api/v1/work", [this](const HttpRequest& req, Responder respond) {
    auto auth = authenticate(req, "drone");
    if (auto* r = std::get_if<HttpResponse>(&auth)) return respond(*r);
    const auto& claims = std::get<TicketClaims>(auth);
    DroneIdentity who{claims.subject, claims.extra.value("fp", "")};
    try {
      // A binary accepted a moment ago may make a dependent ready: publish it before choosing, so this
      // drone can take the dependent (it is on the critical path) instead of unrelated work.
      if (store->received_unblocks_waiting()) {
        if (auto st = binhost->publish_pending(); !st) log->warn("early index write failed: {}", st.error().message);
      }
      auto lease = store->claim(who);
      if (!lease) return respond(HttpResponse::from_error(lease.error()));
      if (*lease) {
        (void)intake->prepare_lease_dir(who.name, (*lease)->lease_id);
        metrics.add("swarm_leases_issued_total");
        return respond(HttpResponse::json(lease_json(**lease)));
      }
    } catch (const std::exception& e) {
      log->error("claim for {} failed: {}", who.name, e.what());
      return respond(HttpResponse::error(500, "internal", e.what()));
    }
    int64_t wait_s = std::clamp<int64_t>(std::stoll(req.query_or("wait", std::to_string(options.long_poll_s))), 0, 60);
    if (wait_s == 0 || stopping) return respond(HttpResponse::no_content());
    auto w = std::make_shared<Waiter>();
    w->drone = who;
    w->respond = std::move(respond);
    {
      std::lock_guard lock(waiters_mutex);
      waiters.push_back(w);
    }
    server->post_after(std::chrono::seconds(wait_s), [w] {
      if (!w->done.exchange(true)) w->respond(HttpResponse::no_content());
    });
    wake_dispatcher();  // a change between the claim above and the registration is not missed
  });

  // Renew and release: a drone ticket and {fence}; the store checks that the lease is still this drone's.
  using LeaseCall = std::function<HttpResponse(const std::string& lease_id, const std::string& drone, int64_t fence)>;
  auto lease_route = [this, &s](const std::string& action, LeaseCall call) {
    s.route("POST", "/api/v1/leases/{id}/" + action, [this, call](const HttpRequest& req) {
      auto auth = authenticate(req, "drone");
      if (auto* r = std::get_if<HttpResponse>(&auth)) return *r;
      auto body = req.json();
      if (!body) return HttpResponse::from_error(body.error());
      auto f = FenceRequest::from_json(*body);
      if (!f) return HttpResponse::from_error(f.error());
      return guarded(log, [&] { return call(req.params.at("id"), std::get<TicketClaims>(auth).subject, f->fence); });
    });
  };
  lease_route("renew", [this](const std::string& id, const std::string& drone, int64_t fence) {
    auto st = store->renew(id, drone, fence);
    if (!st) return HttpResponse::from_error(st.error());
    return HttpResponse::json({{"status", "ok"}, {"lease_ttl_s", options.offline_after_s}});
  });
  lease_route("release", [this](const std::string& id, const std::string& drone, int64_t fence) {
    auto st = store->release(id, drone, fence);
    if (!st) return HttpResponse::from_error(st.error());
    intake->cleanup_lease(drone, id);
    return HttpResponse::json({{"status", "ok"}});
  });

  // Asynchronous: a large binary's intake continues on its own thread after a 202 (orchestrator_complete.cpp).
  s.route_async("POST", "/api/v1/complete", [this](const HttpRequest& req, Responder respond) {
    auto auth = authenticate(req, "drone");
    if (auto* r = std::get_if<HttpResponse>(&auth)) return respond(*r);
    try {
      complete(req, std::get<TicketClaims>(auth), respond);
    } catch (const std::exception& e) {
      log->error("completion failed: {}", e.what());
      respond(HttpResponse::error(500, "internal", e.what()));  // ignored when complete() answered already
    }
  });

  s.route("GET", "/api/v1/builds/{id}/log", [this](const HttpRequest& req) {
    int64_t id = 0;
    try {
      id = std::stoll(req.params.at("id"));
    } catch (...) {
      return HttpResponse::error(400, "invalid", "build id must be a number");
    }
    auto path = store->build_log_path(id);
    if (!path) return HttpResponse::error(404, "not_found", "no log stored for build " + req.params.at("id"));
    std::ifstream in(*path, std::ios::binary);
    if (!in) return HttpResponse::error(404, "not_found", "the log of build " + req.params.at("id") + " is gone");
    std::stringstream ss;
    ss << in.rdbuf();
    return HttpResponse::text(ss.str());
  });

  s.route("GET", "/api/v1/status", [this](const HttpRequest& req) {
    if (options.private_status) {
      auto auth = authenticate(req, "admin");
      if (auto* r = std::get_if<HttpResponse>(&auth)) return *r;
    }
    return guarded(log, [&] {
      json j = store->status();
      j["name"] = options.name;
      j["url"] = options.public_url;
      j["version"] = swarm_version();
      return HttpResponse::json(j);
    });
  });

  s.route("GET", "/api/v1/queue", [this](const HttpRequest& req) {
    std::string state = req.query_or("state", "");
    if (!state.empty() && std::find_if(std::begin(kRequestStates), std::end(kRequestStates),
                                       [&](const char* k) { return state == k; }) == std::end(kRequestStates))
      return HttpResponse::error(400, "invalid", "unknown state '" + state + "'");
    return guarded(log, [&] {
      json out = json::array();
      for (const auto& r : store->queue(state)) out.push_back(r.to_json());
      return HttpResponse::json(out);
    });
  });

  s.route("POST", "/api/v1/queue", [this](const HttpRequest& req) {
    auto auth = authenticate(req, "admin");
    if (auto* r = std::get_if<HttpResponse>(&auth)) return *r;
    auto body = req.json();
    if (!body) return HttpResponse::from_error(body.error());
    auto sub = QueueSubmit::from_json(*body);
    if (!sub) return HttpResponse::from_error(sub.error());
    return guarded(log, [&] {
      auto r = store->submit(*sub);
      if (!r) {
        metrics.add("swarm_intake_rejections_total{reason=\"invalid_atom\"}");
        return HttpResponse::from_error(r.error());
      }
      log->info("run {}: {} added, {} skipped, {} cycle edges removed", r->run, r->added, r->skipped, r->cycles_broken.size());
      return HttpResponse::json(r->to_json());
    });
  });

  for (const std::string action : {"retry", "cancel", "pause", "resume"}) {
    s.route("POST", "/api/v1/queue/" + action, [this, action](const HttpRequest& req) {
      auto auth = authenticate(req, "admin");
      if (auto* r = std::get_if<HttpResponse>(&auth)) return *r;
      auto body = req.json();
      if (!body) return HttpResponse::from_error(body.error());
      auto a = QueueAction::from_json(*body);
      if (!a) return HttpResponse::from_error(a.error());
      return guarded(log, [&] {
        Result<int64_t> n = action == "retry"    ? store->retry(*a)
                            : action == "cancel" ? store->cancel(*a)
                                                 : store->set_paused(*a, action == "pause");
        if (!n) return HttpResponse::from_error(n.error());
        return HttpResponse::json({{"status", "ok"}, {"affected", *n}});
      });
    });
  }

  s.route_stream("/api/v1/events", [this](const HttpRequest& req, std::shared_ptr<EventStream> stream) {
    int64_t since = 0;
    try {
      since = std::stoll(req.query_or("since", "0"));
    } catch (...) {
    }
    if (since > 0)
      for (const auto& e : store->events_since(since)) {
        json j = e.to_json();
        j["orchestrator"] = options.name;
        stream->send_event("event", j.dump());
      }
    std::lock_guard lock(streams_mutex);
    streams.push_back(std::move(stream));
  });

  s.route("GET", "/metrics", [this](const HttpRequest&) {
    return guarded(log, [&] { return HttpResponse::text(metrics_text(), 200, "text/plain; version=0.0.4"); });
  });
}

std::string Orchestrator::Impl::metrics_text() {
  std::ostringstream out;
  json st = store->status();
  out << "# HELP swarm_requests Build requests by state.\n# TYPE swarm_requests gauge\n";
  for (auto it = st["queue"].begin(); it != st["queue"].end(); ++it)
    out << "swarm_requests{state=\"" << it.key() << "\"} " << it.value().get<int64_t>() << "\n";
  out << "# TYPE swarm_ready_requests gauge\nswarm_ready_requests " << st["ready"].get<int64_t>() << "\n";
  std::lock_guard lock(metrics.mutex);
  for (const char* name : {"swarm_leases_issued_total", "swarm_reclaims_total"}) {
    out << "# TYPE " << name << " counter\n" << name << " " << metrics.counters[name] << "\n";
  }
  out << "# TYPE swarm_completions_total counter\n# TYPE swarm_intake_rejections_total counter\n";
  for (const auto& [k, v] : metrics.counters)
    if (k.rfind("swarm_completions_total", 0) == 0 || k.rfind("swarm_intake_rejections_total", 0) == 0)
      out << k << " " << v << "\n";
  out << "# TYPE swarm_index_writes_total counter\nswarm_index_writes_total " << binhost->index_writes() << "\n";
  out << "# HELP swarm_http_request_duration_seconds Time from a request's last byte to its answer.\n"
      << "# TYPE swarm_http_request_duration_seconds summary\n";
  for (const auto& [route, cs] : metrics.latency) {
    auto sp = route.find(' ');
    std::string labels = "{method=\"" + route.substr(0, sp) + "\",route=\"" + route.substr(sp + 1) + "\"}";
    out << "swarm_http_request_duration_seconds_count" << labels << " " << cs.first << "\n";
    out << "swarm_http_request_duration_seconds_sum" << labels << " " << cs.second << "\n";
  }
  return out.str();
}

}  // namespace swarm::orch
