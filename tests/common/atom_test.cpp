#include "common/atom.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace swarm {
namespace {

struct Entry {
  std::string cpv, slot, repo;
};

// Reads the CPV/SLOT/REPO of every package stanza in a binhost Packages file.
std::vector<Entry> packages_entries(const std::string& fixture_name) {
  std::istringstream in(test::read_file(test::fixture(fixture_name)));
  std::vector<Entry> out;
  Entry cur;
  std::string line;
  auto flush = [&] {
    if (!cur.cpv.empty()) out.push_back(cur);
    cur = Entry{};
  };
  while (std::getline(in, line)) {
    if (line.empty()) flush();
    if (line.rfind("CPV: ", 0) == 0) cur.cpv = line.substr(5);
    if (line.rfind("SLOT: ", 0) == 0) cur.slot = line.substr(6);
    if (line.rfind("REPO: ", 0) == 0) cur.repo = line.substr(6);
  }
  flush();
  return out;
}

TEST(Atom, EveryFixtureCpvParsesAndRoundTrips) {
  std::size_t total = 0;
  for (const char* name :
       {"binhost-Packages-01-amd64-17.1-systemd-clang-2023.txt", "binhost-Packages-02-arm-armv6j-2013.txt"}) {
    auto entries = packages_entries(name);
    EXPECT_GT(entries.size(), 40u) << name;
    for (const auto& e : entries) {
      ++total;
      for (const std::string& text : {e.cpv, "=" + e.cpv}) {
        auto a = parse_atom(text);
        ASSERT_TRUE(a.ok()) << a.error().message;
        EXPECT_EQ(a->cpv(), e.cpv);
        EXPECT_EQ(a->to_string(), "=" + e.cpv);
        EXPECT_TRUE(is_valid_category(a->category));
        EXPECT_TRUE(is_valid_pn(a->pn));
      }
      std::string full = "=" + e.cpv + (e.slot.empty() ? "" : ":" + e.slot) + (e.repo.empty() ? "" : "::" + e.repo);
      auto a = parse_atom(full);
      ASSERT_TRUE(a.ok()) << a.error().message;
      EXPECT_EQ(a->slot, e.slot);
      EXPECT_EQ(a->repo, e.repo);
      EXPECT_EQ(a->to_string(), full);
      auto again = parse_atom(a->to_string());
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, *a);
    }
  }
  EXPECT_EQ(total, 161u + 49u);
}

TEST(Atom, SplitsFields) {
  auto a = parse_atom("=dev-libs/openssl-3.0.9-r1:0/3::gentoo");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->category, "dev-libs");
  EXPECT_EQ(a->pn, "openssl");
  EXPECT_EQ(a->pv, "3.0.9");
  EXPECT_EQ(a->pr, "r1");
  EXPECT_EQ(a->slot, "0/3");
  EXPECT_EQ(a->repo, "gentoo");
  EXPECT_EQ(a->pf(), "openssl-3.0.9-r1");
  EXPECT_EQ(a->pvr(), "3.0.9-r1");
  EXPECT_EQ(a->cpv(), "dev-libs/openssl-3.0.9-r1");
  EXPECT_EQ(a->cp(), "dev-libs/openssl");
  EXPECT_EQ(a->to_string(), "=dev-libs/openssl-3.0.9-r1:0/3::gentoo");

  struct Case {
    const char* text;
    const char* pn;
    const char* pv;
    const char* pr;
  };
  const Case cases[] = {
      {"sys-devel/gcc-12.3.1_p20230526", "gcc", "12.3.1_p20230526", ""},
      {"app-misc/foo-1.0b_alpha2_p3-r10", "foo", "1.0b_alpha2_p3", "r10"},
      {"dev-lang/python-exec-conf-2.4.6", "python-exec-conf", "2.4.6", ""},
      {"sys-libs/libstdc++-v3-3.3.6-r1", "libstdc++-v3", "3.3.6", "r1"},
      {"x11-libs/gtk+-3.24.38", "gtk+", "3.24.38", ""},
      {"media-libs/x264-0.0.20220222", "x264", "0.0.20220222", ""},
      {"dev-libs/libfoo-2-compat-1.0", "libfoo-2-compat", "1.0", ""},
      {"app-text/texlive-core-2023_p69752-r3", "texlive-core", "2023_p69752", "r3"},
      {"dev-util/foo_bar-1_pre_rc2_beta_alpha1", "foo_bar", "1_pre_rc2_beta_alpha1", ""},
      {"acct-group/adm-0-r2", "adm", "0", "r2"},
      {"cat/p-1-r0", "p", "1", "r0"},
      {"Cat.1_x+y/Pkg.Name-99999999999999999999999", "Pkg.Name", "99999999999999999999999", ""},
  };
  for (const auto& c : cases) {
    auto r = parse_atom(c.text);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->pn, c.pn) << c.text;
    EXPECT_EQ(r->pv, c.pv) << c.text;
    EXPECT_EQ(r->pr, c.pr) << c.text;
    EXPECT_EQ(r->cpv(), c.text);
  }
}

TEST(Atom, LengthLimit) {
  std::string base = "=cat/";
  std::string suffix = "-1";
  std::string at_limit = base + std::string(kMaxAtomLength - base.size() - suffix.size(), 'p') + suffix;
  ASSERT_EQ(at_limit.size(), kMaxAtomLength);
  EXPECT_TRUE(parse_atom(at_limit).ok());
  auto over = parse_atom("=cat/" + std::string(kMaxAtomLength - base.size() - suffix.size() + 1, 'p') + suffix);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("longer than 256"), std::string::npos);
}

TEST(Atom, RejectsBadInputWithClearMessages) {
  struct Case {
    std::string text;
    const char* message_part;
  };
  const Case cases[] = {
      {"", "empty"},
      {"=", "nothing follows"},
      {"-foo/bar-1", "starts with '-'"},
      {"=-foo/bar-1", "starts with '-'"},
      {"--help", "starts with '-'"},
      {"@world", "sets"},
      {"=@world", "sets"},
      {"dev-libs/foo", "no version"},
      {"=dev-libs/foo", "no version"},
      {"dev-libs/foo-bar", "no version"},
      {"dev-libs/foo-", "no version"},
      {"dev-libs/foo-r1", "no version"},
      {"dev-libs/foo-1;rm -rf /", "forbidden character ';'"},
      {"dev-libs/foo-1 bar", "whitespace"},
      {"dev-libs/foo-1\t", "whitespace"},
      {"dev-libs/foo-1\n", "whitespace"},
      {std::string("dev-libs/foo-1\0x", 16), "non-printable"},
      {"dev-libs/f\xc3\xb6o-1", "non-printable"},
      {"$(x)/y-1", "forbidden character '$'"},
      {"dev-libs/foo-1`id`", "forbidden character '`'"},
      {"dev-libs/foo-1|cat", "forbidden character '|'"},
      {"dev-libs/foo-1&", "forbidden character '&'"},
      {"dev-libs/foo-1>x", "forbidden character '>'"},
      {">=dev-libs/foo-1", "forbidden character '>'"},
      {"<dev-libs/foo-1", "forbidden character '<'"},
      {"~dev-libs/foo-1", "forbidden character '~'"},
      {"!dev-libs/foo-1", "forbidden character '!'"},
      {"==dev-libs/foo-1", "forbidden character '='"},
      {"dev-libs/foo-1*", "forbidden character '*'"},
      {"dev-libs/foo-1[ssl]", "forbidden character '['"},
      {"dev-libs\\foo-1", "forbidden character '\\'"},
      {"'dev-libs/foo-1'", "forbidden character '''"},
      {"dev-libs/../foo-1", "'..'"},
      {"dev-libs/foo-1..2", "'..'"},
      {"a/b/c-1", "more than one '/'"},
      {"dev-libs/foo/-1", "more than one '/'"},
      {"/foo-1", "category is empty"},
      {"dev-libs/", "package name is empty"},
      {"dev-libs/-1", "package name is empty"},
      {".hidden/foo-1", "category"},
      {"+cat/foo-1", "category"},
      {"dev-libs/.foo-1", "package name"},
      {"dev-libs/+foo-1", "package name"},
      {"dev-libs/foo-1-2", "package name"},
      {"dev-libs/foo-1.2-r", "'1.2-r' is not a valid version"},
      {"dev-libs/foo-1.", "not a valid version"},
      {"dev-libs/foo-1_", "not a valid version"},
      {"dev-libs/foo-1_foo", "not a valid version"},
      {"dev-libs/foo-1_p_", "not a valid version"},
      {"dev-libs/foo-1ab", "not a valid version"},
      {"dev-libs/foo-1A", "not a valid version"},
      {"dev-libs/foo-1-r1-r2", "not a valid version"},
      {"dev-libs/foo-1-rc1", "not a valid version"},
      {"dev-libs/foo-.1", "no version"},
      {"dev-libs/foo-1:", "slot"},
      {"dev-libs/foo-1:-0", "slot"},
      {"dev-libs/foo-1:0/", "slot"},
      {"dev-libs/foo-1:0/1/2", "slot"},
      {"dev-libs/foo-1:a:b", "slot"},
      {"dev-libs/foo-1::", "repository"},
      {"dev-libs/foo-1::-gentoo", "repository"},
      {"dev-libs/foo-1::gen.too", "repository"},
      {"dev-libs/foo-1::overlay-1", "repository"},
      {"dev-libs/foo-1:::gentoo", "repository"},
      {"dev-libs/foo-1::gentoo:0", "repository"},
      {"dev-libs:foo-1", "no category"},
  };
  for (const auto& c : cases) {
    auto r = parse_atom(c.text);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos)
        << c.text << " -> " << r.error().message << " (wanted: " << c.message_part << ")";
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "raw control character in message";
  }
}

TEST(Atom, NameValidators) {
  for (const char* ok : {"dev-libs", "app-emacs", "virtual", "x11-libs", "Cat_1.x+y", "a"})
    EXPECT_TRUE(is_valid_category(ok)) << ok;
  for (const char* bad : {"", "-dev", ".dev", "+dev", "dev/libs", "dev libs", "dev;", "d\xc3\xa9v"})
    EXPECT_FALSE(is_valid_category(bad)) << bad;
  for (const char* ok : {"openssl", "gtk+", "libstdc++-v3", "python-exec-conf", "libfoo-2-compat", "foo-r", "x264"})
    EXPECT_TRUE(is_valid_pn(ok)) << ok;
  for (const char* bad : {"", "-foo", "+foo", ".foo", "foo-1", "foo-1.2b_rc3", "foo-1-r2", "foo-0", "foo/bar", "f o"})
    EXPECT_FALSE(is_valid_pn(bad)) << bad;
  EXPECT_TRUE(is_valid_version("1.0_rc1"));
  EXPECT_FALSE(is_valid_version("1.0-r1"));
  EXPECT_TRUE(is_valid_version("1.0-r1", true));
  EXPECT_FALSE(is_valid_version(""));
}

TEST(AtomVersion, PmsOrdering) {
  // Each entry is strictly greater than the one before it.
  const std::vector<std::string> ordered = {
      "0.9",      "1",        "1.0_alpha",  "1.0_alpha1",     "1.0_alpha2_p1", "1.0_beta",   "1.0_pre",
      "1.0_rc1",  "1.0_rc1_p1", "1.0_rc2",  "1.0",            "1.0-r1",        "1.0-r2",     "1.0_p",
      "1.0_p1",   "1.0_p2",   "1.0a",       "1.0b",           "1.0.1",         "1.01",       "1.02",
      "1.1",      "1.2",      "1.10",       "1.10.0.0",       "2",             "12.3.1_p20230101",
      "12.3.1_p20230526", "20230311.3.90", "99999999999999999999999", "100000000000000000000000"};
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    EXPECT_LT(compare_versions(ordered[i], ordered[i + 1]), 0) << ordered[i] << " < " << ordered[i + 1];
    EXPECT_GT(compare_versions(ordered[i + 1], ordered[i]), 0) << ordered[i + 1] << " > " << ordered[i];
    EXPECT_EQ(compare_versions(ordered[i], ordered[i]), 0);
  }
  std::vector<std::string> shuffled = ordered;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(42));
  std::sort(shuffled.begin(), shuffled.end(),
            [](const std::string& a, const std::string& b) { return compare_versions(a, b) < 0; });
  EXPECT_EQ(shuffled, ordered);
}

TEST(AtomVersion, EqualButDifferentlySpelled) {
  EXPECT_EQ(compare_versions("1.0", "1.00"), 0);
  EXPECT_EQ(compare_versions("1.01", "1.010"), 0);
  EXPECT_EQ(compare_versions("1_p", "1_p0"), 0);
  EXPECT_EQ(compare_versions("1.0-r0", "1.0"), 0);
  EXPECT_EQ(compare_versions("01", "1"), 0);
  EXPECT_EQ(compare_versions("1.0_rc01", "1.0_rc1"), 0);
}

TEST(AtomVersion, InvalidVersionsSortLastConsistently) {
  EXPECT_LT(compare_versions("1.0", "banana"), 0);
  EXPECT_GT(compare_versions("banana", "1.0"), 0);
  EXPECT_LT(compare_versions("apple", "banana"), 0);
  EXPECT_EQ(compare_versions("", ""), 0);
  EXPECT_LT(compare_versions("99", ""), 0);
}

TEST(AtomVersion, FixtureVersionsCompareAntisymmetrically) {
  std::vector<std::string> versions;
  for (const auto& e : packages_entries("binhost-Packages-01-amd64-17.1-systemd-clang-2023.txt")) {
    auto a = parse_atom(e.cpv);
    ASSERT_TRUE(a.ok());
    versions.push_back(a->pvr());
  }
  for (const auto& a : versions)
    for (const auto& b : versions) {
      int ab = compare_versions(a, b);
      int ba = compare_versions(b, a);
      EXPECT_EQ((ab > 0) - (ab < 0), -((ba > 0) - (ba < 0))) << a << " vs " << b;
    }
}

}  // namespace
}  // namespace swarm
