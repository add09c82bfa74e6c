// Tests of tests/support/fake-emerge, the stand-in for Portage's emerge, run through PosixProcessRunner.

#include <signal.h>

#include <fstream>
#include <future>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/process_runner.hpp"
#include "support/processes.hpp"
#include "support/test_support.hpp"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using test::read_file;
using test::process_gone;
using test::run_shell;
using ::testing::HasSubstr;

const std::string kAtom = "=app-misc/hello-1.0-r1";
const std::string kDir = "app-misc/hello/";

std::vector<std::string> canonical_args(const std::string& atom = kAtom) {
  std::string cp = atom.substr(1, atom.find('-', atom.find('/')) - 1);
  return {"--oneshot", "--buildpkg", "--usepkg", "--getbinpkg", "--usepkg-exclude=" + cp, "--with-bdeps=y", "--",
          atom};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class FakeEmerge : public ::testing::Test {
 protected:
  fs::path pkgdir() const { return m_dir / "pkgdir"; }
  fs::path log() const { return m_dir / "emerge.log"; }

  ProcessResult emerge(const std::vector<std::string>& args, std::map<std::string, std::string> env = {},
                       milliseconds timeout = milliseconds(30'000)) {
    ProcessSpec spec;
    spec.argv = {(test::source_dir() / "tests/support/fake-emerge").string()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env_set = std::move(env);
    spec.env_set.emplace("PKGDIR", pkgdir().string());
    spec.env_set.emplace("FAKE_EMERGE_ARGV_LOG", (m_dir / "argv.log").string());
    spec.output_file = log();
    spec.timeout = timeout;
    spec.kill_grace = milliseconds(500);
    return m_runner.run(spec);
  }

  // Unpacks a gpkg's outer tar into a fresh directory and returns the inner directory.
  fs::path unpack(const fs::path& gpkg) {
    fs::path out = m_dir / ("unpacked-" + std::to_string(m_unpacked++));
    fs::create_directories(out);
    EXPECT_EQ(run_shell("tar -xf '" + gpkg.string() + "' -C '" + out.string() + "'"), 0);
    return out / gpkg.filename().string().substr(0, gpkg.filename().string().size() - std::string(".gpkg.tar").size());
  }

  std::string shell_output(const std::string& cmd) {
    fs::path out = m_dir / "shell.out";
    EXPECT_EQ(run_shell(cmd + " > '" + out.string() + "'"), 0) << cmd;
    return read_file(out);
  }

  test::TempDir m_dir;
  PosixProcessRunner m_runner;
  int m_unpacked = 0;
};

TEST_F(FakeEmerge, BuildsAGpkgWithTheNextBuildId) {
  auto first = emerge(canonical_args());
  ASSERT_EQ(first.exit_code, 0) << read_file(log());
  auto second = emerge(canonical_args());
  ASSERT_EQ(second.exit_code, 0) << read_file(log());
  EXPECT_GT(fs::file_size(pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar"), 0u);
  EXPECT_GT(fs::file_size(pkgdir() / kDir / "hello-1.0-r1-2.gpkg.tar"), 0u);
  EXPECT_FALSE(fs::exists(pkgdir() / kDir / "hello-1.0-r1-3.gpkg.tar"));
  std::string output = read_file(log());
  EXPECT_THAT(output, HasSubstr(">>> Emerging (1 of 1) app-misc/hello-1.0-r1::gentoo"));
  EXPECT_THAT(output, HasSubstr(">>> Compiling source"));
  EXPECT_THAT(output, HasSubstr(">>> Completed installing app-misc/hello-1.0-r1"));
}

TEST_F(FakeEmerge, WritesAGpkgLaidOutAsGlep78Says) {
  ASSERT_EQ(emerge(canonical_args()).exit_code, 0);
  ASSERT_EQ(emerge(canonical_args()).exit_code, 0);
  fs::path gpkg = pkgdir() / kDir / "hello-1.0-r1-2.gpkg.tar";
  EXPECT_EQ(shell_output("tar -tf '" + gpkg.string() + "'"),
            "hello-1.0-r1-2/gpkg-1\nhello-1.0-r1-2/metadata.tar.zst\nhello-1.0-r1-2/image.tar.zst\n"
            "hello-1.0-r1-2/Manifest\n");
  std::string bytes = read_file(gpkg);
  ASSERT_GT(bytes.size(), 512u);
  EXPECT_EQ(bytes.substr(257, 8), std::string("ustar\0" "00", 8));  // POSIX ustar, not GNU
  for (const auto& line : lines_of(shell_output("tar --numeric-owner -tvf '" + gpkg.string() + "'")))
    EXPECT_THAT(line, HasSubstr(" 0/0 "));

  fs::path inner = unpack(gpkg);
  EXPECT_EQ(fs::file_size(inner / "gpkg-1"), 0u);
  auto meta = lines_of(shell_output("zstd -dc '" + (inner / "metadata.tar.zst").string() + "' | tar -t"));
  EXPECT_EQ(meta.size(), 21u);
  for (const auto& name : meta) {
    EXPECT_EQ(name.rfind("metadata/", 0), 0u) << name;
    EXPECT_NE(name, "metadata/");
  }
  EXPECT_THAT(meta, ::testing::IsSupersetOf({"metadata/CATEGORY", "metadata/PF", "metadata/SLOT", "metadata/BUILD_ID",
                                             "metadata/CFLAGS", "metadata/repository", "metadata/SIZE"}));
  fs::path md = m_dir / "md";
  fs::create_directories(md);
  ASSERT_EQ(run_shell("zstd -dc '" + (inner / "metadata.tar.zst").string() + "' | tar -x -C '" + md.string() + "'"), 0);
  EXPECT_EQ(read_file(md / "metadata/CATEGORY"), "app-misc\n");
  EXPECT_EQ(read_file(md / "metadata/PF"), "hello-1.0-r1\n");
  EXPECT_EQ(read_file(md / "metadata/SLOT"), "0\n");
  EXPECT_EQ(read_file(md / "metadata/BUILD_ID"), "2");
  auto image = shell_output("zstd -dc '" + (inner / "image.tar.zst").string() + "' | tar -t");
  EXPECT_THAT(image, HasSubstr("image/usr/share/hello/README"));
}

TEST_F(FakeEmerge, WritesAManifestThatMatchesTheMembers) {
  ASSERT_EQ(emerge(canonical_args()).exit_code, 0);
  fs::path inner = unpack(pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar");
  auto manifest = lines_of(read_file(inner / "Manifest"));
  ASSERT_EQ(manifest.size(), 3u);
  const std::vector<std::string> members = {"gpkg-1", "metadata.tar.zst", "image.tar.zst"};
  for (size_t i = 0; i < members.size(); ++i) {
    std::istringstream in(manifest[i]);
    std::string data, member, sha_key, sha, b2_key, b2;
    uintmax_t size = 0;
    in >> data >> member >> size >> sha_key >> sha >> b2_key >> b2;
    EXPECT_EQ(data, "DATA");
    EXPECT_EQ(member, members[i]);
    EXPECT_EQ(size, fs::file_size(inner / member));
    EXPECT_EQ(sha_key, "SHA512");
    EXPECT_EQ(b2_key, "BLAKE2B");
    const std::string path = (inner / member).string();
    EXPECT_EQ(sha + "\n", shell_output("sha512sum '" + path + "' | cut -d' ' -f1"));
    EXPECT_EQ(b2 + "\n", shell_output("b2sum '" + path + "' | cut -d' ' -f1"));
  }
}

TEST_F(FakeEmerge, IndexesEachBuildInPackages) {
  ASSERT_EQ(emerge(canonical_args("=dev-libs/zzz-2.0")).exit_code, 0);
  ASSERT_EQ(emerge(canonical_args()).exit_code, 0);
  ASSERT_EQ(emerge(canonical_args()).exit_code, 0);
  std::string index = read_file(pkgdir() / "Packages");
  auto blocks_start = index.find("\n\n");
  ASSERT_NE(blocks_start, std::string::npos);
  std::string header = index.substr(0, blocks_start + 1);
  EXPECT_THAT(header, HasSubstr("ARCH: amd64\n"));
  EXPECT_THAT(header, HasSubstr("PACKAGES: 3\n"));
  EXPECT_THAT(header, HasSubstr("TIMESTAMP: "));
  EXPECT_THAT(header, HasSubstr("VERSION: 0\n"));
  fs::path gpkg = pkgdir() / kDir / "hello-1.0-r1-2.gpkg.tar";
  const std::string block = "BUILD_ID: 2\n";
  auto at = index.find(block + "BUILD_TIME: ");
  ASSERT_NE(at, std::string::npos) << index;
  std::string entry = index.substr(at, index.find("\n\n", at) - at + 1);
  EXPECT_THAT(entry, HasSubstr("CPV: app-misc/hello-1.0-r1\n"));
  EXPECT_THAT(entry, HasSubstr("PATH: app-misc/hello/hello-1.0-r1-2.gpkg.tar\n"));
  EXPECT_THAT(entry, HasSubstr("SIZE: " + std::to_string(fs::file_size(gpkg)) + "\n"));
  EXPECT_THAT(entry, HasSubstr("EAPI: 8\n"));
  EXPECT_THAT(entry, HasSubstr("REPO: gentoo\n"));
  EXPECT_THAT(entry, HasSubstr("MTIME: "));
  EXPECT_THAT(entry, ::testing::Not(HasSubstr("SLOT:")));  // omitted when 0, as Portage does
  // Blocks are sorted by CPV: app-misc before dev-libs although built later.
  EXPECT_LT(index.find("CPV: app-misc/hello-1.0-r1"), index.find("CPV: dev-libs/zzz-2.0"));
  EXPECT_EQ(index.substr(index.size() - 2), "\n\n");
}

TEST_F(FakeEmerge, RecordsTheSameArgvLineForTheSameCommand) {
  ASSERT_EQ(emerge(canonical_args()).exit_code, 0);
  ASSERT_EQ(emerge(canonical_args()).exit_code, 0);
  auto lines = lines_of(read_file(m_dir / "argv.log"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], lines[1]);
  EXPECT_EQ(lines[0],
            "--oneshot --buildpkg --usepkg --getbinpkg --usepkg-exclude=app-misc/hello --with-bdeps=y -- "
            "=app-misc/hello-1.0-r1");
}

TEST_F(FakeEmerge, AppendsEachBuiltFileToTheLedger) {
  std::map<std::string, std::string> env = {{"FAKE_EMERGE_LEDGER", (m_dir / "ledger").string()},
                                            {"FAKE_EMERGE_DRONE", "drone-7"}};
  ASSERT_EQ(emerge(canonical_args(), env).exit_code, 0);
  auto lines = lines_of(read_file(m_dir / "ledger"));
  ASSERT_EQ(lines.size(), 1u);
  fs::path gpkg = pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar";
  std::string sha = shell_output("sha256sum '" + gpkg.string() + "' | cut -d' ' -f1");
  EXPECT_THAT(lines[0], ::testing::MatchesRegex("[0-9]+ " + kAtom + " drone=drone-7 .*"));
  EXPECT_THAT(lines[0], ::testing::EndsWith(" " + gpkg.string() + " " + sha.substr(0, 64)));
}

TEST_F(FakeEmerge, AllocatesDistinctBuildIdsToConcurrentBuilds) {
  std::map<std::string, std::string> env = {{"FAKE_EMERGE_SLEEP", "0.3"}};
  auto a = std::async(std::launch::async, [&] { return emerge(canonical_args(), env); });
  auto b = std::async(std::launch::async, [&] { return emerge(canonical_args(), env); });
  EXPECT_EQ(a.get().exit_code, 0);
  EXPECT_EQ(b.get().exit_code, 0);
  EXPECT_GT(fs::file_size(pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar"), 0u);
  EXPECT_GT(fs::file_size(pkgdir() / kDir / "hello-1.0-r1-2.gpkg.tar"), 0u);
  EXPECT_THAT(read_file(pkgdir() / "Packages"), HasSubstr("PACKAGES: 2\n"));
}

TEST_F(FakeEmerge, PrintsInfo) {
  auto r = emerge({"--info"},
                  {{"FAKE_EMERGE_CFLAGS", "-O3 -march=znver3"}, {"FAKE_EMERGE_CHOST", "x86_64-test-linux-gnu"}});
  EXPECT_EQ(r.exit_code, 0);
  std::string out = read_file(log());
  EXPECT_EQ(out.rfind("Portage 3.0.72 (", 0), 0u);
  EXPECT_THAT(out, HasSubstr("\nCFLAGS=\"-O3 -march=znver3\"\n"));
  EXPECT_THAT(out, HasSubstr("\nCXXFLAGS=\"-O3 -march=znver3\"\n"));
  EXPECT_THAT(out, HasSubstr("\nCHOST=\"x86_64-test-linux-gnu\"\n"));
  EXPECT_THAT(out, HasSubstr("\nUSE=\""));
  EXPECT_FALSE(fs::exists(pkgdir()));
}

TEST_F(FakeEmerge, RejectsAMissingExtraOrMalformedAtom) {
  const std::vector<std::vector<std::string>> bad = {
      {"--oneshot"}, {"--oneshot", "=a/b-1", "=a/c-1"}, {"app-misc/hello-1.0"}, {"@world"}, {"--", "=a/b"}};
  for (const auto& args : bad) {
    auto r = emerge(args);
    EXPECT_EQ(r.exit_code, 1) << args.back();
  }
  EXPECT_THAT(read_file(log()), HasSubstr("expected exactly one atom"));
  EXPECT_THAT(read_file(log()), HasSubstr("must start with '='"));
  EXPECT_FALSE(fs::exists(pkgdir()));
}

TEST_F(FakeEmerge, TakesSlotAndRepoAndRecordsThem) {
  auto r = emerge({"--ask=n", "--oneshot", "=app-misc/hello-1.0-r1:2/2.1::overlay"});
  ASSERT_EQ(r.exit_code, 0) << read_file(log());
  auto index = read_file(pkgdir() / "Packages");
  EXPECT_THAT(index, HasSubstr("SLOT: 2/2.1\n"));
  EXPECT_THAT(index, HasSubstr("REPO: overlay\n"));
  EXPECT_THAT(read_file(log()), HasSubstr(">>> Emerging (1 of 1) app-misc/hello-1.0-r1::overlay"));
}

TEST_F(FakeEmerge, AskFromEmergeDefaultOptsIsOverriddenByAskN) {
  EXPECT_EQ(emerge(canonical_args(), {{"EMERGE_DEFAULT_OPTS", "--ask --verbose"}}).exit_code, 1);
  EXPECT_THAT(read_file(log()), HasSubstr("would wait for an answer"));
  auto args = canonical_args();
  args.insert(args.begin(), "--ask=n");
  EXPECT_EQ(emerge(args, {{"EMERGE_DEFAULT_OPTS", "--ask --verbose"}}).exit_code, 0);
}

TEST_F(FakeEmerge, NumbersAfterTheBinhostsInstancesWithGetbinpkg) {
  test::write_file(m_dir / "binhost", "VERSION: 0\nTIMESTAMP: 1\n\nBUILD_ID: 4\nCPV: app-misc/hello-1.0-r1\n\n"
                                      "BUILD_ID: 9\nCPV: app-misc/other-1\n\n");
  const std::map<std::string, std::string> env{{"FAKE_EMERGE_BINHOST_PACKAGES", (m_dir / "binhost").string()}};
  ASSERT_EQ(emerge(canonical_args(), env).exit_code, 0);
  EXPECT_TRUE(fs::exists(pkgdir() / kDir / "hello-1.0-r1-5.gpkg.tar"));
  // Without --getbinpkg the binhost is not consulted.
  ASSERT_EQ(emerge({"--oneshot", kAtom}, env).exit_code, 0);
  EXPECT_TRUE(fs::exists(pkgdir() / kDir / "hello-1.0-r1-6.gpkg.tar"));
}

TEST_F(FakeEmerge, PrintsPortagesFailureFormat) {
  auto r = emerge({"--oneshot", "=app-misc/hello-1.0-r1::overlay"}, {{"FAKE_EMERGE_FAIL", "*"}});
  EXPECT_EQ(r.exit_code, 1);
  const auto text = read_file(log());
  EXPECT_THAT(text, HasSubstr("\n * ERROR: app-misc/hello-1.0-r1::overlay failed (compile phase):\n *   emake failed\n"));
  EXPECT_THAT(text, HasSubstr(">>> Failed to emerge app-misc/hello-1.0-r1, Log file:"));
}

TEST_F(FakeEmerge, ResolveFailSaysThereAreNoEbuilds) {
  EXPECT_EQ(emerge(canonical_args(), {{"FAKE_EMERGE_RESOLVE_FAIL", "*"}}).exit_code, 1);
  EXPECT_THAT(read_file(log()), HasSubstr("emerge: there are no ebuilds to satisfy \"" + kAtom + "\"."));
}

TEST_F(FakeEmerge, DaemonLeavesTheSessionAndIsStillKilledAtTheTimeout) {
  const fs::path pids = m_dir / "pids";
  auto r = emerge(canonical_args(), {{"FAKE_EMERGE_DAEMON", "*"}, {"FAKE_EMERGE_PIDFILE", pids.string()}},
                  milliseconds(4000));
  EXPECT_TRUE(r.timed_out);
  std::vector<pid_t> started;
  std::istringstream in(read_file(pids));
  for (pid_t p; in >> p;) started.push_back(p);
  ASSERT_EQ(started.size(), 3u) << read_file(pids);
  for (pid_t p : started) EXPECT_TRUE(process_gone(p)) << p << " survived";
}

TEST_F(FakeEmerge, FailLeavesTheEmptyPlaceholder) {
  auto r = emerge(canonical_args(), {{"FAKE_EMERGE_FAIL", "dev-libs/other-1 app-misc/hello-1.0-r1"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(fs::file_size(pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar"), 0u);
  EXPECT_FALSE(fs::exists(pkgdir() / "Packages"));
  EXPECT_THAT(read_file(log()), HasSubstr("ERROR: app-misc/hello-1.0-r1::gentoo failed (compile phase)"));
  // Other atoms are not affected.
  EXPECT_EQ(emerge(canonical_args("=dev-libs/third-1"), {{"FAKE_EMERGE_FAIL", "app-misc/hello-1.0-r1"}}).exit_code, 0);
}

TEST_F(FakeEmerge, FailTimesFailsOnlyTheFirstCalls) {
  std::map<std::string, std::string> env = {{"FAKE_EMERGE_FAIL", "*"}, {"FAKE_EMERGE_FAIL_TIMES", "2"}};
  EXPECT_EQ(emerge(canonical_args(), env).exit_code, 1);
  EXPECT_EQ(emerge(canonical_args(), env).exit_code, 1);
  EXPECT_EQ(emerge(canonical_args(), env).exit_code, 0);
  // The third build skips the two failed placeholders.
  EXPECT_THAT(read_file(pkgdir() / "Packages"), HasSubstr("PATH: app-misc/hello/hello-1.0-r1-3.gpkg.tar\n"));
}

TEST_F(FakeEmerge, FollowsTheControlFileReadOnEveryCall) {
  fs::path control = m_dir / "control";
  std::map<std::string, std::string> env = {{"FAKE_EMERGE_CONTROL", control.string()}, {"FAKE_EMERGE_FAIL", "*"}};
  test::write_file(control, "# comment\nFAKE_EMERGE_NOFILE=\"app-misc/hello-1.0-r1\"\nFAKE_EMERGE_FAIL=\n");
  EXPECT_EQ(emerge(canonical_args(), env).exit_code, 0);
  EXPECT_FALSE(fs::exists(pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar"));
  test::write_file(control, "FAKE_EMERGE_FAIL=*\n");
  EXPECT_EQ(emerge(canonical_args(), env).exit_code, 1);
  test::write_file(control, "FAKE_EMERGE_FAIL=\n");
  EXPECT_EQ(emerge(canonical_args(), env).exit_code, 0);
}

TEST_F(FakeEmerge, NoFileExitsZeroWithoutAnyFileOrEntry) {
  auto r = emerge(canonical_args(), {{"FAKE_EMERGE_NOFILE", "*"}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(fs::exists(pkgdir() / "app-misc"));
  EXPECT_FALSE(fs::exists(pkgdir() / "Packages"));
}

TEST_F(FakeEmerge, PlaceholderOnlyExitsOneWithAnEmptyFile) {
  auto r = emerge(canonical_args(), {{"FAKE_EMERGE_PLACEHOLDER_ONLY", kAtom}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(fs::file_size(pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar"), 0u);
  EXPECT_FALSE(fs::exists(pkgdir() / "Packages"));
}

TEST_F(FakeEmerge, WrongPathWritesElsewhereWithoutAnEntry) {
  auto r = emerge(canonical_args(), {{"FAKE_EMERGE_WRONG_PATH", "*"}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_GT(fs::file_size(pkgdir() / "app-misc/hello-1.0-r1-1.gpkg.tar"), 0u);
  EXPECT_FALSE(fs::exists(pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar"));
  EXPECT_FALSE(fs::exists(pkgdir() / "Packages"));
}

TEST_F(FakeEmerge, CrashDiesBySegv) {
  auto r = emerge(canonical_args(), {{"FAKE_EMERGE_CRASH", "*"}});
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.exit_code, -1);
}

TEST_F(FakeEmerge, OomUsesMemoryAndDiesByKill) {
  auto r = emerge(canonical_args(), {{"FAKE_EMERGE_OOM", "*"}, {"FAKE_EMERGE_OOM_MB", "120"}});
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GT(r.max_rss_kb, 100'000);
  EXPECT_THAT(read_file(log()), HasSubstr("Out of memory"));
}

TEST_F(FakeEmerge, LargePadsTheChosenAtomsOnly) {
  std::map<std::string, std::string> env = {{"FAKE_EMERGE_LARGE", "app-misc/hello-1.0-r1"},
                                            {"FAKE_EMERGE_SIZE_KB", "1024"}};
  ASSERT_EQ(emerge(canonical_args(), env).exit_code, 0);
  ASSERT_EQ(emerge(canonical_args("=dev-libs/small-1"), env).exit_code, 0);
  EXPECT_GT(fs::file_size(pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar"), 1024u * 1024u);
  EXPECT_LT(fs::file_size(pkgdir() / "dev-libs/small/small-1-1.gpkg.tar"), 100u * 1024u);
}

TEST_F(FakeEmerge, HangIsKilledWithItsWholeGroupAtTheTimeout) {
  fs::path pidfile = m_dir / "hang.pids";
  auto r = emerge(canonical_args(), {{"FAKE_EMERGE_HANG", "*"}, {"FAKE_EMERGE_PIDFILE", pidfile.string()}},
                  milliseconds(1500));
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(r.duration, milliseconds(1500 + 500 + 1000));
  EXPECT_EQ(fs::file_size(pkgdir() / kDir / "hello-1.0-r1-1.gpkg.tar"), 0u);
  ASSERT_TRUE(fs::exists(pidfile));
  std::istringstream pids(read_file(pidfile));
  int count = 0;
  for (pid_t pid; pids >> pid; ++count) EXPECT_TRUE(process_gone(pid)) << pid;
  EXPECT_EQ(count, 2);
}

}  // namespace
}  // namespace swarm
