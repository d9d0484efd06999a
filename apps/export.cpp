// `googlenet export`: a checkpoint's weights as a bare state_dict (io/weights_file.h).
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "googlenet/io/weights_file.h"

namespace googlenet::apps {

Command add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export", "Write a checkpoint's weights as a state_dict for PyTorch's torch.load");
  struct Flags {
    std::string from, to;
    bool keep_aux = false;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--checkpoint", flags->from, "Checkpoint to read")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", flags->to, "state_dict file to write")->required();
  cmd->add_flag("--keep-aux", flags->keep_aux,
                "Keep the aux-head weights (the reference module has none)");
  return {cmd, [flags] {
            export_weights(flags->from, flags->to, flags->keep_aux);
            std::cout << "wrote " << flags->to << "\n";
            return 0;
          }};
}

}  // namespace googlenet::apps
