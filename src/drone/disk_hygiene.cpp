#include "drone/disk_hygiene.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <vector>

namespace swarm::drone {

namespace fs = std::filesystem;

int prune_old_files(const fs::path& dir, int64_t max_age_s, const Clock& clock, const std::set<fs::path>& keep) {
  const int64_t cutoff = clock.now_unix() - max_age_s;
  std::vector<fs::path> old_files, dirs;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      dirs.push_back(it->path());
    } else if (st.st_mtime < cutoff && !keep.count(it->path())) {
      old_files.push_back(it->path());
    }
  }
  int removed = 0;
  for (const auto& p : old_files)
    if (fs::remove(p, ec)) ++removed;
  // Deepest first, so a parent is looked at after its children went.
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) { return a.string() > b.string(); });
  for (const auto& d : dirs)
    if (fs::is_empty(d, ec) && !ec) fs::remove(d, ec);
  return removed;
}

}  // namespace swarm::drone
