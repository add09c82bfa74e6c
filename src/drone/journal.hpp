#pragma once
// Journal: one durable JSON file per lease in <work-dir>/journal/, rewritten (temp + fsync + rename +
// directory fsync) at every step, so a drone restarted at any point resumes instead of losing a binary.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/messages.hpp"
#include "common/result.hpp"

namespace swarm::drone {

/// How far a lease got. Resume: leased -> release; built -> upload; failed/uploaded/completion_sent ->
/// (re)send the completion; answered -> clean up as the answer says.
enum class JournalStage { leased, built, failed, uploaded, completion_sent, answered };

/// The stage's name as stored in the journal.
const char* to_string(JournalStage stage);
/// The stage named `text`; invalid for any other text.
Result<JournalStage> parse_stage(std::string_view text);

struct JournalEntry {
  WorkLease lease;
  std::string orchestrator;  // base URL the lease came from: completions go there
  JournalStage stage = JournalStage::leased;
  int64_t started_unix = 0;
  std::string log_file;  // absolute path of this attempt's build log
  std::string binary;    // CATEGORY/PN/FILE relative to PKGDIR, once built
  std::string sha256;    // computed during the upload: set from stage uploaded on (empty at built)
  int64_t size = 0;
  double duration_s = 0;
  int64_t max_rss_mb = 0;
  int64_t exit_code = 0;
  std::string failure_class;  // set when stage is failed (or later, for a failure)
  std::string failure_excerpt;  // Portage's reason (portage_failure.hpp), sent as the log tail; may be empty
  int64_t build_pid = 0;         // emerge's pid (= its process group), recorded before it runs
  uint64_t build_start_ticks = 0;  // its /proc start time, so a later process with the same pid is left alone
  bool log_uploaded = false;
  int64_t upload_rounds = 0;  // uploads done, retry_upload answers included
  std::optional<CompleteResponse> answer;

  /// The record as stored.
  nlohmann::json to_json() const;
  /// Reads a record; invalid on a missing lease, unknown stage or unsafe lease id.
  static Result<JournalEntry> from_json(const nlohmann::json& j);
};

/// True for a lease id that is safe as a file name and an rsync path: [A-Za-z0-9._-], 1-128, no leading '.'.
bool valid_lease_id(std::string_view id);

class Journal {
 public:
  explicit Journal(std::filesystem::path dir);

  /// Creates the directory if needed; io on failure.
  Status open();
  /// Durably records `entry` (replacing the lease's previous record).
  Status save(const JournalEntry& entry);
  /// The record of one lease; not_found when there is none.
  Result<JournalEntry> load(const std::string& lease_id) const;
  /// Every record, oldest first; unreadable ones are renamed to *.bad and described in `problems`.
  std::vector<JournalEntry> load_all(std::vector<std::string>* problems = nullptr) const;
  /// Forgets a lease (durably); fine when it is not there.
  Status remove(const std::string& lease_id);
  /// Sets the record aside as <lease_id>.kept (never resumed): it says where a binary nobody took stays.
  Status keep(const std::string& lease_id);

  /// <dir>/<lease_id>.json
  std::filesystem::path path_for(const std::string& lease_id) const;
  const std::filesystem::path& dir() const { return m_dir; }

 private:
  std::filesystem::path m_dir;
};

}  // namespace swarm::drone
