// Module weights by name, as PyTorch's state_dict: taking them from a module,
// reading/writing them as torch.save files, and loading them strictly.
#pragma once

#include <torch/torch.h>

#include <string>

#include "googlenet/io/serialization.h"

namespace googlenet {

// Parameters and buffers (BN running stats, num_batches_tracked) of `module` in
// PyTorch's order: each module's own parameters, then its buffers, then its
// children's, depth first. The tensors share memory with the module.
StateDict state_dict(const torch::nn::Module& module);

// A state_dict from a torch.save file: either the dict itself (torch.save(
// model.state_dict())) or the "model" entry of a checkpoint dict.
StateDict read_state_dict(const std::string& path);
// The same for a file already loaded with torch_load; `path` names it in messages.
StateDict read_state_dict(const SavedValue& file, const std::string& path);

// torch.save(state_dict, path) (an OrderedDict, atomically; see torch_save).
void write_state_dict(const std::string& path, const StateDict& state);

// Copies `state` into `module` like PyTorch's load_state_dict(strict=True), but
// first checks everything: missing, unexpected and mis-shaped keys are reported
// together in one std::runtime_error starting with `source` (the file name), each
// key with its shape(s), plus a hint on the likely cause (--aux, --batch-norm, a
// different model). Nothing is copied unless everything matches.
void load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& source);

}  // namespace googlenet
