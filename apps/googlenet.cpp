// The `googlenet` command line: argument parsing and dispatch only.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>

#include "googlenet/eval/evaluation.h"
#include "googlenet/eval/predict.h"
#include "googlenet/io/download.h"
#include "googlenet/model/summary.h"
#include "googlenet/perf/bench.h"
#include "googlenet/perf/machine.h"
#include "googlenet/report/progress.h"
#include "googlenet/train/checkpoint.h"
#include "googlenet/train/launch.h"
#include "googlenet/train/trainer.h"

namespace {

std::atomic<bool> g_stop{false};

// First Ctrl-C/SIGTERM: finish the step and save; a second one kills at once.
void on_stop_signal(int signal) {
  static const char kMessage[] =
      "\nstopping after the current step (checkpoint follows); Ctrl-C again to abort\n";
  g_stop.store(true);
  [[maybe_unused]] auto written = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  std::signal(signal, SIG_DFL);
}

void add_train_flags(CLI::App& cmd, googlenet::TrainConfig& c, std::string& recipe) {
  cmd.add_option("--data", c.data, "CIFAR-10 folder or archive (any layout)")
      ->capture_default_str();
  cmd.add_option("--out", c.out, "Run folder (default: runs/<timestamp>)");
  cmd.add_option("--recipe", recipe,
                 "default: reference + Xavier init; reference: the tutorial exactly (stalls)")
      ->check(CLI::IsMember({"default", "reference"}))
      ->capture_default_str();
  cmd.add_option("--epochs", c.epochs, "Epochs to train")->capture_default_str();
  cmd.add_option("--schedule-epochs", c.schedule_epochs,
                 "Epochs the one-cycle schedule spans (reference: 150); 0 = --epochs")
      ->capture_default_str();
  cmd.add_option("--batch-size", c.batch_size)->capture_default_str();
  cmd.add_option("--test-batch-size", c.test_batch_size)->capture_default_str();
  cmd.add_option("--lr", c.max_lr, "Peak learning rate of the one-cycle schedule")
      ->capture_default_str();
  cmd.add_option("--weight-decay", c.weight_decay)->capture_default_str();
  cmd.add_option("--seed", c.seed, "Seed of initialisation, shuffling and augmentation")
      ->capture_default_str();
  cmd.add_option("--device", c.device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  cmd.add_flag("--aux,!--no-aux", c.aux_heads,
               "Auxiliary classifiers after 4a and 4d, loss weight 0.3 (off: they help short "
               "runs, cost long ones; docs/training.md)");
  cmd.add_flag("--bn", c.batch_norm, "Batch norm after every conv (Inception-v2 style)");
  cmd.add_option("--precision", c.precision,
                 "fp32, or bf16: mixed precision, fp32 weights and gradients (convolutions "
                 "compute in bfloat16; LibTorch engine: autocast)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  cmd.add_flag("!--nchw", c.channels_last,
               "Keep weights and batches in NCHW (default: channels-last, same values, faster)");
  cmd.add_option("--eval-engine", c.eval_engine,
                 "Per-epoch evaluation: auto (oneDNN on the CPU where built), onednn or libtorch")
      ->check(CLI::IsMember({"auto", "onednn", "libtorch"}))
      ->capture_default_str();
  cmd.add_option("--train-engine", c.train_engine,
                 "Training step: auto (oneDNN on the CPU where built, without --bn), "
                 "onednn or libtorch")
      ->check(CLI::IsMember({"auto", "onednn", "libtorch"}))
      ->capture_default_str();
  cmd.add_option("--init", c.init_weights, "Start from a state_dict saved by torch.save")
      ->check(CLI::ExistingFile);
  cmd.add_option("--train-subset", c.train_subset, "Train on the first N images (0: all)")
      ->capture_default_str();
  cmd.add_option("--test-subset", c.test_subset, "Evaluate on the first N test images (0: all)")
      ->capture_default_str();
  cmd.add_option("--log-every", c.log_every, "Iterations between loss lines")
      ->capture_default_str();
}

// This command line without --nproc: what each launched worker runs.
std::vector<std::string> worker_command_line(int argc, char** argv) {
  std::vector<std::string> args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--nproc") {
      ++i;
    } else if (arg.rfind("--nproc=", 0) != 0) {
      args.push_back(arg);
    }
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  googlenet::tune_malloc();  // before LibTorch allocates anything big
  CLI::App app{"GoogLeNet (Inception v1) on CIFAR-10, in C++ on LibTorch"};
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  int threads = 0, loader_threads = 1;

  // summary
  auto* summary =
      app.add_subcommand("summary", "Per-layer table: output shapes, parameters, FLOPs");
  googlenet::ModelOptions summary_options;
  int64_t size = 32;
  summary->add_flag("--aux", summary_options.aux_heads, "Include the auxiliary classifiers");
  summary->add_flag("--bn", summary_options.batch_norm, "Batch norm after every conv");
  summary->add_option("--size", size, "Input height and width")->check(CLI::Range(8, 4096));

  // train
  auto* train = app.add_subcommand("train", "Train on CIFAR-10 (or --resume a run)");
  googlenet::TrainConfig config;
  std::string recipe = "default", resume_dir;
  add_train_flags(*train, config, recipe);
  const auto recipe_flags = train->get_options();  // a resumed run keeps its saved ones
  train->add_option("--resume", resume_dir, "Continue the run in this folder from its last.pt")
      ->check(CLI::ExistingDirectory);
  train->add_option("--threads", threads, "Compute threads (0: all cores)");
  train->add_option("--loader-threads", loader_threads, "Threads preparing batches")
      ->check(CLI::PositiveNumber);
  // Data-parallel training; the flags override torchrun's environment variables.
  int nproc = 1, timeout_seconds = 300;
  googlenet::DistributedOptions distributed;
  train->add_option("--nproc", nproc, "Start this many local processes training together")
      ->check(CLI::Range(1, 256))
      ->group("Multi-process");
  auto* rank_flag = train->add_option("--rank", distributed.rank, "This process's rank (RANK)")
                        ->group("Multi-process");
  auto* world_flag =
      train->add_option("--world-size", distributed.world_size, "Processes in all (WORLD_SIZE)")
          ->group("Multi-process");
  auto* local_rank_flag =
      train->add_option("--local-rank", distributed.local_rank, "Rank on this machine (LOCAL_RANK)")
          ->group("Multi-process");
  auto* addr_flag =
      train->add_option("--master-addr", distributed.master_addr, "Address of rank 0 (MASTER_ADDR)")
          ->group("Multi-process");
  auto* port_flag =
      train->add_option("--master-port", distributed.master_port, "Port of rank 0 (MASTER_PORT)")
          ->check(CLI::Range(1, 65535))
          ->group("Multi-process");
  train
      ->add_option("--dist-timeout", timeout_seconds,
                   "Seconds a rank waits for the others before failing")
      ->check(CLI::PositiveNumber)
      ->group("Multi-process");

  // test
  auto* test = app.add_subcommand("test", "Evaluate a checkpoint or weights file on the test set");
  googlenet::TestOptions test_options;
  test->add_option("--checkpoint", test_options.weights, "Checkpoint (.pt) or state_dict")
      ->required()
      ->check(CLI::ExistingFile);
  test->add_option("--data", test_options.data,
                   "CIFAR-10 folder or archive, or an image folder FOLDER/<class name>/<image>");
  test->add_option("--batch-size", test_options.batch_size)->check(CLI::PositiveNumber);
  test->add_option("--device", test_options.device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  test->add_option("--subset", test_options.subset,
                   "Evaluate the first N images (an image folder's in path order; 0: all)");
  test->add_option("--json", test_options.json_report, "Write a JSON report here");
  test->add_option("--confusion-svg", test_options.confusion_svg,
                   "Write the confusion matrix as an SVG picture here");
  test->add_option("--threads", threads, "Compute threads (0: all cores)");
  std::string test_precision = "fp32";
  test->add_option("--precision", test_precision,
                   "fp32, or bf16: autocast, convolutions and linears in bfloat16")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  test->add_option_function<std::string>(
          "--engine",
          [&](const std::string& name) {
            test_options.engine = googlenet::inference_engine_from_string(name);
          },
          "onednn (BN folded, ReLU fused, weights packed once; CPU) or libtorch (the model's "
          "modules; what CUDA uses)")
      ->check(CLI::IsMember({"onednn", "libtorch"}))
      ->default_str(googlenet::to_string(test_options.engine));
  test->add_flag("!--nchw", test_options.channels_last,
                 "Keep weights and batches in NCHW (default: channels-last, same values, faster)");

  // predict
  auto* predict = app.add_subcommand("predict", "Classify image files, or folders of images");
  predict->footer(
      "Images of any size are composited over white, scaled so the short side is 32 px and\n"
      "centre-cropped to 32 x 32. Exit status: 0 every image classified; 1 a file could not\n"
      "be read (skipped, or --strict stopped the run) or another error; 2 bad usage.");
  googlenet::PredictOptions predict_options;
  std::vector<std::string> predict_inputs;
  predict->add_option("images", predict_inputs, "Image files and folders (searched recursively)")
      ->required();
  predict->add_option("--checkpoint", predict_options.weights, "Checkpoint (.pt) or state_dict")
      ->required()
      ->check(CLI::ExistingFile);
  predict->add_option("--top-k", predict_options.top_k, "Classes shown per image")
      ->check(CLI::PositiveNumber);
  predict->add_option("--batch-size", predict_options.batch_size, "Images classified at a time")
      ->check(CLI::PositiveNumber);
  predict->add_option("--device", predict_options.device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  predict
      ->add_option_function<std::string>(
          "--engine",
          [&](const std::string& name) {
            predict_options.engine = googlenet::inference_engine_from_string(name);
          },
          "onednn (CPU: BN folded, ReLU fused, weights packed once) or libtorch")
      ->check(CLI::IsMember({"onednn", "libtorch"}))
      ->default_str(googlenet::to_string(predict_options.engine));
  predict
      ->add_option("--tta", predict_options.tta,
                   "Test-time augmentation: none, or flip (mean with the mirror image)")
      ->check(CLI::IsMember({"none", "flip"}));
  predict->add_flag("--json", predict_options.json, "One JSON object per line, not a table");
  predict->add_flag("--strict", predict_options.strict,
                    "Stop at the first file that cannot be read, instead of skipping it");
  predict->add_option("--threads", threads, "Compute threads (0: all cores)");

  // export
  auto* export_cmd = app.add_subcommand(
      "export", "Write a checkpoint's weights as a state_dict for PyTorch's torch.load");
  std::string export_from, export_to;
  bool keep_aux = false;
  export_cmd->add_option("--checkpoint", export_from, "Checkpoint to read")
      ->required()
      ->check(CLI::ExistingFile);
  export_cmd->add_option("--out", export_to, "state_dict file to write")->required();
  export_cmd->add_flag("--keep-aux", keep_aux,
                       "Keep the aux-head weights (the reference module has none)");

  // download
  auto* download = app.add_subcommand("download", "Fetch cifar-10-binary.tar.gz (needs internet)");
  std::string download_dir = "data", download_url = googlenet::kCifar10BinaryUrl;
  download->add_option("--dir", download_dir, "Folder to download into");
  download->add_option("--url", download_url, "Where to fetch the archive");

  // bench
  auto* bench = app.add_subcommand(
      "bench", "Speed: training, evaluation, batch-1 latency, data pipeline, memory, GFLOP/s");
  googlenet::BenchOptions bench_options;  // ranges checked by BenchOptions::validate()
  std::string bench_json;
  bench->add_flag("--aux", bench_options.model.aux_heads, "Include the auxiliary classifiers");
  bench->add_flag("--bn", bench_options.model.batch_norm, "Batch norm after every conv");
  bench
      ->add_option_function<std::string>(
          "--precision",
          [&](const std::string& name) {
            bench_options.precision = googlenet::precision_from_string(name);
          },
          "fp32, or bf16 (mixed precision as in train --precision; evaluation: autocast or "
          "the oneDNN engine in bfloat16)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->default_str("fp32");
  bench
      ->add_option_function<std::string>(
          "--engine",
          [&](const std::string& name) {
            bench_options.engine = googlenet::inference_engine_from_string(name);
          },
          "Evaluation and latency: onednn (BN folded, ReLU fused, weights packed once) or "
          "libtorch (the model's modules)")
      ->check(CLI::IsMember({"onednn", "libtorch"}))
      ->default_str(googlenet::to_string(bench_options.engine));
  bench
      ->add_option_function<std::string>(
          "--train-engine",
          [&](const std::string& name) {
            if (name != "auto") {
              bench_options.train_engine = googlenet::training_engine_from_string(name);
            }
          },
          "Training step: onednn (convolutions on oneDNN, weights kept in its layout; "
          "no --bn), libtorch (the model's modules) or auto (onednn where it can)")
      ->check(CLI::IsMember({"auto", "onednn", "libtorch"}))
      ->default_str("auto");
  bench->add_flag("--channels-last,!--nchw", bench_options.channels_last,
                  "NHWC weights, inputs and loader batches, as train (default); --nchw: NCHW");
  bench->add_option("--batch-size", bench_options.batch_size, "Training batch");
  bench->add_option("--eval-batch-size", bench_options.eval_batch_size, "Evaluation batch");
  bench->add_option("--warmup", bench_options.warmup, "Untimed iterations before each timing");
  bench->add_option("--repeats", bench_options.repeats, "Timed repeats (median, min, max)");
  bench->add_option("--iterations", bench_options.iterations, "Iterations per timed repeat");
  bench->add_option("--data-batches", bench_options.data_batches,
                    "Data-pipeline batches per timed repeat");
  bench->add_option("--data", bench_options.data, "CIFAR-10 folder or archive (data pipeline)");
  bench->add_flag("--no-data", bench_options.skip_data, "Skip the data pipeline (no data needed)");
  bench->add_option("--loader-threads", bench_options.loader_threads,
                    "Threads preparing batches (0: inside next())");
  bench->add_option("--threads", bench_options.threads, "Compute threads (0: all cores)");
  bench->add_option("--seed", bench_options.seed, "Seed of weights, synthetic input, shuffling");
  bench->add_option("--peak-gflops", bench_options.peak_gflops,
                    "Peak GFLOP/s for '% peak' (0: measured with FMA loops on the compute threads; "
                    "bf16 runs: the bf16 dot-product peak)");
  bench->add_option("--profile", bench_options.profile,
                    "Record --iterations more training steps with LibTorch's profiler into this "
                    "Chrome trace (bench/profile_table.py sums it per operation)");
  bench
      ->add_option("--json", bench_json,
                   "Write every number as JSON to this file; '-' or no file: to stdout (the "
                   "table then goes to stderr)")
      ->expected(0, 1);

  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const auto* command : app.get_subcommands([](const CLI::App*) { return true; })) {
      known += (known.empty() ? "" : ", ") + command->get_name();
      found = found || command->get_name() == argv[1];
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
    if (summary->parsed()) {
      googlenet::GoogLeNet model(summary_options);
      std::cout << googlenet::format_summary(googlenet::summarize(model, size, size));
    } else if (train->parsed()) {
      if (!resume_dir.empty()) {
        for (const auto* option : recipe_flags) {
          if (option->count() > 0 && option->get_name() != "--help") {
            throw std::invalid_argument(
                "--resume continues a run with the config saved in it; "
                "drop " +
                option->get_name());
          }
        }
      }
      if (nproc > 1) {
        googlenet::LaunchOptions launch;
        launch.nproc = nproc;
        if (addr_flag->count() > 0) launch.master_addr = distributed.master_addr;
        if (port_flag->count() > 0) launch.master_port = distributed.master_port;
        launch.worker_args = worker_command_line(argc, argv);
        // Every rank must name the same run folder; the cores are shared out.
        if (resume_dir.empty() && config.out.empty()) {
          launch.worker_args.insert(launch.worker_args.end(),
                                    {"--out", googlenet::default_run_dir()});
        }
        if (threads == 0) {
          const int cores = googlenet::compute_cores();
          launch.worker_args.insert(launch.worker_args.end(),
                                    {"--threads", std::to_string(std::max(1, cores / nproc))});
        }
        return googlenet::launch_local_workers(launch, std::cerr);
      }
      googlenet::DistributedOptions defaults = distributed;
      auto dist = googlenet::distributed_from_environment(defaults);
      if (rank_flag->count() > 0) dist.rank = distributed.rank;
      if (world_flag->count() > 0) dist.world_size = distributed.world_size;
      if (local_rank_flag->count() > 0) dist.local_rank = distributed.local_rank;
      if (addr_flag->count() > 0) dist.master_addr = distributed.master_addr;
      if (port_flag->count() > 0) dist.master_port = distributed.master_port;
      dist.timeout = std::chrono::seconds(timeout_seconds);
      dist.validate();
      std::signal(SIGINT, on_stop_signal);
      std::signal(SIGTERM, on_stop_signal);
      googlenet::TrainResult result;
      if (!resume_dir.empty()) {
        result = googlenet::resume(resume_dir, g_stop, threads, loader_threads, dist);
      } else {
        config.recipe = googlenet::recipe_from_string(recipe);
        config.threads = threads;
        config.loader_threads = loader_threads;
        result = googlenet::train(config, g_stop, dist);
      }
      if (dist.rank != 0) return 0;
      std::cout << "done: final test accuracy " << 100 * result.final_accuracy << "%, best "
                << 100 * result.best_accuracy << "%; run folder " << result.run_dir.string()
                << "\n";
    } else if (test->parsed()) {
      googlenet::set_compute_threads(threads);
      test_options.precision = googlenet::precision_from_string(test_precision);
      std::cout << googlenet::run_test(test_options);
    } else if (predict->parsed()) {
      googlenet::set_compute_threads(threads);
      predict_options.inputs.assign(predict_inputs.begin(), predict_inputs.end());
      if (!googlenet::run_predict(predict_options, std::cout, std::cerr).failures.empty()) return 1;
    } else if (export_cmd->parsed()) {
      googlenet::export_weights(export_from, export_to, keep_aux);
      std::cout << "wrote " << export_to << "\n";
    } else if (bench->parsed()) {
      const auto result = googlenet::run_bench(bench_options, std::cerr);
      const bool json_to_stdout =
          bench->count("--json") > 0 && (bench_json.empty() || bench_json == "-");
      (json_to_stdout ? std::cerr : std::cout) << googlenet::format_bench(result);
      if (json_to_stdout) {
        std::cout << result.dump(2) << "\n";
      } else if (!bench_json.empty()) {
        googlenet::write_json(result, bench_json);
      }
    } else if (download->parsed()) {
      const bool terminal = googlenet::stderr_is_terminal();
      int64_t last_mb = -1;
      auto progress = [&](int64_t received, int64_t total) {
        const int64_t mb = received >> 20;
        if (mb == last_mb || (!terminal && mb % 10 != 0)) return;
        last_mb = mb;
        std::cerr << (terminal ? "\r" : "") << "downloaded " << mb << " MiB";
        if (total > 0) std::cerr << " of " << (total >> 20) << " MiB";
        std::cerr << (terminal ? "" : "\n") << std::flush;
      };
      const auto file = googlenet::download_cifar10(download_dir, download_url,
                                                    googlenet::kCifar10BinaryMd5, progress);
      if (terminal) std::cerr << "\n";
      std::cout << file.string() << "\n";
    }
  } catch (const googlenet::TrainingInterrupted& e) {
    std::cerr << e.what() << "\n";
    return 130;
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
