#pragma once
// Reading fields of a JSON object with clear errors: a missing, mistyped or unknown field becomes an
// `invalid` Error naming the field, never an exception escaping a handler.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace swarm {

class JsonReader {
 public:
  /// `what` names the message in errors ("register request").
  JsonReader(const nlohmann::json& j, std::string what);

  void req(const char* key, std::string& out);
  void req(const char* key, int64_t& out);
  void req(const char* key, bool& out);
  void opt(const char* key, std::string& out);
  void opt(const char* key, int64_t& out);
  void opt(const char* key, int& out);
  void opt(const char* key, double& out);
  void opt(const char* key, bool& out);
  void opt(const char* key, std::optional<std::string>& out);
  void opt(const char* key, std::optional<int64_t>& out);
  void opt(const char* key, std::vector<std::string>& out);
  void opt(const char* key, nlohmann::json& out);
  /// Rejects keys not read so far (call last).
  void no_unknown();
  /// The first error met, if any.
  Status status() const;

 private:
  const nlohmann::json* find(const char* key, bool required);
  void fail(const std::string& msg);
  const nlohmann::json& m_j;
  std::string m_what;
  std::set<std::string> m_seen;
  std::optional<Error> m_error;
};

/// Parses text as a JSON value of struct T (T::from_json(const json&) -> Result<T>).
template <typename T>
Result<T> parse_message(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error(ErrorKind::invalid, "body is not valid JSON");
  return T::from_json(j);
}

}  // namespace swarm
