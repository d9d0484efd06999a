#include "googlenet/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <system_error>

#include "googlenet/data/cifar.h"
#include "googlenet/data/loader.h"
#include "googlenet/engine/engine_choice.h"
#include "googlenet/eval/evaluation.h"
#include "googlenet/io/serialization.h"
#include "googlenet/io/state_dict.h"
#include "googlenet/io/weights_file.h"
#include "googlenet/model/device.h"
#include "googlenet/model/precision.h"
#include "googlenet/report/metrics.h"
#include "googlenet/report/progress.h"
#include "googlenet/train/checkpoint.h"
#include "googlenet/train/distributed.h"
#include "googlenet/train/schedule.h"
#include "googlenet/train/step.h"
#include "googlenet/util/cpu.h"
#include "googlenet/util/errors.h"
#include "googlenet/util/json_file.h"

namespace googlenet {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

std::string default_run_dir() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::ostringstream name;
  name << "runs/" << std::put_time(&tm, "%Y%m%d-%H%M%S");
  return name.str();
}

namespace {

std::shared_ptr<const Cifar10> take_first(Cifar10 data, int64_t count) {
  if (count > 0 && count < data.size()) {
    data.images.resize(count * kCifarImageBytes);
    data.labels.resize(count);
  }
  return std::make_shared<const Cifar10>(std::move(data));
}

OneCycleSchedule make_schedule(const TrainConfig& config, int64_t steps_per_epoch) {
  // The reference: OneCycleLR(max_lr=0.1, epochs=E, steps_per_epoch=len(loader)) with
  // its other arguments at their defaults (div 25, final div 1e4, pct 0.3, cos,
  // momentum 0.85-0.95), stepped once per batch.
  OneCycleOptions options;
  options.max_lr = config.max_lr;
  options.total_steps = config.cycle_epochs() * steps_per_epoch;
  return OneCycleSchedule(options);
}

// Everything a run holds between epochs.
struct Run {
  TrainConfig config;
  fs::path dir;
  torch::Device device{torch::kCPU};
  std::shared_ptr<const Cifar10> train_data, test_data;
  GoogLeNet model{nullptr};
  Checkpoint position;  // epoch/batch/best of the last completed step; model unused
  // Data-parallel runs (world_size > 1): rank 0 alone writes files and prints.
  std::unique_ptr<Communicator> communicator;
  // Declared after the communicator, which its gradient all-reduce uses. With
  // `--train-engine onednn` the step runs on the model's weights in oneDNN's layout;
  // the model's own are synced from it before every evaluation and checkpoint.
  std::unique_ptr<TrainStep> step;
  bool leader = true;

  int world_size() const { return communicator ? communicator->world_size() : 1; }
};

// Every rank's generator (dropout in the aux heads) travels in rank 0's checkpoint.
Checkpoint snapshot(Run& run) {
  Checkpoint c = run.position;
  c.config = run.config;
  c.class_names = run.train_data->class_names;
  c.rng_state = at::detail::getDefaultCPUGenerator().get_state();
  if (run.communicator) {
    // BN running statistics are each rank's own; rank 0's are the run's, as in
    // DistributedDataParallel, which broadcasts buffers from rank 0.
    run.communicator->broadcast(run.model->buffers());
    const auto states = run.communicator->all_gather(c.rng_state);
    for (size_t r = 1; r < states.size(); ++r) {
      c.rank_rng_states.emplace_back(std::to_string(r), states[r]);
    }
  }
  run.step->sync_model();
  c.model = state_dict(*run.model);
  c.momentum = run.step->momentum_buffers();
  return c;
}

void prepare(Run& run, int threads, const DistributedOptions& distributed) {
  set_compute_threads(threads);
  run.device = resolve_device(run.config.device);
  if (distributed.enabled()) {
    if (run.device != torch::kCPU) {
      throw UsageError(
          "multi-process training runs on the CPU (Gloo); this LibTorch build has no NCCL "
          "process group wired in: use --device cpu");
    }
    run.communicator = std::make_unique<Communicator>(distributed);
    run.leader = distributed.rank == 0;
  }
  run.train_data =
      take_first(load_cifar10(run.config.data, Split::kTrain), run.config.train_subset);
  run.test_data = take_first(load_cifar10(run.config.data, Split::kTest), run.config.test_subset);
  torch::manual_seed(run.config.seed);
  run.model = GoogLeNet(run.config.model_options());
  run.model->initialize(run.config.init_scheme());
  // Same initial weights everywhere (broadcast in finish_setup); own dropout streams.
  if (distributed.rank > 0) torch::manual_seed(run.config.seed + 7919 * distributed.rank);
}

// --init: weights of the reference module (or of a run). A file without aux-head
// weights may start an --aux run: the heads keep their fresh initialisation, since
// the point is to bring reference weights in; everything else must match exactly.
void load_initial_weights(GoogLeNetImpl& model, const std::string& path) {
  StateDict weights = load_weights(path);
  const bool file_has_aux = std::any_of(weights.begin(), weights.end(), [](const auto& item) {
    return item.first.rfind("aux1.", 0) == 0 || item.first.rfind("aux2.", 0) == 0;
  });
  if (model.options().aux_heads && !file_has_aux) {
    for (const auto& item : state_dict(model)) {
      if (item.first.rfind("aux1.", 0) == 0 || item.first.rfind("aux2.", 0) == 0) {
        weights.push_back(item);
      }
    }
  }
  load_state_dict(model, weights, path);
}

// The step also brings every rank to rank 0's weights (DistributedDataParallel's start).
void finish_setup(Run& run) {
  run.model->to(run.device);
  run.step = std::make_unique<TrainStep>(run.model, step_options(run.config, run.device),
                                         run.communicator.get());
}

// Test loss and confusion summed over the ranks' shards: the same numbers one
// process evaluating the whole test set gets.
Evaluation reduce_evaluation(Communicator& communicator, const Evaluation& local) {
  const auto& names = local.confusion.class_names();
  const auto k = static_cast<int64_t>(names.size());
  auto sums = torch::zeros({k * k + 1}, torch::kFloat64);
  auto* s = sums.data_ptr<double>();
  for (int64_t t = 0; t < k; ++t) {
    for (int64_t p = 0; p < k; ++p) s[t * k + p] = static_cast<double>(local.confusion.count(t, p));
  }
  s[k * k] = local.loss * static_cast<double>(local.confusion.total());
  communicator.all_reduce_sum(sums);
  s = sums.data_ptr<double>();
  Evaluation total{0, ConfusionMatrix(names)};
  for (int64_t t = 0; t < k; ++t) {
    for (int64_t p = 0; p < k; ++p) {
      for (auto n = static_cast<int64_t>(s[t * k + p]); n > 0; --n) total.confusion.add(t, p);
    }
  }
  total.loss = s[k * k] / std::max<int64_t>(1, total.confusion.total());
  return total;
}

std::string format_epoch_line(int64_t epoch, int64_t epochs, double train_loss,
                              const Evaluation& eval, double lr, double seconds,
                              double images_per_second) {
  std::ostringstream line;
  line << std::fixed << "[Epoch " << epoch << "/" << epochs << "] train loss "
       << std::setprecision(4) << train_loss << " | test loss " << eval.loss << " | test acc "
       << std::setprecision(2) << 100 * eval.accuracy() << "% | lr " << std::setprecision(5) << lr
       << " | " << std::setprecision(1) << seconds << " s | " << std::setprecision(0)
       << images_per_second << " img/s";
  return line.str();
}

// Whether any rank was asked to stop: the same answer on every rank.
bool stopping_after_epoch(Run& run, const std::atomic<bool>& stop) {
  if (!run.communicator) return stop.load();
  auto flag = torch::tensor({stop.load() ? 1.0 : 0.0}, torch::kFloat64);
  run.communicator->all_reduce_sum(flag);
  return flag.item<double>() > 0;
}

TrainResult run_epochs(Run& run, const std::atomic<bool>& stop, bool resumed) {
  const auto& config = run.config;
  LoaderOptions train_options;
  train_options.batch_size = config.batch_size;
  train_options.seed = config.seed;
  train_options.threads = config.loader_threads;
  train_options.channels_last = config.channels_last;
  train_options.rank = run.communicator ? run.communicator->rank() : 0;
  train_options.world_size = run.world_size();
  CifarLoader train_loader(run.train_data, train_options);
  LoaderOptions test_options;
  test_options.batch_size = config.test_batch_size;
  test_options.shuffle = false;
  test_options.augment = false;
  test_options.threads = config.loader_threads;
  test_options.channels_last = config.channels_last;
  test_options.rank = train_options.rank;
  test_options.world_size = train_options.world_size;
  test_options.pad_shards = false;
  CifarLoader test_loader(run.test_data, test_options);
  std::ostream silent(nullptr);  // ranks other than 0 print nothing
  std::ostream& console = run.leader ? std::cout : silent;
  std::ostream& err = run.leader ? std::cerr : silent;

  const int64_t steps_per_epoch = train_loader.batches_per_epoch();
  const Precision precision = config.precision;
  const InferenceEngine eval_engine = inference_engine_for(config.eval_engine, run.device);
  const auto schedule = make_schedule(config, steps_per_epoch);
  std::optional<MetricsLog> metrics;
  if (run.leader) {
    metrics.emplace(run.dir, resumed ? std::optional<int64_t>(run.position.epoch) : std::nullopt);
  }
  TrainResult result{run.dir, 0, run.position.best_accuracy};

  for (int64_t epoch = run.position.epoch; epoch < config.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    run.model->train();
    train_loader.start_epoch(epoch, run.position.batch);
    ProgressOptions bar;
    bar.label = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config.epochs);
    bar.total = steps_per_epoch - run.position.batch;
    bar.interactive = stderr_is_terminal();
    ProgressBar progress(bar, err);
    double window_loss = 0;
    int64_t window_count = 0, images = 0, steps_done = 0;
    double lr = 0;
    for (int64_t b = run.position.batch; b < steps_per_epoch; ++b) {
      auto batch = train_loader.next();
      TORCH_CHECK(batch.has_value(), "train loader ended after ", b, " of ", steps_per_epoch,
                  " batches");
      const int64_t step = epoch * steps_per_epoch + b;
      lr = schedule.lr(step);
      auto x = batch->images.to(run.device, /*non_blocking=*/true);
      auto y = batch->labels.to(run.device, /*non_blocking=*/true);
      const StepForward forward = run.step->forward(x, y);
      // Reported losses are the main head's, comparable with and without aux heads.
      double loss_value = forward.loss.main.item<double>();
      double total_loss = forward.loss.total.item<double>();
      bool stopping = stop.load();
      if (run.communicator) {
        // One small all-reduce per step: the global mean loss, and the same decision
        // on every rank to stop (Ctrl-C) or to give up (a non-finite loss anywhere).
        auto shared =
            torch::tensor({loss_value, total_loss, stopping ? 1.0 : 0.0}, torch::kFloat64);
        run.communicator->all_reduce_sum(shared);
        loss_value = shared[0].item<double>() / run.world_size();
        total_loss = shared[1].item<double>();
        stopping = shared[2].item<double>() > 0;
      }
      if (!std::isfinite(total_loss)) {
        progress.close();
        std::ostringstream message;
        message << "loss is " << total_loss << " at epoch " << epoch + 1 << ", iteration " << b + 1
                << " (lr " << lr << "); stopped before the update. The last good "
                << "checkpoint " << (run.dir / "last.pt").string()
                << " is intact; try a lower --lr or --bn";
        throw NonFiniteLoss(message.str());
      }
      run.step->update(forward.loss, lr, schedule.momentum(step));

      run.position.batch = b + 1;
      ++steps_done;
      run.position.epoch_loss_sum += loss_value;
      run.position.epoch_loss_count += 1;
      window_loss += loss_value;
      window_count += 1;
      images += batch->labels.size(0);
      progress.update(batch->labels.size(0), loss_value);
      if ((b + 1) % config.log_every == 0) {
        const double mean = window_loss / window_count;
        progress.clear();
        console << "[Epoch " << epoch + 1 << ", Iteration " << b + 1 << "] loss: " << std::fixed
                << std::setprecision(3) << mean << std::endl;
        if (metrics) metrics->append(IterationRow{epoch + 1, b + 1, mean});
        window_loss = 0;
        window_count = 0;
      }
      if (stopping && b + 1 < steps_per_epoch) {
        progress.close();
        const auto checkpoint = snapshot(run);
        if (run.leader) save_checkpoint(run.dir / "last.pt", checkpoint);
        throw TrainingInterrupted("interrupted in epoch " + std::to_string(epoch + 1) +
                                  " after iteration " + std::to_string(b + 1) +
                                  "; checkpoint saved. Resume with: googlenet train --resume " +
                                  run.dir.string());
      }
    }
    progress.close();
    const double train_seconds = seconds_since(epoch_start);
    const double train_loss =
        run.position.epoch_loss_sum / std::max<int64_t>(1, run.position.epoch_loss_count);

    if (run.communicator) run.communicator->broadcast(run.model->buffers());  // BN statistics
    run.step->sync_model();
    Evaluation eval = evaluate(run.model, test_loader, run.device, run.test_data->class_names,
                               precision, eval_engine);
    if (run.communicator) eval = reduce_evaluation(*run.communicator, eval);
    const double seconds = seconds_since(epoch_start);
    EpochRow row{epoch + 1,
                 train_loss,
                 eval.loss,
                 eval.accuracy(),
                 lr,
                 seconds,
                 images * run.world_size() / train_seconds};
    console << format_epoch_line(epoch + 1, config.epochs, train_loss, eval, lr, seconds,
                                 row.images_per_second);
    if (run.step->reducer()) {
      std::ostringstream wait;  // formatted apart: std::cout's own format stays as it was
      wait << std::fixed << std::setprecision(1)
           << 1000 * run.step->reducer()->take_wait_seconds() / std::max<int64_t>(1, steps_done);
      console << " | all-reduce wait " << wait.str() << " ms/step";
    }
    console << std::endl;

    run.position.epoch = epoch + 1;
    run.position.batch = 0;
    run.position.epoch_loss_sum = 0;
    run.position.epoch_loss_count = 0;
    const bool best = eval.accuracy() > run.position.best_accuracy;
    if (best) run.position.best_accuracy = eval.accuracy();
    const auto checkpoint = snapshot(run);
    if (run.leader) {
      save_checkpoint(run.dir / "last.pt", checkpoint);
      if (best) save_checkpoint(run.dir / "best.pt", checkpoint);
      metrics->append(row);
      write_training_plot(run.dir / "curves.svg", metrics->epochs());
    }
    result.final_accuracy = eval.accuracy();
    result.best_accuracy = run.position.best_accuracy;
    if (stopping_after_epoch(run, stop) && epoch + 1 < config.epochs) {
      throw TrainingInterrupted("interrupted after epoch " + std::to_string(epoch + 1) +
                                "; checkpoint saved. Resume with: googlenet train --resume " +
                                run.dir.string());
    }
  }
  return result;
}

}  // namespace

TrainResult train(const TrainConfig& input_config, const std::atomic<bool>& stop,
                  const DistributedOptions& distributed) {
  input_config.validate();
  distributed.validate();
  Run run;
  run.config = input_config;
  run.config.world_size = distributed.world_size;
  if (run.config.out.empty()) run.config.out = default_run_dir();
  run.dir = run.config.out;
  if (distributed.rank == 0 && fs::exists(run.dir / "last.pt")) {
    throw std::runtime_error(run.dir.string() +
                             " already holds a run (last.pt): continue it with "
                             "--resume " +
                             run.dir.string() + ", or choose another --out");
  }
  prepare(run, run.config.threads, distributed);
  if (!run.config.init_weights.empty()) load_initial_weights(*run.model, run.config.init_weights);
  finish_setup(run);
  if (run.leader) {
    std::error_code error;
    fs::create_directories(run.dir, error);
    if (error) {
      throw std::runtime_error(run.dir.string() + ": cannot create the run folder (" +
                               error.message() + "); choose another --out");
    }
    write_json_file(run.dir / "config.json", to_json(run.config));
    std::cerr << "run folder: " << run.dir.string() << "\n";
  }
  return run_epochs(run, stop, /*resumed=*/false);
}

TrainResult resume(const fs::path& run_dir, const std::atomic<bool>& stop, int threads,
                   int loader_threads, const DistributedOptions& distributed) {
  distributed.validate();
  Checkpoint checkpoint = load_checkpoint(run_dir / "last.pt");
  if (checkpoint.config.world_size != distributed.world_size) {
    throw UsageError(run_dir.string() + " was trained by " +
                     std::to_string(checkpoint.config.world_size) +
                     " process(es); resume it with as many (--nproc " +
                     std::to_string(checkpoint.config.world_size) +
                     " or WORLD_SIZE), since the data shards and the batch depend on it");
  }
  Run run;
  run.config = checkpoint.config;
  run.config.out = run_dir.string();
  if (threads > 0) run.config.threads = threads;
  if (loader_threads > 0) run.config.loader_threads = loader_threads;
  run.dir = run_dir;
  prepare(run, run.config.threads, distributed);
  load_state_dict(*run.model, checkpoint.model, (run_dir / "last.pt").string());
  finish_setup(run);
  run.step->load_momentum_buffers(checkpoint.momentum);
  torch::Tensor rng_state = checkpoint.rng_state;
  for (const auto& [rank, state] : checkpoint.rank_rng_states) {
    if (rank == std::to_string(distributed.rank)) rng_state = state;
  }
  if (rng_state.defined()) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle: shares state
    generator.set_state(rng_state);
  }
  run.position = checkpoint;
  run.position.model.clear();
  run.position.momentum.clear();
  run.position.rank_rng_states.clear();
  if (run.position.epoch >= run.config.epochs) {
    throw std::runtime_error(run_dir.string() + " has finished all " +
                             std::to_string(run.config.epochs) + " epochs; nothing to resume");
  }
  if (run.leader)
    std::cerr << "resuming " << run_dir.string() << " at epoch " << run.position.epoch + 1
              << ", iteration " << run.position.batch + 1 << "\n";
  return run_epochs(run, stop, /*resumed=*/true);
}

}  // namespace googlenet
