#pragma once
// Binhost: PKGDIR and its `Packages` index, built from the database only (design.md "Binhost",
// portage-formats.md), rewritten atomically in batches by a publisher thread, and served over HTTP.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/http_server.hpp"
#include "common/result.hpp"
#include "orchestrator/store.hpp"

namespace swarm::orch {

/// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate) for unix seconds.
std::string format_http_date(int64_t unix_s);
/// Parses an HTTP date (IMF-fixdate, RFC 850 or asctime form); nullopt when it is none of them.
std::optional<int64_t> parse_http_date(std::string_view text);

/// The text fields the index needs from a package's metadata (kept in the database), and only those:
/// binary members such as `environment.bz2` and any value that is not valid UTF-8 text stay in the
/// package and never reach JSON.
nlohmann::json index_metadata(const std::map<std::string, std::string>& metadata);

class Binhost {
 public:
  /// Portage sends If-Modified-Since as its cached TIMESTAMP plus this tolerance.
  static constexpr int64_t kClientToleranceS = 5;

  /// Loads the TIMESTAMP and digests of an index already in PKGDIR (a restart), if there is one.
  Binhost(Store& store, std::filesystem::path pkgdir, std::shared_ptr<Clock> clock,
          std::chrono::milliseconds batch_delay = std::chrono::milliseconds(300),
          nlohmann::json header = nlohmann::json::object());
  ~Binhost();
  Binhost(const Binhost&) = delete;
  Binhost& operator=(const Binhost&) = delete;

  /// Start-up, before serving: forgets recorded binaries whose file is missing (or has the wrong
  /// size), moves unrecorded *.gpkg.tar/*.xpak under CATEGORY/PN/ and a stale Packages.gz to
  /// pkgdir/.orphaned/ (never deletes them), removes *.tmp files from `incoming` (when given),
  /// then writes the index; returns and logs a summary of what was fixed.
  nlohmann::json reconcile(const std::filesystem::path& incoming = {});

  /// Starts the publisher thread: a wake() is followed, batch_delay later, by one index write
  /// covering every acceptance made meanwhile.
  void start();
  /// Stops the thread after writing the index once more if a wake() is pending. Idempotent.
  void stop();
  /// Asks for an index write (after an acceptance); cheap, never blocks on I/O.
  void wake();

  /// Writes the index now, even if nothing changed, and marks what it lists published.
  Status publish_now();
  /// Writes the index now if a wake() is pending (the batch it waits for is taken early); ok otherwise.
  Status publish_pending();

  /// Routes GET (and HEAD) /binhost/Packages and /binhost/{path...}: regular, non-hidden files under PKGDIR
  /// of any size, streamed, with single byte ranges (docs/BINHOST.md lists what Portage asks); /binhost is a 404.
  void add_routes(HttpServer& server);

  /// How many times the index was written by this object.
  int64_t index_writes() const { return m_writes.load(); }
  /// TIMESTAMP of the current index (0 when none).
  int64_t timestamp() const { return m_timestamp.load(); }

 private:
  struct Digests {
    int64_t size = 0;
    int64_t mtime = 0;
    std::string md5;
    std::string sha1;
  };

  Status publish(bool force);
  Status write_index(const std::string& text);
  Result<Digests> digests_for(const std::string& path, int64_t size, int64_t mtime);
  void load_existing_index();
  void run();
  HttpResponse serve_index(const HttpRequest& req) const;
  HttpResponse serve_file(const HttpRequest& req) const;

  Store& m_store;
  std::filesystem::path m_pkgdir;
  std::shared_ptr<Clock> m_clock;
  std::chrono::milliseconds m_batch_delay;
  nlohmann::json m_header;

  std::mutex m_publish_mutex;                // one writer of the index at a time; guards the members below it
  std::map<std::string, Digests> m_digests;  // by PATH: MD5/SHA1 computed once per file
  std::vector<int64_t> m_last_listed;        // binary ids of the last index: unchanged -> no rewrite
  std::map<std::string, bool> m_warned;      // missing files already logged

  mutable std::mutex m_index_mutex;
  std::shared_ptr<const std::string> m_index_text;  // what GET /binhost/Packages serves
  std::atomic<int64_t> m_timestamp{0};
  std::atomic<int64_t> m_writes{0};

  std::mutex m_wake_mutex;
  std::condition_variable m_wake_cv;
  bool m_pending = false;
  bool m_stopping = false;
  std::thread m_thread;
};

}  // namespace swarm::orch
