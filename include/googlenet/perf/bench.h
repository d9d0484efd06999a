// `googlenet bench`, after `caffe time`: training, evaluation and batch-1 speed of the
// reference model on synthetic input, the data pipeline's speed on the real training
// set, peak memory, and achieved GFLOP/s against the CPU's fp32 peak. bench/peer.py
// measures the same quantities for the PyTorch reference, under the same JSON keys.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "googlenet/engine/engine_choice.h"
#include "googlenet/engine/onednn_inference.h"
#include "googlenet/engine/onednn_training.h"
#include "googlenet/model/googlenet.h"
#include "googlenet/model/precision.h"
#include "googlenet/train/step.h"

namespace googlenet {

// Median and range of timed repeats.
struct Spread {
  double median = 0, min = 0, max = 0;
  std::vector<double> samples;  // in the order measured
};

// Throws std::invalid_argument on no samples. Median of an even count: the mean of
// the middle two (as Python's statistics.median).
Spread spread_of(std::vector<double> samples);

nlohmann::json to_json(const Spread& spread);

struct BenchOptions {
  // Defaults: `train`'s (step_options of both agree; tests/perf/test_bench.cpp).
  ModelOptions model;         // --aux, --bn; weights: the default recipe's Xavier init
  bool channels_last = true;  // NHWC weights, inputs and loader output; --nchw: off
  Precision precision = Precision::kFloat32;  // bf16: train's mixed precision (fp32 weights)
  // Evaluation and latency: `googlenet test`'s default engine (oneDNN where built).
  InferenceEngine engine = default_inference_engine(torch::kCPU);
  // Training step: `train --train-engine`'s choices, settled as train settles them
  // (training_engine_for).
  EngineChoice train_engine = EngineChoice::kAuto;
  int64_t batch_size = 128;  // training step
  int64_t eval_batch_size = 100;
  int64_t warmup = 3;          // untimed iterations before each measurement
  int64_t repeats = 5;         // timed repeats; median and min/max over them
  int64_t iterations = 10;     // iterations (batches) per timed repeat
  int64_t data_batches = 100;  // batches per timed repeat of the data pipeline
  int64_t loader_threads = 1;  // CifarLoader worker threads, as `train --loader-threads`
  std::string data = "data";   // folder or archive holding CIFAR-10
  bool skip_data = false;      // --no-data: model timings only
  int threads = 0;             // intra-op threads; 0: all cores
  uint64_t seed = 0;           // weights, synthetic input and shuffling
  double peak_gflops = 0;      // > 0 overrides the detected peak
  // Non-empty: `iterations` more training steps, after the timed ones, recorded by
  // LibTorch's autograd profiler as a Chrome trace in this file (bench/profile_table.py
  // sums it per operation).
  std::string profile;

  // Throws UsageError (util/errors.h) naming the first bad flag.
  void validate() const;
};

// The training step bench times: what `train` builds from the same settings (engine,
// precision, layout, batch), with the default recipe's weight decay.
StepOptions step_options(const BenchOptions& options);

// Runs every measurement and returns them with the machine, options and FLOP
// convention as JSON (keys in docs/formats.md). Progress lines go to `log`.
// Throws std::runtime_error naming the folder when the data cannot be read.
nlohmann::json run_bench(const BenchOptions& options, std::ostream& log);

// The human-readable table of a run_bench() result.
std::string format_bench(const nlohmann::json& result);

}  // namespace googlenet
