#include "orchestrator/intake.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/crypto.hpp"
#include "common/gpkg.hpp"
#include "support/fake_signer.hpp"
#include "support/test_support.hpp"

namespace swarm::orch {
namespace {

namespace fs = std::filesystem;

const std::string kCpv = "app-misc/hello-1.0-r1";
const std::string kRel = "app-misc/hello/hello-1.0-r1-1.gpkg.tar";

void make_gpkg(const fs::path& out, const std::string& category, const std::string& pf,
               const std::string& build_id = "1") {
  std::string cmd = "sh '" + (test::source_dir() / "tests/support/make-gpkg.sh").string() + "' '" + out.string() +
                    "' " + category + " " + pf + " '" + build_id + "'";
  ASSERT_EQ(test::run_shell(cmd), 0) << cmd;
}

struct TarMember {
  std::string name;
  size_t offset = 0;
  size_t size = 0;
};

// The members of an uncompressed ustar archive (test-side reading, independent of the code under test).
std::vector<TarMember> tar_members(const std::string& bytes) {
  std::vector<TarMember> out;
  for (size_t pos = 0; pos + 512 <= bytes.size() && bytes[pos] != '\0';) {
    const char* h = bytes.data() + pos;
    TarMember m{std::string(h, strnlen(h, 100)), pos + 512, std::stoul(std::string(h + 124, 11), nullptr, 8)};
    out.push_back(m);
    pos += 512 + (m.size + 511) / 512 * 512;
  }
  return out;
}

std::string member_bytes(const std::string& tar, const std::string& suffix) {
  for (const auto& m : tar_members(tar))
    if (m.name.ends_with(suffix)) return tar.substr(m.offset, m.size);
  return "";
}

class IntakeTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  IntakePaths paths{dir / "staging", dir / "pkgdir", dir / "incoming", dir / "logs"};
  Intake intake{paths};

  fs::path staged(const std::string& rel = kRel, const std::string& lease = "L1") {
    return paths.staging_root / "d1" / lease / rel;
  }
  // Stages a valid package for kCpv (or another category/PF) under d1/<lease>/<rel>.
  fs::path stage(const std::string& rel = kRel, const std::string& lease = "L1",
                 const std::string& category = "app-misc", const std::string& pf = "hello-1.0-r1") {
    fs::path p = staged(rel, lease);
    make_gpkg(p, category, pf);
    return p;
  }
  static int64_t size_of(const fs::path& p) { return static_cast<int64_t>(fs::file_size(p)); }
  static std::string sha_of(const fs::path& p) { return *sha256_file_hex(p); }

  Result<StagedBinary> take(const std::string& rel = kRel, const std::string& lease = "L1") {
    fs::path p = staged(rel, lease);
    std::error_code ec;
    int64_t size = fs::is_regular_file(p, ec) ? size_of(p) : 100;
    std::string sha = fs::is_regular_file(p, ec) ? sha_of(p) : std::string(64, '0');
    return intake.take("d1", lease, rel, size, sha, kCpv);
  }
  bool nothing_left() {
    std::error_code ec;
    return fs::is_empty(paths.incoming, ec) && fs::is_empty(paths.pkgdir, ec);
  }
  void expect_refused(const Result<StagedBinary>& r, const std::string& reason) {
    ASSERT_FALSE(r.ok()) << "accepted, expected: " << reason;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
    EXPECT_NE(r.error().message.find(reason), std::string::npos) << r.error().message;
    EXPECT_TRUE(nothing_left());
  }
};

TEST_F(IntakeTest, TakesPreparesAndInstallsAGoodPackage) {
  fs::path p = stage();
  std::string original_sha = sha_of(p);
  auto staged_bin = intake.take("d1", "L1", kRel, size_of(p), original_sha, kCpv);
  ASSERT_TRUE(staged_bin.ok()) << staged_bin.error().message;
  EXPECT_EQ(staged_bin->sha256, original_sha);
  EXPECT_EQ(staged_bin->copy.parent_path(), paths.incoming);
  EXPECT_EQ(staged_bin->info.pf(), "hello-1.0-r1");

  auto prepared = intake.prepare(*staged_bin, 7);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  const auto& [rec, temp] = *prepared;
  EXPECT_EQ(rec.cpv, kCpv);
  EXPECT_EQ(rec.build_id, 7);
  EXPECT_EQ(rec.path, "app-misc/hello/hello-1.0-r1-7.gpkg.tar");
  EXPECT_NE(rec.sha256, original_sha);
  EXPECT_EQ(rec.sha256, sha_of(temp));
  EXPECT_EQ(rec.size, size_of(temp));
  EXPECT_EQ(rec.metadata.value("BUILD_ID", ""), "7");
  EXPECT_EQ(rec.metadata.value("CATEGORY", ""), "app-misc");
  EXPECT_EQ(rec.metadata.value("repository", ""), "gentoo");
  auto info = read_gpkg(temp);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->build_id(), 7);
  EXPECT_EQ(info->basename, "hello-1.0-r1-7");
  for (const auto& m : tar_members(test::read_file(temp))) EXPECT_EQ(m.name.rfind("hello-1.0-r1-7/", 0), 0u) << m.name;

  ASSERT_TRUE(intake.install(temp, rec.path).ok());
  fs::path installed = paths.pkgdir / rec.path;
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(sha_of(installed), rec.sha256);
  EXPECT_EQ(fs::hard_link_count(installed), 1u);
  EXPECT_TRUE(read_gpkg(installed).ok());
  intake.discard(staged_bin->copy);
  EXPECT_FALSE(fs::exists(staged_bin->copy));
  intake.uninstall(rec.path);
  EXPECT_FALSE(fs::exists(installed));
}

// Every package Portage builds carries binary metadata (environment.bz2): it stays in the package,
// byte for byte, and only the index's text fields reach the record.
TEST_F(IntakeTest, KeepsBinaryMetadataMembersInThePackageAndOutOfTheRecord) {
  fs::path p = staged();
  ASSERT_EQ(test::run_shell("MAKE_GPKG_ENVIRONMENT=1 sh '" + (test::source_dir() / "tests/support/make-gpkg.sh").string() +
                            "' '" + p.string() + "' app-misc hello-1.0-r1 1"),
            0);
  auto original = read_gpkg(p);
  ASSERT_TRUE(original.ok()) << original.error().message;
  ASSERT_EQ(original->metadata.count("environment.bz2"), 1u);
  auto staged_bin = take();
  ASSERT_TRUE(staged_bin.ok()) << staged_bin.error().message;
  auto prepared = intake.prepare(*staged_bin, 4);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  const auto& [rec, temp] = *prepared;
  EXPECT_FALSE(rec.metadata.contains("environment.bz2"));
  EXPECT_EQ(rec.metadata.value("CATEGORY", ""), "app-misc");
  EXPECT_EQ(rec.metadata.value("EAPI", ""), "8");
  EXPECT_NO_THROW((void)rec.metadata.dump());
  auto rewritten = read_gpkg(temp);
  ASSERT_TRUE(rewritten.ok()) << rewritten.error().message;
  EXPECT_EQ(rewritten->metadata.at("environment.bz2"), original->metadata.at("environment.bz2"));
}

// Signing happens after the BUILD_ID rewrite: the prepared package carries the .sig members, a
// clear-signed Manifest, and still verifies; the record describes the signed file.
TEST_F(IntakeTest, SignsThePreparedPackage) {
  test::FakeSigner signer;
  Intake signing{paths, &signer};
  stage();
  auto staged_bin = take();
  ASSERT_TRUE(staged_bin.ok()) << staged_bin.error().message;
  auto prepared = signing.prepare(*staged_bin, 3);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  const auto& [rec, temp] = *prepared;
  auto info = read_gpkg(temp);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->members, (std::vector<std::string>{"gpkg-1", "metadata.tar.zst", "metadata.tar.zst.sig",
                                                     "image.tar.zst", "image.tar.zst.sig", "Manifest"}));
  EXPECT_EQ(info->build_id(), 3);
  EXPECT_EQ(rec.sha256, sha_of(temp));
  EXPECT_EQ(signer.signed_contents.size(), 2u);
  EXPECT_EQ(signer.clearsigned, 1);
  std::string tar = test::read_file(temp);
  EXPECT_EQ(member_bytes(tar, "/image.tar.zst.sig"), test::FakeSigner::signature_of(member_bytes(tar, "/image.tar.zst")));
  EXPECT_EQ(member_bytes(tar, "/Manifest").rfind("-----BEGIN PGP SIGNED MESSAGE-----", 0), 0u);
}

// A package that cannot be signed is not prepared, so never installed or published; nothing is left
// but the verified copy, which the caller keeps for the retry.
TEST_F(IntakeTest, APackageThatCannotBeSignedIsNotPrepared) {
  test::FakeSigner signer;
  Intake signing{paths, &signer};
  stage();
  auto staged_bin = take();
  ASSERT_TRUE(staged_bin.ok()) << staged_bin.error().message;
  for (int which = 0; which < 2; ++which) {
    signer.fail_detached = which == 0;
    signer.fail_clearsign = which == 1;
    auto prepared = signing.prepare(*staged_bin, 4);
    ASSERT_FALSE(prepared.ok());
    EXPECT_EQ(prepared.error().kind, ErrorKind::internal);
    EXPECT_NE(prepared.error().message.find("cannot sign"), std::string::npos) << prepared.error().message;
    std::vector<fs::path> left;
    for (const auto& e : fs::directory_iterator(paths.incoming)) left.push_back(e.path());
    EXPECT_EQ(left, std::vector<fs::path>{staged_bin->copy});
    EXPECT_TRUE(fs::is_empty(paths.pkgdir));
  }
  signer.fail_detached = signer.fail_clearsign = false;
  EXPECT_TRUE(signing.prepare(*staged_bin, 4).ok());  // the same copy signs once the signer works again
}

TEST_F(IntakeTest, AcceptsAFileWithoutDroneBuildId) {
  const std::string rel = "app-misc/hello/hello-1.0-r1.gpkg.tar";
  make_gpkg(staged(rel), "app-misc", "hello-1.0-r1", "");
  auto r = take(rel);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto prepared = intake.prepare(*r, 1);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  EXPECT_EQ(read_gpkg(prepared->second)->build_id(), 1);
}

TEST_F(IntakeTest, RefusesWrongSha256) {
  fs::path p = stage();
  expect_refused(intake.take("d1", "L1", kRel, size_of(p), sha256_hex("other"), kCpv), "sha256 mismatch");
}

TEST_F(IntakeTest, RefusesWrongSize) {
  fs::path p = stage();
  expect_refused(intake.take("d1", "L1", kRel, size_of(p) + 1, sha_of(p), kCpv), "size mismatch");
  expect_refused(intake.take("d1", "L1", kRel, size_of(p) - 1, sha_of(p), kCpv), "size mismatch");
}

TEST_F(IntakeTest, RefusesTruncatedFile) {
  fs::path p = stage();
  int64_t full = size_of(p);
  std::string full_sha = sha_of(p);
  fs::resize_file(p, static_cast<uintmax_t>(full / 2));
  expect_refused(intake.take("d1", "L1", kRel, full, full_sha, kCpv), "size mismatch");
  // Even announced with its own (truncated) size and hash, it is not a valid package.
  expect_refused(take(), "gpkg verification failed");
}

TEST_F(IntakeTest, RefusesFlippedByteInsideTheImage) {
  fs::path p = stage();
  std::string bytes = test::read_file(p);
  TarMember image;
  for (const auto& m : tar_members(bytes))
    if (m.name.ends_with("/image.tar.zst")) image = m;
  ASSERT_GT(image.size, 100u);
  bytes[image.offset + image.size / 2] ^= 0x01;
  test::write_file(p, bytes);
  expect_refused(take(), "gpkg verification failed");  // the drone's hash matches: the Manifest does not
}

TEST_F(IntakeTest, RefusesPathTraversal) {
  stage();
  fs::path outside = dir / "x";
  test::write_file(outside, "secret");
  for (const std::string rel : {"../x", "/abs", "a/../../b", "app-misc/hello/../../../../x",
                                "app-misc//hello-1.0-r1.gpkg.tar", "./app-misc/hello/hello-1.0-r1-1.gpkg.tar", ""}) {
    auto r = intake.take("d1", "L1", rel, 6, sha256_hex("secret"), kCpv);
    ASSERT_FALSE(r.ok()) << rel;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
    EXPECT_TRUE(nothing_left());
  }
  EXPECT_NE(intake.take("d1", "L1", "../x", 6, sha256_hex("secret"), kCpv).error().message.find("traversal"),
            std::string::npos);
  EXPECT_NE(intake.take("d1", "L1", "/abs", 6, sha256_hex("secret"), kCpv).error().message.find("absolute"),
            std::string::npos);
  // Drone names and lease ids are path components too.
  for (const std::string bad : {"..", ".", ".hidden", "a/b", "", "d1/../.."}) {
    expect_refused(intake.take(bad, "L1", kRel, 6, sha256_hex("secret"), kCpv), "invalid drone");
    expect_refused(intake.take("d1", bad, kRel, 6, sha256_hex("secret"), kCpv), "invalid lease");
  }
}

TEST_F(IntakeTest, RefusesPathsNotMatchingTheLease) {
  stage();
  fs::path other = stage("app-misc/hello/hello-2.0-1.gpkg.tar", "L1", "app-misc", "hello-2.0");
  expect_refused(intake.take("d1", "L1", "app-misc/hello/hello-2.0-1.gpkg.tar", size_of(other), sha_of(other), kCpv),
                 "does not match PF");
  expect_refused(intake.take("d1", "L1", "app-misc/other/hello-1.0-r1-1.gpkg.tar", 1, sha256_hex(""), kCpv),
                 "is not under app-misc/hello/");
  expect_refused(intake.take("d1", "L1", "app-misc/hello/x/hello-1.0-r1-1.gpkg.tar", 1, sha256_hex(""), kCpv),
                 "CATEGORY/PN/FILE");
  expect_refused(intake.take("d1", "L1", kRel, 1, "nothex", kCpv), "invalid sha256");
  expect_refused(intake.take("d1", "L1", kRel, 1, sha256_hex(""), "=app-misc/hello-1.0-r1::gentoo"),
                 "invalid expected CPV");
}

TEST_F(IntakeTest, RefusesDirectorySymlinksAnywhereInTheStagingPath) {
  fs::path real = stage(kRel, "REAL");  // a valid package, reached only through a link
  int64_t size = size_of(real);
  std::string sha = sha_of(real);
  // The lease directory, the category and the package directory, each in turn a link to a real tree.
  fs::create_directory_symlink(paths.staging_root / "d1" / "REAL", paths.staging_root / "d1" / "L1");
  expect_refused(intake.take("d1", "L1", kRel, size, sha, kCpv), "symlink in staging path: d1/L1");
  fs::remove(paths.staging_root / "d1" / "L1");
  fs::create_directories(paths.staging_root / "d1" / "L2");
  fs::create_directory_symlink(paths.staging_root / "d1" / "REAL" / "app-misc",
                               paths.staging_root / "d1" / "L2" / "app-misc");
  expect_refused(intake.take("d1", "L2", kRel, size, sha, kCpv), "symlink in staging path: d1/L2/app-misc");
  fs::create_directories(paths.staging_root / "d1" / "L3" / "app-misc");
  fs::create_directory_symlink(paths.staging_root / "d1" / "REAL" / "app-misc" / "hello",
                               paths.staging_root / "d1" / "L3" / "app-misc" / "hello");
  expect_refused(intake.take("d1", "L3", kRel, size, sha, kCpv), "symlink in staging path: d1/L3/app-misc/hello");
  // The drone's own directory.
  fs::create_directories(paths.staging_root / "real-drone");
  fs::rename(paths.staging_root / "d1" / "REAL", paths.staging_root / "real-drone" / "L4");
  fs::create_directory_symlink(paths.staging_root / "real-drone", paths.staging_root / "d9");
  expect_refused(intake.take("d9", "L4", kRel, size, sha, kCpv), "symlink in staging path: d9");
}

TEST_F(IntakeTest, RefusesFileSymlink) {
  fs::path outside = dir / "outside.gpkg.tar";
  make_gpkg(outside, "app-misc", "hello-1.0-r1");
  fs::create_directories(staged().parent_path());
  fs::create_symlink(outside, staged());
  expect_refused(intake.take("d1", "L1", kRel, size_of(outside), sha_of(outside), kCpv), "symlink in staging path");
}

TEST_F(IntakeTest, RefusesHardLinkToAFileOutsideStaging) {
  fs::path outside = dir / "outside.gpkg.tar";
  make_gpkg(outside, "app-misc", "hello-1.0-r1");
  fs::create_directories(staged().parent_path());
  fs::create_hard_link(outside, staged());
  expect_refused(take(), "2 hard links");
}

TEST_F(IntakeTest, RefusesFifo) {
  fs::create_directories(staged().parent_path());
  ASSERT_EQ(::mkfifo(staged().c_str(), 0644), 0);
  expect_refused(intake.take("d1", "L1", kRel, 0, sha256_hex(""), kCpv), "not a regular file");
}

TEST_F(IntakeTest, RefusesWrongCategoryOrPfInMetadata) {
  fs::path p = stage(kRel, "L1", "app-other", "hello-1.0-r1");
  expect_refused(take(), "metadata CATEGORY is 'app-other', expected 'app-misc'");
  fs::remove(p);
  stage(kRel, "L1", "app-misc", "hello-1.0-r2");
  expect_refused(take(), "metadata PF is 'hello-1.0-r2', expected 'hello-1.0-r1'");
}

TEST_F(IntakeTest, RefusesMissingFile) {
  fs::create_directories(staged().parent_path());
  expect_refused(take(), "not found in staging path: d1/L1/app-misc/hello/hello-1.0-r1-1.gpkg.tar");
  expect_refused(intake.take("d1", "NOLEASE", kRel, 1, sha256_hex(""), kCpv), "not found in staging path: d1/NOLEASE");
}

TEST_F(IntakeTest, PublishesTheCopyEvenIfTheStagedFileIsSwappedAfterTheCheck) {
  fs::path p = stage();
  std::string original = test::read_file(p);
  auto staged_bin = take();
  ASSERT_TRUE(staged_bin.ok()) << staged_bin.error().message;
  // The drone (or anyone with the upload key) replaces its file once the hash was checked.
  fs::remove(p);
  make_gpkg(p, "app-misc", "hello-1.0-r1");
  std::string swapped = test::read_file(p);
  ASSERT_NE(member_bytes(original, "/image.tar.zst"), member_bytes(swapped, "/image.tar.zst"));

  auto prepared = intake.prepare(*staged_bin, 3);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  ASSERT_TRUE(intake.install(prepared->second, prepared->first.path).ok());
  std::string installed = test::read_file(paths.pkgdir / prepared->first.path);
  EXPECT_EQ(member_bytes(installed, "/image.tar.zst"), member_bytes(original, "/image.tar.zst"));
  EXPECT_EQ(sha256_hex(installed), prepared->first.sha256);
  EXPECT_EQ(test::read_file(staged_bin->copy), original);
}

TEST_F(IntakeTest, InstallNeverReplacesAnExistingFile) {
  stage();
  auto staged_bin = take();
  ASSERT_TRUE(staged_bin.ok());
  auto first = intake.prepare(*staged_bin, 1);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(intake.install(first->second, first->first.path).ok());
  auto second = intake.prepare(*staged_bin, 1);
  ASSERT_TRUE(second.ok());
  test::write_file(second->second, "not the same bytes");
  auto st = intake.install(second->second, second->first.path);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::conflict);
  EXPECT_NE(st.error().message.find("refusing to replace"), std::string::npos);
  EXPECT_EQ(sha_of(paths.pkgdir / first->first.path), first->first.sha256);
  for (const std::string bad : {"../x.gpkg.tar", "a/b", ".orphaned/x/y.gpkg.tar", "/abs/x/y.gpkg.tar"})
    EXPECT_FALSE(intake.install(second->second, bad).ok()) << bad;
}

TEST_F(IntakeTest, TwoBuildsOfTheSameCpvGetDifferentPathsAndBothStayIntact) {
  stage(kRel, "L1");
  stage(kRel, "L2");
  auto a = take(kRel, "L1");
  auto b = take(kRel, "L2");
  ASSERT_TRUE(a.ok() && b.ok());
  auto pa = intake.prepare(*a, 1);
  auto pb = intake.prepare(*b, 2);
  ASSERT_TRUE(pa.ok() && pb.ok());
  ASSERT_NE(pa->first.path, pb->first.path);
  ASSERT_TRUE(intake.install(pa->second, pa->first.path).ok());
  ASSERT_TRUE(intake.install(pb->second, pb->first.path).ok());
  EXPECT_EQ(sha_of(paths.pkgdir / pa->first.path), pa->first.sha256);
  EXPECT_EQ(sha_of(paths.pkgdir / pb->first.path), pb->first.sha256);
  EXPECT_EQ(read_gpkg(paths.pkgdir / pa->first.path)->build_id(), 1);
  EXPECT_EQ(read_gpkg(paths.pkgdir / pb->first.path)->build_id(), 2);
}

TEST_F(IntakeTest, StoresTheFullLog) {
  test::write_file(paths.staging_root / "d1" / "L1" / "logs" / "build.log", "line 1\nerror: it broke\n");
  auto stored = intake.store_log("d1", "L1", "logs/build.log");
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(*stored, paths.logs / "L1.log");
  EXPECT_EQ(test::read_file(*stored), "line 1\nerror: it broke\n");

  auto missing = intake.store_log("d1", "L1", "logs/none.log");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
  EXPECT_EQ(intake.store_log("d1", "L1", "build.log").error().kind, ErrorKind::invalid);
  EXPECT_EQ(intake.store_log("d1", "L1", "logs/../../x").error().kind, ErrorKind::invalid);
  test::write_file(dir / "secret", "secret");
  fs::create_symlink(dir / "secret", paths.staging_root / "d1" / "L1" / "logs" / "link.log");
  auto linked = intake.store_log("d1", "L1", "logs/link.log");
  ASSERT_FALSE(linked.ok());
  EXPECT_NE(linked.error().message.find("symlink"), std::string::npos);
}

TEST_F(IntakeTest, CleanupRemovesTheLeaseDirectoryWithoutFollowingLinks) {
  stage();
  fs::create_directories(dir / "keep");
  test::write_file(dir / "keep" / "file", "keep me");
  fs::create_directory_symlink(dir / "keep", paths.staging_root / "d1" / "L1" / "app-misc" / "link");
  intake.cleanup_lease("d1", "L1");
  EXPECT_FALSE(fs::exists(paths.staging_root / "d1" / "L1"));
  EXPECT_EQ(test::read_file(dir / "keep" / "file"), "keep me");
  intake.cleanup_lease("..", "..");  // refused quietly
  EXPECT_TRUE(fs::exists(paths.staging_root));
}

TEST_F(IntakeTest, PrepareLeaseDirMakesA0755DirectoryOwnedByUs) {
  mode_t old = ::umask(0);
  auto st = intake.prepare_lease_dir("d1", "L1");
  ::umask(old);
  ASSERT_TRUE(st.ok()) << st.error().message;
  struct stat sb {};
  ASSERT_EQ(::stat((paths.staging_root / "d1" / "L1").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0755u);
  EXPECT_EQ(sb.st_uid, ::geteuid());
  // An existing world-writable directory is tightened.
  fs::create_directories(paths.staging_root / "d1" / "L2");
  fs::permissions(paths.staging_root / "d1" / "L2", fs::perms::all);
  ASSERT_TRUE(intake.prepare_lease_dir("d1", "L2").ok());
  ASSERT_EQ(::stat((paths.staging_root / "d1" / "L2").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0755u);
  // A symlink where the drone's directory should be is refused, its target untouched.
  fs::create_directories(dir / "elsewhere");
  fs::create_directory_symlink(dir / "elsewhere", paths.staging_root / "d2");
  auto refused = intake.prepare_lease_dir("d2", "L1");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("symlink"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(dir / "elsewhere"));
  EXPECT_FALSE(intake.prepare_lease_dir("d1", "../x").ok());
}

TEST_F(IntakeTest, PrunesOldStagingDirectoriesExceptKeptOnes) {
  for (const std::string lease : {"OLD", "KEPT", "NEW"}) ASSERT_TRUE(intake.prepare_lease_dir("d1", lease).ok());
  auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(48);
  fs::last_write_time(paths.staging_root / "d1" / "OLD", old_time);
  fs::last_write_time(paths.staging_root / "d1" / "KEPT", old_time);
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t removed = intake.prune_staging(now, 24 * 3600,
                                         [](const std::string&, const std::string& lease) { return lease == "KEPT"; });
  EXPECT_EQ(removed, 1);
  EXPECT_FALSE(fs::exists(paths.staging_root / "d1" / "OLD"));
  EXPECT_TRUE(fs::exists(paths.staging_root / "d1" / "KEPT"));
  EXPECT_TRUE(fs::exists(paths.staging_root / "d1" / "NEW"));
}

TEST(IntakeNames, ValidPathNames) {
  EXPECT_TRUE(valid_path_name("drone-1.example_com"));
  EXPECT_FALSE(valid_path_name(""));
  EXPECT_FALSE(valid_path_name(".x"));
  EXPECT_FALSE(valid_path_name(".."));
  EXPECT_FALSE(valid_path_name("a/b"));
  EXPECT_FALSE(valid_path_name("a b"));
  EXPECT_FALSE(valid_path_name(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace swarm::orch
