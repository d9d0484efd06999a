// Training end to end on real CIFAR-10 subsets: learning happens, resume is exact,
// Ctrl-C leaves a resumable run, bad flags and checkpoints get clear errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "googlenet/engine/engine_choice.h"
#include "googlenet/engine/onednn_training.h"
#include "googlenet/eval/test_command.h"
#include "googlenet/report/metrics.h"
#include "googlenet/train/checkpoint.h"
#include "googlenet/train/trainer.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::run_cli;
using testing::TempDir;

TrainConfig small_config(const std::filesystem::path& out) {
  TrainConfig config;
  config.data = testing::data_dir().string();
  config.out = out.string();
  config.epochs = 2;
  config.train_subset = 512;  // 4 batches of 128
  config.test_subset = 200;
  config.threads = 1;  // bit-exact results need one thread
  config.log_every = 2;
  return config;
}

TEST(Trainer, LossFallsAndAccuracyBeatsChance) {
  TempDir dir;
  TrainConfig config = small_config(dir / "run");
  config.epochs = 2;
  config.train_subset = 5120;
  config.test_subset = 1000;
  config.threads = 0;
  config.log_every = 10;
  std::atomic<bool> stop{false};
  const auto result = train(config, stop);
  const auto iterations = read_iteration_csv(dir / "run" / "iterations.csv");
  ASSERT_GE(iterations.size(), 4u);
  EXPECT_LT(iterations.back().loss, iterations.front().loss - 0.1);
  // Chance is 10%; 1000 images give a standard deviation of about 1%.
  EXPECT_GT(result.final_accuracy, 0.2);
  const auto epochs = read_epoch_csv(dir / "run" / "metrics.csv");
  ASSERT_EQ(epochs.size(), 2u);
  for (const char* file : {"config.json", "last.pt", "best.pt", "curves.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / "run" / file)) << file;
  }
  // The per-epoch evaluation (default engine: oneDNN where built) scores the final model
  // as the model's own LibTorch modules do, to float rounding (an image at most).
  TestOptions test;
  test.weights = (dir / "run" / "last.pt").string();
  test.data = testing::data_dir().string();
  test.subset = 1000;
  test.engine = InferenceEngine::kLibTorch;
  test.json_report = (dir / "test.json").string();
  run_test(test);
  std::ifstream report(dir / "test.json");
  const auto json = nlohmann::json::parse(report);
  EXPECT_NEAR(json.at("correct").get<double>() / 1000, result.final_accuracy, 0.0011);
  EXPECT_NEAR(json.at("loss").get<double>(), epochs.back().test_loss, 1e-4);
}

StateDict weights_of(const std::filesystem::path& checkpoint) {
  return load_checkpoint(checkpoint).model;
}

TEST(Trainer, ResumedRunEqualsUninterruptedRun) {
  TempDir dir;
  std::atomic<bool> stop{false};
  train(small_config(dir / "straight"), stop);

  // Interrupt after every single step (mid-epoch and at the epoch boundary) and
  // resume each time: 8 steps, 8 interruptions.
  std::atomic<bool> stop_now{true};
  int interruptions = 0;
  try {
    train(small_config(dir / "resumed"), stop_now);
  } catch (const TrainingInterrupted& e) {
    ++interruptions;
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  for (bool finished = false; !finished && interruptions < 20;) {
    try {
      resume(dir / "resumed", stop_now, /*threads=*/1, /*loader_threads=*/1);
      finished = true;
    } catch (const TrainingInterrupted&) {
      ++interruptions;
    }
  }
  EXPECT_GE(interruptions, 7);
  const auto a = weights_of(dir / "straight" / "last.pt");
  const auto b = weights_of(dir / "resumed" / "last.pt");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }
  const auto ma = read_epoch_csv(dir / "straight" / "metrics.csv");
  const auto mb = read_epoch_csv(dir / "resumed" / "metrics.csv");
  ASSERT_EQ(ma.size(), mb.size());
  for (size_t i = 0; i < ma.size(); ++i) {
    EXPECT_EQ(ma[i].train_loss, mb[i].train_loss) << "epoch " << i + 1;
    EXPECT_EQ(ma[i].test_loss, mb[i].test_loss) << "epoch " << i + 1;
  }
}

// The default engine on the CPU is oneDNN's (where built): the same run on LibTorch's
// modules ends at the same weights and losses, to float rounding.
TEST(Trainer, BothTrainingEnginesReachTheSameWeights) {
  if (!onednn_training_available()) GTEST_SKIP() << "built without oneDNN's headers";
  TempDir dir;
  std::atomic<bool> stop{false};
  for (const char* engine : {"onednn", "libtorch"}) {
    TrainConfig config = small_config(dir / engine);
    config.epochs = 1;
    config.train_engine = engine_choice_from_string(engine);
    train(config, stop);
  }
  const auto a = weights_of(dir / "onednn" / "last.pt");
  const auto b = weights_of(dir / "libtorch" / "last.pt");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].first, b[i].first);
    const double scale = b[i].second.abs().max().item<double>();
    // Biases start at zero and reach ~1e-3 in four steps; their gradients are sums over
    // the batch that nearly cancel (and a ReLU near zero may flip between the two
    // roundings), so they get an absolute floor. The single-step gradients are held to
    // 1e-4 in test_onednn_training.cpp.
    EXPECT_LT((a[i].second - b[i].second).abs().max().item<double>(), 1e-4 * scale + 2e-5)
        << a[i].first;
  }
  const auto ma = read_epoch_csv(dir / "onednn" / "metrics.csv");
  const auto mb = read_epoch_csv(dir / "libtorch" / "metrics.csv");
  ASSERT_EQ(ma.size(), 1u);
  ASSERT_EQ(mb.size(), 1u);
  EXPECT_NEAR(ma[0].train_loss, mb[0].train_loss, 1e-4);
  EXPECT_NEAR(ma[0].test_loss, mb[0].test_loss, 1e-4);
  const auto config = nlohmann::json::parse(std::ifstream(dir / "onednn" / "config.json"));
  EXPECT_EQ(config.at("train_engine"), "onednn");
}

TEST(Trainer, CtrlCWritesAResumableCheckpoint) {
  TempDir dir;
  const std::string run_dir = (dir / "run").string();
  const std::string command = std::string("'") + GOOGLENET_BINARY + "' train --data '" +
                              testing::data_dir().string() + "' --out '" + run_dir +
                              "' --epochs 1 --train-subset 2560 --test-subset 100 --log-every 1";
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  bool signalled = false;
  ssize_t n = 0;
  while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
    output.append(buffer, n);
    if (!signalled && output.find("Iteration 2]") != std::string::npos) {
      kill(child, SIGINT);
      signalled = true;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(signalled) << output;
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 130) << output;
  EXPECT_NE(output.find("googlenet train --resume " + run_dir), std::string::npos) << output;
  const auto checkpoint = load_checkpoint(dir / "run" / "last.pt");
  EXPECT_EQ(checkpoint.epoch, 0);
  EXPECT_GE(checkpoint.batch, 2);
  EXPECT_LT(checkpoint.batch, 20);

  const auto resumed = run_cli("train --resume '" + run_dir + "'");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  EXPECT_EQ(load_checkpoint(dir / "run" / "last.pt").epoch, 1);
}

TEST(Trainer, NonFiniteLossStopsWithAMessage) {
  TempDir dir;
  TrainConfig config = small_config(dir / "run");
  config.max_lr = 1e12;  // the first update blows the weights up
  std::atomic<bool> stop{false};
  try {
    train(config, stop);
    FAIL() << "expected NonFiniteLoss";
  } catch (const NonFiniteLoss& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("at epoch 1, iteration"), std::string::npos) << message;
    EXPECT_NE(message.find("lr "), std::string::npos) << message;
  }
}

TEST(Trainer, RefusesToOverwriteARun) {
  TempDir dir;
  TrainConfig config = small_config(dir / "run");
  config.epochs = 1;
  config.train_subset = 128;
  std::atomic<bool> stop{false};
  train(config, stop);
  try {
    train(config, stop);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds a run"), std::string::npos) << e.what();
  }
}

TEST(TrainerCli, BadFlagsAreRefusedWithUsage) {
  struct Case {
    std::string args, expected;
  };
  const std::vector<Case> cases = {
      {"train --epochs 0", "--epochs must be at least 1"},
      {"train --epochs 5 --schedule-epochs 3", "--schedule-epochs 3 is shorter than --epochs 5"},
      {"train --device tpu", "--device"},
      {"train --recipe fast", "--recipe"},
      {"train --no-such-flag", "--no-such-flag"},
      {"train --resume /nonexistent/run", "/nonexistent/run"},
      {"train --resume . --epochs 3",
       "--resume continues a run with the config saved in it; drop --epochs"},
      {"train --recipe reference --aux", "cannot be combined with --aux"},
      {"train --eval-engine mkl", "--eval-engine"},
      {"train --train-engine mkl", "--train-engine"},
      {"train --train-engine onednn --bn", "--train-engine libtorch"},
      {"train --train-engine onednn --device cuda", "--train-engine libtorch"},
      {"frobnicate", "frobnicate"},
  };
  for (const auto& c : cases) {
    const auto result = run_cli(c.args);
    EXPECT_NE(result.exit_code, 0) << c.args;
    EXPECT_NE(result.output.find(c.expected), std::string::npos) << c.args << "\n" << result.output;
  }
}

TEST(TrainerCli, MissingDataNamesTheFolder) {
  TempDir dir;
  const auto result = run_cli("train --data '" + (dir / "nothing").string() + "' --out '" +
                              (dir / "run").string() + "'");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find((dir / "nothing").string()), std::string::npos) << result.output;
}

// A run folder that cannot be made (here: below a plain file) is named, with the flag to change.
TEST(TrainerCli, UncreatableRunFolderNamesIt) {
  TempDir dir;
  { std::ofstream(dir / "file") << "a file, not a folder"; }
  const std::string out = (dir / "file" / "run").string();
  const auto result =
      run_cli("train --data '" + testing::data_dir().string() +
              "' --train-subset 128 --test-subset 100 --epochs 1 --out '" + out + "'");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("error: " + out + ": cannot create the run folder"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("choose another --out"), std::string::npos) << result.output;
}

TEST(TrainerCli, BadCheckpointsAreRefused) {
  TempDir dir;
  { std::ofstream(dir / "garbage.pt") << "this is not a checkpoint"; }
  auto result = run_cli("test --checkpoint '" + (dir / "garbage.pt").string() + "'");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("garbage.pt"), std::string::npos) << result.output;
  result = run_cli("train --resume '" + dir.path().string() + "'");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("last.pt"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace googlenet
