// `googlenet train --nproc N`: torchrun's standalone mode for one machine. Starts N
// copies of this program as ranks 0..N-1 of one data-parallel run, with the
// environment torchrun would give them, and supervises them.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

namespace googlenet {

struct LaunchOptions {
  int nproc = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0: a free port on master_addr
  // The workers' command line (argv[0] included), without --nproc.
  std::vector<std::string> worker_args;
  // After one worker fails, the others get this long to stop on their own (they
  // normally do at once, as their next collective fails) before SIGTERM, and as long
  // again before SIGKILL.
  std::chrono::seconds grace{10};
};

// Runs the workers to the end and returns the launcher's exit status: 0 when all
// succeeded, else the status of the first worker to fail (130 after Ctrl-C).
// SIGINT and SIGTERM sent to the launcher are passed on to every worker.
int launch_local_workers(const LaunchOptions& options, std::ostream& log);

// A TCP port on `address` that nothing listens on now (the kernel's choice).
int free_port(const std::string& address);

}  // namespace googlenet
