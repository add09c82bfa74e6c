// GpgSigner with a real gpg and throwaway keys: packages it signs pass the check Portage makes
// (gpg --verify --status-fd: GOODSIG and full or ultimate trust), tampering and untrusted keys fail,
// and a key rotation keeps the packages of both keys valid for a client that trusts both.
#include "orchestrator/signer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/gpkg.hpp"
#include "support/gpg_home.hpp"
#include "support/test_support.hpp"

namespace swarm::orch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

class SignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_a = server.generate_key("swarm A <a@example.invalid>");
    ASSERT_FALSE(key_a.empty());
    ASSERT_FALSE(client.generate_key("Portage Local Trust Key <portage@localhost>").empty());
  }

  Result<std::unique_ptr<GpgSigner>> open(const std::string& key, const fs::path& home = {}) {
    GpgSignerOptions o;
    o.gnupg_home = home.empty() ? server.dir() : home;
    o.key = key;
    o.work_dir = dir / "incoming";
    o.timeout = std::chrono::seconds(60);
    return GpgSigner::open(o, std::make_shared<PosixProcessRunner>());
  }

  // A package for app-misc/hello-1.0-r1 rewritten to BUILD_ID `build_id` and signed by `signer`.
  fs::path signed_package(PackageSigner& signer, int build_id) {
    fs::path in = dir / ("in-" + std::to_string(build_id) + ".gpkg.tar");
    EXPECT_EQ(test::run_shell("sh " + q(test::source_dir() / "tests/support/make-gpkg.sh") + " " + q(in) +
                              " app-misc hello-1.0-r1 1"),
              0);
    fs::path out = dir / ("hello-1.0-r1-" + std::to_string(build_id) + ".gpkg.tar");
    Status s = rewrite_gpkg(in, out, {{"BUILD_ID", std::to_string(build_id)}},
                            "hello-1.0-r1-" + std::to_string(build_id), &signer);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return out;
  }

  std::string member(const fs::path& package, const std::string& name) {
    std::string base = package.filename().string();
    base.resize(base.size() - std::string(".gpkg.tar").size());
    fs::path out = dir / "member.out";
    EXPECT_EQ(test::run_shell("tar -xOf " + q(package) + " " + q(base + "/" + name) + " > " + q(out)), 0) << name;
    return test::read_file(out);
  }

  // Portage's verification of every signature in the package, against the client's keyring.
  bool client_accepts(const fs::path& package) {
    for (const char* m : {"metadata.tar.zst", "image.tar.zst"}) {
      if (!client.portage_verify_detached(member(package, std::string(m) + ".sig"), member(package, m))) return false;
    }
    return client.portage_verify_clearsigned(member(package, "Manifest"));
  }

  test::TempDir dir;
  test::GpgHome server{dir / "server-gnupg"};
  test::GpgHome client{dir / "client-gnupg"};  // /etc/portage/gnupg with getuto's local trust key
  std::string key_a;
};

TEST_F(SignerTest, SignedPackageVerifiesAsPortageChecksIt) {
  auto signer = open(key_a);
  ASSERT_TRUE(signer.ok()) << signer.error().message;
  EXPECT_EQ((*signer)->fingerprint(), key_a);
  EXPECT_THAT((*signer)->public_keys(), HasSubstr("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
  struct stat st {};
  ASSERT_EQ(::stat(server.dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  fs::path package = signed_package(**signer, 5);
  auto info = read_gpkg(package);
  ASSERT_TRUE(info.ok()) << info.error().message;  // our reader accepts what we sign
  EXPECT_EQ(info->members, (std::vector<std::string>{"gpkg-1", "metadata.tar.zst", "metadata.tar.zst.sig",
                                                     "image.tar.zst", "image.tar.zst.sig", "Manifest"}));
  EXPECT_THAT(member(package, "Manifest"), HasSubstr("Hash: SHA512"));

  // A client that has not imported the key refuses; after import + lsign (client-config's steps) it accepts.
  EXPECT_FALSE(client_accepts(package));
  EXPECT_THAT(client.last_status(), HasSubstr("NO_PUBKEY"));
  ASSERT_TRUE(client.import_keys((*signer)->public_keys()));
  EXPECT_FALSE(client_accepts(package));  // known but not certified: Portage wants full trust
  ASSERT_TRUE(client.lsign(key_a));
  EXPECT_TRUE(client_accepts(package)) << client.last_status();
  EXPECT_THAT(client.last_status(), HasSubstr("TRUST_FULLY"));
  EXPECT_EQ(test::run_shell("ls " + q(dir / "incoming") + " | grep -q ."), 1) << "temp files left behind";
}

TEST_F(SignerTest, TamperedImageFailsItsSignature) {
  auto signer = open(key_a);
  ASSERT_TRUE(signer.ok()) << signer.error().message;
  fs::path package = signed_package(**signer, 2);
  ASSERT_TRUE(client.import_keys((*signer)->public_keys()) && client.lsign(key_a));
  std::string image = member(package, "image.tar.zst");
  std::string sig = member(package, "image.tar.zst.sig");
  ASSERT_TRUE(client.portage_verify_detached(sig, image)) << client.last_status();
  image[image.size() / 2] ^= 0x01;
  EXPECT_FALSE(client.portage_verify_detached(sig, image));
  EXPECT_THAT(client.last_status(), HasSubstr("BADSIG"));

  std::string manifest = member(package, "Manifest");
  std::size_t at = manifest.find(" SHA512 ") + 8;
  manifest[at] = manifest[at] == '0' ? '1' : '0';
  EXPECT_FALSE(client.portage_verify_clearsigned(manifest));
}

// docs/SIGNING.md, key rotation: the new key is published next to the old one, clients import it,
// the orchestrator switches; packages of both keys stay valid while the client trusts both.
TEST_F(SignerTest, KeyRotationKeepsOldPackagesValid) {
  std::string key_b = server.generate_key("swarm B <b@example.invalid>");
  ASSERT_FALSE(key_b.empty());
  auto signer_a = open(key_a);
  ASSERT_TRUE(signer_a.ok()) << signer_a.error().message;
  fs::path old_package = signed_package(**signer_a, 1);

  // Both keys are served while A still signs, so clients can trust B before the switch.
  ASSERT_TRUE(client.import_keys((*signer_a)->public_keys()));
  ASSERT_TRUE(client.lsign(key_a));
  ASSERT_TRUE(client.lsign(key_b));

  auto signer_b = open(key_b);
  ASSERT_TRUE(signer_b.ok()) << signer_b.error().message;
  EXPECT_EQ((*signer_b)->fingerprint(), key_b);
  fs::path new_package = signed_package(**signer_b, 2);
  EXPECT_TRUE(client_accepts(old_package)) << client.last_status();
  EXPECT_TRUE(client_accepts(new_package)) << client.last_status();

  // A key the client imported but never certified is not enough.
  test::GpgHome stranger_home{dir / "stranger-gnupg"};
  std::string key_c = stranger_home.generate_key("stranger <c@example.invalid>");
  ASSERT_FALSE(key_c.empty());
  auto signer_c = open(key_c, stranger_home.dir());
  ASSERT_TRUE(signer_c.ok()) << signer_c.error().message;
  fs::path foreign = signed_package(**signer_c, 3);
  ASSERT_TRUE(client.import_keys((*signer_c)->public_keys()));
  EXPECT_FALSE(client_accepts(foreign));
  EXPECT_THAT(client.last_status(), HasSubstr("TRUST_UNDEFINED"));
}

TEST_F(SignerTest, RefusesToOpenWithoutAUsableKey) {
  auto missing_home = open(key_a, dir / "nowhere");
  ASSERT_FALSE(missing_home.ok());
  EXPECT_EQ(missing_home.error().kind, ErrorKind::not_found);
  EXPECT_THAT(missing_home.error().message, HasSubstr("make-signing-key.sh"));

  auto unknown = open("0123456789ABCDEF0123456789ABCDEF01234567");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("has no secret key"));

  EXPECT_FALSE(open("").ok());
  EXPECT_FALSE(open("--list-keys").ok());

  GpgSignerOptions o;
  o.gnupg_home = server.dir();
  o.key = key_a;
  o.work_dir = dir / "incoming";
  o.gpg = (dir / "no-such-gpg").string();
  auto no_gpg = GpgSigner::open(o, std::make_shared<PosixProcessRunner>());
  ASSERT_FALSE(no_gpg.ok());
  EXPECT_THAT(no_gpg.error().message, HasSubstr("gpg cannot"));
}

TEST_F(SignerTest, PassphraseProtectedKeyIsRefusedAtStart) {
  test::GpgHome locked{dir / "locked-gnupg"};
  std::string key = locked.generate_key("locked <l@example.invalid>", "secret");
  ASSERT_FALSE(key.empty());
  auto signer = open(key, locked.dir());
  ASSERT_FALSE(signer.ok());
  EXPECT_THAT(signer.error().message, HasSubstr("cannot sign"));
}

TEST(SecretKeyListing, ParsesPrimaryFingerprintsAndCapabilities) {
  const std::string listing =
      "sec:u:255:22:7CA3EF83FBCC9873:1796579379:::u:::scSC:::+::ed25519:::0:\n"
      "fpr:::::::::4498351CE1B736F2C74CCBEB7CA3EF83FBCC9873:\n"
      "grp:::::::::4B090DBFA471E7D57CECDFEEAC403D81BE2372F1:\n"
      "uid:u::::1796579379::CEC8::test <t@example.invalid>::::::::::0:\n"
      "sec:r:3072:1:AAAAAAAAAAAAAAAA:1:::u:::scSC:::+:::23::0:\n"
      "fpr:::::::::1111111111111111111111111111111111111111:\n"
      "sec:u:3072:1:BBBBBBBBBBBBBBBB:1:::u:::cE:::+:::23::0:\n"
      "fpr:::::::::2222222222222222222222222222222222222222:\n"
      "ssb:u:3072:1:CCCCCCCCCCCCCCCC:1::::::e:::+:::23:\n"
      "fpr:::::::::3333333333333333333333333333333333333333:\n";
  auto keys = parse_secret_keys(listing);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].fingerprint, "4498351CE1B736F2C74CCBEB7CA3EF83FBCC9873");
  EXPECT_TRUE(keys[0].can_sign);
  EXPECT_FALSE(keys[1].can_sign);  // revoked
  EXPECT_EQ(keys[2].fingerprint, "2222222222222222222222222222222222222222");
  EXPECT_FALSE(keys[2].can_sign);  // encryption only
}

}  // namespace
}  // namespace swarm::orch
