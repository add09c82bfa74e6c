#pragma once
// LeaseRunner: takes one lease from its journal record to the end: sync, build, upload, complete,
// clean up, writing the journal durably before each step so a restart resumes where it stopped.

#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/messages.hpp"
#include "common/process_runner.hpp"
#include "drone/builder.hpp"
#include "drone/delivery.hpp"
#include "drone/drone_config.hpp"
#include "drone/drone_state.hpp"
#include "drone/journal.hpp"

namespace swarm::drone {

enum class LeaseEnd {
  finished,  // answered (accepted, refused or failure reported); journal removed
  lost,      // the lease is no longer ours; journal removed, nothing uploaded after that
  stopped,   // hard stop; lease released unless a binary was built (then journal kept to resume)
  deferred,  // could not be finished now; journal and binary kept for a later resume
};

/// The end's name for logs.
const char* to_string(LeaseEnd end);

class LeaseRunner {
 public:
  /// Everything must outlive the runner.
  LeaseRunner(const DroneConfig& config, DroneState& state, Journal& journal, Builder& builder,
              const Delivery& delivery, const Clock& clock);

  /// A fresh lease from `orchestrator`: journals it, then runs it to the end.
  LeaseEnd run_new(const WorkLease& lease, const std::string& orchestrator);
  /// A lease found in the journal at start-up.
  LeaseEnd resume(JournalEntry entry);

  /// False for a lease of the run (known by its repository revision: leases name no run) whose revision
  /// this drone failed to reach, until a lease of another revision comes or the tree is found at it.
  bool takes(const WorkLease& lease);

  /// The per-attempt build log: <work-dir>/logs/<category>_<pf>/<attempt>.log.
  std::filesystem::path log_path_for(const WorkLease& lease) const;

 private:
  LeaseEnd drive(JournalEntry& entry);
  /// Builds; nullopt when the entry moved on to built or failed, else how the lease ended.
  std::optional<LeaseEnd> build_step(JournalEntry& entry);
  LeaseEnd finish(JournalEntry& entry, LeaseEnd end, const std::string& summary);
  void release(const JournalEntry& entry, const char* why);
  bool save(const JournalEntry& entry);

  const DroneConfig& m_config;
  DroneState& m_state;
  Journal& m_journal;
  Builder& m_builder;
  const Delivery& m_delivery;
  const Clock& m_clock;
  std::string m_unreachable_revision;  // "" when none; touched by the work loop's thread only
};

}  // namespace swarm::drone
