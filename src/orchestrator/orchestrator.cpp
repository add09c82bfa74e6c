#include "orchestrator/orchestrator.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/http_client.hpp"
#include "orchestrator/orchestrator_impl.hpp"

namespace swarm::orch {

namespace fs = std::filesystem;

Orchestrator::Orchestrator(OrchestratorOptions options, std::shared_ptr<Clock> clock)
    : m_impl(std::make_unique<Impl>(std::move(options), std::move(clock))) {}

Orchestrator::~Orchestrator() { stop(); }

Store& Orchestrator::store() { return *m_impl->store; }

Status Orchestrator::Impl::open_data_dir() {
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return make_error(ErrorKind::io, "cannot create data directory " + options.data_dir.string() + ": " + ec.message());
  auto lock_path = options.data_dir / "orchestrator.lock";
  lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) return make_error(ErrorKind::io, "cannot open " + lock_path.string());
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    lock_fd = -1;
    return make_error(ErrorKind::conflict, "another orchestrator already uses " + options.data_dir.string() +
                                               " (lock " + lock_path.string() + " is held)");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(lock_fd, 0) == 0) [[maybe_unused]] auto n = ::write(lock_fd, pid.data(), pid.size());
  if (options.pkgdir.empty()) options.pkgdir = options.data_dir / "packages";
  if (options.staging_dir.empty()) options.staging_dir = options.data_dir / "staging";
  for (const auto& d : {options.pkgdir, options.staging_dir, options.data_dir / "incoming", options.data_dir / "logs"}) {
    fs::create_directories(d, ec);
    if (ec) return make_error(ErrorKind::io, "cannot create " + d.string() + ": " + ec.message());
  }
  return {};
}

Status Orchestrator::Impl::load_gateway_key() {
  std::string pem;
  if (!options.gateway_public_key_file.empty()) {
    std::ifstream in(options.gateway_public_key_file);
    if (!in) return make_error(ErrorKind::io, "cannot read gateway public key " + options.gateway_public_key_file);
    std::stringstream ss;
    ss << in.rdbuf();
    pem = ss.str();
  } else if (!options.gateway_url.empty()) {
    HttpClientOptions co;
    co.total_timeout = std::chrono::seconds(10);
    auto r = HttpClient(options.gateway_url, co).get("/api/v1/pubkey");
    if (!r) return make_error(ErrorKind::io, "cannot fetch the gateway public key: " + r.error().message);
    if (r->status != 200) return make_error(ErrorKind::io, "gateway answered " + std::to_string(r->status) + " for its public key");
    pem = r->body;
  } else {
    return make_error(ErrorKind::invalid, "no gateway public key: give --gateway-public-key FILE or --gateway URL");
  }
  auto key = Ed25519Key::load_public_pem(pem);
  if (!key) return make_error(ErrorKind::invalid, "gateway public key: " + key.error().message);
  gateway_key = *key;
  return {};
}

namespace {

// The signer when a key is configured; a configured key that cannot sign stops the start.
Result<std::unique_ptr<GpgSigner>> open_signer(const OrchestratorOptions& o, const std::shared_ptr<spdlog::logger>& log) {
  if (o.no_signing || o.signing_key.empty()) {
    log->warn("packages are published UNSIGNED{}: stock Portage clients (verify-signature = true) refuse them; "
              "see docs/SIGNING.md",
              o.no_signing ? " (--no-signing)" : " (no --signing-key)");
    return std::unique_ptr<GpgSigner>();
  }
  GpgSignerOptions so;
  so.gnupg_home = o.gnupg_home.empty() ? o.data_dir / "gnupg" : o.gnupg_home;
  so.key = o.signing_key;
  so.work_dir = o.data_dir / "incoming";
  so.timeout = std::chrono::seconds(o.signing_timeout_s);
  auto signer = GpgSigner::open(so, std::make_shared<PosixProcessRunner>());
  if (!signer) return make_error(signer.error().kind, "package signing: " + signer.error().message);
  log->info("signing packages with OpenPGP key {} (GnuPG home {})", (*signer)->fingerprint(), so.gnupg_home.string());
  return signer;
}

// GET /api/v1/signing-key: the public key(s) clients import into /etc/portage/gnupg; open to anyone.
void add_signing_key_route(HttpServer& server, const GpgSigner* signer) {
  server.route("GET", "/api/v1/signing-key", [signer](const HttpRequest&) {
    if (signer == nullptr)
      return HttpResponse::error(404, "not_found", "this orchestrator publishes unsigned packages (no --signing-key)");
    auto r = HttpResponse::text(signer->public_keys());
    r.headers.emplace_back("X-Signing-Key-Fingerprint", signer->fingerprint());
    return r;
  });
}

}  // namespace

Result<uint16_t> Orchestrator::start() {
  auto& d = *m_impl;
  if (auto st = d.open_data_dir(); !st) return st.error();
  if (auto st = d.load_gateway_key(); !st) return st.error();
  auto signer = open_signer(d.options, d.log);
  if (!signer) return signer.error();
  d.signer = std::move(*signer);
  StoreOptions so;
  so.offline_after_ms = d.options.offline_after_s * 1000;
  so.max_attempts = d.options.max_attempts;
  so.ground_after = d.options.ground_after;
  so.cool_off_ms = d.options.cool_off_s * 1000;
  try {
    d.store = std::make_unique<Store>((d.options.data_dir / "queue.db").string(), d.clock, so);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::io, e.what());
  }
  d.store->grant_restart_grace();
  d.intake = std::make_unique<Intake>(
      IntakePaths{d.options.staging_dir, d.options.pkgdir, d.options.data_dir / "incoming", d.options.data_dir / "logs"},
      d.signer.get());
  d.binhost = std::make_unique<Binhost>(*d.store, d.options.pkgdir, d.clock, std::chrono::milliseconds(d.options.index_batch_ms));
  auto summary = d.binhost->reconcile(d.options.data_dir / "incoming");
  d.log->info("reconciled PKGDIR {}: {}", d.options.pkgdir.string(), summary.dump());
  d.store->set_event_listener([&d](const std::vector<StoreEvent>& ev) { d.on_events(ev); });

  HttpServerOptions ho;
  ho.listen = d.options.listen;
  ho.threads = d.options.http_threads;
  ho.server_name = "swarm-orchestrator";
  ho.observer = [&d](const std::string& method, const std::string& route, int, double seconds) {
    std::lock_guard lock(d.metrics.mutex);
    auto& [count, sum] = d.metrics.latency[method + " " + route];
    ++count;
    sum += seconds;
  };
  d.server = std::make_unique<HttpServer>(ho);
  d.add_routes();
  add_signing_key_route(*d.server, d.signer.get());
  auto port = d.server->start();
  if (!port) return port.error();
  if (d.options.public_url.empty()) {
    auto hp = parse_host_port(d.options.listen);
    std::string host = hp && hp->first != "0.0.0.0" ? hp->first : "127.0.0.1";
    d.options.public_url = "http://" + host + ":" + std::to_string(*port);
  }
  d.binhost->start();
  d.dispatcher = std::thread([&d] { d.dispatch_loop(); });
  d.maintenance = std::thread([&d] { d.maintenance_loop(); });
  d.started = true;
  d.log->info("orchestrator '{}' serving on port {} (data {}, pkgdir {})", d.options.name, *port, d.options.data_dir.string(),
              d.options.pkgdir.string());
  return *port;
}

void Orchestrator::stop() {
  auto& d = *m_impl;
  if (d.stopping.exchange(true)) return;
  {
    std::lock_guard lock(d.dispatch_mutex);
    d.dispatch_pending = true;
  }
  d.dispatch_cv.notify_all();
  d.maintenance_cv.notify_all();
  if (d.dispatcher.joinable()) d.dispatcher.join();
  if (d.maintenance.joinable()) d.maintenance.join();
  d.stop_intakes();
  {
    std::lock_guard lock(d.waiters_mutex);
    for (auto& w : d.waiters)
      if (!w->done.exchange(true)) w->respond(HttpResponse::no_content());
    d.waiters.clear();
  }
  if (d.server) d.server->stop();
  d.binhost.reset();
  if (d.store) d.store->set_event_listener(nullptr);
  if (d.lock_fd >= 0) {
    ::close(d.lock_fd);
    d.lock_fd = -1;
  }
  if (d.started) d.log->info("orchestrator stopped");
}

void Orchestrator::Impl::wake_dispatcher() {
  {
    std::lock_guard lock(dispatch_mutex);
    dispatch_pending = true;
  }
  dispatch_cv.notify_one();
}

void Orchestrator::Impl::dispatch_loop() {
  while (true) {
    {
      std::unique_lock lock(dispatch_mutex);
      dispatch_cv.wait(lock, [this] { return dispatch_pending; });
      dispatch_pending = false;
    }
    if (stopping) return;
    std::vector<std::shared_ptr<Waiter>> copy;
    {
      std::lock_guard lock(waiters_mutex);
      copy.assign(waiters.begin(), waiters.end());
    }
    int64_t ready = 0;
    try {
      ready = store->ready_count();
    } catch (const std::exception& e) {
      log->error("ready count failed: {}", e.what());
    }
    for (auto& w : copy) {
      if (ready <= 0) break;  // nothing to hand out: no claim transactions for idle waiters
      if (w->done) continue;
      try {
        auto lease = store->claim(w->drone);
        if (lease && *lease) {
          if (w->done.exchange(true)) {
            continue;  // answered 204 meanwhile: the lease is handed back at its next claim (idempotent)
          }
          (void)intake->prepare_lease_dir(w->drone.name, (*lease)->lease_id);
          metrics.add("swarm_leases_issued_total");
          w->respond(HttpResponse::json(lease_json(**lease)));
          --ready;
        }
      } catch (const std::exception& e) {
        log->error("dispatch for {} failed: {}", w->drone.name, e.what());
      }
    }
    std::lock_guard lock(waiters_mutex);
    waiters.remove_if([](const std::shared_ptr<Waiter>& w) { return w->done.load(); });
  }
}

void Orchestrator::Impl::maintenance_loop() {
  while (!stopping) {
    {
      std::unique_lock lock(maintenance_mutex);
      maintenance_cv.wait_for(lock, std::chrono::seconds(options.maintenance_interval_s), [this] { return stopping.load(); });
    }
    if (stopping) return;
    try {
      int64_t n = store->reclaim_expired();
      if (n > 0) {
        metrics.add("swarm_reclaims_total", n);
        log->warn("reclaimed {} expired lease(s)", n);
      }
      wake_dispatcher();  // backoffs and cool-offs end with time, not with events
      // Staging left behind by leases that ended without a final answer (a drone that vanished).
      int64_t pruned = intake->prune_staging(clock->now_unix(), options.staging_max_age_s,
                                             [this](const std::string&, const std::string& lease_id) {
                                               auto l = store->lease(lease_id);
                                               return l && l->state == "live";
                                             });
      if (pruned > 0) log->info("pruned {} stale staging director{}", pruned, pruned == 1 ? "y" : "ies");
      std::lock_guard lock(streams_mutex);
      for (auto& s : streams) s->send_comment("keepalive");
      std::erase_if(streams, [](const std::shared_ptr<EventStream>& s) { return s->closed(); });
    } catch (const std::exception& e) {
      log->error("maintenance failed: {}", e.what());
    }
  }
}

void Orchestrator::Impl::on_events(const std::vector<StoreEvent>& events) {
  bool wake = false;
  for (const auto& e : events) {
    if (e.kind == "published" || e.kind == "needed" || e.kind == "queued" || e.kind == "resumed" || e.kind == "run")
      wake = true;
    if (e.kind == "received" && binhost) binhost->wake();
  }
  if (wake) wake_dispatcher();
  std::lock_guard lock(streams_mutex);
  for (const auto& e : events) {
    nlohmann::json j = e.to_json();
    j["orchestrator"] = options.name;
    for (auto& s : streams) s->send_event("event", j.dump());
  }
  std::erase_if(streams, [](const std::shared_ptr<EventStream>& s) { return s->closed(); });
}

std::variant<TicketClaims, HttpResponse> Orchestrator::Impl::authenticate(const HttpRequest& req, const std::string& role) {
  std::string token = req.bearer_token();
  if (token.empty()) return HttpResponse::error(401, "unauthorized", "a gateway-signed ticket is required (Authorization: Bearer)");
  auto claims = verify_ticket(gateway_key, token, options.name, *clock);
  if (!claims) {
    int status = claims.error().kind == ErrorKind::invalid ? 403 : 401;
    log->warn("refused {} {} from {}: {}", req.method, req.path, req.remote_ip, claims.error().message);
    return HttpResponse::error(status, status == 403 ? "forbidden" : "unauthorized", claims.error().message);
  }
  std::string has_role = claims->extra.value("role", "");
  if (has_role != role) {
    log->warn("refused {} {}: ticket role '{}' where '{}' is needed", req.method, req.path, has_role, role);
    return HttpResponse::error(403, "forbidden", "this call needs a " + role + " ticket");
  }
  return *claims;
}

nlohmann::json Orchestrator::Impl::lease_json(const LeaseRecord& l) {
  WorkLease w;
  w.lease_id = l.lease_id;
  w.fence = l.fence;
  w.atom = l.atom;
  w.attempt = l.attempt;
  w.lease_ttl_s = options.offline_after_s;
  w.timeout_s = l.timeout_s;
  w.repo_revision = l.repo_revision;
  w.orchestrator = options.public_url;
  w.upload = UploadTarget{options.upload_host, options.upload_user, options.upload_port, l.lease_id + "/"};
  return w.to_json();
}

}  // namespace swarm::orch
