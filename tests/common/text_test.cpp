// The shared ASCII helpers and errno_error.

#include "common/text.hpp"

#include <cerrno>

#include <gtest/gtest.h>

#include "common/result.hpp"

namespace swarm {
namespace {

TEST(Text, AllDigitsNeedsAtLeastOneDigitAndNothingElse) {
  EXPECT_TRUE(all_digits("0"));
  EXPECT_TRUE(all_digits("20261123"));
  EXPECT_FALSE(all_digits(""));
  EXPECT_FALSE(all_digits("12a"));
  EXPECT_FALSE(all_digits("-1"));
  EXPECT_FALSE(all_digits(" 1"));
  EXPECT_FALSE(all_digits("1.0"));
}

TEST(Text, AsciiLowerChangesOnlyAToZ) {
  EXPECT_EQ(ascii_lower("ABCdef0123"), "abcdef0123");
  EXPECT_EQ(ascii_lower("Content-Type"), "content-type");
  EXPECT_EQ(ascii_lower(""), "");
  EXPECT_EQ(ascii_lower("@[`{"), "@[`{");  // the neighbours of A-Z and a-z stay
  EXPECT_EQ(ascii_lower("\xC3\x84"), "\xC3\x84");  // bytes above 127 stay
}

TEST(Text, SplitWordsOnAnyAsciiWhiteSpace) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_words("DATA image.tar.zst 1234 SHA512 ab"), (V{"DATA", "image.tar.zst", "1234", "SHA512", "ab"}));
  EXPECT_EQ(split_words("  -O2\t-pipe \n -march=native\r\n"), (V{"-O2", "-pipe", "-march=native"}));
  EXPECT_EQ(split_words("a\vb\fc"), (V{"a", "b", "c"}));
  EXPECT_TRUE(split_words("").empty());
  EXPECT_TRUE(split_words(" \t\n ").empty());
}

TEST(Text, ErrnoErrorNamesTheCallAndTheReason) {
  Error e = errno_error("open /nowhere", ENOENT);
  EXPECT_EQ(e.kind, ErrorKind::io);
  EXPECT_EQ(e.message, "open /nowhere: No such file or directory");
}

}  // namespace
}  // namespace swarm
