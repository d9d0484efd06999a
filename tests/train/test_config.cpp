// config.json: the choices written as the flags spell them and read back strictly, so run
// folders of earlier versions resume; flag checks are usage errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "googlenet/train/config.h"
#include "googlenet/util/errors.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::error_of;

TEST(TrainConfig, ChoicesAreWrittenAsTheirFlagValues) {
  TrainConfig config;
  nlohmann::json json = to_json(config);
  EXPECT_EQ(json.at("precision"), "fp32");
  EXPECT_EQ(json.at("device"), "cpu");
  EXPECT_EQ(json.at("eval_engine"), "auto");
  EXPECT_EQ(json.at("train_engine"), "auto");
  EXPECT_EQ(json.at("recipe"), "default");
  config.precision = Precision::kBFloat16;
  config.device = DeviceChoice::kAuto;
  config.eval_engine = EngineChoice::kLibTorch;
  config.train_engine = EngineChoice::kOneDnn;
  json = to_json(config);
  EXPECT_EQ(json.at("precision"), "bf16");
  EXPECT_EQ(json.at("device"), "auto");
  EXPECT_EQ(json.at("eval_engine"), "libtorch");
  EXPECT_EQ(json.at("train_engine"), "onednn");
  const TrainConfig back = config_from_json(json);
  EXPECT_EQ(back.precision, Precision::kBFloat16);
  EXPECT_EQ(back.device, DeviceChoice::kAuto);
  EXPECT_EQ(back.eval_engine, EngineChoice::kLibTorch);
  EXPECT_EQ(back.train_engine, EngineChoice::kOneDnn);
}

// A config of an earlier version: strings for every choice, fields added since missing.
TEST(TrainConfig, ReadsAnEarlierConfigAndRefusesUnknownChoices) {
  const auto json = nlohmann::json::parse(
      R"({"data": "data", "epochs": 15, "precision": "bf16", "device": "cuda",
          "eval_engine": "onednn", "recipe": "reference"})");
  const TrainConfig config = config_from_json(json);
  EXPECT_EQ(config.epochs, 15);
  EXPECT_EQ(config.precision, Precision::kBFloat16);
  EXPECT_EQ(config.device, DeviceChoice::kCuda);
  EXPECT_EQ(config.eval_engine, EngineChoice::kOneDnn);
  EXPECT_EQ(config.train_engine, EngineChoice::kAuto);
  EXPECT_EQ(config.recipe, Recipe::kReference);
  auto bad = json;
  bad["precision"] = "fp8";
  EXPECT_NE(error_of([&] { config_from_json(bad); }).find("'fp8'"), std::string::npos);
  bad = json;
  bad["device"] = "tpu";
  EXPECT_NE(error_of([&] { config_from_json(bad); }).find("'tpu'"), std::string::npos);
  bad = json;
  bad["recipe"] = "refrence";  // not read as the default recipe
  EXPECT_NE(error_of([&] { config_from_json(bad); }).find("'refrence'"), std::string::npos);
}

// --train-engine onednn where that engine cannot train is a usage error wherever the
// choice is settled (train, its ranks, bench), not a failure deep in the engine.
TEST(TrainConfig, OneDnnEngineIsRefusedWhereItCannotTrain) {
  ModelOptions with_bn;
  with_bn.batch_norm = true;
  EXPECT_NE(error_of<UsageError>([&] {
              training_engine_for(EngineChoice::kOneDnn, with_bn, torch::kCPU);
            }).find("--train-engine libtorch"),
            std::string::npos);
  EXPECT_NE(error_of<UsageError>([&] {
              training_engine_for(EngineChoice::kOneDnn, ModelOptions{}, torch::Device("cuda"));
            }).find("--device cuda"),
            std::string::npos);
  EXPECT_EQ(training_engine_for(EngineChoice::kLibTorch, with_bn, torch::kCPU),
            TrainingEngine::kLibTorch);
}

TEST(TrainConfig, BadFlagsAreUsageErrors) {
  TrainConfig config;
  config.epochs = 0;
  EXPECT_NE(error_of<UsageError>([&] { config.validate(); }).find("--epochs"), std::string::npos);
  config = TrainConfig{};
  config.train_engine = EngineChoice::kOneDnn;
  config.batch_norm = true;
  EXPECT_NE(error_of<UsageError>([&] { config.validate(); }).find("--train-engine libtorch"),
            std::string::npos);
}

}  // namespace
}  // namespace googlenet
