// `googlenet bench`: training, evaluation, latency and data-pipeline speed (perf/bench.h),
// as a table and optionally JSON.
#include "googlenet/perf/bench.h"

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "googlenet/util/json_file.h"

namespace googlenet::apps {

Command add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "bench", "Speed: training, evaluation, batch-1 latency, data pipeline, memory, GFLOP/s");
  struct Flags {
    BenchOptions options;  // ranges checked by BenchOptions::validate()
    std::string json;
  };
  auto flags = std::make_shared<Flags>();
  BenchOptions& options = flags->options;
  cmd->add_flag("--aux", options.model.aux_heads, "Include the auxiliary classifiers");
  cmd->add_flag("--bn", options.model.batch_norm, "Batch norm after every conv");
  cmd->add_option_function<std::string>(
         "--precision",
         [&options](const std::string& name) { options.precision = precision_from_string(name); },
         "fp32, or bf16 (mixed precision as in train --precision; evaluation: autocast or "
         "the oneDNN engine in bfloat16)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->default_str("fp32");
  cmd->add_option_function<std::string>(
         "--engine",
         [&options](const std::string& name) {
           options.engine = inference_engine_from_string(name);
         },
         "Evaluation and latency: onednn (BN folded, ReLU fused, weights packed once) or "
         "libtorch (the model's modules)")
      ->check(CLI::IsMember({"onednn", "libtorch"}))
      ->default_str(to_string(options.engine));
  cmd->add_option_function<std::string>(
         "--train-engine",
         [&options](const std::string& name) {
           options.train_engine = engine_choice_from_string(name);
         },
         "Training step: onednn (convolutions on oneDNN, weights kept in its layout; "
         "no --bn), libtorch (the model's modules) or auto (onednn where it can)")
      ->check(CLI::IsMember({"auto", "onednn", "libtorch"}))
      ->default_str("auto");
  cmd->add_flag("--channels-last,!--nchw", options.channels_last,
                "NHWC weights, inputs and loader batches, as train (default); --nchw: NCHW");
  cmd->add_option("--batch-size", options.batch_size, "Training batch");
  cmd->add_option("--eval-batch-size", options.eval_batch_size, "Evaluation batch");
  cmd->add_option("--warmup", options.warmup, "Untimed iterations before each timing");
  cmd->add_option("--repeats", options.repeats, "Timed repeats (median, min, max)");
  cmd->add_option("--iterations", options.iterations, "Iterations per timed repeat");
  cmd->add_option("--data-batches", options.data_batches, "Data-pipeline batches per timed repeat");
  cmd->add_option("--data", options.data, "CIFAR-10 folder or archive (data pipeline)");
  cmd->add_flag("--no-data", options.skip_data, "Skip the data pipeline (no data needed)");
  cmd->add_option("--loader-threads", options.loader_threads,
                  "Threads preparing batches (0: inside next())");
  cmd->add_option("--threads", options.threads, "Compute threads (0: all cores)");
  cmd->add_option("--seed", options.seed, "Seed of weights, synthetic input, shuffling");
  cmd->add_option("--peak-gflops", options.peak_gflops,
                  "Peak GFLOP/s for '% peak' (0: measured with FMA loops on the compute threads; "
                  "bf16 runs: the bf16 dot-product peak)");
  cmd->add_option("--profile", options.profile,
                  "Record --iterations more training steps with LibTorch's profiler into this "
                  "Chrome trace (bench/profile_table.py sums it per operation)");
  cmd->add_option("--json", flags->json,
                  "Write every number as JSON to this file; '-' or no file: to stdout (the "
                  "table then goes to stderr)")
      ->expected(0, 1);
  return {cmd, [flags, cmd] {
            const auto result = run_bench(flags->options, std::cerr);
            const bool json_to_stdout =
                cmd->count("--json") > 0 && (flags->json.empty() || flags->json == "-");
            (json_to_stdout ? std::cerr : std::cout) << format_bench(result);
            if (json_to_stdout) {
              std::cout << result.dump(2) << "\n";
            } else if (!flags->json.empty()) {
              write_json_file(flags->json, result);
            }
            return 0;
          }};
}

}  // namespace googlenet::apps
