#include "drone/local_fingerprint.hpp"

#include <unistd.h>

#include "drone/drone_config.hpp"
#include "drone/durable_file.hpp"

namespace swarm::drone {

namespace fs = std::filesystem;

Fingerprint collect_fingerprint(ProcessRunner& runner, const FingerprintSources& sources, const fs::path& scratch_dir) {
  Fingerprint fp;
  std::error_code ec;
  fs::create_directories(scratch_dir, ec);
  const fs::path out = scratch_dir / ("emerge-info." + std::to_string(::getpid()) + ".txt");
  fs::remove(out, ec);
  ProcessSpec spec;
  spec.argv = split_command(sources.emerge_info_command);
  spec.output_file = out;
  spec.timeout = sources.timeout;
  spec.env_set["LC_ALL"] = "C";
  spec.env_unset = {"EMERGE_DEFAULT_OPTS"};  // "--ask" there makes emerge --info exit 1 without a terminal
  ProcessResult r = runner.run(spec);
  auto text = read_whole_file(out);
  fs::remove(out, ec);
  if (!r.success() || !text) {
    fp.values[kFingerprintErrorKey] = "emerge --info " + describe(r);
  } else if (auto parsed = parse_emerge_info(*text); !parsed) {
    fp.values[kFingerprintErrorKey] = parsed.error().message;
  } else {
    fp = resolve_march_native(std::move(*parsed), gcc_native_resolver(runner, sources.compiler));
  }
  fp.values[kPortageConfigHashKey] = hash_portage_config(sources.portage_dir);
  return fp;
}

}  // namespace swarm::drone
