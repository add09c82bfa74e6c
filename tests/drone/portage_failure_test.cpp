#include "drone/portage_failure.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace swarm::drone {
namespace {

// What die() prints (bin/isolated-functions.sh) in a compile phase, coloured as on a terminal,
// followed by the scheduler's line and elog's repeat of the messages (Scheduler.py, mod_echo.py).
const char* const kCompileFailure =
    ">>> Compiling source in /var/tmp/portage/app-misc/foo-1.0/work/foo-1.0 ...\n"
    "make -j2\n"
    "x86_64-pc-linux-gnu-gcc -O2 -pipe -c -o foo.o foo.c\n"
    "foo.c:12:3: error: unknown type name 'sizet'\n"
    "   12 |   sizet n;\n"
    "make: *** [Makefile:8: foo.o] Error 1\n"
    " \x1b[31;01m*\x1b[0m ERROR: app-misc/foo-1.0::overlay failed (compile phase):\n"
    " \x1b[31;01m*\x1b[0m   emake failed\n"
    " \x1b[31;01m*\x1b[0m \n"
    " \x1b[31;01m*\x1b[0m If you need support, post the output of `emerge --info '=app-misc/foo-1.0::overlay'`,\n"
    " \x1b[31;01m*\x1b[0m the complete build log and the output of `emerge -pqv '=app-misc/foo-1.0::overlay'`.\n"
    " \x1b[31;01m*\x1b[0m The complete build log is located at '/var/tmp/portage/app-misc/foo-1.0/temp/build.log'.\n"
    " \x1b[31;01m*\x1b[0m The ebuild environment file is located at '/var/tmp/portage/app-misc/foo-1.0/temp/environment'.\n"
    " \x1b[31;01m*\x1b[0m Working directory: '/var/tmp/portage/app-misc/foo-1.0/work/foo-1.0'\n"
    "\n"
    ">>> Failed to emerge app-misc/foo-1.0, Log file:\n"
    "\n"
    ">>>  '/var/tmp/portage/app-misc/foo-1.0/temp/build.log'\n"
    "\n"
    " * Messages for package app-misc/foo-1.0:\n"
    " * Log file: /var/tmp/portage/app-misc/foo-1.0/temp/build.log\n"
    "\n"
    " * ERROR: app-misc/foo-1.0::overlay failed (compile phase):\n"
    " *   emake failed\n"
    ">>> swarm-drone: emerge exit 1\n";

std::string last_line(const std::string& text) {
  std::string t = text.substr(0, text.size() - 1);
  return t.substr(t.rfind('\n') + 1);
}

TEST(PortageFailureTest, DieBlockWithTheBuildOutputBeforeIt) {
  auto f = find_portage_failure(kCompileFailure);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->summary, "ERROR: app-misc/foo-1.0::overlay failed (compile phase): emake failed");
  EXPECT_EQ(last_line(f->excerpt), f->summary);
  EXPECT_NE(f->excerpt.find("foo.c:12:3: error: unknown type name 'sizet'"), std::string::npos) << f->excerpt;
  EXPECT_NE(f->excerpt.find("make: *** [Makefile:8: foo.o] Error 1"), std::string::npos);
  EXPECT_NE(f->excerpt.find("The complete build log is located at"), std::string::npos);
  EXPECT_EQ(f->excerpt.find('\x1b'), std::string::npos) << "colours removed";
  EXPECT_EQ(f->excerpt.find("swarm-drone"), std::string::npos);
}

TEST(PortageFailureTest, DieWithoutPhaseOrMessage) {
  auto f = find_portage_failure(" * ERROR: dev-libs/bar-2::gentoo failed:\n *   (no error message)\n * \n");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->summary, "ERROR: dev-libs/bar-2::gentoo failed: (no error message)");
}

TEST(PortageFailureTest, NoEbuildsToSatisfy) {
  auto f = find_portage_failure(
      "Calculating dependencies... done!\n\nemerge: there are no ebuilds to satisfy \"=app-misc/foo-1.0:2::overlay\".\n");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->summary, "emerge: there are no ebuilds to satisfy \"=app-misc/foo-1.0:2::overlay\".");
}

TEST(PortageFailureTest, MaskedPackagesNameTheMask) {
  auto f = find_portage_failure(
      "\n!!! All ebuilds that could satisfy \"=app-misc/foo-1.0\" have been masked.\n"
      "!!! One of the following masked packages is required to complete your request:\n"
      "- app-misc/foo-1.0::gentoo (masked by: ~amd64 keyword)\n"
      "\nFor more information, see the MASKED PACKAGES section in the emerge\n");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->summary,
            "All ebuilds that could satisfy \"=app-misc/foo-1.0\" have been masked. app-misc/foo-1.0::gentoo (masked by: "
            "~amd64 keyword)");
}

TEST(PortageFailureTest, UnmetRequiredUse) {
  auto f = find_portage_failure(
      "\n!!! The ebuild selected to satisfy \"=media-libs/x-1\" has unmet requirements.\n"
      "- media-libs/x-1::gentoo USE=\"-a -b\"\n\n  The following REQUIRED_USE flag constraints are unsatisfied:\n"
      "    any-of ( a b )\n");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->summary, "The ebuild selected to satisfy \"=media-libs/x-1\" has unmet requirements.");
}

TEST(PortageFailureTest, BlockersFromRealEmergeOutput) {
  // Real output, coloured (fixtures/emerge/SOURCES.md).
  const auto text =
      test::read_file(test::shared_dir() / "fixtures/emerge/emerge-pretend-02-binary-getbinpkg-falkon-blocker-2026.txt");
  ASSERT_FALSE(text.empty());
  auto f = find_portage_failure(text);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->summary,
            "Error: The above package list contains packages which cannot be installed at the same time on the same "
            "system.");
}

TEST(PortageFailureTest, SlotConflict) {
  auto f = find_portage_failure(
      "\n!!! Multiple package instances within a single package slot have been pulled\n"
      "!!! into the dependency graph, resulting in a slot conflict:\n\nx11-libs/foo:0\n");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->summary, "Multiple package instances within a single package slot have been pulled");
}

TEST(PortageFailureTest, SchedulerLineWhenNothingElse) {
  auto f = find_portage_failure(">>> Failed to emerge app-misc/foo-1.0, Log file:\n");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->summary, "failed to emerge app-misc/foo-1.0");
}

TEST(PortageFailureTest, NothingInASuccessfulOrForeignOutput) {
  EXPECT_FALSE(find_portage_failure(">>> Emerging (1 of 1) a/b-1::gentoo\n>>> Completed (1 of 1) a/b-1::gentoo\n"));
  EXPECT_FALSE(find_portage_failure("Segmentation fault\n"));
  EXPECT_FALSE(find_portage_failure(""));
}

}  // namespace
}  // namespace swarm::drone
