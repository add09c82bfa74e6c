#include "common/crypto.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>

#include "support/test_support.hpp"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

constexpr const char* kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbcSha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

std::string pattern_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7919 + i / 251) & 0xff);
  return s;
}

TEST(CryptoSha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), kEmptySha);
  EXPECT_EQ(sha256_hex("abc"), kAbcSha);
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(CryptoSha256, StreamingMatchesOneShotAndResets) {
  std::string data = pattern_bytes(100'003);
  Sha256 h;
  for (std::size_t i = 0; i < data.size(); i += 997) h.update(data.data() + i, std::min<std::size_t>(997, data.size() - i));
  EXPECT_EQ(h.finish_hex(), sha256_hex(data));
  // finish_hex starts over, so the hasher is reusable.
  h.update(std::string_view("abc"));
  EXPECT_EQ(h.finish_hex(), kAbcSha);
  EXPECT_EQ(h.finish_hex(), kEmptySha);
  Sha256 moved = std::move(h);
  moved.update("abc", 3);
  EXPECT_EQ(moved.finish_hex(), kAbcSha);
}

TEST(CryptoSha256, FileMatchesMemoryAcrossBufferBoundaries) {
  TempDir dir;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{1} << 20, (std::size_t{3} << 20) + 17}) {
    std::string data = pattern_bytes(size);
    test::write_file(dir / "f", data);
    auto got = sha256_file_hex(dir / "f");
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(*got, sha256_hex(data)) << "size " << size;
  }
}

TEST(CryptoSha256, FileAgreesWithSha256sum) {
  TempDir dir;
  test::write_file(dir / "f", pattern_bytes(2'500'000));
  ASSERT_EQ(test::run_shell("sha256sum " + (dir / "f").string() + " | cut -c1-64 > " + (dir / "sum").string()), 0);
  auto got = sha256_file_hex(dir / "f");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got + "\n", test::read_file(dir / "sum"));
}

TEST(CryptoSha256, FileErrors) {
  TempDir dir;
  auto missing = sha256_file_hex(dir / "missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
  auto directory = sha256_file_hex(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().kind, ErrorKind::io);
}

TEST(CryptoCompare, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret-token", "secret-token"));
  EXPECT_FALSE(constant_time_equal("secret-token", "secret-tokem"));
  EXPECT_FALSE(constant_time_equal("secret-token", "secret-token-longer"));
  EXPECT_FALSE(constant_time_equal("secret", ""));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(CryptoRandom, TokensAreHexOfRequestedLengthAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = random_token();
    ASSERT_EQ(t.size(), 64u);
    EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(random_token(16).size(), 32u);
  EXPECT_EQ(random_token(0), "");
}

TEST(CryptoBase64Url, Rfc4648VectorsWithoutPadding) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},          {"f", "Zg"},        {"fo", "Zm8"},
                                                         {"foo", "Zm9v"},   {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(plain), encoded);
    auto back = base64url_decode(encoded);
    ASSERT_TRUE(back.ok()) << encoded;
    EXPECT_EQ(*back, plain);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(CryptoBase64Url, RoundTripsEveryByteAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= all.size(); len += 7) {
    std::string part = all.substr(all.size() - len);
    std::string enc = base64url_encode(part);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec.ok());
    EXPECT_EQ(*dec, part);
  }
}

TEST(CryptoBase64Url, RejectsBadInput) {
  for (const char* bad : {"Zm9v=", "Zg==", "Zm+v", "Zm/v", "Zm9 v", "Zm9v\n", "Z", "Zm9vY", "\xc3\xa9", "Zm9v!"}) {
    auto r = base64url_decode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  }
  // "Zh" and "Zm9vYmF" differ from canonical encodings only in trailing bits.
  EXPECT_FALSE(base64url_decode("Zh").ok());
  EXPECT_FALSE(base64url_decode("Zm9vYmF").ok());
  EXPECT_TRUE(base64url_decode("Zm9vYmE").ok());
}

TEST(CryptoEd25519, SignAndVerify) {
  auto key = Ed25519Key::generate();
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_TRUE(key->has_private());
  std::string sig = key->sign("hello");
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(key->verify("hello", sig));
  EXPECT_FALSE(key->verify("hellO", sig));
  EXPECT_FALSE(key->verify("", sig));
  std::string flipped = sig;
  flipped[10] ^= 0x01;
  EXPECT_FALSE(key->verify("hello", flipped));
  EXPECT_FALSE(key->verify("hello", sig.substr(0, 63)));
  EXPECT_FALSE(key->verify("hello", sig + "x"));
  EXPECT_FALSE(key->verify("hello", ""));
  EXPECT_TRUE(key->verify("", key->sign("")));

  auto other = Ed25519Key::generate();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->verify("hello", sig));
  EXPECT_NE(other->public_pem(), key->public_pem());
}

TEST(CryptoEd25519, PublicOnlyKeyVerifiesButCannotSign) {
  auto key = Ed25519Key::generate();
  ASSERT_TRUE(key.ok());
  std::string pem = key->public_pem();
  EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  auto pub = Ed25519Key::load_public_pem(pem);
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  EXPECT_FALSE(pub->has_private());
  EXPECT_EQ(pub->public_pem(), pem);
  EXPECT_TRUE(pub->verify("msg", key->sign("msg")));
  EXPECT_THROW((void)pub->sign("msg"), std::logic_error);
  TempDir dir;
  auto saved = pub->save_private_pem(dir / "k.pem");
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.error().kind, ErrorKind::invalid);
  EXPECT_FALSE(fs::exists(dir / "k.pem"));
}

TEST(CryptoEd25519, LoadPublicPemRejectsGarbageAndOtherKeyTypes) {
  for (const char* bad : {"", "garbage", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}) {
    auto r = Ed25519Key::load_public_pem(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  }
  TempDir dir;
  ASSERT_EQ(test::run_shell("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
                            (dir / "ec.pem").string() + " 2>/dev/null && openssl pkey -in " +
                            (dir / "ec.pem").string() + " -pubout -out " + (dir / "ec.pub").string()),
            0);
  auto ec_pub = Ed25519Key::load_public_pem(test::read_file(dir / "ec.pub"));
  ASSERT_FALSE(ec_pub.ok());
  EXPECT_NE(ec_pub.error().message.find("not an Ed25519"), std::string::npos);
  auto ec_priv = Ed25519Key::load_private_pem(dir / "ec.pem");
  ASSERT_FALSE(ec_priv.ok());
  EXPECT_EQ(ec_priv.error().kind, ErrorKind::invalid);
}

TEST(CryptoEd25519, SaveLoadRoundTripWithMode0600) {
  TempDir dir;
  auto key = Ed25519Key::generate();
  ASSERT_TRUE(key.ok());
  fs::path path = dir / "gateway.key";
  test::write_file(path, "old contents");
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  ASSERT_TRUE(key->save_private_pem(path).ok());
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(test::read_file(path).rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  // No temporary file is left beside the key.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

  auto loaded = Ed25519Key::load_private_pem(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(loaded->has_private());
  EXPECT_EQ(loaded->public_pem(), key->public_pem());
  EXPECT_TRUE(key->verify("m", loaded->sign("m")));
  EXPECT_TRUE(loaded->verify("m", key->sign("m")));

  // The openssl CLI reads the same key and derives the same public key.
  ASSERT_EQ(test::run_shell("openssl pkey -in " + path.string() + " -pubout -out " + (dir / "pub.pem").string()), 0);
  EXPECT_EQ(test::read_file(dir / "pub.pem"), key->public_pem());
}

TEST(CryptoEd25519, LoadPrivatePemErrors) {
  TempDir dir;
  auto missing = Ed25519Key::load_private_pem(dir / "nope.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
  test::write_file(dir / "junk.pem", "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n");
  auto junk = Ed25519Key::load_private_pem(dir / "junk.pem");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().kind, ErrorKind::invalid);
  test::write_file(dir / "big.pem", std::string(100'000, 'A'));
  EXPECT_FALSE(Ed25519Key::load_private_pem(dir / "big.pem").ok());
  auto key = Ed25519Key::generate();
  ASSERT_TRUE(key.ok());
  test::write_file(dir / "pub.pem", key->public_pem());
  EXPECT_FALSE(Ed25519Key::load_private_pem(dir / "pub.pem").ok());
  auto save = key->save_private_pem(dir / "no-such-dir" / "k.pem");
  ASSERT_FALSE(save.ok());
  EXPECT_EQ(save.error().kind, ErrorKind::not_found);
}

TEST(CryptoEd25519, CopiesShareTheKeyAndEmptyKeyIsInert) {
  Ed25519Key copy;
  EXPECT_TRUE(copy.empty());
  EXPECT_FALSE(copy.verify("m", std::string(64, 'x')));
  EXPECT_THROW((void)copy.public_pem(), std::logic_error);
  EXPECT_THROW((void)copy.sign("m"), std::logic_error);
  std::string sig;
  {
    auto key = Ed25519Key::generate();
    ASSERT_TRUE(key.ok());
    copy = *key;
    Ed25519Key copy2(copy);
    sig = copy2.sign("m");
  }
  EXPECT_FALSE(copy.empty());
  EXPECT_TRUE(copy.verify("m", sig));
  Ed25519Key moved = std::move(copy);
  EXPECT_TRUE(moved.verify("m", sig));
  copy = moved;  // assigning back to a moved-from key is allowed
  EXPECT_TRUE(copy.verify("m", sig));
}

}  // namespace
}  // namespace swarm
