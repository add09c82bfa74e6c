#include "common/fingerprint.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/process_runner.hpp"
#include "support/test_support.hpp"

namespace swarm {
namespace {

namespace fs = std::filesystem;

// Captured once from `LC_ALL=C gcc -march=native -Q --help=target` (gcc 12.2, Debian 12, AMD
// Zen 3): the first 45 lines, a few later option lines and the closing lists, verbatim.
const char* const kGccTargetHelp = R"GCC(The following options are target specific:
  -m128bit-long-double        		[enabled]
  -m16                        		[disabled]
  -m32                        		[disabled]
  -m3dnow                     		[disabled]
  -m3dnowa                    		[disabled]
  -m64                        		[enabled]
  -m80387                     		[enabled]
  -m8bit-idiv                 		[disabled]
  -m96bit-long-double         		[disabled]
  -mabi=                      		sysv
  -mabm                       		[enabled]
  -maccumulate-outgoing-args  		[disabled]
  -maddress-mode=             		long
  -madx                       		[enabled]
  -maes                       		[enabled]
  -malign-data=               		compat
  -malign-double              		[disabled]
  -malign-functions=          		0
  -malign-jumps=              		0
  -malign-loops=              		0
  -malign-stringops           		[enabled]
  -mamx-bf16                  		[disabled]
  -mamx-int8                  		[disabled]
  -mamx-tile                  		[disabled]
  -mandroid                   		[disabled]
  -march=                     		znver3
  -masm=                      		att
  -mavx                       		[enabled]
  -mavx2                      		[enabled]
  -mavx256-split-unaligned-load 	[disabled]
  -mavx256-split-unaligned-store 	[disabled]
  -mavx5124fmaps              		[disabled]
  -mavx5124vnniw              		[disabled]
  -mavx512bf16                		[disabled]
  -mavx512bitalg              		[disabled]
  -mavx512bw                  		[disabled]
  -mavx512cd                  		[disabled]
  -mavx512dq                  		[disabled]
  -mavx512er                  		[disabled]
  -mavx512f                   		[disabled]
  -mavx512fp16                		[disabled]
  -mavx512ifma                		[disabled]
  -mavx512pf                  		[disabled]
  -mavx512vbmi                		[disabled]
  -msse4.2                    		[enabled]
  -mtune-ctrl=                		
  -mtune=                     		znver3
  -mvzeroupper                		[enabled]
  -mxsaves                    		[enabled]
  Known preferred register vector length (to use with the -mprefer-vector-width= option):
    128 256 512 none

  Known stack protector guard (for use with the -mstack-protector-guard= option):
    global tls

  Valid arguments to -mstringop-strategy=:
    byte_loop libcall loop rep_4byte rep_8byte rep_byte unrolled_loop
    vector_loop

  Known TLS dialects (for use with the -mtls-dialect= option):
    gnu gnu2

  Known valid arguments for -march= option:
    i386 i486 i586 pentium lakemont pentium-mmx winchip-c6 winchip2 c3 samuel-2 c3-2 nehemiah c7 esther i686 pentiumpro pentium2 pentium3 pentium3m pentium-m pentium4 pentium4m prescott nocona core2 nehalem corei7 westmere sandybridge corei7-avx ivybridge core-avx-i haswell core-avx2 broadwell skylake skylake-avx512 cannonlake icelake-client rocketlake icelake-server cascadelake tigerlake cooperlake sapphirerapids alderlake bonnell atom silvermont slm goldmont goldmont-plus tremont knl knm intel geode k6 k6-2 k6-3 athlon athlon-tbird athlon-4 athlon-xp athlon-mp x86-64 x86-64-v2 x86-64-v3 x86-64-v4 eden-x2 nano nano-1000 nano-2000 nano-3000 nano-x2 eden-x4 nano-x4 k8 k8-sse3 opteron opteron-sse3 athlon64 athlon64-sse3 athlon-fx amdfam10 barcelona bdver1 bdver2 bdver3 bdver4 znver1 znver2 znver3 btver1 btver2 generic native

  Known valid arguments for -mtune= option:
    generic i386 i486 pentium lakemont pentiumpro pentium4 nocona core2 nehalem sandybridge haswell bonnell silvermont goldmont goldmont-plus tremont knl knm skylake skylake-avx512 cannonlake icelake-client icelake-server cascadelake tigerlake cooperlake sapphirerapids alderlake rocketlake intel geode k6 athlon k8 amdfam10 bdver1 bdver2 bdver3 bdver4 btver1 btver2 znver1 znver2 znver3

)GCC";

Fingerprint parse_info_fixture(const std::string& name) {
  auto r = parse_emerge_info(test::read_file(test::fixture(name)));
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Fingerprint{};
}

const char* const kInfo01 = "emerge-info-01-portage-3.0.72-amd64-23.0-nomultilib-systemd.txt";
const char* const kInfo02 = "emerge-info-02-portage-3.0.20-amd64-17.1-plasma-systemd-2021.txt";
const char* const kInfo04 = "emerge-info-04-verbose-portage-2.3.41-hardened-selinux-2018.txt";

TEST(Fingerprint, ParsesEmergeInfo2026) {
  auto fp = parse_info_fixture(kInfo01);
  const auto& v = fp.values;
  EXPECT_EQ(v.at("CHOST"), "x86_64-pc-linux-gnu");
  EXPECT_EQ(v.at("PROFILE"), "default/linux/amd64/23.0/no-multilib/systemd");
  EXPECT_EQ(v.at("CFLAGS"), "-march=znver3 -fomit-frame-pointer -O2 -pipe");
  EXPECT_EQ(v.at("CXXFLAGS"), "-march=znver3 -fomit-frame-pointer -O2 -pipe");
  EXPECT_EQ(v.at("LDFLAGS"), "-Wl,-O1 -Wl,--as-needed -Wl,-z,pack-relative-relocs");
  EXPECT_EQ(v.at("ACCEPT_KEYWORDS"), "amd64");
  EXPECT_EQ(v.at("USE"), "amd64 gnu minimal reference test-rust");
  EXPECT_EQ(v.at("PYTHON_TARGETS"), "python3_13");
  EXPECT_EQ(v.at("PYTHON_SINGLE_TARGET"), "python3_13");
  EXPECT_EQ(v.at("L10N"), "en-GB");
  EXPECT_NE(v.at("CPU_FLAGS_X86").find("avx2 bmi1"), std::string::npos);
  for (const char* noise : {"FEATURES", "MAKEOPTS", "CBUILD", "EMERGE_DEFAULT_OPTS", "PKGDIR", "FCFLAGS", "LANG"}) {
    EXPECT_EQ(v.count(noise), 0u) << noise;
  }
  EXPECT_EQ(v.size(), 6u + 10u);  // 6 settings + USE line groups
}

TEST(Fingerprint, ParsesEmergeInfo2021) {
  auto fp = parse_info_fixture(kInfo02);
  const auto& v = fp.values;
  EXPECT_EQ(v.at("CHOST"), "x86_64-pc-linux-gnu");
  EXPECT_EQ(v.at("PROFILE"), "default/linux/amd64/17.1/desktop/plasma/systemd");
  EXPECT_EQ(v.at("CFLAGS"), "-O2 -march=haswell -pipe");
  EXPECT_EQ(v.at("LDFLAGS"), "-Wl,-O1 -Wl,--as-needed");
  EXPECT_EQ(v.at("ABI_X86"), "32 64");
  EXPECT_EQ(v.at("VIDEO_CARDS"), "i965 intel nvidia");  // sorted from "intel i965 nvidia"
  EXPECT_EQ(v.at("PHP_TARGETS"), "php7-3 php7-4");
  EXPECT_NE(v.at("USE").find("wxwidgets x264 xattr"), std::string::npos);
  EXPECT_EQ(v.count("MAKEOPTS"), 0u);
}

TEST(Fingerprint, ParsesVerboseEmergeInfo2018) {
  auto fp = parse_info_fixture(kInfo04);
  const auto& v = fp.values;
  EXPECT_EQ(v.at("CHOST"), "x86_64-pc-linux-gnu");
  EXPECT_EQ(v.at("PROFILE"), "default/linux/amd64/17.0/hardened/selinux");
  EXPECT_EQ(v.at("CFLAGS"), "-march=sandybridge -O2 -pipe");
  EXPECT_EQ(v.count("CXXFLAGS"), 0u);  // CXXFLAGS="" counts as unset
  EXPECT_EQ(v.at("ACCEPT_KEYWORDS"), "amd64 ~amd64");
  EXPECT_EQ(v.at("CPU_FLAGS_X86"), "mmx mmxext sse sse2");
  EXPECT_EQ(v.at("PYTHON_TARGETS"), "python2_7 python3_6");
  EXPECT_EQ(v.at("VIDEO_CARDS"), "i915 intel");
  EXPECT_NE(v.at("USE").find("hardened"), std::string::npos);
  // The verbose dump of every variable stays out.
  for (const char* noise : {"ABI", "ARCH", "PATH", "LS_COLORS", "FETCHCOMMAND", "USE_EXPAND", "USE_EXPAND_VALUES_ARCH",
                            "CFLAGS_amd64", "CHOST_x86", "GRUB_PLATFORMS", "SSH_CLIENT", "FEATURES"}) {
    EXPECT_EQ(v.count(noise), 0u) << noise;
  }
  EXPECT_EQ(v.size(), 5u + 22u);  // 5 settings (CXXFLAGS empty) + USE and its 21 groups
}

TEST(Fingerprint, VerboseAndShortFormsAgree) {
  // Keep only what the short form prints: banner, the plain settings and the USE line.
  std::string verbose = test::read_file(test::fixture(kInfo04));
  std::string short_form;
  std::size_t pos = 0;
  while (pos < verbose.size()) {
    std::size_t end = verbose.find('\n', pos);
    std::string line = verbose.substr(pos, end - pos);
    pos = end == std::string::npos ? verbose.size() : end + 1;
    for (const char* prefix : {"Portage ", "ACCEPT_KEYWORDS=", "CFLAGS=", "CHOST=", "CXXFLAGS=", "LDFLAGS=",
                               "MAKEOPTS=", "FEATURES=", "USE=\""}) {
      if (line.rfind(prefix, 0) == 0) short_form += line + "\n";
    }
  }
  auto a = parse_emerge_info(verbose);
  auto b = parse_emerge_info(short_form);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(fingerprint_diff(*a, *b), std::vector<std::string>{});
  EXPECT_EQ(a->hash(), b->hash());
}

TEST(Fingerprint, HashIsStableAndKnown) {
  Fingerprint fp{{{"B", "2"}, {"A", "1"}}};
  // sha256 of "A=1\nB=2\n": fixed, so fingerprints compare across builds and machines.
  EXPECT_EQ(fp.hash(), "beb5f2519a8d4a22ff19d6b4ba05806c75710dc1ad7e2ef37ee1d1a950d4b074");
  EXPECT_EQ(parse_info_fixture(kInfo01).hash(), parse_info_fixture(kInfo01).hash());
  EXPECT_NE(parse_info_fixture(kInfo01).hash(), parse_info_fixture(kInfo02).hash());
}

TEST(Fingerprint, HashIgnoresWordOrderInUseButNotInCflags) {
  std::string text = test::read_file(test::fixture(kInfo01));
  auto base = parse_emerge_info(text);
  ASSERT_TRUE(base.ok());

  std::string reordered = text;
  auto replace = [](std::string& s, const std::string& from, const std::string& to) {
    auto at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
  };
  replace(reordered, "USE=\"amd64 gnu minimal reference test-rust\"",
          "USE=\"test-rust  reference gnu amd64 minimal gnu\"");
  replace(reordered, "CPU_FLAGS_X86=\"aes avx avx2", "CPU_FLAGS_X86=\"avx2 avx aes");
  auto same = parse_emerge_info(reordered);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->hash(), base->hash());

  std::string cflags = text;
  replace(cflags, "CFLAGS=\" -march=znver3 -fomit-frame-pointer -O2 -pipe \"",
          "CFLAGS=\"-O2 -march=znver3 -fomit-frame-pointer -pipe\"");
  auto other = parse_emerge_info(cflags);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->hash(), base->hash());
  EXPECT_EQ(fingerprint_diff(*base, *other), std::vector<std::string>{"CFLAGS"});
}

TEST(Fingerprint, DiffReportsExactlyTheDifferingKeys) {
  Fingerprint a{{{"CHOST", "x86_64-pc-linux-gnu"}, {"CFLAGS", "-O2"}, {"USE", "a b"}, {"L10N", "de"}}};
  Fingerprint b{{{"CHOST", "x86_64-pc-linux-gnu"}, {"CFLAGS", "-O3"}, {"USE", "a b"}, {"VIDEO_CARDS", "intel"}}};
  EXPECT_EQ(fingerprint_diff(a, b), (std::vector<std::string>{"CFLAGS", "L10N", "VIDEO_CARDS"}));
  EXPECT_EQ(fingerprint_diff(b, a), (std::vector<std::string>{"CFLAGS", "L10N", "VIDEO_CARDS"}));
  EXPECT_TRUE(fingerprint_diff(a, a).empty());
  EXPECT_EQ(fingerprint_diff(a, Fingerprint{}).size(), 4u);
}

TEST(Fingerprint, JsonRoundTripAndHashCheck) {
  auto fp = parse_info_fixture(kInfo02);
  nlohmann::json j = fp.to_json();
  EXPECT_EQ(j.at("hash"), fp.hash());
  EXPECT_EQ(j.at("CHOST"), "x86_64-pc-linux-gnu");
  auto back = Fingerprint::from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, fp);

  j["CFLAGS"] = "-O3";
  auto tampered = Fingerprint::from_json(j);
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().kind, ErrorKind::invalid);

  j.erase("hash");  // without a hash the values are taken as they are
  ASSERT_TRUE(Fingerprint::from_json(j).ok());
  EXPECT_FALSE(Fingerprint::from_json(nlohmann::json{{"CHOST", 5}}).ok());
  EXPECT_FALSE(Fingerprint::from_json(nlohmann::json::array()).ok());
}

TEST(Fingerprint, RejectsTextWithoutChost) {
  auto r = parse_emerge_info("Portage 3.0 (python 3.11, default/linux/amd64/23.0, gcc-13)\nUSE=\"a b\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_FALSE(parse_emerge_info("").ok());
}

TEST(Fingerprint, ProfileFromOtherForms) {
  auto r = parse_emerge_info(
      "Profile: /var/db/repos/gentoo/profiles/default/linux/arm64/23.0/\nCHOST=\"aarch64-unknown-linux-gnu\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->values.at("PROFILE"), "default/linux/arm64/23.0");
  EXPECT_EQ(r->values.at("CHOST"), "aarch64-unknown-linux-gnu");
}

TEST(Fingerprint, ResolvesMarchNative) {
  Fingerprint fp{{{"CFLAGS", "-O2 -march=native -pipe"},
                  {"CXXFLAGS", "-O2 -march=native -pipe"},
                  {"LDFLAGS", "-Wl,-O1"},
                  {"CHOST", "x86_64-pc-linux-gnu"}}};
  int calls = 0;
  auto resolved = resolve_march_native(fp, [&](const std::string& flags) -> Result<std::string> {
    ++calls;
    EXPECT_EQ(flags, "-O2 -march=native -pipe");
    return std::string("-march=znver3  -mavx2 -maes");
  });
  EXPECT_EQ(calls, 1);  // same flags, one answer
  EXPECT_EQ(resolved.values.at("CFLAGS"), "-O2 -march=znver3 -mavx2 -maes -pipe");
  EXPECT_EQ(resolved.values.at("CXXFLAGS"), "-O2 -march=znver3 -mavx2 -maes -pipe");
  EXPECT_EQ(resolved.values.at("LDFLAGS"), "-Wl,-O1");
  EXPECT_EQ(resolved.values.count(kMarchUnresolvedKey), 0u);

  // Nothing to resolve: the resolver is not called.
  auto plain = resolve_march_native(parse_info_fixture(kInfo01), [&](const std::string&) -> Result<std::string> {
    ADD_FAILURE() << "resolver called";
    return std::string();
  });
  EXPECT_EQ(plain, parse_info_fixture(kInfo01));

  auto failed = resolve_march_native(
      fp, [](const std::string&) -> Result<std::string> { return make_error(ErrorKind::io, "gcc: not found"); });
  EXPECT_EQ(failed.values.at("CFLAGS"), "-O2 -march=native -pipe");
  EXPECT_EQ(failed.values.at(kMarchUnresolvedKey), "gcc: not found");
  EXPECT_EQ(fingerprint_diff(resolved, failed), (std::vector<std::string>{"CFLAGS", "CXXFLAGS", kMarchUnresolvedKey}));
}

TEST(Fingerprint, ParsesGccTargetHelp) {
  auto r = parse_gcc_target_help(kGccTargetHelp);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->march, "znver3");
  auto has = [&](const std::string& f) {
    return std::find(r->enabled.begin(), r->enabled.end(), f) != r->enabled.end();
  };
  for (const char* f : {"-mavx", "-mavx2", "-maes", "-madx", "-msse4.2", "-mvzeroupper", "-mxsaves", "-m64"}) {
    EXPECT_TRUE(has(f)) << f;
  }
  for (const char* f : {"-m16", "-m32", "-mavx512f", "-mamx-tile", "-march=", "-mtune=", "-mabi=", "-mtune-ctrl="}) {
    EXPECT_FALSE(has(f)) << f;
  }
  EXPECT_EQ(r->enabled.size(), 12u);
  EXPECT_EQ(r->flags().rfind("-march=znver3 -m128bit-long-double -m64 -m80387 -mabm", 0), 0u) << r->flags();

  EXPECT_FALSE(parse_gcc_target_help("").ok());
  EXPECT_FALSE(parse_gcc_target_help("The following options are target specific:\n  -mavx  [enabled]\n").ok());
}

TEST(Fingerprint, GccResolvesNativeForReal) {
  if (test::run_shell("command -v gcc >/dev/null 2>&1") != 0) GTEST_SKIP() << "no gcc";
  PosixProcessRunner runner;
  auto r = gcc_resolve_native(runner, "gcc", "-O2 -march=native -pipe");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rfind("-march=", 0), 0u);
  EXPECT_EQ(r->find("native"), std::string::npos);
  EXPECT_NE(r->find("-m64"), std::string::npos);
  // -mno-sse3 changes what native means.
  auto fewer = gcc_resolve_native(runner, "gcc", "-O2 -march=native -mno-sse3");
  ASSERT_TRUE(fewer.ok()) << fewer.error().message;
  EXPECT_EQ(fewer->find(" -msse3 "), std::string::npos);

  auto resolved = resolve_march_native(Fingerprint{{{"CFLAGS", "-march=native -O2"}}}, gcc_native_resolver(runner));
  EXPECT_EQ(resolved.values.at("CFLAGS"), *r + " -O2");

  auto missing = gcc_resolve_native(runner, "/nonexistent/gcc", "-march=native");
  EXPECT_FALSE(missing.ok());
}

TEST(Fingerprint, PortageConfigHash) {
  test::TempDir dir;
  fs::path etc = dir.path() / "portage";
  test::write_file(etc / "package.use" / "desktop", "media-video/mpv vaapi\n");
  test::write_file(etc / "package.use" / "zz-python", "*/* PYTHON_TARGETS: python3_12\n");
  test::write_file(etc / "package.accept_keywords", "dev-lang/rust ~amd64\n");
  test::write_file(etc / "env" / "O3.conf", "CFLAGS=\"${CFLAGS} -O3\"\n");
  test::write_file(etc / "make.conf", "MAKEOPTS=\"-j8\"\n");
  test::write_file(etc / "repos.conf" / "gentoo.conf", "[gentoo]\n");
  const std::string base = hash_portage_config(etc);
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(hash_portage_config(etc), base);

  // Unrelated files, per-machine make.conf, hidden files and editor backups do not count.
  test::write_file(etc / "repos.conf" / "gentoo.conf", "[gentoo]\nsync-uri = rsync://elsewhere\n");
  test::write_file(etc / "make.conf", "MAKEOPTS=\"-j64\"\n");
  test::write_file(etc / "package.use" / ".keep", "");
  test::write_file(etc / "package.use" / "desktop~", "old\n");
  EXPECT_EQ(hash_portage_config(etc), base);

  test::write_file(etc / "package.use" / "desktop", "media-video/mpv vaapi vdpau\n");
  const std::string changed = hash_portage_config(etc);
  EXPECT_NE(changed, base);

  // The same content under another file name is another configuration.
  fs::rename(etc / "package.use" / "desktop", etc / "package.use" / "mpv");
  EXPECT_NE(hash_portage_config(etc), changed);
  fs::rename(etc / "package.use" / "mpv", etc / "package.use" / "desktop");
  EXPECT_EQ(hash_portage_config(etc), changed);

  test::write_file(etc / "package.accept_keywords", "dev-lang/rust ~amd64\ndev-lang/go ~amd64\n");
  EXPECT_NE(hash_portage_config(etc), changed);
}

TEST(Fingerprint, PortageConfigHashFollowsSymlinkedDirectories) {
  test::TempDir dir;
  test::write_file(dir / "real" / "package.use" / "a", "x/y z\n");
  test::write_file(dir / "linked" / "elsewhere" / "a", "x/y z\n");
  fs::create_directories(dir / "linked" / "portage");
  fs::create_directory_symlink(dir / "linked" / "elsewhere", dir / "linked" / "portage" / "package.use");
  EXPECT_EQ(hash_portage_config(dir / "real"), hash_portage_config(dir / "linked" / "portage"));

  // Missing entries are skipped: an empty /etc/portage has a fixed hash.
  fs::create_directories(dir / "empty1");
  fs::create_directories(dir / "empty2");
  EXPECT_EQ(hash_portage_config(dir / "empty1"), hash_portage_config(dir / "empty2"));
  EXPECT_NE(hash_portage_config(dir / "empty1"), hash_portage_config(dir / "real"));
}

}  // namespace
}  // namespace swarm
