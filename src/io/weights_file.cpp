#include "googlenet/io/weights_file.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "googlenet/io/serialization.h"
#include "googlenet/io/state_dict.h"

namespace googlenet {

StateDict load_weights(const std::filesystem::path& path, std::vector<std::string>* class_names) {
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error(path.string() + ": no such file");
  }
  const SavedValue root = torch_load(path.string());
  if (class_names != nullptr) {
    class_names->clear();
    if (const SavedValue* meta = root.is_dict() ? root.find(checkpoint_keys::kMeta) : nullptr) {
      try {
        *class_names = nlohmann::json::parse(meta->as_string())
                           .at(checkpoint_keys::kClassNames)
                           .get<std::vector<std::string>>();
      } catch (const std::exception& e) {
        throw std::runtime_error(path.string() + ": damaged googlenet checkpoint: " + e.what());
      }
    }
  }
  return read_state_dict(root, path.string());
}

void export_weights(const std::filesystem::path& from, const std::filesystem::path& to,
                    bool keep_aux) {
  StateDict weights;
  for (auto& [name, tensor] : load_weights(from)) {
    const bool aux = name.rfind("aux1.", 0) == 0 || name.rfind("aux2.", 0) == 0;
    if (keep_aux || !aux) weights.emplace_back(name, tensor);
  }
  write_state_dict(to.string(), weights);
}

}  // namespace googlenet
