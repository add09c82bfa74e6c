#include "drone/build_command.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace swarm::drone {
namespace {

Atom atom(const std::string& text) { return *parse_atom(text); }

TEST(BuildCommandTest, IsTheCanonicalCommand) {
  EXPECT_EQ(emerge_argv({"emerge"}, atom("=sys-libs/libseccomp-2.6.0-r3")),
            (std::vector<std::string>{"emerge", "--ask=n", "--oneshot", "--buildpkg", "--usepkg", "--getbinpkg",
                                      "--usepkg-exclude=sys-libs/libseccomp", "--with-bdeps=y",
                                      "=sys-libs/libseccomp-2.6.0-r3"}));
}

TEST(BuildCommandTest, KeepsALeadingCommandAndTheSlotAndRepo) {
  auto argv = emerge_argv({"/usr/bin/env", "X=1", "emerge"}, atom("=dev-lang/python-3.12.1:3.12::gentoo"));
  EXPECT_EQ(argv.front(), "/usr/bin/env");
  EXPECT_EQ(argv[2], "emerge");
  EXPECT_EQ(argv[3], "--ask=n");
  EXPECT_EQ(argv.back(), "=dev-lang/python-3.12.1:3.12::gentoo");
  // emerge refuses a ::repo in --usepkg-exclude (repository/config.py _find_bad_atoms): CATEGORY/PN only.
  EXPECT_EQ(argv[argv.size() - 3], "--usepkg-exclude=dev-lang/python");
}

TEST(BuildCommandTest, KeepsASubslot) {
  EXPECT_EQ(emerge_argv({"emerge"}, atom("=app-misc/foo-1.0:2/2.1::overlay")).back(), "=app-misc/foo-1.0:2/2.1::overlay");
}

TEST(BuildCommandTest, DependsOnTheAtomAlone) {
  // Rebuilt for every attempt from the atom: the same atom always gives the same command line.
  EXPECT_EQ(emerge_argv({"emerge"}, atom("=a/b-1")), emerge_argv({"emerge"}, atom("a/b-1")));
}

ProcessResult exited(int code) {
  ProcessResult r;
  r.started = true;
  r.exit_code = code;
  return r;
}

ProcessResult signalled(int sig) {
  ProcessResult r;
  r.started = true;
  r.signal = sig;
  return r;
}

TEST(ClassifyBuildTest, Success) { EXPECT_EQ(classify_build(exited(0), "", true), std::nullopt); }

TEST(ClassifyBuildTest, ExitZeroWithoutBinary) { EXPECT_EQ(classify_build(exited(0), "", false), "no_binary"); }

TEST(ClassifyBuildTest, BuildFailure) {
  EXPECT_EQ(classify_build(exited(1), "make: *** Error 1", false), "build");
  EXPECT_EQ(classify_build(exited(130), "", false), "build");
}

TEST(ClassifyBuildTest, DiskAndMemoryFailuresAreTheDrones) {
  EXPECT_EQ(classify_build(exited(1), "cc1plus: fatal error: write: No space left on device", false), "disk");
  EXPECT_EQ(classify_build(exited(1), "virtual memory exhausted: Cannot allocate memory", false), "oom");
  EXPECT_EQ(classify_build(signalled(SIGKILL), "Out of memory: Killed process 1234 (cc1plus)", false), "oom");
}

TEST(ClassifyBuildTest, Signals) {
  EXPECT_EQ(classify_build(signalled(SIGSEGV), "", false), "crash");
  EXPECT_EQ(classify_build(signalled(SIGKILL), "nothing about memory", false), "crash");
}

TEST(ClassifyBuildTest, TimeoutWinsOverTheSignalItCaused) {
  ProcessResult r = signalled(SIGTERM);
  r.timed_out = true;
  EXPECT_EQ(classify_build(r, "Out of memory", false), "timeout");
}

TEST(ClassifyBuildTest, NotStartedIsACrash) {
  ProcessResult r;
  r.error = "emerge: No such file or directory";
  EXPECT_EQ(classify_build(r, "", false), "crash");
}

}  // namespace
}  // namespace swarm::drone
