// `googlenet train`: a new run or a resumed one (train/trainer.h), in one process, as one
// rank of a data-parallel run, or launching --nproc local ranks (train/launch.h).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "googlenet/engine/engine_choice.h"
#include "googlenet/model/device.h"
#include "googlenet/model/precision.h"
#include "googlenet/train/config.h"
#include "googlenet/train/distributed.h"
#include "googlenet/train/launch.h"
#include "googlenet/train/trainer.h"
#include "googlenet/util/cpu.h"
#include "googlenet/util/errors.h"

namespace googlenet::apps {

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

// The flags of `train`; the config's choices as typed, parsed once the command line is.
struct TrainFlags {
  TrainConfig config;
  std::string recipe = to_string(TrainConfig{}.recipe);
  std::string device = to_string(TrainConfig{}.device);
  std::string precision = to_string(TrainConfig{}.precision);
  std::string eval_engine = to_string(TrainConfig{}.eval_engine);
  std::string train_engine = to_string(TrainConfig{}.train_engine);
  std::string resume_dir;
  std::vector<CLI::Option*> recipe_flags;  // a resumed run keeps its saved ones
  int threads = 0, loader_threads = 1;
  // Data-parallel training; the flags override torchrun's environment variables.
  int nproc = 1, timeout_seconds = 300;
  DistributedOptions distributed;
  CLI::Option *rank = nullptr, *world_size = nullptr, *local_rank = nullptr;
  CLI::Option *master_addr = nullptr, *master_port = nullptr;
};

void add_recipe_flags(CLI::App& cmd, TrainFlags& f) {
  TrainConfig& c = f.config;
  cmd.add_option("--data", c.data, "CIFAR-10 folder or archive (any layout)")
      ->capture_default_str();
  cmd.add_option("--out", c.out, "Run folder (default: runs/<timestamp>)");
  cmd.add_option("--recipe", f.recipe,
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
  cmd.add_option("--device", f.device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  cmd.add_flag("--aux,!--no-aux", c.aux_heads,
               "Auxiliary classifiers after 4a and 4d, loss weight 0.3 (off: they help short "
               "runs, cost long ones; docs/training.md)");
  cmd.add_flag("--bn", c.batch_norm, "Batch norm after every conv (Inception-v2 style)");
  cmd.add_option("--precision", f.precision,
                 "fp32, or bf16: mixed precision, fp32 weights and gradients (convolutions "
                 "compute in bfloat16; LibTorch engine: autocast)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  cmd.add_flag("!--nchw", c.channels_last,
               "Keep weights and batches in NCHW (default: channels-last, same values, faster)");
  cmd.add_option("--eval-engine", f.eval_engine,
                 "Per-epoch evaluation: auto (oneDNN on the CPU where built), onednn or libtorch")
      ->check(CLI::IsMember({"auto", "onednn", "libtorch"}))
      ->capture_default_str();
  cmd.add_option("--train-engine", f.train_engine,
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

void add_run_flags(CLI::App& cmd, TrainFlags& f) {
  cmd.add_option("--resume", f.resume_dir, "Continue the run in this folder from its last.pt")
      ->check(CLI::ExistingDirectory);
  cmd.add_option("--threads", f.threads, "Compute threads (0: all cores)");
  cmd.add_option("--loader-threads", f.loader_threads, "Threads preparing batches")
      ->check(CLI::PositiveNumber);
  DistributedOptions& d = f.distributed;
  cmd.add_option("--nproc", f.nproc, "Start this many local processes training together")
      ->check(CLI::Range(1, 256))
      ->group("Multi-process");
  f.rank = cmd.add_option("--rank", d.rank, "This process's rank (RANK)")->group("Multi-process");
  f.world_size = cmd.add_option("--world-size", d.world_size, "Processes in all (WORLD_SIZE)")
                     ->group("Multi-process");
  f.local_rank = cmd.add_option("--local-rank", d.local_rank, "Rank on this machine (LOCAL_RANK)")
                     ->group("Multi-process");
  f.master_addr = cmd.add_option("--master-addr", d.master_addr, "Address of rank 0 (MASTER_ADDR)")
                      ->group("Multi-process");
  f.master_port = cmd.add_option("--master-port", d.master_port, "Port of rank 0 (MASTER_PORT)")
                      ->check(CLI::Range(1, 65535))
                      ->group("Multi-process");
  cmd.add_option("--dist-timeout", f.timeout_seconds,
                 "Seconds a rank waits for the others before failing")
      ->check(CLI::PositiveNumber)
      ->group("Multi-process");
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

// --nproc N: this process launches N workers, each running this command line as one rank.
int launch(const TrainFlags& f, int argc, char** argv) {
  LaunchOptions launch;
  launch.nproc = f.nproc;
  if (f.master_addr->count() > 0) launch.master_addr = f.distributed.master_addr;
  if (f.master_port->count() > 0) launch.master_port = f.distributed.master_port;
  launch.worker_args = worker_command_line(argc, argv);
  // Every rank must name the same run folder; the cores are shared out.
  if (f.resume_dir.empty() && f.config.out.empty()) {
    launch.worker_args.insert(launch.worker_args.end(), {"--out", default_run_dir()});
  }
  if (f.threads == 0) {
    const int cores = compute_cores();
    launch.worker_args.insert(launch.worker_args.end(),
                              {"--threads", std::to_string(std::max(1, cores / f.nproc))});
  }
  return launch_local_workers(launch, std::cerr);
}

// This process's place in a data-parallel run: torchrun's environment, then the flags.
DistributedOptions distributed_options(const TrainFlags& f) {
  auto dist = distributed_from_environment(f.distributed);
  if (f.rank->count() > 0) dist.rank = f.distributed.rank;
  if (f.world_size->count() > 0) dist.world_size = f.distributed.world_size;
  if (f.local_rank->count() > 0) dist.local_rank = f.distributed.local_rank;
  if (f.master_addr->count() > 0) dist.master_addr = f.distributed.master_addr;
  if (f.master_port->count() > 0) dist.master_port = f.distributed.master_port;
  dist.timeout = std::chrono::seconds(f.timeout_seconds);
  dist.validate();
  return dist;
}

int run_train(TrainFlags& f, int argc, char** argv) {
  if (!f.resume_dir.empty()) {
    for (const auto* option : f.recipe_flags) {
      if (option->count() > 0 && option->get_name() != "--help") {
        throw UsageError("--resume continues a run with the config saved in it; drop " +
                         option->get_name());
      }
    }
  }
  if (f.nproc > 1) return launch(f, argc, argv);
  const DistributedOptions dist = distributed_options(f);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  TrainResult result;
  try {
    if (!f.resume_dir.empty()) {
      result = resume(f.resume_dir, g_stop, f.threads, f.loader_threads, dist);
    } else {
      TrainConfig& config = f.config;
      config.recipe = recipe_from_string(f.recipe);
      config.device = device_choice_from_string(f.device);
      config.precision = precision_from_string(f.precision);
      config.eval_engine = engine_choice_from_string(f.eval_engine);
      config.train_engine = engine_choice_from_string(f.train_engine);
      config.threads = f.threads;
      config.loader_threads = f.loader_threads;
      result = train(config, g_stop, dist);
    }
  } catch (const TrainingInterrupted& e) {
    std::cerr << e.what() << "\n";
    return 130;
  }
  if (dist.rank != 0) return 0;
  std::cout << "done: final test accuracy " << 100 * result.final_accuracy << "%, best "
            << 100 * result.best_accuracy << "%; run folder " << result.run_dir.string() << "\n";
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& app, int argc, char** argv) {
  auto* cmd = app.add_subcommand("train", "Train on CIFAR-10 (or --resume a run)");
  auto flags = std::make_shared<TrainFlags>();
  add_recipe_flags(*cmd, *flags);
  flags->recipe_flags = cmd->get_options();
  add_run_flags(*cmd, *flags);
  return {cmd, [flags, argc, argv] { return run_train(*flags, argc, argv); }};
}

}  // namespace googlenet::apps
