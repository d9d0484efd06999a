// `googlenet bench` without timing assertions: the statistics, the CPU/peak detection
// on known /proc/cpuinfo texts and on this machine, and the JSON of a tiny real run.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "googlenet/engine/engine_choice.h"
#include "googlenet/perf/bench.h"
#include "googlenet/perf/machine.h"
#include "googlenet/train/config.h"
#include "googlenet/train/step.h"
#include "googlenet/util/cpu.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::quoted;
using testing::run_cli;
using testing::TempDir;

TEST(BenchStats, MedianAndRangeOfOddAndEvenCounts) {
  const Spread odd = spread_of({3, 1, 2});
  EXPECT_DOUBLE_EQ(odd.median, 2);
  EXPECT_DOUBLE_EQ(odd.min, 1);
  EXPECT_DOUBLE_EQ(odd.max, 3);
  EXPECT_EQ(odd.samples, (std::vector<double>{3, 1, 2}));  // measurement order kept
  const Spread even = spread_of({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(even.median, 2.5);  // as Python's statistics.median
  EXPECT_DOUBLE_EQ(spread_of({7}).median, 7);
  const auto json = to_json(odd);
  EXPECT_DOUBLE_EQ(json.at("median").get<double>(), 2);
  EXPECT_EQ(json.at("samples").size(), 3u);
}

TEST(BenchStats, NoSamplesIsAnError) {
  try {
    spread_of({});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--repeats"), std::string::npos) << e.what();
  }
}

// bench times the step `train` builds: by default, and from the same settings.
TEST(BenchStep, BuildsTrainsStepFromTheSameSettings) {
  EXPECT_EQ(step_options(BenchOptions{}), step_options(TrainConfig{}, torch::kCPU));
  EXPECT_TRUE(step_options(BenchOptions{}).channels_last);

  struct Settings {
    bool aux, bn, channels_last;
    Precision precision;
    EngineChoice engine;
    int64_t batch_size;
  };
  for (const Settings& s :
       {Settings{true, false, false, Precision::kBFloat16, EngineChoice::kAuto, 64},
        Settings{false, true, true, Precision::kFloat32, EngineChoice::kAuto, 32},
        Settings{false, false, true, Precision::kBFloat16, EngineChoice::kLibTorch, 128}}) {
    BenchOptions bench;
    bench.model.aux_heads = s.aux;
    bench.model.batch_norm = s.bn;
    bench.channels_last = s.channels_last;
    bench.precision = s.precision;
    bench.train_engine = s.engine;
    bench.batch_size = s.batch_size;
    TrainConfig config;
    config.aux_heads = s.aux;
    config.batch_norm = s.bn;
    config.channels_last = s.channels_last;
    config.precision = s.precision;
    config.train_engine = s.engine;
    config.batch_size = s.batch_size;
    EXPECT_EQ(step_options(bench), step_options(config, torch::kCPU));
  }
  BenchOptions bn;
  bn.model.batch_norm = true;  // oneDNN's engine trains no BN: LibTorch's modules, as train
  EXPECT_EQ(step_options(bn).engine, TrainingEngine::kLibTorch);
}

TEST(BenchCli, MallocSettingIsReportedAndCanBeLeftToTheEnvironment) {
  const std::string args =
      "bench --no-data --iterations 1 --repeats 1 --warmup 0 --batch-size 2 --eval-batch-size 1 "
      "--threads 1 --json";
  const auto allocator = [&] {
    const auto result = run_cli(args);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    const auto start = result.output.find("\n{\n");
    if (start == std::string::npos) return std::string("no JSON in: ") + result.output;
    return nlohmann::json::parse(result.output.substr(start + 1))
        .at("allocator")
        .get<std::string>();
  };
  EXPECT_NE(allocator().find("freed memory kept: mmap threshold 32 MiB"), std::string::npos);
  setenv("GOOGLENET_MALLOC", "system", 1);
  EXPECT_EQ(allocator(), "glibc defaults (GOOGLENET_MALLOC=system)");
  unsetenv("GOOGLENET_MALLOC");
  setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=4194304", 1);
  EXPECT_EQ(allocator(), "GLIBC_TUNABLES=glibc.malloc.trim_threshold=4194304");
  unsetenv("GLIBC_TUNABLES");
}

TEST(BenchCli, TinyRunWritesEveryField) {
  TempDir dir;
  const auto result = run_cli(
      "bench --iterations 1 --repeats 1 --warmup 0 --batch-size 4 --eval-batch-size 4 "
      "--data-batches 1 --threads 1 --data " +
      quoted(testing::data_dir()) + " --json " + quoted(dir / "bench.json"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("peak: "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("(measured fp32: "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("data pipeline, batch 4"), std::string::npos) << result.output;
  std::ifstream in(dir / "bench.json");
  const auto json = nlohmann::json::parse(in);
  for (const char* key : {"model_name", "cores", "isa", "amx", "ghz", "ghz_source",
                          "flops_per_cycle", "peak_gflops", "peak_source", "nominal_peak_gflops",
                          "measured_fp32_gflops", "measured_bf16_gflops", "measured_threads"}) {
    EXPECT_TRUE(json.at("cpu").contains(key)) << key;
  }
  EXPECT_EQ(json.at("threads").get<int>(), 1);
  EXPECT_TRUE(json.at("options").at("channels_last").get<bool>());  // train's default
  // The training step runs on `train`'s default engine.
  EXPECT_EQ(json.at("options").at("train_engine").get<std::string>(),
            onednn_training_available() ? "onednn" : "libtorch");
  // The default peak is the one measured on the compute threads (here: one).
  EXPECT_EQ(json.at("cpu").at("measured_threads").get<int>(), 1);
  EXPECT_DOUBLE_EQ(json.at("cpu").at("peak_gflops").get<double>(),
                   json.at("cpu").at("measured_fp32_gflops").get<double>());
  EXPECT_EQ(json.at("flops").at("forward_per_image").get<int64_t>(), 64577536);
  EXPECT_EQ(json.at("flops").at("train_per_image").get<int64_t>(), 3 * 64577536);
  for (const char* phase : {"train", "eval", "data"}) {
    const auto& speed = json.at(phase).at("images_per_second");
    EXPECT_GT(speed.at("median").get<double>(), 0) << phase;
    EXPECT_LE(speed.at("min").get<double>(), speed.at("max").get<double>()) << phase;
    EXPECT_GT(json.at(phase).at("peak_rss_mb").get<double>(), 1) << phase;
  }
  EXPECT_GT(json.at("latency").at("milliseconds").at("median").get<double>(), 0);
  EXPECT_GT(json.at("train").at("gflops").get<double>(), 0);
  EXPECT_GT(json.at("train").at("peak_fraction").get<double>(), 0);
  EXPECT_TRUE(std::isfinite(json.at("train").at("last_loss").get<double>()));
  EXPECT_EQ(json.at("data").at("images_per_repeat").get<int64_t>(), 4);
  EXPECT_GE(json.at("peak_rss_mb").get<double>(), json.at("train").at("peak_rss_mb").get<double>());
}

TEST(BenchCli, VariantsWithoutDataAndJsonOnStdout) {
  const auto result = run_cli(
      "bench --aux --bn --channels-last --precision bf16 --no-data --iterations 1 --repeats 2 "
      "--warmup 1 "
      "--batch-size 4 --eval-batch-size 2 --threads 1 --peak-gflops 100 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // stderr (progress, the table) comes first; the JSON object is the only line "{".
  const auto start = result.output.find("\n{\n");
  ASSERT_NE(start, std::string::npos) << result.output;
  EXPECT_NE(result.output.find("peak: 100.0 GFLOP/s (--peak-gflops)"), std::string::npos)
      << result.output;
  const auto json = nlohmann::json::parse(result.output.substr(start + 1));
  EXPECT_TRUE(json.at("data").is_null());
  EXPECT_TRUE(json.at("options").at("channels_last").get<bool>());
  EXPECT_EQ(json.at("options").at("precision").get<std::string>(), "bf16");
  EXPECT_EQ(json.at("options").at("train_engine").get<std::string>(), "libtorch");  // --bn
  EXPECT_NE(result.output.find("Xavier init, bf16, channels-last"), std::string::npos)
      << result.output;
  EXPECT_DOUBLE_EQ(json.at("cpu").at("peak_gflops").get<double>(), 100);
  EXPECT_EQ(json.at("cpu").at("peak_source").get<std::string>(), "--peak-gflops");
  EXPECT_EQ(json.at("train").at("images_per_second").at("samples").size(), 2u);
  // Aux heads add their FLOPs to training, not to the forward pass of evaluation.
  EXPECT_GT(json.at("flops").at("train_per_image").get<double>(),
            3 * json.at("flops").at("forward_per_image").get<double>());
  EXPECT_TRUE(std::isfinite(json.at("train").at("last_loss").get<double>()));
}

// bf16 without --bn trains on the oneDNN engine's mixed precision, as `train` does.
TEST(BenchCli, Bf16TrainsOnTheOneDnnEngineWhereBuilt) {
  const auto result = run_cli(
      "bench --precision bf16 --no-data --iterations 1 --repeats 1 --warmup 1 --batch-size 4 "
      "--eval-batch-size 2 --threads 1 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto start = result.output.find("\n{\n");
  ASSERT_NE(start, std::string::npos) << result.output;
  const auto json = nlohmann::json::parse(result.output.substr(start + 1));
  EXPECT_EQ(json.at("options").at("precision").get<std::string>(), "bf16");
  EXPECT_EQ(json.at("options").at("train_engine").get<std::string>(),
            to_string(default_training_engine(ModelOptions{}, torch::kCPU)));
  EXPECT_TRUE(std::isfinite(json.at("train").at("last_loss").get<double>()));
}

TEST(BenchCli, NchwTurnsChannelsLastOff) {
  const auto result = run_cli(
      "bench --nchw --no-data --iterations 1 --repeats 1 --warmup 0 --batch-size 2 "
      "--eval-batch-size 1 --threads 1 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto start = result.output.find("\n{\n");
  ASSERT_NE(start, std::string::npos) << result.output;
  const auto json = nlohmann::json::parse(result.output.substr(start + 1));
  EXPECT_FALSE(json.at("options").at("channels_last").get<bool>());
  EXPECT_NE(result.output.find("Xavier init, fp32, NCHW"), std::string::npos) << result.output;
  EXPECT_TRUE(std::isfinite(json.at("train").at("last_loss").get<double>()));
}

TEST(BenchCli, MissingDataNamesTheFolder) {
  const auto result = run_cli("bench --data /nonexistent/cifar --iterations 1 --repeats 1");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("/nonexistent/cifar: no such file or folder"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("--no-data"), std::string::npos) << result.output;
}

TEST(BenchCli, BadCountsAreUsageErrors) {
  auto result = run_cli("bench --no-data --repeats 0");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--repeats is 0; it must be at least 1"), std::string::npos)
      << result.output;
  result = run_cli("bench --no-data --warmup -1");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--warmup is -1; it must be at least 0"), std::string::npos)
      << result.output;
  if (onednn_training_available()) {
    result = run_cli("bench --no-data --bn --train-engine onednn --iterations 1 --repeats 1");
    EXPECT_NE(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("--train-engine libtorch"), std::string::npos) << result.output;
  }
}

TEST(BenchCli, ProfileIsAChromeTraceOfTrainingSteps) {
  TempDir dir;
  const auto trace = dir / "steps.json";
  const auto result = run_cli(
      "bench --no-data --iterations 2 --repeats 1 --warmup 0 --batch-size 2 --eval-batch-size 1 "
      "--threads 1 --profile " +
      quoted(trace));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("2 training steps profiled into"), std::string::npos)
      << result.output;
  std::ifstream in(trace);
  const auto json = nlohmann::json::parse(in);
  const auto& events = json.is_array() ? json : json.at("traceEvents");
  std::map<std::string, int> calls;
  for (const auto& event : events) calls[event.value("name", std::string())] += 1;
  // Two steps: the loss twice, every parameter's gradient accumulated twice.
  EXPECT_EQ(calls["aten::cross_entropy_loss"], 2) << json.dump().substr(0, 2000);
  EXPECT_GT(calls["torch::autograd::AccumulateGrad"], 2 * 57);
}

TEST(BenchCli, UnwritableProfileFailsBeforeMeasuring) {
  const auto result = run_cli("bench --no-data --profile /nonexistent/folder/steps.json");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("/nonexistent/folder/steps.json: cannot write the profile"),
            std::string::npos)
      << result.output;
  EXPECT_EQ(result.output.find("bench: training step"), std::string::npos) << result.output;
}

TEST(BenchCli, HelpListsEveryFlagWithItsDefault) {
  const auto result = run_cli("bench --help");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* flag : {"--aux", "--bn", "--channels-last", "--batch-size", "--eval-batch-size",
                           "--warmup", "--repeats", "--iterations", "--data-batches", "--data",
                           "--no-data", "--loader-threads", "--threads", "--seed", "--peak-gflops",
                           "--json", "--train-engine", "--engine", "--profile"}) {
    EXPECT_NE(result.output.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(result.output.find("--nchw"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("128"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace googlenet
