// One-cycle learning-rate and momentum schedule, a step-for-step port of PyTorch
// 1.13's torch.optim.lr_scheduler.OneCycleLR (Smith & Topin, "Super-Convergence").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace googlenet {

enum class AnnealStrategy { kCos, kLinear };

// Defaults are OneCycleLR's; the reference trains with max_lr=0.1 and
// total_steps = epochs * len(train_loader).
struct OneCycleOptions {
  double max_lr = 0.1;
  int64_t total_steps = 0;  // required; OneCycleLR's epochs * steps_per_epoch
  double pct_start = 0.3;
  AnnealStrategy anneal_strategy = AnnealStrategy::kCos;
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25.0;       // initial_lr = max_lr / div_factor
  double final_div_factor = 1e4;  // min_lr = initial_lr / final_div_factor
  bool three_phase = false;
};

// "cos" | "linear" (OneCycleLR's anneal_strategy strings); throws
// std::invalid_argument naming the valid choices.
AnnealStrategy parse_anneal_strategy(const std::string& name);

class OneCycleSchedule {
 public:
  // Throws std::invalid_argument on options OneCycleLR rejects (total_steps <= 0,
  // pct_start outside [0, 1]) and on ones it would fail with at construction
  // (a zero-length first phase, where PyTorch divides 0 by 0).
  explicit OneCycleSchedule(const OneCycleOptions& options);

  // Values in effect for batch `step`, i.e. after `step` calls of scheduler.step().
  // As in PyTorch, step == total_steps is still allowed (it extrapolates the last
  // phase); a larger or negative step throws std::out_of_range naming step and total.
  double lr(int64_t step) const;
  // Throws std::logic_error when cycle_momentum is off: OneCycleLR then leaves the
  // optimizer's own momentum alone, so there is no scheduled value.
  double momentum(int64_t step) const;

  const OneCycleOptions& options() const { return options_; }
  double initial_lr() const { return initial_lr_; }
  double min_lr() const { return min_lr_; }

 private:
  struct Phase {
    double end_step;
    double start_lr, end_lr;
    double start_momentum, end_momentum;
  };
  struct Point {
    const Phase* phase;
    double pct;
  };
  Point locate(int64_t step) const;
  double anneal(double start, double end, double pct) const;

  OneCycleOptions options_;
  double initial_lr_, min_lr_;
  std::vector<Phase> phases_;
};

}  // namespace googlenet
