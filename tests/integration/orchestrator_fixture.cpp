#include "integration/orchestrator_fixture.hpp"

#include <gtest/gtest.h>

#include "common/atom.hpp"
#include "common/clock.hpp"
#include "common/ticket.hpp"

namespace swarm::test {

namespace fs = std::filesystem;
using nlohmann::json;

OrchestratorFixture::OrchestratorFixture(std::vector<std::string> extra_args)
    : m_key(Ed25519Key::generate().value()), m_extra(std::move(extra_args)) {
  write_file(m_dir / "gateway.pub", m_key.public_pem());
  start();
}

OrchestratorFixture::~OrchestratorFixture() {
  if (m_proc) {
    m_proc->signal(SIGTERM);
    if (!m_proc->wait(std::chrono::seconds(10))) m_proc->kill();
  }
}

void OrchestratorFixture::start() {
  fs::remove(m_dir / "port");
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--port-file", (m_dir / "port").string(), "--data-dir",
                                   data().string(), "--gateway-public-key", (m_dir / "gateway.pub").string(), "--name",
                                   "orch", "--maintenance-interval", "1", "--log-level", "info", "--config",
                                   "/dev/null"};
  args.insert(args.end(), m_extra.begin(), m_extra.end());
  m_proc = std::make_unique<DaemonProcess>(executable("swarm-orchestrator"), args,
                                           m_dir / ("orchestrator-" + std::to_string(m_starts++) + ".log"));
  m_port = wait_for_port_file(m_dir / "port", std::chrono::seconds(20));
  if (m_port == 0) throw std::runtime_error("orchestrator did not start:\n" + m_proc->log_text());
}

void OrchestratorFixture::kill9() { m_proc->kill(); }

std::string OrchestratorFixture::ticket(const std::string& subject, const std::string& role, int64_t ttl_s,
                                        const std::string& audience, const std::string& fp) const {
  TicketClaims c;
  c.subject = subject;
  c.audience = audience;
  c.issued_unix = system_clock()->now_unix();
  c.expires_unix = c.issued_unix + ttl_s;
  c.extra = {{"role", role}, {"fp", fp}};
  return sign_ticket(m_key, c);
}

HttpClient OrchestratorFixture::admin() const {
  HttpClientOptions o;
  o.bearer_token = ticket("gateway", "admin");
  return HttpClient(url(), o);
}

HttpClient OrchestratorFixture::drone(const std::string& name, const std::string& fp) const {
  HttpClientOptions o;
  o.bearer_token = ticket(name, "drone", 600, "orch", fp);
  o.total_timeout = std::chrono::seconds(60);
  return HttpClient(url(), o);
}

json OrchestratorFixture::submit(const std::vector<std::string>& atoms) {
  auto r = admin().post_json("/api/v1/queue", {{"atoms", atoms}});
  if (!r || r->status != 200) throw std::runtime_error("submit failed: " + (r ? r->body : r.error().message));
  return r->json().value();
}

std::optional<json> OrchestratorFixture::work(const std::string& name) {
  auto r = drone(name).post_json("/api/v1/work?wait=0", json::object());
  if (!r) throw std::runtime_error("work failed: " + r.error().message);
  if (r->status == 204) return std::nullopt;
  if (r->status != 200) throw std::runtime_error("work answered " + std::to_string(r->status) + ": " + r->body);
  return r->json().value();
}

json OrchestratorFixture::stage(const std::string& name, const json& lease, int64_t image_kb) {
  auto atom = parse_atom(lease["atom"].get<std::string>()).value();
  std::string rel = atom.category + "/" + atom.pn + "/" + atom.pf() + "-1.gpkg.tar";
  fs::path file = data() / "staging" / name / lease["lease_id"].get<std::string>() / rel;
  fs::create_directories(file.parent_path());
  std::string cmd = "sh " + (source_dir() / "tests/support/make-gpkg.sh").string() + " '" + file.string() + "' " +
                    atom.category + " " + atom.pf() + " 1 " + std::to_string(image_kb);
  if (run_shell(cmd) != 0) throw std::runtime_error("make-gpkg failed");
  return {{"path", rel}, {"sha256", sha256_file_hex(file).value()}, {"size", static_cast<int64_t>(fs::file_size(file))}};
}

json OrchestratorFixture::complete(const std::string& name, const json& lease, const json& staged) {
  json body = {{"lease_id", lease["lease_id"]}, {"fence", lease["fence"]}, {"result", "built"}, {"path", staged["path"]},
               {"sha256", staged["sha256"]}, {"size", staged["size"]}, {"duration_s", 1.5}, {"max_rss_mb", 100},
               {"exit_code", 0}, {"log_tail", "ok\n"}};
  auto r = drone(name).post_json("/api/v1/complete", body);
  if (!r) throw std::runtime_error("complete failed: " + r.error().message);
  json j = r->json().value();
  j["http_status"] = r->status;
  return j;
}

std::string OrchestratorFixture::packages() {
  auto r = HttpClient(url()).get("/binhost/Packages");
  if (!r || r->status != 200) return "";
  return r->body;
}

std::string OrchestratorFixture::state_of(const std::string& atom) {
  auto r = HttpClient(url()).get("/api/v1/queue");
  if (!r || r->status != 200) return "";
  for (const auto& e : r->json().value())
    if (e["atom"] == atom) return e["state"];
  return "";
}

}  // namespace swarm::test
