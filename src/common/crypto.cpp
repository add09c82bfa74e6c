#include "common/crypto.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

namespace swarm {

namespace {

constexpr std::size_t kFileBufferSize = 1 << 20;
constexpr std::size_t kMaxPemSize = 64 * 1024;
constexpr std::size_t kEd25519SignatureSize = 64;

// Fetched once: the implicit fetch behind EVP_sha256() costs a lookup on every init.
// Deliberately never freed, so no destructor races OpenSSL's own atexit cleanup.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("OpenSSL has no SHA256 implementation");
  return md;
}

// Drains OpenSSL's thread-local error queue into text so later calls do not see stale errors.
std::string openssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// Refuses to prompt on the terminal for a passphrase: keys here are never encrypted.
int no_password(char*, int, int, void*) { return -1; }

Error errno_error(const std::string& what, const std::filesystem::path& path, int err) {
  return make_error(err == ENOENT ? ErrorKind::not_found : ErrorKind::io,
                    what + " " + path.string() + ": " + std::strerror(err));
}

// Reads a small file whole (keys); refuses anything larger than `limit`.
Result<std::string> read_small_file(const std::filesystem::path& path, std::size_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open", path, errno);
  std::string data;
  std::array<char, 4096> buf{};
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return errno_error("cannot read", path, err);
    }
    if (n == 0) break;
    data.append(buf.data(), static_cast<std::size_t>(n));
    if (data.size() > limit) {
      ::close(fd);
      return make_error(ErrorKind::invalid, path.string() + " is larger than " + std::to_string(limit) + " bytes");
    }
  }
  ::close(fd);
  return data;
}

Result<EVP_PKEY*> check_ed25519(EVP_PKEY* pkey, const std::string& source) {
  if (pkey == nullptr) return make_error(ErrorKind::invalid, source + " is not a PEM key: " + openssl_error());
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return make_error(ErrorKind::invalid, source + " is not an Ed25519 key");
  }
  return pkey;
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0x0f];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, sha256_md(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed: " + openssl_error());
  return to_hex(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new()) {
  if (m_ctx == nullptr || EVP_DigestInit_ex(m_ctx, sha256_md(), nullptr) != 1) {
    EVP_MD_CTX_free(m_ctx);
    throw std::runtime_error("cannot initialise SHA-256: " + openssl_error());
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(m_ctx); }

Sha256::Sha256(Sha256&& other) noexcept : m_ctx(std::exchange(other.m_ctx, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(m_ctx);
    m_ctx = std::exchange(other.m_ctx, nullptr);
  }
  return *this;
}

void Sha256::update(const void* data, std::size_t size) {
  if (m_ctx == nullptr) throw std::logic_error("Sha256 used after move");
  if (EVP_DigestUpdate(m_ctx, data, size) != 1) throw std::runtime_error("EVP_DigestUpdate failed");
}

std::string Sha256::finish_hex() {
  if (m_ctx == nullptr) throw std::logic_error("Sha256 used after move");
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(m_ctx, md.data(), &len) != 1 || EVP_DigestInit_ex(m_ctx, sha256_md(), nullptr) != 1)
    throw std::runtime_error("SHA-256 finish failed: " + openssl_error());
  return to_hex(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

Result<std::string> sha256_file_hex(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open", path, errno);
  // Tells the kernel to read ahead aggressively; the file is read once, front to back.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  auto buf = std::make_unique<char[]>(kFileBufferSize);
  Sha256 hasher;
  while (true) {
    ssize_t n = ::read(fd, buf.get(), kFileBufferSize);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return errno_error("cannot read", path, err);
    }
    if (n == 0) break;
    hasher.update(buf.get(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return hasher.finish_hex();
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (bytes > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("RAND_bytes failed: " + openssl_error());
  return to_hex(raw);
}

namespace {
constexpr char kB64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kB64Alphabet[(v >> 18) & 63];
    out += kB64Alphabet[(v >> 12) & 63];
    out += kB64Alphabet[(v >> 6) & 63];
    out += kB64Alphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = byte(i) << 16;
    out += kB64Alphabet[(v >> 18) & 63];
    out += kB64Alphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kB64Alphabet[(v >> 18) & 63];
    out += kB64Alphabet[(v >> 12) & 63];
    out += kB64Alphabet[(v >> 6) & 63];
  }
  return out;
}

Result<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return make_error(ErrorKind::invalid, "base64url: impossible length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = b64_value(c);
    if (v < 0) return make_error(ErrorKind::invalid, "base64url: invalid character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, otherwise two texts would decode to the same bytes.
  if ((acc & ((1u << bits) - 1)) != 0) return make_error(ErrorKind::invalid, "base64url: non-zero trailing bits");
  return out;
}

Ed25519Key::~Ed25519Key() { EVP_PKEY_free(m_pkey); }

Ed25519Key::Ed25519Key(const Ed25519Key& other) : m_pkey(other.m_pkey), m_has_private(other.m_has_private) {
  if (m_pkey != nullptr) EVP_PKEY_up_ref(m_pkey);
}

Ed25519Key& Ed25519Key::operator=(const Ed25519Key& other) {
  if (this != &other) {
    if (other.m_pkey != nullptr) EVP_PKEY_up_ref(other.m_pkey);
    EVP_PKEY_free(m_pkey);
    m_pkey = other.m_pkey;
    m_has_private = other.m_has_private;
  }
  return *this;
}

Ed25519Key::Ed25519Key(Ed25519Key&& other) noexcept
    : m_pkey(std::exchange(other.m_pkey, nullptr)), m_has_private(std::exchange(other.m_has_private, false)) {}

Ed25519Key& Ed25519Key::operator=(Ed25519Key&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(m_pkey);
    m_pkey = std::exchange(other.m_pkey, nullptr);
    m_has_private = std::exchange(other.m_has_private, false);
  }
  return *this;
}

Result<Ed25519Key> Ed25519Key::generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return make_error(ErrorKind::internal, "Ed25519 key generation failed: " + openssl_error());
  return Ed25519Key(pkey, true);
}

Result<Ed25519Key> Ed25519Key::load_private_pem(const std::filesystem::path& path) {
  auto pem = read_small_file(path, kMaxPemSize);
  if (!pem) return pem.error();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  if (!bio) return make_error(ErrorKind::internal, "BIO_new_mem_buf failed");
  auto pkey = check_ed25519(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr), path.string());
  if (!pkey) return pkey.error();
  return Ed25519Key(*pkey, true);
}

Result<Ed25519Key> Ed25519Key::load_public_pem(std::string_view pem) {
  if (pem.size() > kMaxPemSize) return make_error(ErrorKind::invalid, "public key PEM is too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error(ErrorKind::internal, "BIO_new_mem_buf failed");
  auto pkey = check_ed25519(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr), "public key");
  if (!pkey) return pkey.error();
  return Ed25519Key(*pkey, false);
}

Status Ed25519Key::save_private_pem(const std::filesystem::path& path) const {
  if (!m_has_private) return make_error(ErrorKind::invalid, "no private key to save to " + path.string());
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), m_pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return make_error(ErrorKind::internal, "cannot encode private key: " + openssl_error());
  std::string pem = bio_contents(bio.get());

  // O_EXCL on a random name: nobody can pre-create the temp file with looser permissions.
  std::filesystem::path tmp = path;
  tmp += ".tmp." + random_token(6);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return errno_error("cannot create", tmp, errno);
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return errno_error(what, tmp, err);
  };
  if (::fchmod(fd, 0600) != 0) return fail("cannot chmod");
  std::size_t done = 0;
  while (done < pem.size()) {
    ssize_t n = ::write(fd, pem.data() + done, pem.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_error("cannot close", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_error("cannot rename into", path, err);
  }
  return {};
}

std::string Ed25519Key::public_pem() const {
  if (m_pkey == nullptr) throw std::logic_error("public_pem on an empty key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), m_pkey) != 1)
    throw std::runtime_error("cannot encode public key: " + openssl_error());
  return bio_contents(bio.get());
}

std::string Ed25519Key::sign(std::string_view message) const {
  if (!m_has_private) throw std::logic_error("sign with a key without a private half");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SignatureSize, '\0');
  std::size_t len = sig.size();
  // Ed25519 is a one-shot scheme: no digest is named, and EVP_DigestSign takes the whole message.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, m_pkey) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    throw std::runtime_error("Ed25519 signing failed: " + openssl_error());
  sig.resize(len);
  return sig;
}

bool Ed25519Key::verify(std::string_view message, std::string_view signature) const {
  if (m_pkey == nullptr || signature.size() != kEd25519SignatureSize) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, m_pkey) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace swarm
