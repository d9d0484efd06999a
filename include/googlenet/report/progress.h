// tqdm-like progress for a loop of batches: n/total, it/s, img/s, ETA and the
// running loss. Redraws one line in place on a terminal; elsewhere (logs, CI)
// prints plain lines at each 10% so files stay short. No LibTorch here.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace googlenet {

// True when stderr is a terminal (isatty), where an in-place bar makes sense.
bool stderr_is_terminal();

struct ProgressOptions {
  std::string label;                // e.g. "epoch 3/60"
  int64_t total = 0;                // iterations expected; must be positive
  bool interactive = false;         // '\r' redraws; pass stderr_is_terminal()
  int bar_width = 24;               // characters of the bar, interactive only
  double min_redraw_seconds = 0.1;  // redraw at most this often, interactive only
  bool show_loss = true;            // the running loss field; off where there is none
  std::function<double()> clock;    // seconds, for tests; steady_clock when empty
};

class ProgressBar {
 public:
  // Throws std::invalid_argument when options.total is not positive.
  ProgressBar(ProgressOptions options, std::ostream& out);
  ~ProgressBar();  // close()s
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // One iteration done on `images` images with mean batch loss `loss` (ignored without
  // show_loss).
  void update(int64_t images, double loss = 0);
  // Erases an in-place bar so that a log line can be printed; the next update
  // redraws it. Does nothing for plain lines.
  void clear();
  // Draws the final state and ends the line; later calls do nothing.
  void close();

  // "epoch 3/60 [####----]  39/391  10% 12.3 it/s 1574 img/s ETA 00:28 loss 2.3012"
  // (the bar only when interactive).
  std::string line() const;
  int64_t count() const { return n_; }
  double running_loss() const { return n_ == 0 ? 0.0 : loss_sum_ / n_; }

 private:
  double now() const;

  ProgressOptions options_;
  std::ostream& out_;
  double start_, last_draw_ = -1;
  int64_t n_ = 0, images_ = 0, next_milestone_ = 1;
  double loss_sum_ = 0;
  size_t last_width_ = 0;
  bool closed_ = false;
};

// Seconds as MM:SS, or H:MM:SS from an hour on; "?" when not finite.
std::string format_duration(double seconds);

}  // namespace googlenet
