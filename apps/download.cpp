// `googlenet download`: fetches CIFAR-10's binary archive (io/download.h), with progress on
// stderr.
#include "googlenet/io/download.h"

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "googlenet/report/progress.h"

namespace googlenet::apps {

Command add_download_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("download", "Fetch cifar-10-binary.tar.gz (needs internet)");
  struct Flags {
    std::string dir = "data", url = kCifar10BinaryUrl;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--dir", flags->dir, "Folder to download into");
  cmd->add_option("--url", flags->url, "Where to fetch the archive");
  return {cmd, [flags] {
            const bool terminal = stderr_is_terminal();
            int64_t last_mb = -1;
            auto progress = [&](int64_t received, int64_t total) {
              const int64_t mb = received >> 20;
              if (mb == last_mb || (!terminal && mb % 10 != 0)) return;
              last_mb = mb;
              std::cerr << (terminal ? "\r" : "") << "downloaded " << mb << " MiB";
              if (total > 0) std::cerr << " of " << (total >> 20) << " MiB";
              std::cerr << (terminal ? "" : "\n") << std::flush;
            };
            const auto file = download_cifar10(flags->dir, flags->url, kCifar10BinaryMd5, progress);
            if (terminal) std::cerr << "\n";
            std::cout << file.string() << "\n";
            return 0;
          }};
}

}  // namespace googlenet::apps
