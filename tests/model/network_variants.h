// A GoogLeNet table changed where the back-ends could go wrong, for tests that hold
// them equal on something other than the default network.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>

#include "googlenet/model/network.h"

namespace googlenet::testing {

inline LayerSpec& layer_named(Network& network, const std::string& name) {
  const auto found = std::find_if(network.begin(), network.end(),
                                  [&](const LayerSpec& layer) { return layer.name == name; });
  if (found == network.end()) throw std::logic_error("no layer " + name);
  return *found;
}

// Stage 3's pool removed: stage 4 runs on 4x4 maps and stage 5 on 2x2 (for 32-px
// images), so the 5x5 kernels are cropped only in stage 5, stage 4's 1x1 weight
// gradients are not GEMMs and stage 5's 3x3 ones are. Widths changed: the stem's 3x3
// (192 -> 160), 4a's 1x1 and pool branches (192, 64 -> 160, 80: 496 out), 5b's 1x1
// (384 -> 416: 1056 features), each `in` after them to match; 3b's 3x3 reduction to
// 120, not a whole 16-channel block (its 1x1s then run unmerged in the oneDNN
// training engine). Every concatenated branch stays a multiple of 16.
inline Network modified_network() {
  Network network = googlenet_network();
  network.erase(network.begin() + (&layer_named(network, "stage3.2") - network.data()));
  layer_named(network, "stage2.2").out_channels = 160;
  layer_named(network, "stage3.0").inception.in = 160;
  layer_named(network, "stage3.1").inception.c2_reduce = 120;
  auto& block_4a = layer_named(network, "stage4.0").inception;
  block_4a.c1 = 160, block_4a.c4 = 80;
  layer_named(network, "stage4.1").inception.in = 496;
  layer_named(network, "stage5.1").inception.c1 = 416;
  return network;
}

}  // namespace googlenet::testing
