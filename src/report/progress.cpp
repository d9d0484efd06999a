// Progress bar: rate, ETA and running loss; in-place redraws or sparse plain lines.
#include "googlenet/report/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <stdexcept>

namespace googlenet {

namespace {

constexpr int64_t kPlainLines = 10;  // non-interactive: one line per 10% of the loop

std::string format(const char* spec, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, spec, value);
  return buffer;
}

}  // namespace

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buffer, sizeof buffer, "%02lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buffer;
}

ProgressBar::ProgressBar(ProgressOptions options, std::ostream& out)
    : options_(std::move(options)), out_(out) {
  if (options_.total <= 0) {
    throw std::invalid_argument("progress bar '" + options_.label +
                                "': total must be positive, got " + std::to_string(options_.total));
  }
  start_ = now();
}

ProgressBar::~ProgressBar() {
  try {
    close();
  } catch (...) {  // a destructor must not throw; the stream's state says it all
  }
}

double ProgressBar::now() const {
  if (options_.clock) return options_.clock();
  using Seconds = std::chrono::duration<double>;
  return Seconds(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string ProgressBar::line() const {
  const int64_t total = options_.total;
  const double elapsed = now() - start_;
  const double rate = elapsed > 0 ? n_ / elapsed : 0;
  const double image_rate = elapsed > 0 ? images_ / elapsed : 0;
  const double eta = rate > 0 ? (total - std::min(n_, total)) / rate : NAN;
  const double fraction = std::min(1.0, static_cast<double>(n_) / total);

  std::string text = options_.label.empty() ? "" : options_.label + " ";
  if (options_.interactive) {
    const int filled = static_cast<int>(fraction * options_.bar_width);
    text += "[" + std::string(filled, '#') + std::string(options_.bar_width - filled, '-') + "] ";
  }
  const std::string width = std::to_string(std::to_string(total).size());
  text += format(("%" + width + ".0f").c_str(), static_cast<double>(n_)) + "/" +
          std::to_string(total) + " " + format("%3.0f%%", 100 * fraction);
  text += " " + format(rate < 10 ? "%.2f" : "%.1f", rate) + " it/s";
  text += " " + format("%.0f", image_rate) + " img/s";
  text += n_ >= total ? " took " + format_duration(elapsed) : " ETA " + format_duration(eta);
  if (n_ > 0 && options_.show_loss) text += " loss " + format("%.4f", running_loss());
  return text;
}

void ProgressBar::update(int64_t images, double loss) {
  if (closed_) return;
  ++n_;
  images_ += images;
  loss_sum_ += loss;
  if (options_.interactive) {
    const double t = now();
    if (n_ < options_.total && last_draw_ >= 0 && t - last_draw_ < options_.min_redraw_seconds)
      return;
    last_draw_ = t;
    const std::string text = line();
    // Blank out what is left of a longer previous line.
    const size_t pad = last_width_ > text.size() ? last_width_ - text.size() : 0;
    out_ << '\r' << text << std::string(pad, ' ') << std::flush;
    last_width_ = text.size();
  } else if (n_ * kPlainLines >= next_milestone_ * options_.total && n_ < options_.total) {
    out_ << line() << '\n' << std::flush;
    while (next_milestone_ * options_.total <= n_ * kPlainLines) ++next_milestone_;
  }
}

void ProgressBar::clear() {
  if (!options_.interactive || closed_ || last_width_ == 0) return;
  out_ << '\r' << std::string(last_width_, ' ') << '\r' << std::flush;
  last_width_ = 0;
  last_draw_ = -1;
}

void ProgressBar::close() {
  if (closed_) return;
  closed_ = true;
  const std::string text = line();
  if (options_.interactive) {
    const size_t pad = last_width_ > text.size() ? last_width_ - text.size() : 0;
    out_ << '\r' << text << std::string(pad, ' ') << '\n' << std::flush;
  } else {
    out_ << text << '\n' << std::flush;
  }
}

}  // namespace googlenet
