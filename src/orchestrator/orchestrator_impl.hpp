#pragma once
// Internals of the Orchestrator service shared by its source files.

#include <atomic>
#include <condition_variable>
#include <list>
#include <map>
#include <mutex>
#include <thread>

#include "common/crypto.hpp"
#include "common/http_server.hpp"
#include "common/logging.hpp"
#include "common/ticket.hpp"
#include "orchestrator/binhost.hpp"
#include "orchestrator/intake.hpp"
#include "orchestrator/orchestrator.hpp"
#include "orchestrator/signer.hpp"

namespace swarm::orch {

/// In-memory counters for /metrics.
struct Metrics {
  std::mutex mutex;
  std::map<std::string, int64_t> counters;  // full series name with labels -> value
  std::map<std::string, std::pair<int64_t, double>> latency;  // route -> (count, sum seconds)
  void add(const std::string& series, int64_t n = 1) {
    std::lock_guard lock(mutex);
    counters[series] += n;
  }
};

/// A drone waiting in POST /api/v1/work.
struct Waiter {
  DroneIdentity drone;
  Responder respond;
  std::atomic<bool> done{false};
};

/// The intake of one lease's built completion, on its own thread; fields guarded by Impl::intakes_mutex.
struct IntakeJob {
  struct Waiter {
    Responder respond;
    std::shared_ptr<std::atomic<bool>> answered;  // the final answer or the 202, whichever comes first
    /// Sends `r` unless this request was answered already; whether it was sent.
    bool answer(const HttpResponse& r) const;
  };
  std::thread thread;
  std::vector<Waiter> waiters;  // completions of this lease waiting for the result
  bool done = false;
  bool delivered = false;               // the result reached a waiting request
  std::optional<HttpResponse> result;  // once done
};

class Orchestrator::Impl {
 public:
  Impl(OrchestratorOptions o, std::shared_ptr<Clock> c) : options(std::move(o)), clock(std::move(c)) {}

  OrchestratorOptions options;
  std::shared_ptr<Clock> clock;
  std::shared_ptr<spdlog::logger> log = component_logger("orchestrator");
  int lock_fd = -1;
  Ed25519Key gateway_key;
  std::unique_ptr<Store> store;
  std::unique_ptr<GpgSigner> signer;  // null when packages are published unsigned
  std::unique_ptr<Intake> intake;
  std::unique_ptr<Binhost> binhost;
  std::unique_ptr<HttpServer> server;
  Metrics metrics;
  std::atomic<bool> stopping{false};
  bool started = false;

  // Long-poll: waiters served by the dispatcher thread whenever the queue changes.
  std::mutex waiters_mutex;
  std::list<std::shared_ptr<Waiter>> waiters;
  std::mutex dispatch_mutex;
  std::condition_variable dispatch_cv;
  bool dispatch_pending = false;
  std::thread dispatcher;
  std::thread maintenance;
  std::condition_variable maintenance_cv;
  std::mutex maintenance_mutex;

  // Event streams for the gateway's dashboard.
  std::mutex streams_mutex;
  std::vector<std::shared_ptr<EventStream>> streams;

  // Completions of one lease are handled one at a time (a replay waits for the first answer).
  std::array<std::mutex, 64> lease_locks;
  std::mutex& lease_lock(const std::string& id) { return lease_locks[std::hash<std::string>{}(id) % lease_locks.size()]; }
  // Running and unanswered intakes by lease id, at most one per lease; lock order: lease_lock, then this.
  std::mutex intakes_mutex;
  std::map<std::string, std::shared_ptr<IntakeJob>> intakes;

  Status open_data_dir();
  Status load_gateway_key();
  void add_routes();
  void wake_dispatcher();
  void dispatch_loop();
  void maintenance_loop();
  void on_events(const std::vector<StoreEvent>& events);
  /// The ticket's claims when it is valid for this orchestrator and `role`; else the HTTP answer to send.
  std::variant<TicketClaims, HttpResponse> authenticate(const HttpRequest& req, const std::string& role);
  nlohmann::json lease_json(const LeaseRecord& l);
  void complete(const HttpRequest& req, const TicketClaims& who, Responder respond);
  void run_intake(const std::shared_ptr<IntakeJob>& job, LeaseRecord lease, CompleteRequest req);
  void reap_intakes();  // with intakes_mutex held
  void stop_intakes();
  HttpResponse complete_built(LeaseRecord lease, CompleteRequest req);
  std::string metrics_text();
};

}  // namespace swarm::orch
