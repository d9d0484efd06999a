#include "googlenet/train/checkpoint.h"

#include <stdexcept>

#include "googlenet/io/serialization.h"
#include "googlenet/io/state_dict.h"
#include "googlenet/io/weights_file.h"

namespace googlenet {

namespace {

constexpr const char* kFormat = "googlenet-checkpoint";
constexpr int64_t kFormatVersion = 1;

SavedValue to_saved(const StateDict& tensors) { return SavedValue(tensors); }

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c) {
  // Floats and the config travel as JSON text: PyTorch 1.13's weights_only loader
  // cannot read float values, and JSON keeps the file readable from Python.
  const nlohmann::json meta = {{"format", kFormat},
                               {"version", kFormatVersion},
                               {"config", to_json(c.config)},
                               {checkpoint_keys::kClassNames, c.class_names},
                               {"epoch", c.epoch},
                               {"batch", c.batch},
                               {"epoch_loss_sum", c.epoch_loss_sum},
                               {"epoch_loss_count", c.epoch_loss_count},
                               {"best_accuracy", c.best_accuracy}};
  SavedValue::Dict root;
  root.emplace_back(checkpoint_keys::kMeta, meta.dump());
  root.emplace_back(checkpoint_keys::kModel, to_saved(c.model));
  root.emplace_back(checkpoint_keys::kMomentum, to_saved(c.momentum));
  if (c.rng_state.defined()) root.emplace_back(checkpoint_keys::kRng, c.rng_state);
  if (!c.rank_rng_states.empty())
    root.emplace_back(checkpoint_keys::kRankRng, to_saved(c.rank_rng_states));
  torch_save(path.string(), SavedValue(std::move(root)));
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error(path.string() +
                             ": no such checkpoint (a run folder holds last.pt "
                             "and best.pt once its first epoch has finished)");
  }
  const SavedValue root = torch_load(path.string());
  const SavedValue* meta_text = root.is_dict() ? root.find(checkpoint_keys::kMeta) : nullptr;
  if (meta_text == nullptr) {
    throw std::runtime_error(path.string() +
                             ": not a googlenet checkpoint (no 'meta' entry); a bare state_dict "
                             "can start a run with --init or be evaluated with googlenet test");
  }
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(meta_text->as_string());
    if (meta.at("format") != kFormat)
      throw std::runtime_error("format is " + meta.at("format").dump());
    if (meta.at("version").get<int64_t>() > kFormatVersion) {
      throw std::runtime_error("format version " + meta.at("version").dump() +
                               " is newer than this program's " + std::to_string(kFormatVersion) +
                               " (update googlenet)");
    }
    Checkpoint c;
    c.config = config_from_json(meta.at("config"));
    c.class_names = meta.at(checkpoint_keys::kClassNames).get<std::vector<std::string>>();
    c.epoch = meta.at("epoch").get<int64_t>();
    c.batch = meta.at("batch").get<int64_t>();
    c.epoch_loss_sum = meta.at("epoch_loss_sum").get<double>();
    c.epoch_loss_count = meta.at("epoch_loss_count").get<int64_t>();
    c.best_accuracy = meta.at("best_accuracy").get<double>();
    c.model = root.at(checkpoint_keys::kModel).to_state_dict();
    c.momentum = root.at(checkpoint_keys::kMomentum).to_state_dict();
    if (const auto* rng = root.find(checkpoint_keys::kRng)) c.rng_state = rng->as_tensor();
    if (const auto* ranks = root.find(checkpoint_keys::kRankRng))
      c.rank_rng_states = ranks->to_state_dict();
    return c;
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": damaged googlenet checkpoint: " + e.what());
  }
}

}  // namespace googlenet
