#pragma once
// The drone's component loggers (common/logging.hpp), one per concern; the name is each line's tag.

#include <memory>

#include "common/logging.hpp"

namespace swarm::drone {

/// Leases, builds, start-up and shutdown.
inline std::shared_ptr<spdlog::logger> drone_log() { return component_logger("drone"); }
/// Uploads to the orchestrator's staging area.
inline std::shared_ptr<spdlog::logger> upload_log() { return component_logger("upload"); }
/// Gateway heartbeats and lease renewals.
inline std::shared_ptr<spdlog::logger> heartbeat_log() { return component_logger("heartbeat"); }
/// The control endpoint.
inline std::shared_ptr<spdlog::logger> control_log() { return component_logger("control"); }

}  // namespace swarm::drone
