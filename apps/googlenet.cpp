// The `googlenet` command line: argument parsing and dispatch only.
#include <CLI/CLI.hpp>
#include <iostream>

#include "googlenet/model.h"

int main(int argc, char** argv) {
  CLI::App app{"GoogLeNet (Inception v1) on CIFAR-10, in C++ on LibTorch"};
  app.require_subcommand(1);
  auto* summary = app.add_subcommand("summary", "Per-layer table of the model");
  CLI11_PARSE(app, argc, argv);
  try {
    if (summary->parsed()) {
      googlenet::GoogLeNet model;
      std::cout << googlenet::count_parameters(*model) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
