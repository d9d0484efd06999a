#include "googlenet/train/config.h"

#include <stdexcept>

#include "googlenet/util/errors.h"

namespace googlenet {

ModelOptions TrainConfig::model_options() const {
  ModelOptions options;
  options.aux_heads = aux_heads;
  options.batch_norm = batch_norm;
  return options;
}

void TrainConfig::validate() const {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw UsageError(message);
  };
  require(epochs >= 1, "--epochs must be at least 1, got " + std::to_string(epochs));
  require(schedule_epochs == 0 || schedule_epochs >= epochs,
          "--schedule-epochs " + std::to_string(schedule_epochs) + " is shorter than --epochs " +
              std::to_string(epochs) + ": the one-cycle schedule cannot step past its end");
  require(batch_size >= 1, "--batch-size must be at least 1");
  require(test_batch_size >= 1, "--test-batch-size must be at least 1");
  require(max_lr > 0, "--lr must be positive");
  require(weight_decay >= 0, "--weight-decay must not be negative");
  require(threads >= 0, "--threads must not be negative");
  require(loader_threads >= 1, "--loader-threads must be at least 1");
  require(train_subset >= 0 && test_subset >= 0, "--train-subset/--test-subset must be >= 0");
  require(log_every >= 1, "--log-every must be at least 1");
  require(train_engine != EngineChoice::kOneDnn || (!batch_norm && device != DeviceChoice::kCuda),
          "--train-engine onednn trains models without --bn on the CPU; use --train-engine "
          "libtorch (or auto) with --bn or --device cuda");
  require(recipe != Recipe::kReference || (!aux_heads && !batch_norm),
          "--recipe reference is the tutorial exactly: it cannot be combined with --aux or --bn");
}

std::string to_string(Recipe recipe) {
  return recipe == Recipe::kReference ? "reference" : "default";
}

Recipe recipe_from_string(const std::string& name) {
  if (name == "default") return Recipe::kDefault;
  if (name == "reference") return Recipe::kReference;
  throw UsageError("unknown recipe '" + name + "' (expected default or reference)");
}

// The choices as their flags spell them, read back strictly.
void to_json(nlohmann::json& json, Recipe recipe) { json = to_string(recipe); }
void from_json(const nlohmann::json& json, Recipe& recipe) {
  recipe = recipe_from_string(json.get<std::string>());
}
void to_json(nlohmann::json& json, Precision precision) { json = to_string(precision); }
void from_json(const nlohmann::json& json, Precision& precision) {
  precision = precision_from_string(json.get<std::string>());
}
void to_json(nlohmann::json& json, DeviceChoice device) { json = to_string(device); }
void from_json(const nlohmann::json& json, DeviceChoice& device) {
  device = device_choice_from_string(json.get<std::string>());
}
void to_json(nlohmann::json& json, EngineChoice engine) { json = to_string(engine); }
void from_json(const nlohmann::json& json, EngineChoice& engine) {
  engine = engine_choice_from_string(json.get<std::string>());
}

// Missing fields take their defaults, so configs of older versions still load.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, data, out, init_weights, recipe,
                                                epochs, schedule_epochs, batch_size,
                                                test_batch_size, max_lr, weight_decay, seed,
                                                threads, loader_threads, device, aux_heads,
                                                batch_norm, channels_last, precision, eval_engine,
                                                train_engine, train_subset, test_subset, log_every,
                                                world_size)

nlohmann::json to_json(const TrainConfig& config) { return config; }

TrainConfig config_from_json(const nlohmann::json& json) { return json.get<TrainConfig>(); }

}  // namespace googlenet
