#include "googlenet/perf/bench.h"

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "googlenet/data/cifar.h"
#include "googlenet/data/loader.h"
#include "googlenet/model/precision.h"
#include "googlenet/model/summary.h"
#include "googlenet/perf/machine.h"
#include "googlenet/train/step.h"
#include "googlenet/util/cpu.h"
#include "googlenet/util/errors.h"
#include "googlenet/util/malloc.h"

namespace googlenet {

namespace {

using Clock = std::chrono::steady_clock;

// The step's hyper-parameters; bench/peer.py's SGD uses the same. Their values do not
// change the work done, only the weights. The weight decay is the default recipe's.
constexpr double kLearningRate = 0.1;
constexpr double kMomentum = 0.9;
constexpr double kWeightDecay = 5e-4;
constexpr double kMiB = 1024.0 * 1024.0;

const char* kFlopConvention =
    "multiply-adds x2 of convs and linears, padding counted (googlenet summary); "
    "training = 3 x forward (backward = input + weight gradients, 2 x forward); "
    "pooling, activations and the SGD update not counted";

// `warmup` untimed calls of `step`, then `repeats` timed groups of `iterations`
// calls; returns each group's seconds.
template <typename Step>
std::vector<double> time_repeats(const BenchOptions& options, Step&& step) {
  for (int64_t i = 0; i < options.warmup; ++i) step();
  std::vector<double> seconds;
  for (int64_t r = 0; r < options.repeats; ++r) {
    const auto start = Clock::now();
    for (int64_t i = 0; i < options.iterations; ++i) step();
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return seconds;
}

// Peak RSS of each phase. Resetting the kernel's peak loses the process's, so that
// is kept here as the largest seen.
class PeakMemory {
 public:
  void start() {
    process_ = std::max(process_, peak_rss_bytes());
    reset_peak_rss();
  }
  int64_t stop() {
    const int64_t peak = peak_rss_bytes();
    process_ = std::max(process_, peak);
    return peak;
  }
  int64_t process() const { return std::max(process_, peak_rss_bytes()); }

 private:
  int64_t process_ = 0;
};

// `per_repeat` / seconds for each repeat: a rate (images/s) from repeat times.
Spread rates(const std::vector<double>& seconds, double per_repeat) {
  std::vector<double> values;
  for (double s : seconds) values.push_back(per_repeat / s);
  return spread_of(values);
}

torch::Tensor synthetic_images(int64_t batch, bool channels_last) {
  auto images = torch::randn({batch, kCifarChannels, kCifarSide, kCifarSide});
  return channels_last ? images.contiguous(torch::MemoryFormat::ChannelsLast) : images;
}

double mib(int64_t bytes) { return bytes / kMiB; }

nlohmann::json speed(const std::string& key, const Spread& spread, double gflops, double peak,
                     int64_t rss) {
  return {{key, to_json(spread)},
          {"gflops", gflops},
          {"peak_fraction", peak > 0 ? gflops / peak : 0.0},
          {"peak_rss_mb", mib(rss)}};
}

// The machine and the peak every "% peak" is a fraction of: --peak-gflops, else the
// measured peak of the arithmetic the convolutions run in, else the nominal one.
struct PeakUsed {
  double gflops = 0;
  std::string source;
};

PeakUsed choose_peak(const BenchOptions& options, const CpuInfo& cpu,
                     const MeasuredPeak& measured) {
  if (options.peak_gflops > 0) return {options.peak_gflops, "--peak-gflops"};
  const bool bf16 = options.precision == Precision::kBFloat16;
  if (bf16 && measured.bf16_gflops > 0) {
    return {measured.bf16_gflops, "measured bf16: " + measured.bf16_kernel + ", " +
                                      std::to_string(measured.threads) + " thread(s)"};
  }
  if (measured.fp32_gflops > 0) {
    return {measured.fp32_gflops, "measured fp32: " + measured.fp32_kernel + ", " +
                                      std::to_string(measured.threads) + " thread(s)"};
  }
  return {peak_gflops(cpu), "nominal: cores x GHz x FLOPs/cycle"};
}

nlohmann::json cpu_json(const CpuInfo& cpu, const MeasuredPeak& measured, const PeakUsed& peak) {
  return {{"model_name", cpu.model_name},
          {"cores", cpu.cores},
          {"isa", cpu.isa},
          {"amx", cpu.amx},
          {"avx512_bf16", cpu.avx512_bf16},
          {"ghz", cpu.ghz},
          {"ghz_source", cpu.ghz_source},
          {"flops_per_cycle", cpu.flops_per_cycle},
          {"flops_per_cycle_assumption", cpu.flops_per_cycle_assumption},
          {"nominal_peak_gflops", peak_gflops(cpu)},
          {"measured_fp32_gflops", measured.fp32_gflops},
          {"measured_bf16_gflops", measured.bf16_gflops},
          {"measured_threads", measured.threads},
          {"peak_gflops", peak.gflops},
          {"peak_source", peak.source}};
}

// The data pipeline of training: CifarLoader over the real training set with the
// reference's augmentation, batches of `batch_size`, `data_batches` per repeat.
nlohmann::json bench_data(const BenchOptions& options, PeakMemory& memory, std::ostream& log) {
  const auto load_start = Clock::now();
  std::shared_ptr<const Cifar10> data;
  try {
    data = std::make_shared<const Cifar10>(load_cifar10(options.data, Split::kTrain));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) +
                             " (googlenet bench times the data pipeline on it; or pass --no-data)");
  }
  const double load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();
  LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.seed = options.seed;
  loader_options.threads = options.loader_threads;
  loader_options.channels_last = options.channels_last;
  CifarLoader loader(data, loader_options);
  const int64_t batches = std::min(options.data_batches, loader.batches_per_epoch());
  log << "bench: data pipeline, " << batches << " batches x " << options.repeats << " repeats ("
      << data->source << ")\n";

  memory.start();
  loader.start_epoch(0);
  for (int64_t i = 0; i < std::min(options.warmup, batches); ++i) loader.next();
  std::vector<double> values;
  int64_t images = 0;
  for (int64_t r = 0; r < options.repeats; ++r) {
    loader.start_epoch(r + 1);  // a fresh shuffle, as every training epoch
    images = 0;
    const auto start = Clock::now();
    for (int64_t b = 0; b < batches; ++b) images += loader.next()->labels.size(0);
    values.push_back(images / std::chrono::duration<double>(Clock::now() - start).count());
  }
  return {{"images_per_second", to_json(spread_of(values))},
          {"images_per_repeat", images},
          {"load_seconds", load_seconds},
          {"peak_rss_mb", mib(memory.stop())},
          {"source", data->source}};
}

}  // namespace

Spread spread_of(std::vector<double> samples) {
  if (samples.empty()) throw std::invalid_argument("spread_of: no samples (need --repeats >= 1)");
  Spread spread;
  spread.samples = samples;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  spread.median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  spread.min = samples.front();
  spread.max = samples.back();
  return spread;
}

nlohmann::json to_json(const Spread& spread) {
  return {{"median", spread.median},
          {"min", spread.min},
          {"max", spread.max},
          {"samples", spread.samples}};
}

StepOptions step_options(const BenchOptions& options) {
  StepOptions step;
  step.engine = training_engine_for(options.train_engine, options.model, torch::kCPU);
  step.precision = options.precision;
  step.channels_last = options.channels_last;
  step.batch_size = options.batch_size;
  step.weight_decay = kWeightDecay;
  return step;
}

void BenchOptions::validate() const {
  const auto at_least = [](double value, double minimum, const char* flag) {
    if (value < minimum) {
      std::ostringstream message;
      message << flag << " is " << value << "; it must be at least " << minimum;
      throw UsageError(message.str());
    }
  };
  at_least(batch_size, 1, "--batch-size");
  at_least(eval_batch_size, 1, "--eval-batch-size");
  at_least(repeats, 1, "--repeats");
  at_least(iterations, 1, "--iterations");
  at_least(data_batches, 1, "--data-batches");
  at_least(warmup, 0, "--warmup");
  at_least(loader_threads, 0, "--loader-threads");
  at_least(threads, 0, "--threads");
  at_least(peak_gflops, 0, "--peak-gflops");
  training_engine_for(train_engine, model, torch::kCPU);  // refuses onednn with --bn
}

nlohmann::json run_bench(const BenchOptions& options, std::ostream& log) {
  options.validate();
  if (!options.skip_data && !std::filesystem::exists(options.data)) {
    throw std::runtime_error(options.data +
                             ": no such file or folder; pass --data with the folder or archive "
                             "holding CIFAR-10 (`googlenet download` fetches it), or --no-data");
  }
  std::ofstream profile;
  if (!options.profile.empty()) {  // fail before the measurements, not after
    profile.open(options.profile);
    if (!profile) {
      throw std::runtime_error(options.profile +
                               ": cannot write the profile there; pass --profile with a file in "
                               "a writable folder");
    }
  }
  set_compute_threads(options.threads);
  const CpuInfo cpu = detect_cpu();
  const MeasuredPeak measured =
      options.peak_gflops > 0 ? MeasuredPeak{} : measure_peak(cpu, torch::get_num_threads());
  const PeakUsed peak_used = choose_peak(options, cpu, measured);
  const double peak = peak_used.gflops;

  torch::manual_seed(static_cast<int64_t>(options.seed));
  GoogLeNet model(options.model);
  model->initialize(InitScheme::kXavierUniform);  // the default recipe's weights
  const ModelSummary summary = summarize(model);
  int64_t aux_flops = 0;  // aux heads run in training only
  for (const auto& layer : summary.layers) {
    if (layer.kind == "AuxHead") aux_flops += layer.flops;
  }
  const int64_t forward_flops = summary.total_flops;
  const int64_t train_flops = 3 * (forward_flops + aux_flops);

  // Training: the training loop's step (train/step.h), built as `train` builds it from
  // the same settings, on a fixed synthetic batch.
  auto images = synthetic_images(options.batch_size, options.channels_last);
  TrainStep step(model, step_options(options));
  auto labels = torch::randint(options.model.num_classes, {options.batch_size}, torch::kLong);
  double last_loss = 0;
  auto train_step = [&] {
    const StepForward forward = step.forward(images, labels);
    last_loss = forward.loss.main.item<double>();
    step.update(forward.loss, kLearningRate, kMomentum);
  };
  log << "bench: training step, batch " << options.batch_size << "\n";
  PeakMemory memory;
  memory.start();
  model->train();
  const Spread train = rates(time_repeats(options, train_step),
                             static_cast<double>(options.iterations * options.batch_size));
  const int64_t train_rss = memory.stop();
  if (profile.is_open()) {
    {
      torch::autograd::profiler::RecordProfile recording(profile);
      for (int64_t i = 0; i < options.iterations; ++i) train_step();
    }
    profile.close();
    if (!profile) throw std::runtime_error(options.profile + ": writing the profile failed");
    log << "bench: " << options.iterations << " training steps profiled into " << options.profile
        << " (bench/profile_table.py sums it)\n";
  }

  // Evaluation and batch-1 latency: forward passes in eval mode without autograd.
  step.sync_model();
  model->eval();
  torch::NoGradGuard no_grad;
  log << "bench: evaluation, batch " << options.eval_batch_size << "\n";
  memory.start();
  images = synthetic_images(options.eval_batch_size, options.channels_last);
  // The engine `googlenet test` uses: oneDNN (weights packed once, outside the timing)
  // or LibTorch's modules under autocast.
  std::optional<OneDnnInference> onednn;
  if (options.engine == InferenceEngine::kOneDnn) onednn.emplace(model, options.precision);
  auto forward = [&] {
    if (onednn) {
      onednn->forward(images);
      return;
    }
    AutocastScope autocast(options.precision);
    model->forward(images);
  };
  const Spread eval = rates(time_repeats(options, forward),
                            static_cast<double>(options.iterations * options.eval_batch_size));
  const int64_t eval_rss = memory.stop();
  log << "bench: latency, batch 1\n";
  memory.start();
  images = synthetic_images(1, options.channels_last);
  std::vector<double> latency_ms;
  for (double s : time_repeats(options, forward))
    latency_ms.push_back(1000 * s / options.iterations);
  const Spread latency = spread_of(latency_ms);
  const int64_t latency_rss = memory.stop();

  nlohmann::json result;
  result["implementation"] = "googlenet C++ (LibTorch " TORCH_VERSION ")";
  result["cpu"] = cpu_json(cpu, measured, peak_used);
  result["threads"] = torch::get_num_threads();
  result["allocator"] = malloc_setting();
  result["options"] = {
      {"aux", options.model.aux_heads},
      {"bn", options.model.batch_norm},
      {"channels_last", options.channels_last},
      {"precision", to_string(options.precision)},
      {"engine", to_string(options.engine)},
      {"train_engine", to_string(step.options().engine)},
      {"batch_size", options.batch_size},
      {"eval_batch_size", options.eval_batch_size},
      {"warmup", options.warmup},
      {"repeats", options.repeats},
      {"iterations", options.iterations},
      {"data_batches", options.data_batches},
      {"loader", "CifarLoader, " + std::to_string(options.loader_threads) + " worker thread(s)"},
      {"seed", options.seed},
      {"init", "xavier_uniform"}};
  result["flops"] = {{"forward_per_image", forward_flops},
                     {"train_per_image", train_flops},
                     {"convention", kFlopConvention}};
  result["train"] =
      speed("images_per_second", train, train.median * train_flops / 1e9, peak, train_rss);
  result["train"]["last_loss"] = last_loss;
  result["eval"] =
      speed("images_per_second", eval, eval.median * forward_flops / 1e9, peak, eval_rss);
  result["latency"] =
      speed("milliseconds", latency, forward_flops / (latency.median * 1e6), peak, latency_rss);
  result["data"] = options.skip_data ? nlohmann::json(nullptr) : bench_data(options, memory, log);
  result["peak_rss_mb"] = mib(memory.process());
  return result;
}

std::string format_bench(const nlohmann::json& r) {
  const auto& cpu = r.at("cpu");
  const auto& o = r.at("options");
  const auto& flops = r.at("flops");
  std::ostringstream out;
  out << std::fixed << std::setprecision(2);
  out << r.at("implementation").get<std::string>() << ": GoogLeNet"
      << (o.at("aux").get<bool>() ? " + aux heads" : "") << (o.at("bn").get<bool>() ? " + BN" : "")
      << ", Xavier init, " << o.value("precision", std::string("fp32")) << ", "
      << (o.at("channels_last").get<bool>() ? "channels-last" : "NCHW") << ", training on "
      << o.value("train_engine", std::string("libtorch")) << ", evaluation on "
      << o.value("engine", std::string("libtorch")) << ", threads " << r.at("threads").get<int>()
      << "\n"
      << "CPU: " << cpu.at("model_name").get<std::string>() << ", " << cpu.at("cores").get<int>()
      << " cores, " << cpu.at("isa").get<std::string>()
      << (cpu.at("amx").get<bool>() ? " + AMX" : ", no AMX")
      << (cpu.at("avx512_bf16").get<bool>() ? ", AVX512-BF16" : "") << ", "
      << cpu.at("ghz").get<double>() << " GHz from " << cpu.at("ghz_source").get<std::string>()
      << "\n"
      << "peak: " << std::setprecision(1) << cpu.at("peak_gflops").get<double>() << " GFLOP/s ("
      << cpu.at("peak_source").get<std::string>() << "); nominal fp32 "
      << cpu.value("nominal_peak_gflops", 0.0) << " GFLOP/s (cores x GHz x "
      << cpu.at("flops_per_cycle").get<int>()
      << " FLOP/cycle/core: " << cpu.at("flops_per_cycle_assumption").get<std::string>() << ")\n"
      << "malloc: " << r.value("allocator", std::string("not recorded")) << "\n"
      << "FLOPs per image: forward " << flops.at("forward_per_image").get<double>() / 1e6
      << " M, training " << flops.at("train_per_image").get<double>() / 1e6 << " M (3 x forward)\n"
      << "each: " << o.at("warmup").get<int64_t>() << " warm-up + "
      << o.at("repeats").get<int64_t>() << " timed repeats of " << o.at("iterations").get<int64_t>()
      << " iterations (data: " << o.at("data_batches").get<int64_t>()
      << " batches); median [min, max]\n\n";

  out << std::left << std::setw(26) << "measurement" << std::right << std::setw(16) << "median"
      << std::setw(24) << "[min, max]" << std::setw(10) << "GFLOP/s" << std::setw(9) << "% peak"
      << std::setw(13) << "peak RSS"
      << "\n";
  const auto row = [&](const std::string& name, const nlohmann::json& m, const std::string& key,
                       const std::string& unit, int digits) {
    const auto& s = m.at(key);
    std::ostringstream value, range;
    value << std::fixed << std::setprecision(digits) << s.at("median").get<double>() << " " << unit;
    range << std::fixed << std::setprecision(digits) << "[" << s.at("min").get<double>() << ", "
          << s.at("max").get<double>() << "]";
    out << std::left << std::setw(26) << name << std::right << std::setw(16) << value.str()
        << std::setw(24) << range.str();
    if (m.contains("gflops")) {
      out << std::setprecision(1) << std::setw(10) << m.at("gflops").get<double>() << std::setw(8)
          << 100 * m.at("peak_fraction").get<double>() << "%";
    } else {
      out << std::setw(10) << "-" << std::setw(9) << "-";
    }
    out << std::setprecision(0) << std::setw(9) << m.at("peak_rss_mb").get<double>() << " MiB\n";
  };
  const std::string batch = std::to_string(o.at("batch_size").get<int64_t>());
  row("training, batch " + batch, r.at("train"), "images_per_second", "img/s", 1);
  row("evaluation, batch " + std::to_string(o.at("eval_batch_size").get<int64_t>()), r.at("eval"),
      "images_per_second", "img/s", 1);
  row("latency, batch 1", r.at("latency"), "milliseconds", "ms", 2);
  if (r.at("data").is_null()) {
    out << std::left << std::setw(26) << "data pipeline"
        << "skipped (--no-data)\n";
  } else {
    row("data pipeline, batch " + batch, r.at("data"), "images_per_second", "img/s", 0);
  }
  out << "\nprocess peak RSS " << std::setprecision(0) << r.at("peak_rss_mb").get<double>()
      << " MiB; FLOPs: " << flops.at("convention").get<std::string>() << "\n";
  return out.str();
}

}  // namespace googlenet
