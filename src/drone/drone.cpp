#include "drone/drone.hpp"

#include <csignal>
#include <fstream>
#include <thread>

#include "common/health.hpp"
#include "common/http_client.hpp"
#include "drone/backoff.hpp"
#include "drone/disk_hygiene.hpp"
#include "drone/durable_file.hpp"
#include "drone/leftover_build.hpp"
#include "drone/local_fingerprint.hpp"
#include "drone/loggers.hpp"
#include "drone/orchestrator_client.hpp"
#include "drone/system_info.hpp"

namespace swarm::drone {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

const std::vector<std::string>& drone_loggers() {
  static const std::vector<std::string> names = {"drone", "upload", "heartbeat", "control"};
  return names;
}

DroneConfig absolute_paths(DroneConfig c) {
  std::error_code ec;
  c.work_dir = fs::absolute(c.work_dir, ec).lexically_normal();
  c.pkgdir = fs::absolute(c.pkgdir, ec).lexically_normal();
  c.repo_dir = fs::absolute(c.repo_dir, ec).lexically_normal();
  return c;
}

BuilderSettings builder_settings(const DroneConfig& c) {
  BuilderSettings s;
  s.emerge_command = split_command(c.emerge_command);
  s.sync_command = split_command(c.sync_command);
  s.repo_dir = c.repo_dir;
  s.pkgdir = c.pkgdir;
  s.work_dir = c.work_dir;
  s.sync_timeout = seconds_ms(c.sync_timeout_s);
  s.revision_timeout = seconds_ms(c.revision_timeout_s);
  s.kill_grace = seconds_ms(c.kill_grace_s);
  return s;
}

UploadSettings upload_settings(const DroneConfig& c) {
  UploadSettings s;
  s.key = c.upload_key;
  s.known_hosts = c.known_hosts;
  s.connect_timeout = seconds_ms(c.upload_connect_timeout_s);
  s.alive_interval = seconds_ms(c.upload_alive_interval_s);
  s.stall_timeout = seconds_ms(c.staging_stall_timeout_s);
  s.overall_timeout = seconds_ms(c.upload_timeout_s);
  return s;
}

// The work poll runs on its own thread so a drain need not wait for the long-poll to end.
struct PollSlot {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  bool abandoned = false;
  std::optional<Result<std::optional<WorkLease>>> result;
};

}  // namespace

Drone::Drone(DroneConfig config, std::shared_ptr<Clock> clock, ProcessRunner& runner)
    : m_config(absolute_paths(std::move(config))),
      m_clock(std::move(clock)),
      m_runner(runner),
      m_state(m_config.name, *m_clock),
      m_journal(m_config.work_dir / "journal"),
      m_builder(builder_settings(m_config), m_runner, *m_clock),
      m_uploader(m_runner, upload_settings(m_config)),
      m_delivery(m_config, m_state, m_uploader, *m_clock),
      m_lease_runner(m_config, m_state, m_journal, m_builder, m_delivery, *m_clock),
      m_auth(m_config.name, *m_clock) {
  m_log_ring.attach(drone_loggers());
}

Drone::~Drone() {
  if (m_heartbeat) m_heartbeat->stop();
  if (m_control) m_control->stop();
}

uint16_t Drone::control_port() const { return m_control_port.load(); }

void Drone::handle_signal(int signal) {
  if (signal != SIGTERM && signal != SIGINT) return;
  if (m_state.draining()) {
    drone_log()->warn("second stop signal: killing the build and releasing the lease");
    m_state.request_hard_stop();
    return;
  }
  request_drain();
}

void Drone::request_drain(bool restart) {
  if (m_state.request_drain(restart))
    drone_log()->info("{}: taking no new work, finishing the current lease", restart ? "restart requested" : "draining");
}

nlohmann::json Drone::status_json() const {
  nlohmann::json j = m_state.status().to_json();
  j["version"] = swarm_version();
  j["api"] = {kApiVersion};
  j["fingerprint_hash"] = m_fingerprint.hash();
  j["disk_free_mb"] = disk_free_mb();
  j["min_free_mb"] = m_config.min_free_mb;
  j["load"] = load_average();
  j["repo_revision"] = m_builder.local_revision();
  return j;
}

int64_t Drone::disk_free_mb() const {
  int64_t a = free_disk_mb(m_config.pkgdir), b = free_disk_mb(m_config.work_dir);
  if (a < 0) return b;
  if (b < 0) return a;
  return std::min(a, b);
}

RegisterRequest Drone::registration() {
  RegisterRequest r;
  r.name = m_config.name;
  if (m_report_ip.empty()) {
    if (auto url = parse_url(m_config.gateway_url); url) {
      if (auto ip = local_address_towards(url->host, url->port); ip) m_report_ip = *ip;
    }
  }
  r.report_ip = m_report_ip;
  r.cores = cpu_cores();
  r.ram_mb = total_ram_mb();
  r.version = swarm_version();
  r.binary_sha256 = m_binary_sha256;
  r.fingerprint = m_fingerprint.to_json();
  r.control_port = m_control_port.load();
  r.ssh_host_key = read_ssh_host_key(m_config.ssh_host_key_file);
  return r;
}

HeartbeatRequest Drone::heartbeat() const {
  DroneStatus s = m_state.status();
  HeartbeatRequest h;
  h.name = m_config.name;
  h.activity = s.activity;
  if (s.lease) {
    h.lease_id = s.lease->lease_id;
    h.atom = s.lease->atom;
  }
  h.load = load_average();
  h.disk_free_mb = disk_free_mb();
  return h;
}

bool Drone::prepare() {
  auto token = read_whole_file(m_config.token_file);
  if (!token) {
    drone_log()->error("cannot read the token: {}", token.error().message);
    return false;
  }
  m_token = token->substr(0, token->find_first_of("\r\n"));
  if (m_token.empty()) {
    drone_log()->error("the token file {} is empty", m_config.token_file.string());
    return false;
  }
  if (auto st = m_journal.open(); !st) {
    drone_log()->error("{}", st.error().message);
    return false;
  }
  // One build per PKGDIR: a predecessor killed mid-build may have left its emerge running.
  for (const auto& e : m_journal.load_all()) {
    if (e.stage != JournalStage::leased) continue;
    if (int killed = stop_leftover_build(e); killed > 0)
      drone_log()->warn("lease {}: killed {} processes left by the interrupted build of {}", e.lease.lease_id, killed,
                        e.lease.atom);
  }
  std::error_code ec;
  fs::create_directories(m_config.work_dir / "logs", ec);
  m_report_ip = m_config.report_ip;
  m_binary_sha256 = executable_sha256();
  FingerprintSources sources;
  sources.emerge_info_command = m_config.emerge_info_command;
  sources.compiler = m_config.compiler;
  sources.portage_dir = m_config.portage_dir;
  m_fingerprint = collect_fingerprint(m_runner, sources, m_config.work_dir / "tmp");
  if (auto it = m_fingerprint.values.find(kFingerprintErrorKey); it != m_fingerprint.values.end())
    drone_log()->warn("configuration fingerprint incomplete: {}", it->second);
  drone_log()->info("fingerprint {}", m_fingerprint.hash());
  ensure_public_key();
  m_control = std::make_unique<ControlServer>(
      m_config.control_listen, m_auth,
      ControlHandlers{[this] { return status_json(); }, [this](size_t n) { return m_log_ring.last(n); },
                      [this] { request_drain(false); }, [this] { request_drain(true); }});
  auto port = m_control->start();
  if (!port) {
    drone_log()->error("cannot listen on {}: {}", m_config.control_listen, port.error().message);
    return false;
  }
  m_control_port = *port;
  if (!m_config.port_file.empty()) {
    if (auto st = write_file_durably(m_config.port_file, std::to_string(*port) + "\n"); !st)
      drone_log()->warn("cannot write the port file: {}", st.error().message);
  }
  drone_log()->info("drone {} up: control endpoint on port {}, gateway {}", m_config.name, *port, m_config.gateway_url);
  return true;
}

bool Drone::ensure_public_key() {
  if (m_auth.has_public_key()) return true;
  const auto now = m_clock->now_steady();
  if (m_next_key_fetch && now < *m_next_key_fetch) return false;
  m_next_key_fetch = now + seconds_ms(m_config.backoff_max_s);
  Result<std::string> pem = make_error(ErrorKind::not_found, "");
  if (!m_config.gateway_public_key_file.empty()) {
    pem = read_whole_file(m_config.gateway_public_key_file);
  } else {
    pem = GatewayClient(m_config.gateway_url, m_token, seconds_ms(m_config.http_timeout_s)).fetch_public_key();
  }
  if (!pem) {
    drone_log()->warn("no gateway public key yet (control calls refused): {}", pem.error().message);
    return false;
  }
  auto key = Ed25519Key::load_public_pem(*pem);
  if (!key) {
    drone_log()->warn("the gateway public key is unusable: {}", key.error().message);
    return false;
  }
  m_auth.set_public_key(std::move(*key));
  return true;
}

int Drone::run() {
  if (!prepare()) return 1;
  m_heartbeat = std::make_unique<HeartbeatLoop>(
      m_config, m_state, GatewayClient(m_config.gateway_url, m_token, seconds_ms(m_config.http_timeout_s)),
      [this] { return registration(); }, [this] { return heartbeat(); }, *m_clock);
  m_heartbeat->start();
  work_loop();
  m_heartbeat->stop();
  m_control->stop();
  drone_log()->info("drone {} stopped{}", m_config.name, m_state.restart_requested() ? " for a restart" : "");
  return 0;
}

void Drone::work_loop() {
  Backoff backoff(seconds_ms(m_config.backoff_initial_s), seconds_ms(m_config.backoff_max_s));
  while (!m_state.draining()) {
    ensure_public_key();
    hygiene(false);
    if (!m_state.wait_ready(milliseconds(500))) continue;
    resume_journal(m_resumed);
    m_resumed = true;
    if (m_state.draining()) break;
    if (!enough_disk()) {
      m_state.pause(std::min(seconds_ms(m_config.backoff_max_s), milliseconds(30'000)), true);
      continue;
    }
    const std::string orchestrator = m_state.orchestrator();
    auto polled = poll_for_work(orchestrator);
    if (!polled) break;
    if (!*polled) {
      auto delay = backoff.next();
      drone_log()->warn("asking {} for work failed: {}; again in {} ms", orchestrator, polled->error().message,
                     delay.count());
      m_state.pause(delay, true);
      continue;
    }
    backoff.reset();
    if (!polled->value()) continue;
    const WorkLease lease = *polled->value();
    if (m_state.draining()) {
      release_unwanted(lease, orchestrator, "draining");
      break;
    }
    if (!valid_lease_id(lease.lease_id)) {
      release_unwanted(lease, orchestrator, "unsafe lease id");
      continue;
    }
    if (auto st = check_upload_target(lease.upload); !st) {
      release_unwanted(lease, orchestrator, st.error().message);
      continue;
    }
    if (!m_lease_runner.takes(lease)) {
      // Handed back at once, the same lease may come straight back: wait before asking again.
      release_unwanted(lease, orchestrator, "its run needs repository revision " + lease.repo_revision +
                                                ", which this drone failed to sync to");
      m_state.pause(seconds_ms(m_config.backoff_max_s), true);
      continue;
    }
    drone_log()->info("lease {}: {} (attempt {}, fence {}) from {}", lease.lease_id, lease.atom, lease.attempt,
                   lease.fence, orchestrator);
    LeaseEnd end = m_lease_runner.run_new(lease, orchestrator);
    if (end == LeaseEnd::deferred)
      m_deferred[lease.lease_id] = m_clock->now_steady() + 5 * seconds_ms(m_config.backoff_max_s);
    if (end == LeaseEnd::stopped) break;
  }
}

std::optional<Result<std::optional<WorkLease>>> Drone::poll_for_work(const std::string& orchestrator) {
  auto slot = std::make_shared<PollSlot>();
  OrchestratorClient client(orchestrator, m_state.ticket_for(orchestrator), seconds_ms(m_config.http_timeout_s),
                            seconds_ms(m_config.work_poll_timeout_s));
  std::thread([slot, client] {
    auto r = client.poll_work();
    std::optional<WorkLease> unwanted;
    {
      std::lock_guard lock(slot->mutex);
      if (!slot->abandoned) {
        slot->result = std::move(r);
        slot->done = true;
        slot->cv.notify_all();
        return;
      }
      if (r && *r) unwanted = **r;
    }
    // Nobody waits any more: hand a lease that arrived too late straight back.
    if (unwanted) (void)client.release(unwanted->lease_id, unwanted->fence);
  }).detach();
  std::unique_lock lock(slot->mutex);
  while (!slot->cv.wait_for(lock, milliseconds(100), [&] { return slot->done; })) {
    if (m_state.draining()) {
      slot->abandoned = true;
      return std::nullopt;
    }
  }
  return std::move(slot->result);
}

void Drone::release_unwanted(const WorkLease& lease, const std::string& orchestrator, const std::string& why) {
  drone_log()->warn("releasing lease {} ({}): {}", lease.lease_id, lease.atom, why);
  OrchestratorClient client(orchestrator, m_state.ticket_for(orchestrator), seconds_ms(m_config.http_timeout_s),
                            seconds_ms(m_config.work_poll_timeout_s));
  if (auto st = client.release(lease.lease_id, lease.fence); !st)
    drone_log()->warn("release of lease {} failed: {}", lease.lease_id, st.error().message);
}

void Drone::resume_journal(bool only_due) {
  const auto now = m_clock->now_steady();
  if (only_due && (m_deferred.empty() ||
                   std::none_of(m_deferred.begin(), m_deferred.end(), [&](const auto& d) { return d.second <= now; })))
    return;
  std::vector<std::string> problems;
  for (JournalEntry& entry : m_journal.load_all(&problems)) {
    if (m_state.draining()) return;
    auto due = m_deferred.find(entry.lease.lease_id);
    if (only_due && (due == m_deferred.end() || due->second > now)) continue;
    const std::string id = entry.lease.lease_id;
    LeaseEnd end = m_lease_runner.resume(std::move(entry));
    if (end == LeaseEnd::deferred) {
      m_deferred[id] = m_clock->now_steady() + 5 * seconds_ms(m_config.backoff_max_s);
    } else {
      m_deferred.erase(id);
    }
    if (end == LeaseEnd::stopped) return;
  }
  for (const auto& p : problems) drone_log()->error("unreadable journal record set aside: {}", p);
}

bool Drone::enough_disk() {
  const int64_t free_mb = disk_free_mb();
  const bool low = free_mb >= 0 && free_mb < m_config.min_free_mb;
  if (low && !m_low_disk) {
    drone_log()->warn("only {} MiB free (floor {} MiB): asking for no work until there is more", free_mb,
                   m_config.min_free_mb);
    hygiene(true);
  } else if (!low && m_low_disk) {
    drone_log()->info("{} MiB free again: taking work", free_mb);
  }
  m_low_disk = low;
  return !low;
}

void Drone::hygiene(bool force) {
  const auto now = m_clock->now_steady();
  if (!force && m_next_hygiene && now < *m_next_hygiene) return;
  m_next_hygiene = now + std::chrono::hours(1);
  std::set<fs::path> keep_logs;
  std::set<std::string> keep_binaries;
  std::set<std::string> live_leases;
  for (const auto& e : m_journal.load_all()) {
    keep_logs.insert(e.log_file);
    if (!e.binary.empty()) keep_binaries.insert(e.binary);
    live_leases.insert(e.lease.lease_id);
  }
  const auto day = 86400.0;
  int logs = prune_old_files(m_config.work_dir / "logs", static_cast<int64_t>(m_config.log_retention_days * day),
                             *m_clock, keep_logs);
  int bins = prune_local_binaries(m_config.pkgdir, static_cast<int64_t>(m_config.binary_retention_days * day),
                                  keep_binaries, *m_clock);
  std::error_code ec;
  const fs::path transcript = m_config.work_dir / "logs" / "upload.log";
  if (fs::file_size(transcript, ec) > 8 * 1024 * 1024 && !ec) fs::rename(transcript, fs::path(transcript) += ".old", ec);
  for (const auto& item : fs::directory_iterator(m_config.work_dir / "outbox", ec))
    if (!live_leases.count(item.path().filename().string())) m_delivery.clear_outbox(item.path().filename().string());
  if (logs > 0 || bins > 0) drone_log()->info("disk hygiene: removed {} old logs and {} old local binaries", logs, bins);
}

}  // namespace swarm::drone
