#include "common/packages_index.hpp"

#include <algorithm>
#include <charconv>

namespace swarm {

namespace {

bool is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

std::optional<int64_t> to_int(const PackagesEntry& entry, const char* key) {
  auto it = entry.find(key);
  if (it == entry.end()) return std::nullopt;
  int64_t v = 0;
  const std::string& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view get(const PackagesEntry& entry, const char* key) {
  auto it = entry.find(key);
  return it == entry.end() ? std::string_view() : std::string_view(it->second);
}

Error line_error(std::size_t line_no, const std::string& what) {
  return make_error(ErrorKind::invalid, "Packages line " + std::to_string(line_no) + ": " + what);
}

void append_block(std::string& out, const std::map<std::string, std::string>& block) {
  for (const auto& [key, value] : block) {
    if (value.empty()) continue;
    out += key;
    out += ": ";
    out += value;
    out += '\n';
  }
  out += '\n';
}

}  // namespace

Result<PackagesIndex> parse_packages(std::string_view text) {
  PackagesIndex index;
  std::map<std::string, std::string> block;
  bool have_header = false;
  std::size_t block_start = 0;
  std::size_t line_no = 0;

  auto finish_block = [&]() -> Status {
    if (block.empty()) return {};
    if (!have_header) {
      index.header = std::move(block);
      have_header = true;
    } else {
      if (block.find("CPV") == block.end()) return line_error(block_start, "package entry has no CPV");
      index.packages.push_back(std::move(block));
    }
    block.clear();
    return {};
  };

  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      if (auto s = finish_block(); !s.ok()) return s.error();
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), is_key_char)) {
      return line_error(line_no, "expected 'KEY: value', got '" + std::string(line.substr(0, 80)) + "'");
    }
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() != ' ') {
      return line_error(line_no, "expected a space after the colon in '" + std::string(line.substr(0, 80)) + "'");
    }
    if (!value.empty()) value.remove_prefix(1);
    if (block.empty()) block_start = line_no;
    auto [it, inserted] = block.emplace(std::string(line.substr(0, colon)), std::string(value));
    if (!inserted) return line_error(line_no, "key " + it->first + " repeated in one block");
  }
  if (auto s = finish_block(); !s.ok()) return s.error();
  if (!have_header) return make_error(ErrorKind::invalid, "Packages index is empty (no header block)");
  return index;
}

std::string format_packages(const PackagesIndex& index) {
  std::vector<const PackagesEntry*> sorted;
  sorted.reserve(index.packages.size());
  for (const auto& entry : index.packages) sorted.push_back(&entry);
  std::stable_sort(sorted.begin(), sorted.end(), [](const PackagesEntry* a, const PackagesEntry* b) {
    auto cpv_a = get(*a, "CPV");
    auto cpv_b = get(*b, "CPV");
    if (cpv_a != cpv_b) return cpv_a < cpv_b;
    return to_int(*a, "BUILD_ID").value_or(0) < to_int(*b, "BUILD_ID").value_or(0);
  });

  auto header = index.header;
  header["PACKAGES"] = std::to_string(index.packages.size());
  std::string out;
  append_block(out, header);
  for (const auto* entry : sorted) append_block(out, *entry);
  return out;
}

std::optional<PackagesEntry> find_built_entry(const PackagesIndex& index, std::string_view cpv,
                                              int64_t not_before_unix) {
  const PackagesEntry* best = nullptr;
  int64_t best_id = 0;
  for (const auto& entry : index.packages) {
    if (get(entry, "CPV") != cpv) continue;
    auto built = to_int(entry, "BUILD_TIME");
    if (!built || *built < not_before_unix) continue;
    int64_t id = to_int(entry, "BUILD_ID").value_or(0);
    if (!best || id > best_id) {
      best = &entry;
      best_id = id;
    }
  }
  if (!best) return std::nullopt;
  return *best;
}

Status remove_entry(PackagesIndex& index, std::string_view path) {
  auto it = std::find_if(index.packages.begin(), index.packages.end(),
                         [&](const PackagesEntry& e) { return get(e, "PATH") == path; });
  if (it == index.packages.end()) {
    return make_error(ErrorKind::not_found, "no Packages entry with PATH " + std::string(path));
  }
  index.packages.erase(it);
  index.header["PACKAGES"] = std::to_string(index.packages.size());
  return {};
}

}  // namespace swarm
