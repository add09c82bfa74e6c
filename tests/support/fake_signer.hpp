#pragma once
// A PackageSigner for tests that need no gpg: recognisable armored "signatures", calls recorded,
// and failures on demand.

#include <filesystem>
#include <string>
#include <vector>

#include "common/gpkg.hpp"

namespace swarm::test {

class FakeSigner final : public PackageSigner {
 public:
  Result<std::string> sign_detached(const std::filesystem::path& file) override;
  Result<std::string> clearsign(const std::string& text) override;

  /// The detached "signature" sign_detached makes for these bytes.
  static std::string signature_of(const std::string& bytes);

  bool fail_detached = false;    // sign_detached fails (ErrorKind::internal)
  bool fail_clearsign = false;   // clearsign fails
  std::vector<std::string> signed_contents;  // bytes of every file given to sign_detached, in order
  int clearsigned = 0;
};

}  // namespace swarm::test
