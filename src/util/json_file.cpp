#include "googlenet/util/json_file.h"

#include "googlenet/util/atomic_file.h"

namespace googlenet {

void write_json_file(const std::filesystem::path& path, const nlohmann::json& json) {
  write_file_atomic(path, json.dump(2) + "\n");
}

}  // namespace googlenet
