// The `googlenet` command line: registers the subcommands (apps/<command>.cpp), parses, runs
// the one given and maps what it throws to the exit status: 2 for a usage error (CLI11's own
// or googlenet::UsageError), 1 for any other error.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "googlenet/util/errors.h"
#include "googlenet/util/malloc.h"

int main(int argc, char** argv) {
  googlenet::tune_malloc();  // before LibTorch allocates anything big
  CLI::App app{"GoogLeNet (Inception v1) on CIFAR-10, in C++ on LibTorch"};
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  namespace apps = googlenet::apps;
  const std::vector<apps::Command> commands = {
      apps::add_summary_command(app), apps::add_train_command(app, argc, argv),
      apps::add_test_command(app),    apps::add_predict_command(app),
      apps::add_export_command(app),  apps::add_download_command(app),
      apps::add_bench_command(app)};

  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const auto& command : commands) {
      known += (known.empty() ? "" : ", ") + command.app->get_name();
      found = found || command.app->get_name() == argv[1];
    }
    if (!found) {
      std::cerr << "error: unknown command '" << argv[1] << "'; commands: " << known << "\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; every usage error exits 2 (CLI11's own codes are 100+).
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const googlenet::UsageError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
