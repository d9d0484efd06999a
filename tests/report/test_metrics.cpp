// Metrics CSVs (round trip, resume truncation, torn and bad files) and the
// training-curve SVG.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "googlenet/report/metrics.h"
#include "test_util.h"

namespace {

using googlenet::testing::error_of;

using googlenet::EpochRow;
using googlenet::IterationRow;
using googlenet::MetricsLog;
using googlenet::testing::read_bytes;
using googlenet::testing::TempDir;
using googlenet::testing::write_bytes;

EpochRow row(int64_t epoch) {
  return {epoch,        2.0 / epoch,   2.1 / epoch, epoch / 100.0, 0.1 / (epoch + 1),
          12.5 + epoch, 4000.0 + epoch};
}

TEST(MetricsLog, WritesHeaderAndRowsThatReadBack) {
  TempDir dir;
  {
    MetricsLog log(dir / "run", std::nullopt);
    log.append(row(1));
    log.append(row(2));
    log.append(IterationRow{1, 100, 2.25});
  }
  const std::string text = read_bytes(dir / "run/metrics.csv");
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "epoch,train_loss,test_loss,test_accuracy,lr,epoch_seconds,images_per_second");
  EXPECT_NE(text.find("\n1,2,2.1,0.01,0.05,13.5,4001\n"), std::string::npos) << text;
  EXPECT_EQ(read_bytes(dir / "run/iterations.csv"), "epoch,iteration,loss\n1,100,2.25\n");

  const auto rows = googlenet::read_epoch_csv(dir / "run/metrics.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].epoch, 2);
  EXPECT_DOUBLE_EQ(rows[1].train_loss, 1.0);
  EXPECT_NEAR(rows[1].lr, 0.1 / 3, 1e-9);
  EXPECT_DOUBLE_EQ(rows[1].images_per_second, 4002);
}

TEST(MetricsLog, ResumeKeepsFinishedEpochsAndDropsLaterRows) {
  TempDir dir;
  {
    MetricsLog log(dir.path(), std::nullopt);
    for (int64_t e = 1; e <= 4; ++e) {
      log.append(IterationRow{e, 100 * e, 1.0 / e});
      log.append(row(e));
    }
    log.append(IterationRow{5, 500, 0.2});  // epoch 5 crashed half-way
  }
  MetricsLog resumed(dir.path(), /*resume_epoch=*/2);
  ASSERT_EQ(resumed.epochs().size(), 2u);
  resumed.append(row(3));
  const auto rows = googlenet::read_epoch_csv(resumed.epoch_csv());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].epoch, 3);
  EXPECT_NEAR(rows[2].train_loss, 2.0 / 3, 1e-9);  // 9 significant digits in the file
  const auto iterations = googlenet::read_iteration_csv(resumed.iteration_csv());
  ASSERT_EQ(iterations.size(), 2u);
  EXPECT_EQ(iterations.back().iteration, 200);
}

TEST(MetricsLog, FreshStartTruncates) {
  TempDir dir;
  MetricsLog(dir.path(), std::nullopt).append(row(1));
  MetricsLog log(dir.path(), std::nullopt);
  EXPECT_TRUE(log.epochs().empty());
  EXPECT_TRUE(googlenet::read_epoch_csv(log.epoch_csv()).empty());
}

TEST(MetricsCsv, TornLastLineIsDroppedAndNonFiniteValuesSurvive) {
  TempDir dir;
  {
    MetricsLog log(dir.path(), std::nullopt);
    EpochRow diverged = row(1);
    diverged.train_loss = NAN;
    log.append(diverged);
  }
  std::ofstream(dir / "metrics.csv", std::ios::app) << "2,1.5,1.6";  // crash mid-write
  const auto rows = googlenet::read_epoch_csv(dir / "metrics.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(std::isnan(rows[0].train_loss));
}

TEST(MetricsCsv, BadFilesAreNamedWithLine) {
  TempDir dir;
  write_bytes(dir / "metrics.csv", "epoch,loss\n");
  EXPECT_EQ(error_of([&] { googlenet::read_epoch_csv(dir / "metrics.csv"); }),
            (dir / "metrics.csv").string() +
                ":1: header 'epoch,loss', expected 'epoch,train_loss,test_loss,test_accuracy,lr,"
                "epoch_seconds,images_per_second' (not a file written by this program?)");
  write_bytes(dir / "iterations.csv", "epoch,iteration,loss\n1,100,0.5\n1,2x0,0.4\n");
  EXPECT_NE(error_of([&] {
              googlenet::read_iteration_csv(dir / "iterations.csv");
            }).find("iterations.csv:3: '2x0' is not a whole number"),
            std::string::npos);
  write_bytes(dir / "iterations.csv", "epoch,iteration,loss\n1,100\n");
  EXPECT_NE(error_of([&] {
              googlenet::read_iteration_csv(dir / "iterations.csv");
            }).find("iterations.csv:2: 2 fields, expected 3"),
            std::string::npos);
  // A resume over a damaged file fails before touching it.
  EXPECT_THROW(MetricsLog(dir.path(), 1), std::runtime_error);
  EXPECT_EQ(read_bytes(dir / "iterations.csv"), "epoch,iteration,loss\n1,100\n");
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(MetricsTrainingPlot, IsWellFormedSvgWithSeriesAxesAndLegend) {
  TempDir dir;
  std::vector<EpochRow> rows;
  for (int64_t e = 1; e <= 60; ++e) rows.push_back(row(e));
  rows[10].test_loss = NAN;  // leaves a gap: two test-loss polylines
  googlenet::write_training_plot(dir / "plot.svg", rows);
  const std::string svg = read_bytes(dir / "plot.svg");

  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(occurrences(svg, "<"), occurrences(svg, ">"));  // no stray brackets in text
  EXPECT_EQ(occurrences(svg, "<text"), occurrences(svg, "</text>"));
  for (const char* label :
       {">train loss<", ">test loss<", ">test accuracy<", ">epoch<", ">cross-entropy loss<",
        ">accuracy (%)<", ">60<", ">100<", "best 60.00% at epoch 60"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
  EXPECT_EQ(occurrences(svg, "<polyline"), 4u);  // train, test (split), accuracy
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);  // no temp
}

TEST(MetricsTrainingPlot, SingleEpochStillDraws) {
  TempDir dir;
  googlenet::write_training_plot(dir / "plot.svg", {row(1)});
  const std::string svg = read_bytes(dir / "plot.svg");
  EXPECT_EQ(occurrences(svg, "<circle"), 3u);  // one marker per series
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

}  // namespace
