// One-cycle schedule against PyTorch's OneCycleLR, every step of every config in
// tests/fixtures/schedule (made by scripts/fixtures_schedule.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "googlenet/train/schedule.h"
#include "test_util.h"

namespace {

using googlenet::OneCycleOptions;
using googlenet::OneCycleSchedule;
using nlohmann::json;

constexpr double kRelTol = 1e-12;

json load_index() {
  std::ifstream in(googlenet::testing::fixture("schedule/configs.json"));
  if (!in)
    throw std::runtime_error("missing schedule/configs.json: run scripts/fixtures_schedule.py");
  return json::parse(in);
}

OneCycleOptions to_options(const json& o) {
  OneCycleOptions options;
  options.max_lr = o.at("max_lr");
  options.total_steps = o.at("total_steps");
  options.pct_start = o.at("pct_start");
  options.anneal_strategy = googlenet::parse_anneal_strategy(o.at("anneal_strategy"));
  options.cycle_momentum = o.at("cycle_momentum");
  options.base_momentum = o.at("base_momentum");
  options.max_momentum = o.at("max_momentum");
  options.div_factor = o.at("div_factor");
  options.final_div_factor = o.at("final_div_factor");
  options.three_phase = o.at("three_phase");
  return options;
}

// Pairs (lr, momentum) per step, as written by numpy's tofile("<f8").
std::vector<double> load_values(const std::string& name, int64_t steps) {
  std::ifstream in(googlenet::testing::fixture("schedule/" + name + ".f64"), std::ios::binary);
  std::vector<double> values(2 * steps);
  in.read(reinterpret_cast<char*>(values.data()), values.size() * sizeof(double));
  if (in.gcount() != static_cast<std::streamsize>(values.size() * sizeof(double)))
    throw std::runtime_error(name + ".f64 is shorter than configs.json says");
  return values;
}

::testing::AssertionResult close(double expected, double actual) {
  if (std::abs(expected - actual) <= kRelTol * std::abs(expected))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << expected << " got " << actual;
}

class ScheduleFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ScheduleFixture, MatchesOneCycleLREveryStep) {
  const json entry = load_index().at(GetParam());
  const OneCycleOptions options = to_options(entry.at("options"));
  const int64_t error_step = entry.at("error_at_step");
  if (error_step == 0) {  // PyTorch failed in the constructor
    EXPECT_THROW(OneCycleSchedule{options}, std::invalid_argument);
    return;
  }
  const OneCycleSchedule schedule(options);
  const int64_t steps = entry.at("steps");
  const auto values = load_values(GetParam(), steps);
  for (int64_t step = 0; step < steps; ++step) {
    ASSERT_TRUE(close(values[2 * step], schedule.lr(step))) << "lr at step " << step;
    if (options.cycle_momentum) {
      ASSERT_TRUE(close(values[2 * step + 1], schedule.momentum(step))) << "momentum at " << step;
    }
  }
  // Where PyTorch stops stepping, so do we.
  if (entry.at("error_type") == "ValueError") {
    EXPECT_THROW(schedule.lr(error_step), std::out_of_range);
  } else {
    EXPECT_THROW(schedule.lr(error_step), std::domain_error);
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, ScheduleFixture,
                         ::testing::Values("reference_150x391", "reference_60x391",
                                           "reference_3x391", "three_phase_cos",
                                           "three_phase_linear", "linear_no_momentum", "one_step",
                                           "two_steps", "pct_start_one", "empty_first_phase"),
                         [](const auto& info) { return info.param; });

OneCycleOptions reference(int64_t total_steps) {
  OneCycleOptions options;
  options.total_steps = total_steps;
  return options;
}

TEST(Schedule, ReferenceShape) {
  const OneCycleSchedule schedule(reference(150 * 391));
  EXPECT_DOUBLE_EQ(schedule.lr(0), 0.1 / 25);
  EXPECT_DOUBLE_EQ(schedule.momentum(0), 0.95);
  // Peak at the end of phase 1: step floor(0.3 * 58650 - 1) = 17594.
  EXPECT_DOUBLE_EQ(schedule.lr(17594), 0.1);
  EXPECT_DOUBLE_EQ(schedule.momentum(17594), 0.85);
  EXPECT_DOUBLE_EQ(schedule.lr(58649), 0.1 / 25 / 1e4);
  EXPECT_DOUBLE_EQ(schedule.momentum(58649), 0.95);
}

TEST(Schedule, SteppingPastTheEndNamesStepAndTotal) {
  const OneCycleSchedule schedule(reference(1173));
  EXPECT_NO_THROW(schedule.lr(1173));  // PyTorch allows one step() past the last batch
  const std::string message = googlenet::testing::error_of([&] { schedule.lr(1174); });
  EXPECT_NE(message.find("step 1174"), std::string::npos) << message;
  EXPECT_NE(message.find("total_steps=1173"), std::string::npos) << message;
  EXPECT_THROW(schedule.momentum(-1), std::out_of_range);
}

TEST(Schedule, RejectsBadOptionsWithClearMessages) {
  auto with = [](auto change) {
    OneCycleOptions options = reference(100);
    change(options);
    return googlenet::testing::error_of([&] { OneCycleSchedule{options}; });
  };
  EXPECT_NE(with([](auto& o) { o.total_steps = 0; }).find("total_steps must be a positive integer"),
            std::string::npos);
  EXPECT_NE(
      with([](auto& o) { o.pct_start = 1.5; }).find("pct_start must be between 0 and 1, got 1.5"),
      std::string::npos);
  EXPECT_NE(with([](auto& o) { o.max_lr = -1; }).find("max_lr must be a positive number"),
            std::string::npos);
  EXPECT_NE(with([](auto& o) { o.div_factor = 0; }).find("div_factor must be a positive number"),
            std::string::npos);
  EXPECT_NE(with([](auto& o) { o.max_momentum = 1.2; }).find("max_momentum must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(
      with([](auto& o) { o.pct_start = 0.01; }).find("phase 1 of the one-cycle schedule is empty"),
      std::string::npos);
  EXPECT_EQ(googlenet::testing::error_of([] { googlenet::parse_anneal_strategy("cosine"); }),
            "anneal strategy 'cosine': expected one of cos, linear");
}

TEST(Schedule, MomentumWithoutCyclingIsAnError) {
  OneCycleOptions options = reference(10);
  options.cycle_momentum = false;
  const OneCycleSchedule schedule(options);
  EXPECT_NE(googlenet::testing::error_of([&] { schedule.momentum(0); }).find("cycle_momentum off"),
            std::string::npos);
}

}  // namespace
