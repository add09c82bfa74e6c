#include "common/json_fields.hpp"

namespace swarm {

JsonReader::JsonReader(const nlohmann::json& j, std::string what) : m_j(j), m_what(std::move(what)) {
  if (!j.is_object()) fail(m_what + " must be a JSON object");
}

void JsonReader::fail(const std::string& msg) {
  if (!m_error) m_error = make_error(ErrorKind::invalid, msg);
}

const nlohmann::json* JsonReader::find(const char* key, bool required) {
  m_seen.insert(key);
  if (m_error || !m_j.is_object()) return nullptr;
  auto it = m_j.find(key);
  if (it == m_j.end() || it->is_null()) {
    if (required) fail(m_what + ": missing field '" + key + "'");
    return nullptr;
  }
  return &*it;
}

#define SWARM_TYPED(cond, type_name)                                                      \
  if (!(cond)) {                                                                          \
    fail(m_what + ": field '" + key + "' must be " + (type_name));                         \
    return;                                                                               \
  }

void JsonReader::req(const char* key, std::string& out) {
  auto* v = find(key, true);
  if (!v) return;
  SWARM_TYPED(v->is_string(), "a string");
  out = v->get<std::string>();
}
void JsonReader::req(const char* key, int64_t& out) {
  auto* v = find(key, true);
  if (!v) return;
  SWARM_TYPED(v->is_number_integer(), "an integer");
  out = v->get<int64_t>();
}
void JsonReader::req(const char* key, bool& out) {
  auto* v = find(key, true);
  if (!v) return;
  SWARM_TYPED(v->is_boolean(), "true or false");
  out = v->get<bool>();
}
void JsonReader::opt(const char* key, std::string& out) {
  auto* v = find(key, false);
  if (!v) return;
  SWARM_TYPED(v->is_string(), "a string");
  out = v->get<std::string>();
}
void JsonReader::opt(const char* key, int64_t& out) {
  auto* v = find(key, false);
  if (!v) return;
  SWARM_TYPED(v->is_number_integer(), "an integer");
  out = v->get<int64_t>();
}
void JsonReader::opt(const char* key, int& out) {
  auto* v = find(key, false);
  if (!v) return;
  SWARM_TYPED(v->is_number_integer() && v->get<int64_t>() >= INT32_MIN && v->get<int64_t>() <= INT32_MAX, "an integer");
  out = v->get<int>();
}
void JsonReader::opt(const char* key, double& out) {
  auto* v = find(key, false);
  if (!v) return;
  SWARM_TYPED(v->is_number(), "a number");
  out = v->get<double>();
}
void JsonReader::opt(const char* key, bool& out) {
  auto* v = find(key, false);
  if (!v) return;
  SWARM_TYPED(v->is_boolean(), "true or false");
  out = v->get<bool>();
}
void JsonReader::opt(const char* key, std::optional<std::string>& out) {
  auto* v = find(key, false);
  if (!v) return;
  SWARM_TYPED(v->is_string(), "a string");
  out = v->get<std::string>();
}
void JsonReader::opt(const char* key, std::optional<int64_t>& out) {
  auto* v = find(key, false);
  if (!v) return;
  SWARM_TYPED(v->is_number_integer(), "an integer");
  out = v->get<int64_t>();
}
void JsonReader::opt(const char* key, std::vector<std::string>& out) {
  auto* v = find(key, false);
  if (!v) return;
  SWARM_TYPED(v->is_array(), "an array of strings");
  out.clear();
  for (const auto& e : *v) {
    SWARM_TYPED(e.is_string(), "an array of strings");
    out.push_back(e.get<std::string>());
  }
}
void JsonReader::opt(const char* key, nlohmann::json& out) {
  auto* v = find(key, false);
  if (v) out = *v;
}

#undef SWARM_TYPED

void JsonReader::no_unknown() {
  if (m_error || !m_j.is_object()) return;
  for (auto it = m_j.begin(); it != m_j.end(); ++it) {
    if (!m_seen.count(it.key())) return fail(m_what + ": unknown field '" + it.key() + "'");
  }
}

Status JsonReader::status() const {
  if (m_error) return *m_error;
  return {};
}

}  // namespace swarm
