// `googlenet summary`: a per-layer table (output shape, parameters, FLOPs) like
// torchsummary/thop give PyTorch users.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "googlenet/model/googlenet.h"

namespace googlenet {

struct LayerSummary {
  std::string name;                   // state_dict prefix, e.g. "stage3.0"
  std::string kind;                   // e.g. "Inception"
  std::vector<int64_t> output_shape;  // per image: C x H x W, or features
  int64_t parameters = 0;
  int64_t flops = 0;  // per image; multiply-adds x2 of convs and linears, padding counted
};

struct ModelSummary {
  std::vector<LayerSummary> layers;
  int64_t total_parameters = 0;
  int64_t total_flops = 0;  // per image, main path (aux heads excluded)
};

// Runs one forward pass of a batch of two `height` x `width` images (two so batch
// norm may run in training mode, which the aux heads need) and collects the table.
ModelSummary summarize(GoogLeNet& model, int64_t height = 32, int64_t width = 32);

std::string format_summary(const ModelSummary& summary);

}  // namespace googlenet
