// Weights files as `test`, `predict`, `export` and `train --init` read them: a googlenet
// checkpoint (train/checkpoint.h writes it) or a bare state_dict (torch.save in Python, or
// `googlenet export`). Also the names of a checkpoint's entries, shared with the writer.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "googlenet/io/saved_value.h"

namespace googlenet {

// A googlenet checkpoint is a torch.save dict with these entries.
namespace checkpoint_keys {
inline constexpr char kMeta[] = "meta";               // JSON text: format, config, position, ...
inline constexpr char kModel[] = "model";             // state_dict, reference names
inline constexpr char kMomentum[] = "momentum";       // SGD momentum buffers by parameter name
inline constexpr char kRng[] = "rng";                 // uint8 CPU generator state
inline constexpr char kRankRng[] = "rank_rng";        // {rank: generator state}, ranks 1..
inline constexpr char kClassNames[] = "class_names";  // in meta: one name per output
}  // namespace checkpoint_keys

// The model weights of a checkpoint or of a bare state_dict file, whichever `path` holds.
// `class_names`, when given, receives the checkpoint's class names, or none for a bare
// state_dict. Throws std::runtime_error naming the file when it is missing or damaged.
StateDict load_weights(const std::filesystem::path& path,
                       std::vector<std::string>* class_names = nullptr);

// `googlenet export`: the weights of a checkpoint (or state_dict file) written as a
// bare state_dict, which the reference PyTorch module loads with strict=True. The
// aux-head weights are left out unless `keep_aux` (the reference has no heads).
void export_weights(const std::filesystem::path& from, const std::filesystem::path& to,
                    bool keep_aux);

}  // namespace googlenet
