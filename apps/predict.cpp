// `googlenet predict`: the likeliest classes of image files (eval/predict.h).
#include "googlenet/eval/predict.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "googlenet/model/device.h"
#include "googlenet/util/cpu.h"

namespace googlenet::apps {

Command add_predict_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "Classify image files, or folders of images");
  cmd->footer(
      "Images of any size are composited over white, scaled so the short side is 32 px and\n"
      "centre-cropped to 32 x 32. Exit status: 0 every image classified; 1 a file could not\n"
      "be read (skipped, or --strict stopped the run) or another error; 2 bad usage.");
  struct Flags {
    PredictOptions options;
    std::vector<std::string> inputs;
    std::string device = to_string(PredictOptions{}.device);
    std::string tta = to_string(PredictOptions{}.tta);
    int threads = 0;
  };
  auto flags = std::make_shared<Flags>();
  PredictOptions& options = flags->options;
  cmd->add_option("images", flags->inputs, "Image files and folders (searched recursively)")
      ->required();
  cmd->add_option("--checkpoint", options.weights, "Checkpoint (.pt) or state_dict")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--top-k", options.top_k, "Classes shown per image")->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", options.batch_size, "Images classified at a time")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--device", flags->device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option_function<std::string>(
         "--engine",
         [&options](const std::string& name) {
           options.engine = inference_engine_from_string(name);
         },
         "onednn (CPU: BN folded, ReLU fused, weights packed once) or libtorch")
      ->check(CLI::IsMember({"onednn", "libtorch"}))
      ->default_str(to_string(options.engine));
  cmd->add_option("--tta", flags->tta,
                  "Test-time augmentation: none, or flip (mean with the mirror image)")
      ->check(CLI::IsMember({"none", "flip"}));
  cmd->add_flag("--json", options.json, "One JSON object per line, not a table");
  cmd->add_flag("--strict", options.strict,
                "Stop at the first file that cannot be read, instead of skipping it");
  cmd->add_option("--threads", flags->threads, "Compute threads (0: all cores)");
  return {cmd, [flags] {
            set_compute_threads(flags->threads);
            PredictOptions& options = flags->options;
            options.inputs.assign(flags->inputs.begin(), flags->inputs.end());
            options.device = device_choice_from_string(flags->device);
            options.tta = test_time_augmentation_from_string(flags->tta);
            return run_predict(options, std::cout, std::cerr).failures.empty() ? 0 : 1;
          }};
}

}  // namespace googlenet::apps
