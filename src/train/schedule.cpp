// One-cycle schedule: mirrors OneCycleLR.__init__/get_lr of PyTorch 1.13
// (torch/optim/lr_scheduler.py) operation for operation, so values match bit for bit.
#include "googlenet/train/schedule.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace googlenet {

namespace {

constexpr double kPi = 3.141592653589793;  // == Python's math.pi

std::string str(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("OneCycleSchedule: " + message);
}

}  // namespace

AnnealStrategy parse_anneal_strategy(const std::string& name) {
  if (name == "cos") return AnnealStrategy::kCos;
  if (name == "linear") return AnnealStrategy::kLinear;
  throw std::invalid_argument("anneal strategy '" + name + "': expected one of cos, linear");
}

OneCycleSchedule::OneCycleSchedule(const OneCycleOptions& o) : options_(o) {
  require(o.total_steps > 0,
          "total_steps must be a positive integer (epochs x steps per "
          "epoch), got " +
              std::to_string(o.total_steps));
  require(o.pct_start >= 0 && o.pct_start <= 1,
          "pct_start must be between 0 and 1, got " + str(o.pct_start));
  require(std::isfinite(o.max_lr) && o.max_lr > 0,
          "max_lr must be a positive number, got " + str(o.max_lr));
  require(std::isfinite(o.div_factor) && o.div_factor > 0,
          "div_factor must be a positive number, got " + str(o.div_factor));
  require(std::isfinite(o.final_div_factor) && o.final_div_factor > 0,
          "final_div_factor must be a positive number, got " + str(o.final_div_factor));
  if (o.cycle_momentum) {
    require(o.base_momentum >= 0 && o.base_momentum <= 1,
            "base_momentum must be in [0, 1], got " + str(o.base_momentum));
    require(o.max_momentum >= 0 && o.max_momentum <= 1,
            "max_momentum must be in [0, 1], got " + str(o.max_momentum));
  }

  initial_lr_ = o.max_lr / o.div_factor;
  min_lr_ = initial_lr_ / o.final_div_factor;
  const double total = static_cast<double>(o.total_steps);
  const double max_lr = o.max_lr, base_m = o.base_momentum, max_m = o.max_momentum;
  // Phase ends are PyTorch's, including its "- 1" / "- 2" offsets: phase i covers
  // steps (end_{i-1}, end_i], the last phase everything after.
  if (o.three_phase) {
    phases_ = {{o.pct_start * total - 1, initial_lr_, max_lr, max_m, base_m},
               {2 * o.pct_start * total - 2, max_lr, initial_lr_, base_m, max_m},
               {total - 1, initial_lr_, min_lr_, max_m, max_m}};
  } else {
    phases_ = {{o.pct_start * total - 1, initial_lr_, max_lr, max_m, base_m},
               {total - 1, max_lr, min_lr_, base_m, max_m}};
  }
  // OneCycleLR computes step 0 in its constructor; fail here where it would.
  try {
    lr(0);
  } catch (const std::domain_error& e) {
    throw std::invalid_argument(std::string("OneCycleSchedule: ") + e.what());
  }
}

OneCycleSchedule::Point OneCycleSchedule::locate(int64_t step) const {
  // PyTorch raises only past total_steps: one step() after the last batch is fine.
  if (step < 0 || step > options_.total_steps) {
    throw std::out_of_range("one-cycle schedule: step " + std::to_string(step) +
                            " is outside [0, total_steps=" + std::to_string(options_.total_steps) +
                            "] (PyTorch: \"Tried to step " + std::to_string(step + 1) +
                            " times\"); train for at most total_steps batches or raise "
                            "the schedule's epochs");
  }
  const double s = static_cast<double>(step);
  double start_step = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& phase = phases_[i];
    if (s <= phase.end_step || i + 1 == phases_.size()) {
      if (phase.end_step == start_step) {
        throw std::domain_error("phase " + std::to_string(i + 1) +
                                " of the one-cycle schedule "
                                "is empty at step " +
                                std::to_string(step) + " (pct_start=" + str(options_.pct_start) +
                                ", total_steps=" + std::to_string(options_.total_steps) +
                                "), where PyTorch divides by zero; change pct_start");
      }
      return {&phase, (s - start_step) / (phase.end_step - start_step)};
    }
    start_step = phase.end_step;
  }
  throw std::logic_error("unreachable: the last phase always matches");
}

double OneCycleSchedule::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy == AnnealStrategy::kLinear) return (end - start) * pct + start;
  const double cos_out = std::cos(kPi * pct) + 1;
  return end + (start - end) / 2.0 * cos_out;
}

double OneCycleSchedule::lr(int64_t step) const {
  const Point p = locate(step);
  return anneal(p.phase->start_lr, p.phase->end_lr, p.pct);
}

double OneCycleSchedule::momentum(int64_t step) const {
  if (!options_.cycle_momentum) {
    throw std::logic_error(
        "one-cycle schedule: momentum() called with cycle_momentum off; the optimizer's "
        "momentum is not scheduled");
  }
  const Point p = locate(step);
  return anneal(p.phase->start_momentum, p.phase->end_momentum, p.pct);
}

}  // namespace googlenet
