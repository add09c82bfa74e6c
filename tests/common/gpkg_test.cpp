// gpkg reader and writer against packages built by tests/support/make-gpkg.sh (tar, zstd,
// sha512sum, b2sum only) and broken copies of them made with python3's tarfile.
#include "common/gpkg.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include "support/fake_signer.hpp"
#include "support/test_support.hpp"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::run_shell;
using ::testing::HasSubstr;

// python3 tarfile: rewrites a valid gpkg into a broken (or unusual but valid) one.
constexpr const char* kMutator = R"PY(
import hashlib, io, sys, tarfile
src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
with tarfile.open(src) as t:
    items = [[m, t.extractfile(m).read()] for m in t.getmembers()]
base = items[0][0].name.split("/")[0]

def member(name, data=b"", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime = kind, link, 0o644, 0
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return [ti, data]

def find(name):
    return next(i for i, (m, _) in enumerate(items) if m.name == base + "/" + name)

def list_in_manifest(name, data):
    i = find("Manifest")
    line = "DATA %s %d SHA512 %s BLAKE2B %s\n" % (name, len(data), hashlib.sha512(data).hexdigest(),
                                                 hashlib.blake2b(data).hexdigest())
    items[i][1] += line.encode()
    items[i][0].size = len(items[i][1])

if mode == "flip_image" or mode == "flip_manifest" or mode == "flip_metadata":
    name = {"flip_image": "image.tar.zst", "flip_manifest": "Manifest", "flip_metadata": "metadata.tar.zst"}[mode]
    with tarfile.open(src) as t:
        m = t.getmember(base + "/" + name)
        data = t.extractfile(m).read()
    # In the Manifest, flip a digest character of the first line (still a hex digit).
    at = m.offset_data + (data.index(b" SHA512 ") + 8 if name == "Manifest" else m.size // 2)
    raw = bytearray(open(src, "rb").read())
    raw[at] ^= 0x01
    open(dst, "wb").write(raw)
    sys.exit(0)
elif mode == "duplicate":
    items.insert(find("image.tar.zst") + 1, items[find("image.tar.zst")])
elif mode == "direntry":
    items.insert(1, member(base + "/", kind=tarfile.DIRTYPE))
elif mode == "symlink":
    items.insert(3, member(base + "/link", kind=tarfile.SYMTYPE, link="image.tar.zst"))
elif mode == "hardlink":
    items.insert(3, member(base + "/link", kind=tarfile.LNKTYPE, link=base + "/image.tar.zst"))
elif mode == "escape":
    items.insert(3, member("../x", b"x"))
elif mode == "escape_inner":
    items.insert(3, member(base + "/../x", b"x"))
elif mode == "absolute":
    items.insert(3, member("/" + base + "/x", b"x"))
elif mode == "deep":
    items.insert(3, member(base + "/sub/x", b"x"))
elif mode == "other_dir":
    items.insert(3, member("elsewhere/x", b"x"))
elif mode == "no_manifest":
    del items[find("Manifest")]
elif mode == "no_image":
    del items[find("image.tar.zst")]
elif mode == "unlisted":
    items.insert(3, member(base + "/extra", b"extra"))
elif mode == "not_first":
    items.insert(2, items.pop(0))
elif mode == "wrong_dir":
    for m, _ in items:
        m.name = "wrong-9/" + m.name.split("/")[1]
elif mode == "too_many":
    for n in range(16):
        items.insert(3, member(base + "/extra%d" % n, b"x"))
        list_in_manifest("extra%d" % n, b"x")
elif mode == "listed_extra_and_sig":
    sig, extra = b"-----BEGIN PGP SIGNATURE-----\nfake\n", b"kept across rewrites\n"
    items.insert(find("image.tar.zst") + 1, member(base + "/image.tar.zst.sig", sig))
    items.insert(find("Manifest"), member(base + "/extra", extra))
    list_in_manifest("image.tar.zst.sig", sig)
    list_in_manifest("extra", extra)
elif mode == "clearsign":
    i = find("Manifest")
    body = items[i][1]
    items[i][1] = (b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" + body +
                   b"-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCgAdFiEEfake\n=abcd\n-----END PGP SIGNATURE-----\n")
    items[i][0].size = len(items[i][1])
elif mode == "manifest_lists_missing":
    list_in_manifest("image.tar.zst.sig", b"nothing")
else:
    sys.exit("unknown mode " + mode)
with tarfile.open(dst, "w", format=tarfile.USTAR_FORMAT) as t:
    for m, data in items:
        t.addfile(m, io.BytesIO(data) if m.isreg() else None)
)PY";

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

class GpkgTest : public ::testing::Test {
 protected:
  // Builds a package with make-gpkg.sh; `env` is prepended to the command (e.g. "MAKE_GPKG_...=1").
  fs::path make(const std::string& file, const std::string& build_id = "3", int image_kb = 4,
                const std::string& env = "") {
    fs::path out = m_dir / file;
    std::string cmd = env + " sh " + q(test::source_dir() / "tests/support/make-gpkg.sh") + " " + q(out) +
                      " app-misc hello-1.0-r1 '" + build_id + "' " + std::to_string(image_kb);
    EXPECT_EQ(run_shell(cmd), 0) << cmd;
    return out;
  }

  fs::path mutate(const fs::path& src, const std::string& mode) {
    fs::path script = m_dir / "mutate.py";
    if (!fs::exists(script)) test::write_file(script, kMutator);
    fs::path out = m_dir / (mode + ".gpkg.tar");
    EXPECT_EQ(run_shell("python3 " + q(script) + " " + q(src) + " " + q(out) + " " + mode), 0) << mode;
    return out;
  }

  void expect_refused(const fs::path& p, const std::string& reason) {
    auto r = read_gpkg(p);
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid) << r.error().message;
    EXPECT_THAT(r.error().message, HasSubstr(reason));
  }

  // Output of a shell command (set-up and independent checks only).
  std::string shell_output(const std::string& cmd) {
    fs::path out = m_dir / "shell.out";
    EXPECT_EQ(run_shell("(" + cmd + ") > " + q(out)), 0) << cmd;
    return read_file(out);
  }

  test::TempDir m_dir;
};

TEST_F(GpkgTest, ReadsValidPackage) {
  auto info = read_gpkg(make("hello-1.0-r1-3.gpkg.tar"));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->basename, "hello-1.0-r1-3");
  EXPECT_EQ(info->members, (std::vector<std::string>{"gpkg-1", "metadata.tar.zst", "image.tar.zst", "Manifest"}));
  EXPECT_EQ(info->compression, "zst");
  EXPECT_EQ(info->category(), "app-misc");
  EXPECT_EQ(info->pf(), "hello-1.0-r1");
  EXPECT_EQ(info->build_id(), std::optional<int64_t>(3));
  EXPECT_EQ(info->metadata.at("SLOT"), "0");
  EXPECT_EQ(info->metadata.at("EAPI"), "8");
  EXPECT_EQ(info->metadata.at("RDEPEND"), "");
  EXPECT_EQ(info->metadata.at("DESCRIPTION"), "Test package app-misc/hello-1.0-r1 for build-swarm");
  EXPECT_EQ(info->metadata.at("LDFLAGS"), "-Wl,-O1 -Wl,--as-needed");
  EXPECT_EQ(info->metadata.at("repository"), "gentoo");
  EXPECT_EQ(info->metadata.size(), 21u);
}

TEST_F(GpkgTest, ReadsPackageWithoutBuildId) {
  auto info = read_gpkg(make("hello-1.0-r1.gpkg.tar", ""));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->basename, "hello-1.0-r1");
  EXPECT_FALSE(info->build_id().has_value());
}

TEST_F(GpkgTest, ReadsFromDescriptorAndLeavesItOpen) {
  fs::path p = make("a.gpkg.tar");
  int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto first = read_gpkg_fd(fd);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = read_gpkg_fd(fd);  // starts again from offset 0
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->metadata, first->metadata);
  EXPECT_NE(fcntl(fd, F_GETFD), -1);
  ::close(fd);
}

TEST_F(GpkgTest, AcceptsClearSignedManifestAndListedExtras) {
  fs::path valid = make("a.gpkg.tar");
  auto signed_ = read_gpkg(mutate(valid, "clearsign"));
  EXPECT_TRUE(signed_.ok()) << signed_.error().message;
  auto extras = read_gpkg(mutate(valid, "listed_extra_and_sig"));
  ASSERT_TRUE(extras.ok()) << extras.error().message;
  EXPECT_EQ(extras->members, (std::vector<std::string>{"gpkg-1", "metadata.tar.zst", "image.tar.zst",
                                                       "image.tar.zst.sig", "extra", "Manifest"}));
}

TEST_F(GpkgTest, RefusesDamagedFiles) {
  fs::path valid = make("a.gpkg.tar", "3", 64);
  fs::path truncated = m_dir / "truncated.gpkg.tar";
  fs::copy_file(valid, truncated);
  fs::resize_file(truncated, fs::file_size(valid) / 2);
  expect_refused(truncated, "truncated");
  expect_refused(mutate(valid, "flip_image"), "member 'image.tar.zst' fails its SHA512 check");
  expect_refused(mutate(valid, "flip_metadata"), "member 'metadata.tar.zst' fails its SHA512 check");
  expect_refused(mutate(valid, "flip_manifest"), "member 'gpkg-1' fails its SHA512 check");

  fs::path empty = m_dir / "empty.gpkg.tar";
  test::write_file(empty, "");
  expect_refused(empty, "empty");
  fs::path compressed = m_dir / "compressed.gpkg.tar";
  ASSERT_EQ(run_shell("zstd -q -c " + q(valid) + " > " + q(compressed)), 0);
  expect_refused(compressed, "not a valid tar archive");
  auto missing = read_gpkg(m_dir / "missing.gpkg.tar");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
}

TEST_F(GpkgTest, RefusesBadStructure) {
  fs::path valid = make("a.gpkg.tar");
  expect_refused(mutate(valid, "duplicate"), "duplicate member 'image.tar.zst'");
  expect_refused(mutate(valid, "direntry"), "is a directory entry");
  expect_refused(mutate(valid, "symlink"), "is a symbolic link");
  expect_refused(mutate(valid, "hardlink"), "is a hard link");
  expect_refused(mutate(valid, "escape"), "escapes the package directory");
  expect_refused(mutate(valid, "escape_inner"), "escapes the package directory");
  expect_refused(mutate(valid, "absolute"), "absolute path");
  expect_refused(mutate(valid, "deep"), "more than one directory deep");
  expect_refused(mutate(valid, "other_dir"), "outside the package directory");
  expect_refused(mutate(valid, "not_first"), "not gpkg-1");
  expect_refused(mutate(valid, "too_many"), "too many members");
  expect_refused(mutate(valid, "no_image"), "no image archive");
}

TEST_F(GpkgTest, RefusesManifestProblems) {
  fs::path valid = make("a.gpkg.tar");
  expect_refused(mutate(valid, "no_manifest"), "no Manifest");
  expect_refused(mutate(valid, "unlisted"), "member 'extra' is not listed in the Manifest");
  expect_refused(mutate(valid, "manifest_lists_missing"), "which the package lacks");
}

TEST_F(GpkgTest, RefusesBadMetadata) {
  expect_refused(make("dir.gpkg.tar", "3", 4, "MAKE_GPKG_METADATA_DIR=1"), "directory entry 'metadata/'");
  expect_refused(make("nocat.gpkg.tar", "3", 4, "MAKE_GPKG_OMIT_KEYS=CATEGORY"), "lacks CATEGORY");
  expect_refused(make("noslot.gpkg.tar", "3", 4, "MAKE_GPKG_OMIT_KEYS=SLOT"), "lacks SLOT");
  // The directory says BUILD_ID 3 but the metadata has none.
  expect_refused(make("hello-1.0-r1-3.gpkg.tar", "3", 4, "MAKE_GPKG_OMIT_KEYS=BUILD_ID"), "does not match");
  expect_refused(mutate(make("b.gpkg.tar"), "wrong_dir"), "'wrong-9' does not match PF[-BUILD_ID] 'hello-1.0-r1-3'");
}

TEST(GpkgManifest, ParsesVariants) {
  std::string sha(128, 'a'), b2(128, 'B');
  auto m = gpkg_detail::parse_manifest("DATA x 5 BLAKE2B " + b2 + " SHA256 " + std::string(64, '0') + " SHA512 " + sha +
                                       "\n\nDATA y 0 SHA512 " + sha + " BLAKE2B " + b2);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->at("x").size, 5u);
  EXPECT_EQ(m->at("x").blake2b, std::string(128, 'b'));
  EXPECT_EQ(m->at("y").sha512, sha);

  std::string line = "DATA x 5 SHA512 " + sha + " BLAKE2B " + b2 + "\n";
  auto signed_ = gpkg_detail::parse_manifest("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" + line +
                                             "-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n");
  ASSERT_TRUE(signed_.ok()) << signed_.error().message;
  EXPECT_EQ(signed_->size(), 1u);

  for (const std::string& bad :
       {"DATA x 5 SHA512 " + sha + "\n", line + line, "DIST x 5 SHA512 " + sha + " BLAKE2B " + b2,
        "DATA x -5 SHA512 " + sha + " BLAKE2B " + b2, "DATA x 5 SHA512 " + sha.substr(1) + " BLAKE2B " + b2,
        "-----BEGIN PGP SIGNED MESSAGE-----\n\n" + line, line + "-----BEGIN PGP SIGNATURE-----\n"}) {
    EXPECT_FALSE(gpkg_detail::parse_manifest(bad).ok()) << bad;
  }
}

TEST_F(GpkgTest, RewriteChangesBuildIdAndDirectory) {
  fs::path in = make("hello-1.0-r1-3.gpkg.tar");
  fs::path out = m_dir / "hello-1.0-r1-7.gpkg.tar";
  Status s = rewrite_gpkg(in, out, {{"BUILD_ID", "7"}}, "hello-1.0-r1-7");
  ASSERT_TRUE(s.ok()) << s.error().message;

  auto before = read_gpkg(in);
  auto after = read_gpkg(out);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->basename, "hello-1.0-r1-7");
  EXPECT_EQ(after->build_id(), std::optional<int64_t>(7));
  auto expected = before->metadata;
  expected["BUILD_ID"] = "7";
  EXPECT_EQ(after->metadata, expected);

  EXPECT_EQ(shell_output("tar -tf " + q(out)),
            "hello-1.0-r1-7/gpkg-1\nhello-1.0-r1-7/metadata.tar.zst\nhello-1.0-r1-7/image.tar.zst\n"
            "hello-1.0-r1-7/Manifest\n");
  // Owner 0/0 on every member, plain ustar headers.
  EXPECT_EQ(shell_output("tar --numeric-owner -tvf " + q(out) + " | grep -vc '^-rw-r--r-- 0/0 ' || true"), "0\n");
  std::string head = read_file(out).substr(0, 512);
  EXPECT_EQ(head.substr(257, 8), std::string("ustar\0"
                                             "00",
                                             8));

  fs::path x = m_dir / "x";
  ASSERT_EQ(run_shell("mkdir -p " + q(x / "in") + " " + q(x / "out") + " && tar -xf " + q(in) + " -C " + q(x / "in") +
                      " && tar -xf " + q(out) + " -C " + q(x / "out")),
            0);
  fs::path dir = x / "out" / "hello-1.0-r1-7";
  EXPECT_EQ(shell_output("sha512sum < " + q(x / "in/hello-1.0-r1-3/image.tar.zst")),
            shell_output("sha512sum < " + q(dir / "image.tar.zst")));
  // The Manifest checked by the command line, independently of the reader.
  EXPECT_EQ(run_shell("cd " + q(dir) +
                      " && test $(wc -l < Manifest) = 3 && while read t n s h1 v1 h2 v2; do "
                      "test \"$t $h1 $h2\" = 'DATA SHA512 BLAKE2B' && test $(stat -c %s $n) = $s && "
                      "test $(sha512sum < $n | cut -d' ' -f1) = $v1 && test $(b2sum < $n | cut -d' ' -f1) = $v2 "
                      "|| exit 1; done < Manifest"),
            0);
  // metadata.tar: file entries only, BUILD_ID without a newline.
  EXPECT_EQ(shell_output("zstd -dc " + q(dir / "metadata.tar.zst") + " | tar -xOf - metadata/BUILD_ID"), "7");
  EXPECT_EQ(shell_output("zstd -dc " + q(dir / "metadata.tar.zst") + " | tar -tvf - | grep -vc '^-' || true"), "0\n");
}

TEST_F(GpkgTest, RewriteAddsBuildIdDropsSignaturesKeepsExtras) {
  fs::path in = mutate(mutate(make("hello-1.0-r1.gpkg.tar", ""), "listed_extra_and_sig"), "clearsign");
  fs::path out = m_dir / "out.gpkg.tar";
  Status s = rewrite_gpkg(in, out, {{"BUILD_ID", "1"}, {"NEWKEY", "multi\nline"}}, "hello-1.0-r1-1");
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto after = read_gpkg(out);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->members,
            (std::vector<std::string>{"gpkg-1", "metadata.tar.zst", "image.tar.zst", "extra", "Manifest"}));
  EXPECT_EQ(after->build_id(), std::optional<int64_t>(1));
  EXPECT_EQ(after->metadata.at("NEWKEY"), "multi\nline");
}

TEST_F(GpkgTest, RewriteRefusals) {
  fs::path in = make("hello-1.0-r1-3.gpkg.tar");
  fs::path out = m_dir / "out.gpkg.tar";
  Status mismatch = rewrite_gpkg(in, out, {{"BUILD_ID", "7"}}, "hello-1.0-r1-8");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().kind, ErrorKind::invalid);
  EXPECT_THAT(mismatch.error().message, HasSubstr("does not match"));
  EXPECT_FALSE(fs::exists(out));

  Status bad_id = rewrite_gpkg(in, out, {{"BUILD_ID", "x"}}, "hello-1.0-r1-x");
  ASSERT_FALSE(bad_id.ok());
  EXPECT_THAT(bad_id.error().message, HasSubstr("not a number"));
  EXPECT_FALSE(rewrite_gpkg(in, out, {{"../KEY", "v"}}, "hello-1.0-r1-3").ok());
  EXPECT_FALSE(rewrite_gpkg(in, out, {{"BUILD_ID", "7"}}, "../hello-1.0-r1-7").ok());
  EXPECT_FALSE(fs::exists(out));

  Status corrupt = rewrite_gpkg(mutate(in, "flip_image"), out, {{"BUILD_ID", "7"}}, "hello-1.0-r1-7");
  ASSERT_FALSE(corrupt.ok());
  EXPECT_THAT(corrupt.error().message, HasSubstr("fails its SHA512 check"));
  EXPECT_FALSE(fs::exists(out));

  test::write_file(out, "mine");
  Status exists = rewrite_gpkg(in, out, {{"BUILD_ID", "7"}}, "hello-1.0-r1-7");
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.error().kind, ErrorKind::conflict);
  EXPECT_EQ(read_file(out), "mine");
}

// Portage's own binpkg-signing layout (lib/portage/gpkg.py): each member but gpkg-1 followed by its
// detached .sig, the .sig members listed in the Manifest, the Manifest clear-signed.
TEST_F(GpkgTest, RewriteSignsEveryMemberAndTheManifest) {
  fs::path in = make("hello-1.0-r1-3.gpkg.tar");
  fs::path out = m_dir / "hello-1.0-r1-7.gpkg.tar";
  test::FakeSigner signer;
  Status s = rewrite_gpkg(in, out, {{"BUILD_ID", "7"}}, "hello-1.0-r1-7", &signer);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(shell_output("tar -tf " + q(out)),
            "hello-1.0-r1-7/gpkg-1\nhello-1.0-r1-7/metadata.tar.zst\nhello-1.0-r1-7/metadata.tar.zst.sig\n"
            "hello-1.0-r1-7/image.tar.zst\nhello-1.0-r1-7/image.tar.zst.sig\nhello-1.0-r1-7/Manifest\n");
  EXPECT_EQ(shell_output("tar --numeric-owner -tvf " + q(out) + " | grep -vc '^-rw-r--r-- 0/0 ' || true"), "0\n");
  auto info = read_gpkg(out);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->build_id(), std::optional<int64_t>(7));

  // Each signature covers exactly the member before it.
  ASSERT_EQ(signer.signed_contents.size(), 2u);
  EXPECT_EQ(signer.clearsigned, 1);
  std::string metadata = shell_output("tar -xOf " + q(out) + " hello-1.0-r1-7/metadata.tar.zst");
  std::string image = shell_output("tar -xOf " + q(out) + " hello-1.0-r1-7/image.tar.zst");
  EXPECT_EQ(signer.signed_contents[0], metadata);
  EXPECT_EQ(signer.signed_contents[1], image);
  EXPECT_EQ(shell_output("tar -xOf " + q(out) + " hello-1.0-r1-7/metadata.tar.zst.sig"),
            test::FakeSigner::signature_of(metadata));
  EXPECT_EQ(shell_output("tar -xOf " + q(out) + " hello-1.0-r1-7/image.tar.zst.sig"),
            test::FakeSigner::signature_of(image));

  std::string manifest = shell_output("tar -xOf " + q(out) + " hello-1.0-r1-7/Manifest");
  EXPECT_EQ(manifest.rfind("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n", 0), 0u) << manifest;
  std::string names = shell_output("tar -xOf " + q(out) + " hello-1.0-r1-7/Manifest | awk '$1 == \"DATA\" {print $2}'");
  EXPECT_EQ(names, "gpkg-1\nmetadata.tar.zst\nmetadata.tar.zst.sig\nimage.tar.zst\nimage.tar.zst.sig\n");
  EXPECT_EQ(shell_output("ls " + q(m_dir.path()) + " | grep -c '\\.tmp$' || true"), "0\n");  // no scratch copy left
}

TEST_F(GpkgTest, RewriteResignsASignedPackageAndSignsExtras) {
  fs::path in = mutate(mutate(make("hello-1.0-r1.gpkg.tar", ""), "listed_extra_and_sig"), "clearsign");
  fs::path out = m_dir / "out.gpkg.tar";
  test::FakeSigner signer;
  Status s = rewrite_gpkg(in, out, {{"BUILD_ID", "1"}}, "hello-1.0-r1-1", &signer);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto after = read_gpkg(out);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->members, (std::vector<std::string>{"gpkg-1", "metadata.tar.zst", "metadata.tar.zst.sig",
                                                      "image.tar.zst", "image.tar.zst.sig", "extra", "extra.sig",
                                                      "Manifest"}));
  EXPECT_EQ(shell_output("tar -xOf " + q(out) + " hello-1.0-r1-1/extra.sig"),
            test::FakeSigner::signature_of("kept across rewrites\n"));
}

// A package that cannot be signed is never written unsigned: the output and the scratch copy are gone.
TEST_F(GpkgTest, RewriteFailsWholeWhenSigningFails) {
  fs::path in = make("hello-1.0-r1-3.gpkg.tar");
  fs::path out = m_dir / "out.gpkg.tar";
  for (int which = 0; which < 2; ++which) {
    test::FakeSigner signer;
    (which == 0 ? signer.fail_detached : signer.fail_clearsign) = true;
    Status s = rewrite_gpkg(in, out, {{"BUILD_ID", "7"}}, "hello-1.0-r1-7", &signer);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::internal);
    EXPECT_THAT(s.error().message, HasSubstr(which == 0 ? "cannot sign metadata.tar.zst" : "cannot sign the Manifest"));
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(shell_output("ls " + q(m_dir.path()) + " | grep -c '\\.tmp$' || true"), "0\n");
  }
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST_F(GpkgTest, StreamsLargeImage) {
  fs::path in = make("big-1.gpkg.tar", "3", 50 * 1024);
  ASSERT_GT(fs::file_size(in), 50u << 20);
  long rss_before = peak_rss_kib();
  auto info = read_gpkg(in);
  ASSERT_TRUE(info.ok()) << info.error().message;
  fs::path out = m_dir / "big-2.gpkg.tar";
  Status s = rewrite_gpkg(in, out, {{"BUILD_ID", "4"}}, "hello-1.0-r1-4");
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(read_gpkg(out).ok());
  // Neither pass held the 50 MB image in memory.
  EXPECT_LT(peak_rss_kib() - rss_before, 20 * 1024);
  EXPECT_EQ(shell_output("tar -xOf " + q(in) + " hello-1.0-r1-3/image.tar.zst | sha512sum"),
            shell_output("tar -xOf " + q(out) + " hello-1.0-r1-4/image.tar.zst | sha512sum"));
}

}  // namespace
}  // namespace swarm
