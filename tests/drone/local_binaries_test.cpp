#include "drone/local_binaries.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include "common/packages_index.hpp"
#include "support/test_support.hpp"

namespace swarm::drone {
namespace {

namespace fs = std::filesystem;

class LocalBinariesTest : public ::testing::Test {
 protected:
  // Runs the stand-in emerge for `atom` into the test PKGDIR; `env` adds FAKE_EMERGE_* settings.
  int emerge(const std::string& atom, const std::string& env = "") {
    const std::string fake = (test::source_dir() / "tests/support/fake-emerge").string();
    return test::run_shell("PKGDIR='" + pkgdir().string() + "' " + env + " '" + fake +
                           "' --oneshot --buildpkg =" + atom + " >/dev/null 2>&1");
  }
  fs::path pkgdir() const { return m_dir.path() / "pkgdir"; }
  Atom atom(const std::string& text) const { return *parse_atom(text); }
  std::vector<PackagesEntry> entries() const { return parse_packages(test::read_file(pkgdir() / "Packages"))->packages; }

  test::TempDir m_dir;
  SystemClock m_clock;
};

TEST_F(LocalBinariesTest, FindsWhatTheBuildProduced) {
  const int64_t start = m_clock.now_unix();
  ASSERT_EQ(emerge("dev-libs/foo-1.0"), 0);
  auto bin = find_built_binary(pkgdir(), atom("=dev-libs/foo-1.0"), start);
  ASSERT_TRUE(bin.ok()) << bin.error().message;
  EXPECT_EQ(bin->rel_path, "dev-libs/foo/foo-1.0-1.gpkg.tar");
  EXPECT_EQ(bin->build_id, 1);
  EXPECT_EQ(bin->size, static_cast<int64_t>(fs::file_size(pkgdir() / bin->rel_path)));
}

TEST_F(LocalBinariesTest, NeverPicksThePlaceholder) {
  ASSERT_EQ(emerge("dev-libs/foo-1.0"), 0);
  const int64_t start = m_clock.now_unix();
  ASSERT_NE(emerge("dev-libs/foo-1.0", "FAKE_EMERGE_PLACEHOLDER_ONLY=dev-libs/foo-1.0"), 0);
  ASSERT_TRUE(fs::exists(pkgdir() / "dev-libs/foo/foo-1.0-2.gpkg.tar"));
  EXPECT_EQ(fs::file_size(pkgdir() / "dev-libs/foo/foo-1.0-2.gpkg.tar"), 0u);
  // The failed build produced nothing, whatever files lie around.
  EXPECT_FALSE(find_built_binary(pkgdir(), atom("=dev-libs/foo-1.0"), start + 1).ok());
  // The next good build gets BUILD_ID 3 (past the placeholder) and that is what is found.
  const int64_t start2 = m_clock.now_unix();
  ASSERT_EQ(emerge("dev-libs/foo-1.0"), 0);
  auto bin = find_built_binary(pkgdir(), atom("=dev-libs/foo-1.0"), start2);
  ASSERT_TRUE(bin.ok()) << bin.error().message;
  EXPECT_EQ(bin->rel_path, "dev-libs/foo/foo-1.0-3.gpkg.tar");
  EXPECT_EQ(bin->build_id, 3);
}

TEST_F(LocalBinariesTest, AnEntryOlderThanTheStartIsNotThisBuilds) {
  ASSERT_EQ(emerge("dev-libs/foo-1.0"), 0);
  auto r = find_built_binary(pkgdir(), atom("=dev-libs/foo-1.0"), m_clock.now_unix() + 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
}

TEST_F(LocalBinariesTest, ExitZeroWithoutEntryFindsNothing) {
  const int64_t start = m_clock.now_unix();
  ASSERT_EQ(emerge("dev-libs/foo-1.0", "FAKE_EMERGE_NOFILE=*"), 0);
  EXPECT_FALSE(find_built_binary(pkgdir(), atom("=dev-libs/foo-1.0"), start).ok());
}

TEST_F(LocalBinariesTest, RefusesEmptySymlinkedAndMisplacedFiles) {
  const int64_t start = m_clock.now_unix();
  ASSERT_EQ(emerge("dev-libs/foo-1.0"), 0);
  const fs::path file = pkgdir() / "dev-libs/foo/foo-1.0-1.gpkg.tar";
  const std::string original = test::read_file(file);
  test::write_file(file, "");
  EXPECT_FALSE(find_built_binary(pkgdir(), atom("=dev-libs/foo-1.0"), start).ok());
  test::write_file(m_dir / "elsewhere", original);
  fs::remove(file);
  fs::create_symlink(m_dir / "elsewhere", file);
  EXPECT_FALSE(find_built_binary(pkgdir(), atom("=dev-libs/foo-1.0"), start).ok());
  fs::remove(file);
  test::write_file(file, original);
  std::string index = test::read_file(pkgdir() / "Packages");
  index.replace(index.find("PATH: dev-libs/foo/"), 19, "PATH: ../../etc/xx/");
  test::write_file(pkgdir() / "Packages", index);
  EXPECT_FALSE(find_built_binary(pkgdir(), atom("=dev-libs/foo-1.0"), start).ok());
}

TEST_F(LocalBinariesTest, NoIndexIsNotFound) {
  fs::create_directories(pkgdir());
  EXPECT_EQ(find_built_binary(pkgdir(), atom("=dev-libs/foo-1.0"), 0).error().kind, ErrorKind::not_found);
}

TEST_F(LocalBinariesTest, DropRemovesFileAndEntryOnly) {
  ASSERT_EQ(emerge("dev-libs/foo-1.0"), 0);
  ASSERT_EQ(emerge("app-misc/bar-2.0"), 0);
  ASSERT_TRUE(drop_local_binary(pkgdir(), "dev-libs/foo/foo-1.0-1.gpkg.tar").ok());
  EXPECT_FALSE(fs::exists(pkgdir() / "dev-libs/foo/foo-1.0-1.gpkg.tar"));
  auto left = entries();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["CPV"], "app-misc/bar-2.0");
  EXPECT_EQ(parse_packages(test::read_file(pkgdir() / "Packages"))->header["PACKAGES"], "1");
  EXPECT_TRUE(fs::exists(pkgdir() / "app-misc/bar/bar-2.0-1.gpkg.tar"));
  // Already gone: still fine. Unsafe: refused.
  EXPECT_TRUE(drop_local_binary(pkgdir(), "dev-libs/foo/foo-1.0-1.gpkg.tar").ok());
  EXPECT_FALSE(drop_local_binary(pkgdir(), "../x/y").ok());
}

TEST_F(LocalBinariesTest, PruneDropsOldLeftoversButKeepsWhatIsAskedFor) {
  ASSERT_EQ(emerge("dev-libs/foo-1.0"), 0);
  ASSERT_EQ(emerge("app-misc/bar-2.0"), 0);
  ASSERT_NE(emerge("app-misc/baz-1.0", "FAKE_EMERGE_PLACEHOLDER_ONLY=*"), 0);
  FakeClock clock(m_clock.now_unix_ms());
  EXPECT_EQ(prune_local_binaries(pkgdir(), 3600, {}, clock), 0);
  clock.advance(std::chrono::hours(2));
  EXPECT_EQ(prune_local_binaries(pkgdir(), 3600, {"app-misc/bar/bar-2.0-1.gpkg.tar"}, clock), 2);
  EXPECT_FALSE(fs::exists(pkgdir() / "dev-libs/foo/foo-1.0-1.gpkg.tar"));
  EXPECT_FALSE(fs::exists(pkgdir() / "app-misc/baz/baz-1.0-1.gpkg.tar"));
  EXPECT_TRUE(fs::exists(pkgdir() / "app-misc/bar/bar-2.0-1.gpkg.tar"));
  EXPECT_EQ(entries().size(), 1u);
}

TEST(SafeBinaryPathTest, ExactlyThreeSafeParts) {
  EXPECT_TRUE(safe_binary_path("dev-libs/foo/foo-1.0-1.gpkg.tar"));
  EXPECT_FALSE(safe_binary_path("dev-libs/foo-1.0.gpkg.tar"));
  EXPECT_FALSE(safe_binary_path("/dev-libs/foo/x"));
  EXPECT_FALSE(safe_binary_path("dev-libs/../x"));
  EXPECT_FALSE(safe_binary_path("a/b/c/d"));
  EXPECT_FALSE(safe_binary_path("a/-b/c"));
  EXPECT_FALSE(safe_binary_path("a/b/c d"));
}

// A real Portage index (the binhost's entries, a full header) where this drone's own build is
// numbered after the binhost's instances: BUILD_ID 3 of a CPV the binhost has at 1 and 2.
TEST_F(LocalBinariesTest, CopesWithARealPortageIndexAndAHigherBuildId) {
  const auto real = test::read_file(test::shared_dir() / "fixtures/emerge/binhost-Packages-01-amd64-17.1-systemd-clang-2023.txt");
  ASSERT_FALSE(real.empty());
  auto index = parse_packages(real);
  ASSERT_TRUE(index.ok()) << index.error().message;
  const int64_t start = m_clock.now_unix();
  ASSERT_EQ(emerge("app-misc/foo-1.0"), 0);
  auto mine = parse_packages(test::read_file(pkgdir() / "Packages"));
  ASSERT_TRUE(mine.ok());
  PackagesEntry own = mine->packages.at(0);
  // Re-index as Portage would have numbered it, inside the real index with its header.
  fs::rename(pkgdir() / own["PATH"], pkgdir() / "app-misc/foo/foo-1.0-3.gpkg.tar");
  own["PATH"] = "app-misc/foo/foo-1.0-3.gpkg.tar";
  own["BUILD_ID"] = "3";
  PackagesEntry old_instance = own;
  old_instance["BUILD_ID"] = "2";
  old_instance["BUILD_TIME"] = std::to_string(start - 86400);
  old_instance["PATH"] = "app-misc/foo/foo-1.0-2.gpkg.tar";  // listed, gone: from before the start
  index->packages.push_back(old_instance);
  index->packages.push_back(own);
  test::write_file(pkgdir() / "Packages", format_packages(*index));
  auto bin = find_built_binary(pkgdir(), atom("=app-misc/foo-1.0::overlay"), start);
  ASSERT_TRUE(bin.ok()) << bin.error().message;
  EXPECT_EQ(bin->rel_path, "app-misc/foo/foo-1.0-3.gpkg.tar");
  EXPECT_EQ(bin->build_id, 3);
  // Entries of other packages (xpak PATHs, the binhost's) are never taken for ours.
  EXPECT_FALSE(find_built_binary(pkgdir(), atom("=acct-group/adm-0-r2"), start).ok());
}

}  // namespace
}  // namespace swarm::drone
