// The subcommands of the `googlenet` command line, one file each (apps/<command>.cpp): each
// registers its flags and hands back what runs it once the command line is parsed.
// main.cpp registers them in this order, which `googlenet --help` lists.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace googlenet::apps {

// A registered subcommand: its CLI11 node, and what runs it once parsed, returning the
// process's exit status. `run` throws what the library throws; main maps it to a status.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_summary_command(CLI::App& app);
// `argc`/`argv`: the whole command line, which `train --nproc N` passes on to its workers.
Command add_train_command(CLI::App& app, int argc, char** argv);
Command add_test_command(CLI::App& app);
Command add_predict_command(CLI::App& app);
Command add_export_command(CLI::App& app);
Command add_download_command(CLI::App& app);
Command add_bench_command(CLI::App& app);

}  // namespace googlenet::apps
