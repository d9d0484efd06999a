// `googlenet test`: a checkpoint's scores on the test set or an image folder
// (eval/test_command.h).
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "googlenet/eval/test_command.h"
#include "googlenet/model/device.h"
#include "googlenet/model/precision.h"
#include "googlenet/util/cpu.h"

namespace googlenet::apps {

Command add_test_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("test", "Evaluate a checkpoint or weights file on the test set");
  struct Flags {
    TestOptions options;
    std::string device = to_string(TestOptions{}.device);
    std::string precision = to_string(TestOptions{}.precision);
    int threads = 0;
  };
  auto flags = std::make_shared<Flags>();
  TestOptions& options = flags->options;
  cmd->add_option("--checkpoint", options.weights, "Checkpoint (.pt) or state_dict")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", options.data,
                  "CIFAR-10 folder or archive, or an image folder FOLDER/<class name>/<image>");
  cmd->add_option("--batch-size", options.batch_size)->check(CLI::PositiveNumber);
  cmd->add_option("--device", flags->device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--subset", options.subset,
                  "Evaluate the first N images (an image folder's in path order; 0: all)");
  cmd->add_option("--json", options.json_report, "Write a JSON report here");
  cmd->add_option("--confusion-svg", options.confusion_svg,
                  "Write the confusion matrix as an SVG picture here");
  cmd->add_option("--threads", flags->threads, "Compute threads (0: all cores)");
  cmd->add_option("--precision", flags->precision,
                  "fp32, or bf16: autocast, convolutions and linears in bfloat16")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  cmd->add_option_function<std::string>(
         "--engine",
         [&options](const std::string& name) {
           options.engine = inference_engine_from_string(name);
         },
         "onednn (BN folded, ReLU fused, weights packed once; CPU) or libtorch (the model's "
         "modules; what CUDA uses)")
      ->check(CLI::IsMember({"onednn", "libtorch"}))
      ->default_str(to_string(options.engine));
  cmd->add_flag("!--nchw", options.channels_last,
                "Keep weights and batches in NCHW (default: channels-last, same values, faster)");
  return {cmd, [flags] {
            set_compute_threads(flags->threads);
            flags->options.device = device_choice_from_string(flags->device);
            flags->options.precision = precision_from_string(flags->precision);
            std::cout << run_test(flags->options);
            return 0;
          }};
}

}  // namespace googlenet::apps
