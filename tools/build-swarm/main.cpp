// build-swarm: the command-line client of the gateway API; everything lives in cli_lib.

#include <iostream>
#include <string>
#include <vector>

#include "build-swarm/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return swarm::cli::run_cli(args, std::cout, std::cerr);
}
