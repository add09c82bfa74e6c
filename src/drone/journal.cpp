#include "drone/journal.hpp"

#include <algorithm>
#include <cctype>

#include "common/json_fields.hpp"
#include "drone/durable_file.hpp"

namespace swarm::drone {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
constexpr const char* kStageNames[] = {"leased", "built", "failed", "uploaded", "completion_sent", "answered"};
}

const char* to_string(JournalStage stage) { return kStageNames[static_cast<int>(stage)]; }

Result<JournalStage> parse_stage(std::string_view text) {
  for (int i = 0; i < 6; ++i)
    if (text == kStageNames[i]) return static_cast<JournalStage>(i);
  return make_error(ErrorKind::invalid, "unknown journal stage '" + std::string(text) + "'");
}

json JournalEntry::to_json() const {
  json j = {{"lease", lease.to_json()},     {"orchestrator", orchestrator}, {"stage", to_string(stage)},
            {"started_unix", started_unix}, {"log_file", log_file},         {"binary", binary},
            {"sha256", sha256},             {"size", size},                 {"duration_s", duration_s},
            {"max_rss_mb", max_rss_mb},     {"exit_code", exit_code},       {"failure_class", failure_class},
            {"log_uploaded", log_uploaded}, {"upload_rounds", upload_rounds}};
  if (!failure_excerpt.empty()) j["failure_excerpt"] = failure_excerpt;
  if (build_pid > 0) {
    j["build_pid"] = build_pid;
    j["build_start_ticks"] = build_start_ticks;
  }
  if (answer) j["answer"] = answer->to_json();
  return j;
}

Result<JournalEntry> JournalEntry::from_json(const json& j) {
  JournalEntry e;
  JsonReader r(j, "journal entry");
  json lease_json, answer_json;
  std::string stage;
  r.opt("lease", lease_json);
  r.req("orchestrator", e.orchestrator);
  r.req("stage", stage);
  r.opt("started_unix", e.started_unix);
  r.opt("log_file", e.log_file);
  r.opt("binary", e.binary);
  r.opt("sha256", e.sha256);
  r.opt("size", e.size);
  r.opt("duration_s", e.duration_s);
  r.opt("max_rss_mb", e.max_rss_mb);
  r.opt("exit_code", e.exit_code);
  r.opt("failure_class", e.failure_class);
  r.opt("log_uploaded", e.log_uploaded);
  r.opt("upload_rounds", e.upload_rounds);
  r.opt("failure_excerpt", e.failure_excerpt);
  r.opt("build_pid", e.build_pid);
  int64_t start_ticks = 0;
  r.opt("build_start_ticks", start_ticks);
  r.opt("answer", answer_json);
  if (auto st = r.status(); !st) return st.error();
  if (!lease_json.is_object()) return make_error(ErrorKind::invalid, "journal entry: missing lease");
  auto lease = WorkLease::from_json(lease_json);
  if (!lease) return lease.error();
  e.lease = std::move(*lease);
  auto parsed_stage = parse_stage(stage);
  if (!parsed_stage) return parsed_stage.error();
  e.stage = *parsed_stage;
  e.build_start_ticks = start_ticks > 0 ? static_cast<uint64_t>(start_ticks) : 0;
  if (answer_json.is_object()) {
    auto answer = CompleteResponse::from_json(answer_json);
    if (!answer) return answer.error();
    e.answer = std::move(*answer);
  }
  if (!valid_lease_id(e.lease.lease_id)) return make_error(ErrorKind::invalid, "journal entry: bad lease id");
  return e;
}

bool valid_lease_id(std::string_view id) {
  if (id.empty() || id.size() > 128 || id[0] == '.' || id[0] == '-') return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
  });
}

Journal::Journal(fs::path dir) : m_dir(std::move(dir)) {}

Status Journal::open() {
  std::error_code ec;
  fs::create_directories(m_dir, ec);
  if (ec) return make_error(ErrorKind::io, "cannot create " + m_dir.string() + ": " + ec.message());
  return {};
}

fs::path Journal::path_for(const std::string& lease_id) const { return m_dir / (lease_id + ".json"); }

Status Journal::save(const JournalEntry& entry) {
  if (!valid_lease_id(entry.lease.lease_id))
    return make_error(ErrorKind::invalid, "unsafe lease id '" + entry.lease.lease_id + "'");
  return write_file_durably(path_for(entry.lease.lease_id), entry.to_json().dump(2) + "\n");
}

Result<JournalEntry> Journal::load(const std::string& lease_id) const {
  if (!valid_lease_id(lease_id)) return make_error(ErrorKind::invalid, "unsafe lease id '" + lease_id + "'");
  auto text = read_whole_file(path_for(lease_id));
  if (!text) return text.error();
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return make_error(ErrorKind::invalid, path_for(lease_id).string() + " is not JSON");
  return JournalEntry::from_json(j);
}

std::vector<JournalEntry> Journal::load_all(std::vector<std::string>* problems) const {
  std::vector<JournalEntry> entries;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(m_dir, ec)) {
    const fs::path& p = item.path();
    if (p.extension() != ".json" || p.filename().string()[0] == '.') continue;
    auto entry = load(p.stem().string());
    if (entry && entry->lease.lease_id == p.stem().string()) {
      entries.push_back(std::move(*entry));
      continue;
    }
    // Kept aside rather than deleted: it may name a binary someone has to look at.
    std::error_code rename_ec;
    fs::rename(p, fs::path(p).replace_extension(".bad"), rename_ec);
    if (problems)
      problems->push_back(p.string() + ": " + (entry ? std::string("lease id does not match the name") : entry.error().message));
  }
  std::sort(entries.begin(), entries.end(), [](const JournalEntry& a, const JournalEntry& b) {
    return a.started_unix != b.started_unix ? a.started_unix < b.started_unix : a.lease.lease_id < b.lease.lease_id;
  });
  return entries;
}

Status Journal::remove(const std::string& lease_id) {
  if (!valid_lease_id(lease_id)) return make_error(ErrorKind::invalid, "unsafe lease id '" + lease_id + "'");
  std::error_code ec;
  fs::remove(path_for(lease_id), ec);
  if (ec) return make_error(ErrorKind::io, "cannot remove " + path_for(lease_id).string() + ": " + ec.message());
  return fsync_directory(m_dir);
}

Status Journal::keep(const std::string& lease_id) {
  if (!valid_lease_id(lease_id)) return make_error(ErrorKind::invalid, "unsafe lease id '" + lease_id + "'");
  std::error_code ec;
  fs::rename(path_for(lease_id), m_dir / (lease_id + ".kept"), ec);
  if (ec) return make_error(ErrorKind::io, "cannot set aside " + path_for(lease_id).string() + ": " + ec.message());
  return fsync_directory(m_dir);
}

}  // namespace swarm::drone
