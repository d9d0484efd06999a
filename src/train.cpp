#include "googlenet/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "googlenet/checkpoint.h"
#include "googlenet/cifar.h"
#include "googlenet/evaluation.h"
#include "googlenet/loader.h"
#include "googlenet/progress.h"
#include "googlenet/report.h"
#include "googlenet/schedule.h"
#include "googlenet/serialization.h"
#include "googlenet/sgd.h"
#include "googlenet/state_dict.h"

namespace googlenet {

namespace fs = std::filesystem;

namespace {

constexpr double kAuxLossWeight = 0.3;  // paper, Section 5

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string timestamp_run_dir() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::ostringstream name;
  name << "runs/" << std::put_time(&tm, "%Y%m%d-%H%M%S");
  return name.str();
}

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
  std::unique_ptr<Sgd> sgd;
  Checkpoint position;  // epoch/batch/best of the last completed step; model unused
};

Checkpoint snapshot(Run& run) {
  Checkpoint c = run.position;
  c.config = run.config;
  c.class_names = run.train_data->class_names;
  c.model = state_dict(*run.model);
  c.momentum = run.sgd->momentum_buffers();
  c.rng_state = at::detail::getDefaultCPUGenerator().get_state();
  return c;
}

void prepare(Run& run, int threads) {
  if (threads > 0) torch::set_num_threads(threads);
  run.device = resolve_device(run.config.device);
  run.train_data =
      take_first(load_cifar10(run.config.data, Split::kTrain), run.config.train_subset);
  run.test_data = take_first(load_cifar10(run.config.data, Split::kTest), run.config.test_subset);
  torch::manual_seed(run.config.seed);
  run.model = GoogLeNet(run.config.model_options());
  run.model->initialize(run.config.init_scheme());
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

void finish_setup(Run& run) {
  run.model->to(run.device);
  if (run.config.channels_last) to_channels_last(*run.model);
  run.sgd = std::make_unique<Sgd>(run.model->named_parameters(), run.config.weight_decay);
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

TrainResult run_epochs(Run& run, const std::atomic<bool>& stop, bool resumed) {
  const auto& config = run.config;
  LoaderOptions train_options;
  train_options.batch_size = config.batch_size;
  train_options.seed = config.seed;
  train_options.threads = config.loader_threads;
  train_options.channels_last = config.channels_last;
  CifarLoader train_loader(run.train_data, train_options);
  LoaderOptions test_options;
  test_options.batch_size = config.test_batch_size;
  test_options.shuffle = false;
  test_options.augment = false;
  test_options.threads = config.loader_threads;
  test_options.channels_last = config.channels_last;
  CifarLoader test_loader(run.test_data, test_options);

  const int64_t steps_per_epoch = train_loader.batches_per_epoch();
  const auto schedule = make_schedule(config, steps_per_epoch);
  MetricsLog metrics(run.dir, resumed ? std::optional<int64_t>(run.position.epoch) : std::nullopt);
  TrainResult result{run.dir, 0, run.position.best_accuracy};

  for (int64_t epoch = run.position.epoch; epoch < config.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    run.model->train();
    train_loader.start_epoch(epoch, run.position.batch);
    ProgressOptions bar;
    bar.label = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config.epochs);
    bar.total = steps_per_epoch - run.position.batch;
    bar.interactive = stderr_is_terminal();
    ProgressBar progress(bar, std::cerr);
    double window_loss = 0;
    int64_t window_count = 0, images = 0;
    double lr = 0;
    for (int64_t b = run.position.batch; b < steps_per_epoch; ++b) {
      auto batch = train_loader.next();
      TORCH_CHECK(batch.has_value(), "train loader ended after ", b, " of ", steps_per_epoch,
                  " batches");
      const int64_t step = epoch * steps_per_epoch + b;
      lr = schedule.lr(step);
      auto x = batch->images.to(run.device, /*non_blocking=*/true);
      auto y = batch->labels.to(run.device, /*non_blocking=*/true);
      auto out = run.model->forward_all(x);
      const auto main_loss = torch::cross_entropy_loss(out.logits, y);
      auto loss = main_loss;
      if (out.aux1.defined()) {
        loss = loss + kAuxLossWeight * (torch::cross_entropy_loss(out.aux1, y) +
                                        torch::cross_entropy_loss(out.aux2, y));
      }
      // Reported losses are the main head's, comparable with and without aux heads.
      const double loss_value = main_loss.item<double>();
      if (!std::isfinite(loss.item<double>())) {
        progress.close();
        std::ostringstream message;
        message << "loss is " << loss.item<double>() << " at epoch " << epoch + 1 << ", iteration "
                << b + 1 << " (lr " << lr << "); stopped before the update. The last good "
                << "checkpoint " << (run.dir / "last.pt").string()
                << " is intact; try a lower --lr or --bn";
        throw NonFiniteLoss(message.str());
      }
      run.sgd->zero_grad();
      loss.backward();
      run.sgd->step(lr, schedule.momentum(step));

      run.position.batch = b + 1;
      run.position.epoch_loss_sum += loss_value;
      run.position.epoch_loss_count += 1;
      window_loss += loss_value;
      window_count += 1;
      images += batch->labels.size(0);
      progress.update(batch->labels.size(0), loss_value);
      if ((b + 1) % config.log_every == 0) {
        const double mean = window_loss / window_count;
        progress.clear();
        std::cout << "[Epoch " << epoch + 1 << ", Iteration " << b + 1 << "] loss: " << std::fixed
                  << std::setprecision(3) << mean << std::endl;
        metrics.append(IterationRow{epoch + 1, b + 1, mean});
        window_loss = 0;
        window_count = 0;
      }
      if (stop.load() && b + 1 < steps_per_epoch) {
        progress.close();
        save_checkpoint(run.dir / "last.pt", snapshot(run));
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

    const Evaluation eval =
        evaluate(run.model, test_loader, run.device, run.test_data->class_names);
    const double seconds = seconds_since(epoch_start);
    EpochRow row{
        epoch + 1, train_loss, eval.loss, eval.accuracy(), lr, seconds, images / train_seconds};
    std::cout << format_epoch_line(epoch + 1, config.epochs, train_loss, eval, lr, seconds,
                                   row.images_per_second)
              << std::endl;

    run.position.epoch = epoch + 1;
    run.position.batch = 0;
    run.position.epoch_loss_sum = 0;
    run.position.epoch_loss_count = 0;
    const bool best = eval.accuracy() > run.position.best_accuracy;
    if (best) run.position.best_accuracy = eval.accuracy();
    const auto checkpoint = snapshot(run);
    save_checkpoint(run.dir / "last.pt", checkpoint);
    if (best) save_checkpoint(run.dir / "best.pt", checkpoint);
    metrics.append(row);
    write_training_plot(run.dir / "curves.svg", metrics.epochs());
    result.final_accuracy = eval.accuracy();
    result.best_accuracy = run.position.best_accuracy;
    if (stop.load() && epoch + 1 < config.epochs) {
      throw TrainingInterrupted("interrupted after epoch " + std::to_string(epoch + 1) +
                                "; checkpoint saved. Resume with: googlenet train --resume " +
                                run.dir.string());
    }
  }
  return result;
}

}  // namespace

TrainResult train(const TrainConfig& input_config, const std::atomic<bool>& stop) {
  input_config.validate();
  Run run;
  run.config = input_config;
  if (run.config.out.empty()) run.config.out = timestamp_run_dir();
  run.dir = run.config.out;
  if (fs::exists(run.dir / "last.pt")) {
    throw std::runtime_error(run.dir.string() +
                             " already holds a run (last.pt): continue it with "
                             "--resume " +
                             run.dir.string() + ", or choose another --out");
  }
  prepare(run, run.config.threads);
  if (!run.config.init_weights.empty()) load_initial_weights(*run.model, run.config.init_weights);
  finish_setup(run);
  fs::create_directories(run.dir);
  {
    std::ofstream out(run.dir / "config.json");
    out << to_json(run.config).dump(2) << "\n";
  }
  std::cerr << "run folder: " << run.dir.string() << "\n";
  return run_epochs(run, stop, /*resumed=*/false);
}

TrainResult resume(const fs::path& run_dir, const std::atomic<bool>& stop, int threads,
                   int loader_threads) {
  Checkpoint checkpoint = load_checkpoint(run_dir / "last.pt");
  Run run;
  run.config = checkpoint.config;
  run.config.out = run_dir.string();
  if (threads > 0) run.config.threads = threads;
  if (loader_threads > 0) run.config.loader_threads = loader_threads;
  run.dir = run_dir;
  prepare(run, run.config.threads);
  load_state_dict(*run.model, checkpoint.model, (run_dir / "last.pt").string());
  finish_setup(run);
  run.sgd->load_momentum_buffers(checkpoint.momentum);
  if (checkpoint.rng_state.defined()) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle: shares state
    generator.set_state(checkpoint.rng_state);
  }
  run.position = checkpoint;
  run.position.model.clear();
  run.position.momentum.clear();
  if (run.position.epoch >= run.config.epochs) {
    throw std::runtime_error(run_dir.string() + " has finished all " +
                             std::to_string(run.config.epochs) + " epochs; nothing to resume");
  }
  std::cerr << "resuming " << run_dir.string() << " at epoch " << run.position.epoch + 1
            << ", iteration " << run.position.batch + 1 << "\n";
  return run_epochs(run, stop, /*resumed=*/true);
}

}  // namespace googlenet
