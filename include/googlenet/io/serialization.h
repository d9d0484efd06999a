// torch.save / torch.load files without Python: the zip archive of a data.pkl
// pickle plus one record per tensor storage. Reading is strict (only what
// torch.save emits for tensors and plain containers); writing is atomic.
#pragma once

#include <string>

#include "googlenet/io/saved_value.h"

namespace googlenet {

// torch.load(path, map_location="cpu", weights_only=True), minus bytes/complex:
// tensors come back on the CPU, sharing memory where the file's tensors did.
// Throws std::runtime_error naming `path` for a missing, non-zip, truncated,
// corrupt, TorchScript or legacy-format file, and for any pickle global other than
// OrderedDict, tensor rebuilding and storage types (e.g. os.system).
SavedValue torch_load(const std::string& path);

// torch.save(value, path) as PyTorch >= 1.6 writes it, readable by torch.load in
// 1.13 and 2.x (weights_only=True too; 1.13's weights_only reader cannot read
// float values, only tensors, ints, bools and strings). Written through AtomicFile
// (util/atomic_file.h), so a failure (full disk, ...) throws std::runtime_error naming
// `path` and leaves any previous file untouched.
// Tensors are saved as contiguous CPU copies.
void torch_save(const std::string& path, const SavedValue& value);

}  // namespace googlenet
