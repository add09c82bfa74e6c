#include "support/fake_signer.hpp"

#include "common/crypto.hpp"
#include "support/test_support.hpp"

namespace swarm::test {

std::string FakeSigner::signature_of(const std::string& bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return "-----BEGIN PGP SIGNATURE-----\n\nfake " + h.finish_hex() + "\n-----END PGP SIGNATURE-----\n";
}

Result<std::string> FakeSigner::sign_detached(const std::filesystem::path& file) {
  if (fail_detached) return make_error(ErrorKind::internal, "fake signer: detached signing fails");
  std::string bytes = read_file(file);
  signed_contents.push_back(bytes);
  return signature_of(bytes);
}

Result<std::string> FakeSigner::clearsign(const std::string& text) {
  if (fail_clearsign) return make_error(ErrorKind::internal, "fake signer: clear-signing fails");
  ++clearsigned;
  std::string body;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    body += (line.starts_with("-") ? "- " : "") + line + "\n";  // dash-escaping, RFC 4880 section 7.1
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" + body + signature_of(text);
}

}  // namespace swarm::test
