// `googlenet summary`: the per-layer table of the model (model/summary.h).
#include "googlenet/model/summary.h"

#include <cstdint>
#include <iostream>
#include <memory>

#include "commands.h"
#include "googlenet/model/googlenet.h"

namespace googlenet::apps {

Command add_summary_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("summary", "Per-layer table: output shapes, parameters, FLOPs");
  struct Flags {
    ModelOptions model;
    int64_t size = 32;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_flag("--aux", flags->model.aux_heads, "Include the auxiliary classifiers");
  cmd->add_flag("--bn", flags->model.batch_norm, "Batch norm after every conv");
  cmd->add_option("--size", flags->size, "Input height and width")->check(CLI::Range(8, 4096));
  return {cmd, [flags] {
            GoogLeNet model(flags->model);
            std::cout << format_summary(summarize(model, flags->size, flags->size));
            return 0;
          }};
}

}  // namespace googlenet::apps
