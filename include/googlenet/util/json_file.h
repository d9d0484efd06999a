// JSON reports and settings files: indented JSON written atomically.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace googlenet {

// `json` indented by 2, with a final newline, as the whole of `path` (write_file_atomic);
// throws std::runtime_error naming the file.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& json);

}  // namespace googlenet
