// Progress bar with a fake clock: rates, ETA, running loss, plain vs in-place output.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "googlenet/report/progress.h"

namespace {

using googlenet::ProgressBar;
using googlenet::ProgressOptions;

ProgressOptions options(int64_t total, bool interactive, const double* clock) {
  ProgressOptions o;
  o.label = "epoch 1/3";
  o.total = total;
  o.interactive = interactive;
  o.bar_width = 10;
  o.clock = [clock] { return *clock; };
  return o;
}

size_t count(const std::string& text, char c) { return std::count(text.begin(), text.end(), c); }

TEST(Progress, LineShowsCountRatesEtaAndRunningLoss) {
  double t = 100;
  std::ostringstream out;
  ProgressBar bar(options(400, /*interactive=*/false, &t), out);
  for (int i = 0; i < 100; ++i) {
    t += 0.05;  // 20 it/s, 128 images per batch
    bar.update(128, i < 50 ? 3.0 : 1.0);
  }
  EXPECT_EQ(bar.line(), "epoch 1/3 100/400  25% 20.0 it/s 2560 img/s ETA 00:15 loss 2.0000");
  EXPECT_DOUBLE_EQ(bar.running_loss(), 2.0);
}

TEST(Progress, PlainOutputPrintsOneLinePerTenthAndAFinalLine) {
  double t = 0;
  std::ostringstream out;
  {
    ProgressBar bar(options(391, false, &t), out);
    for (int i = 0; i < 391; ++i) {
      t += 0.125;  // 8 it/s, exact in binary
      bar.update(128, 2.0);
    }
  }  // the destructor closes
  const std::string text = out.str();
  EXPECT_EQ(count(text, '\n'), 10u) << text;  // 10%..90% plus the final line
  EXPECT_EQ(count(text, '\r'), 0u);
  EXPECT_NE(text.find("epoch 1/3  40/391  10%"), std::string::npos) << text;
  EXPECT_NE(text.find("epoch 1/3 391/391 100% 8.00 it/s 1024 img/s took 00:49 loss 2.0000\n"),
            std::string::npos)
      << text;
}

TEST(Progress, InteractiveRedrawsInPlaceAtMostTenTimesASecond) {
  double t = 0;
  std::ostringstream out;
  ProgressBar bar(options(1000, /*interactive=*/true, &t), out);
  for (int i = 0; i < 1000; ++i) {
    t += 0.01;  // 10 s in all: about 100 redraws
    bar.update(100, 1.0);
  }
  bar.close();
  bar.close();  // idempotent
  const std::string text = out.str();
  EXPECT_GE(count(text, '\r'), 90u);
  EXPECT_LE(count(text, '\r'), 102u);
  EXPECT_EQ(count(text, '\n'), 1u);
  EXPECT_NE(text.find("[##########] 1000/1000 100%"), std::string::npos);
  EXPECT_EQ(text.rfind("\repoch 1/3 [----------]    1/1000   0%", 0), 0u);
  EXPECT_NE(text.find("[#####-----]  5"), std::string::npos);
}

TEST(Progress, ShorterLinesBlankOutTheRest) {
  double t = 0;
  std::ostringstream out;
  ProgressOptions o = options(2, true, &t);
  o.min_redraw_seconds = 0;
  ProgressBar bar(o, out);
  t = 1;
  bar.update(1, 123456.0);  // long loss text
  t = 2;
  bar.update(1, -123456.0);  // running loss 0: shorter line, padded with spaces
  const std::string text = out.str();
  const size_t second = text.rfind('\r');
  EXPECT_EQ(text.size() - second, second) << "both draws have the same width";
}

TEST(Progress, RejectsEmptyLoopsAndFormatsDurations) {
  std::ostringstream out;
  ProgressOptions o;
  o.label = "test";
  try {
    ProgressBar bar(o, out);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "progress bar 'test': total must be positive, got 0");
  }
  EXPECT_EQ(googlenet::format_duration(59.6), "01:00");
  EXPECT_EQ(googlenet::format_duration(3725), "1:02:05");
  EXPECT_EQ(googlenet::format_duration(NAN), "?");
}

}  // namespace
