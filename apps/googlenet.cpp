// The `googlenet` command line: argument parsing and dispatch only.
#include <CLI/CLI.hpp>

#include <iostream>

#include "googlenet/model.h"
#include "googlenet/summary.h"

int main(int argc, char** argv) {
  CLI::App app{"GoogLeNet (Inception v1) on CIFAR-10, in C++ on LibTorch"};
  app.require_subcommand(1);
  auto* summary = app.add_subcommand("summary", "Per-layer table of the model");
  bool aux = false, bn = false;
  int64_t size = 32;
  summary->add_flag("--aux", aux, "Include the auxiliary classifiers");
  summary->add_flag("--bn", bn, "Batch norm after every conv");
  summary->add_option("--size", size, "Input height and width")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (summary->parsed()) {
      googlenet::ModelOptions options;
      options.aux_heads = aux;
      options.batch_norm = bn;
      googlenet::GoogLeNet model(options);
      std::cout << googlenet::format_summary(googlenet::summarize(model, size, size));
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
