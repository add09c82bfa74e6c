#pragma once
// Crypto helpers over OpenSSL 3 EVP: SHA-256, constant-time compare, random tokens, base64url and
// Ed25519 keys. OpenSSL types stay out of this header (forward-declared) so callers need not include it.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

struct evp_md_ctx_st;
struct evp_pkey_st;

namespace swarm {

/// Lower-case hex of arbitrary bytes.
std::string to_hex(std::string_view bytes);

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

/// Lower-case hex SHA-256 of a file's content, read in 1 MiB chunks; not_found or io on failure.
Result<std::string> sha256_file_hex(const std::filesystem::path& path);

/// Streaming SHA-256; finish_hex() returns the digest and resets the hasher for reuse.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  /// Feeds `size` bytes at `data` into the digest.
  void update(const void* data, std::size_t size);
  /// Feeds the bytes of `data` into the digest.
  void update(std::string_view data) { update(data.data(), data.size()); }
  /// Returns the lower-case hex digest of everything fed since construction or the last finish.
  std::string finish_hex();

 private:
  evp_md_ctx_st* m_ctx = nullptr;
};

/// True when a and b hold the same bytes; time depends on the length only (length mismatch: false).
bool constant_time_equal(std::string_view a, std::string_view b);

/// Hex of `bytes` random bytes from the OpenSSL CSPRNG (throws std::runtime_error if it fails).
std::string random_token(std::size_t bytes = 32);

/// Base64url (RFC 4648 section 5) without padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url; invalid on any other character, '=' padding, bad length or
/// non-zero trailing bits (so each byte string has exactly one accepted encoding).
Result<std::string> base64url_decode(std::string_view text);

/// An Ed25519 key pair or public key; copies share the immutable EVP_PKEY (reference counted).
class Ed25519Key {
 public:
  /// An empty key: verify() is false, sign() and public_pem() throw std::logic_error.
  Ed25519Key() = default;
  ~Ed25519Key();
  Ed25519Key(const Ed25519Key& other);
  Ed25519Key& operator=(const Ed25519Key& other);
  Ed25519Key(Ed25519Key&& other) noexcept;
  Ed25519Key& operator=(Ed25519Key&& other) noexcept;

  /// A fresh key pair from the OpenSSL CSPRNG.
  static Result<Ed25519Key> generate();
  /// Reads an unencrypted PKCS#8 PEM private key; not_found, io, or invalid (not PEM, not Ed25519).
  static Result<Ed25519Key> load_private_pem(const std::filesystem::path& path);
  /// Parses a PEM public key (SubjectPublicKeyInfo); the result can verify but not sign.
  static Result<Ed25519Key> load_public_pem(std::string_view pem);

  /// Writes the private key as PEM, atomically (temp file + rename), mode 0600; invalid without one.
  Status save_private_pem(const std::filesystem::path& path) const;
  /// The public half as PEM (what GET /api/v1/pubkey serves).
  std::string public_pem() const;
  /// The 64-byte raw Ed25519 signature of `message`; throws std::logic_error without a private key.
  std::string sign(std::string_view message) const;
  /// True when `signature` is a valid signature of `message` under this key.
  bool verify(std::string_view message, std::string_view signature) const;

  bool empty() const { return m_pkey == nullptr; }
  bool has_private() const { return m_has_private; }

 private:
  Ed25519Key(evp_pkey_st* pkey, bool has_private) : m_pkey(pkey), m_has_private(has_private) {}
  evp_pkey_st* m_pkey = nullptr;
  bool m_has_private = false;
};

}  // namespace swarm
