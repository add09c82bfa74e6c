#!/usr/bin/env python3
"""Copies a binhost and alters some of its packages the way an attacker on the binhost could, keeping
the index consistent (SIZE, MD5, SHA1 updated) so that only the packages' signatures can tell.

  tamper-binhost.py URL OUT_DIR --content CPV --signature CPV --stranger-gnupg DIR

--content CPV     flips one byte inside image.tar.zst (the signatures no longer match)
--signature CPV   re-signs every member and the Manifest with a key from --stranger-gnupg
Test tooling for tests/portage/; not part of the project's code.
"""
import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import urllib.request


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


def parse_index(text):
    blocks = [b for b in text.split("\n\n") if b.strip()]
    parsed = []
    for b in blocks:
        entry = {}
        for line in b.splitlines():
            k, _, v = line.partition(":")
            entry[k] = v.strip()
        parsed.append(entry)
    return parsed[0], parsed[1:]


def format_index(header, entries):
    out = []
    for block in [header] + entries:
        out.append("".join(f"{k}: {block[k]}\n" for k in sorted(block)))
    return "\n".join(out) + "\n"


def members_of(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        return [(m, t.extractfile(m).read()) for m in t.getmembers()]


def write_gpkg(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:", format=tarfile.USTAR_FORMAT) as t:
        for m, content in members:
            info = tarfile.TarInfo(m.name)
            info.size = len(content)
            info.mtime = m.mtime
            info.mode = m.mode
            t.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def gpg(home, args, data):
    r = subprocess.run(["gpg", "--homedir", home, "--batch", "--no-tty", "--yes"] + args, input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        sys.exit("gpg failed: " + r.stderr.decode(errors="replace"))
    return r.stdout


def manifest_line(name, content):
    return "DATA %s %d SHA512 %s BLAKE2B %s\n" % (
        name, len(content), hashlib.sha512(content).hexdigest(), hashlib.blake2b(content).hexdigest())


def alter_content(members):
    out = []
    for m, content in members:
        if m.name.endswith("/image.tar.zst"):
            b = bytearray(content)
            b[len(b) // 2] ^= 0x01
            content = bytes(b)
        out.append((m, content))
    return out


def alter_signature(members, home):
    # Valid signatures, but by a key the client never trusted; the Manifest rewritten to match.
    body = {m.name.split("/", 1)[1]: c for m, c in members}
    for name in list(body):
        if name.endswith(".sig"):
            body[name] = gpg(home, ["--armor", "--detach-sign"], body[name[:-4]])
    lines = "".join(manifest_line(n, body[n]) for n in body if n != "Manifest")
    body["Manifest"] = gpg(home, ["--armor", "--clearsign", "--digest-algo", "SHA512"], lines.encode())
    return [(m, body[m.name.split("/", 1)[1]]) for m, _ in members]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--content", action="append", default=[])
    ap.add_argument("--signature", action="append", default=[])
    ap.add_argument("--stranger-gnupg")
    a = ap.parse_args()
    header, entries = parse_index(fetch(a.url + "/Packages").decode())
    for e in entries:
        data = fetch(a.url + "/" + e["PATH"])
        if e["CPV"] in a.content:
            data = write_gpkg(alter_content(members_of(data)))
        elif e["CPV"] in a.signature:
            data = write_gpkg(alter_signature(members_of(data), a.stranger_gnupg))
        path = os.path.join(a.out, e["PATH"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        st = os.stat(path)
        e["SIZE"] = str(len(data))
        e["MD5"] = hashlib.md5(data).hexdigest()
        e["SHA1"] = hashlib.sha1(data).hexdigest()
        e["MTIME"] = str(int(st.st_mtime))
    with open(os.path.join(a.out, "Packages"), "w") as f:
        f.write(format_index(header, entries))


if __name__ == "__main__":
    main()
