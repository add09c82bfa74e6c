#pragma once
// The admin token: where it comes from and how a request proves it holds it.

#include <filesystem>
#include <string>

#include "common/http_types.hpp"
#include "common/result.hpp"

namespace swarm::gateway {

/// Reads the token from `path` (first line, trimmed), or creates the file (mode 0600) holding a fresh
/// random token when it does not exist; invalid when the file is empty.
Result<std::string> load_or_create_admin_token(const std::filesystem::path& path);

/// True when `request` carries `Authorization: Bearer <admin_token>`; compared in constant time.
bool holds_admin_token(const HttpRequest& request, const std::string& admin_token);

/// The 401 answer for a call without the admin token.
HttpResponse admin_required();

}  // namespace swarm::gateway
