#pragma once
// The JSON messages of the API (design.md, "The HTTP API"), one struct each with to_json/from_json.
// from_json rejects missing, mistyped and unknown fields with an `invalid` error naming the field.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace swarm {

inline constexpr const char* kApiVersion = "v1";

// drone -> gateway: POST /api/v1/register
struct RegisterRequest {
  std::string name;
  std::string report_ip;
  int64_t cores = 0;
  int64_t ram_mb = 0;
  std::string version;
  std::string binary_sha256;
  nlohmann::json fingerprint = nlohmann::json::object();  // key -> value, plus "hash"
  int64_t control_port = 0;
  std::string ssh_host_key;
  nlohmann::json to_json() const;
  static Result<RegisterRequest> from_json(const nlohmann::json& j);
};

// gateway -> drone: answer to register and heartbeat
struct RegisterResponse {
  std::string approval;      // "approved" | "pending"
  std::string orchestrator;  // base URL, empty while pending or when none is up
  std::string ticket;        // empty while pending
  int64_t heartbeat_interval_s = 10;
  std::string message;
  nlohmann::json to_json() const;
  static Result<RegisterResponse> from_json(const nlohmann::json& j);
};

// drone -> gateway: POST /api/v1/heartbeat
struct HeartbeatRequest {
  std::string name;
  std::string activity;  // idle, building, uploading, draining
  std::optional<std::string> lease_id;
  std::optional<std::string> atom;
  double load = 0;
  int64_t disk_free_mb = 0;
  nlohmann::json to_json() const;
  static Result<HeartbeatRequest> from_json(const nlohmann::json& j);
};

// orchestrator -> drone: where to upload the binary (path relative to the drone's rrsync root)
struct UploadTarget {
  std::string host;
  std::string user;
  int64_t port = 22;
  std::string path;
  nlohmann::json to_json() const;
  static Result<UploadTarget> from_json(const nlohmann::json& j);
};

// orchestrator -> drone: answer to POST /api/v1/work
struct WorkLease {
  std::string lease_id;
  int64_t fence = 0;
  std::string atom;  // =CATEGORY/PF
  int64_t attempt = 1;
  int64_t lease_ttl_s = 60;
  int64_t timeout_s = 3600;
  std::string repo_revision;
  std::string orchestrator;  // base URL of the issuer
  UploadTarget upload;
  nlohmann::json to_json() const;
  static Result<WorkLease> from_json(const nlohmann::json& j);
};

// drone -> orchestrator: POST /api/v1/leases/{id}/renew and /release
struct FenceRequest {
  int64_t fence = 0;
  nlohmann::json to_json() const;
  static Result<FenceRequest> from_json(const nlohmann::json& j);
};

// drone -> orchestrator: POST /api/v1/complete
struct CompleteRequest {
  std::string lease_id;
  int64_t fence = 0;
  std::string result;  // "built" | "failed"
  std::optional<std::string> path;  // CATEGORY/PN/FILE relative to the lease's staging directory
  std::optional<std::string> sha256;
  std::optional<int64_t> size;
  double duration_s = 0;
  int64_t max_rss_mb = 0;
  int64_t exit_code = 0;
  std::optional<std::string> failure_class;  // build, timeout, oom, disk, sync, no_binary, lost_tree, crash
  std::string log_tail;
  std::optional<std::string> log_path;  // full log uploaded beside the binary
  nlohmann::json to_json() const;
  static Result<CompleteRequest> from_json(const nlohmann::json& j);
};

// orchestrator -> drone: answer to POST /api/v1/complete. A large binary's intake may outlast the
// drone's HTTP timeout: then the answer is 202 with status "in_progress" (accepted false) and the
// drone sends the same completion again after retry_after_s until it gets the final answer.
struct CompleteResponse {
  std::string status = "ok";  // "ok" | "in_progress"
  bool accepted = false;
  bool retry_upload = false;
  std::string reason;
  int64_t retry_after_s = 0;  // with "in_progress" only
  bool in_progress() const { return status == "in_progress"; }
  nlohmann::json to_json() const;
  static Result<CompleteResponse> from_json(const nlohmann::json& j);
};

// user/CLI -> gateway -> orchestrator: one package of a submission
struct PackageSpec {
  std::string atom;
  int64_t priority = 0;
  std::vector<std::string> deps;
  std::optional<int64_t> duration_s;
  bool rebuild = false;
  nlohmann::json to_json() const;
  static Result<PackageSpec> from_json(const nlohmann::json& j);
};

// user/CLI -> gateway -> orchestrator: POST /api/v1/queue
struct QueueSubmit {
  std::optional<std::string> orchestrator;
  std::vector<PackageSpec> packages;  // atoms:[...] are turned into packages
  nlohmann::json fingerprint = nlohmann::json::object();
  std::string repo_revision;
  nlohmann::json to_json() const;
  static Result<QueueSubmit> from_json(const nlohmann::json& j);
};

// orchestrator -> gateway -> user: answer to POST /api/v1/queue
struct QueueSubmitResponse {
  int64_t run = 0;
  int64_t added = 0;
  int64_t skipped = 0;
  nlohmann::json rejected = nlohmann::json::array();       // [{atom, reason}]
  nlohmann::json cycles_broken = nlohmann::json::array();  // [{from, to}]
  nlohmann::json to_json() const;
  static Result<QueueSubmitResponse> from_json(const nlohmann::json& j);
};

// user/CLI -> gateway -> orchestrator: retry, cancel, pause, resume
struct QueueAction {
  std::optional<std::string> atom;
  std::optional<int64_t> run;
  std::optional<std::string> orchestrator;
  nlohmann::json to_json() const;
  static Result<QueueAction> from_json(const nlohmann::json& j);
};

}  // namespace swarm
