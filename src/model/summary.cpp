#include "googlenet/model/summary.h"

#include <iomanip>
#include <sstream>

namespace googlenet {

namespace {

// FLOPs per image of the convs and linears inside `module` (itself included), given
// the spatial size of their outputs: every conv inside an Inception block keeps the
// block's output size.
int64_t module_flops(const torch::nn::Module& module, int64_t out_h, int64_t out_w) {
  int64_t flops = 0;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (const auto* conv = m->as<torch::nn::Conv2d>()) {
      const auto& o = conv->options;
      const int64_t k = (*o.kernel_size())[0] * (*o.kernel_size())[1];
      flops += 2 * o.out_channels() * out_h * out_w * (o.in_channels() / o.groups()) * k;
    } else if (const auto* linear = m->as<torch::nn::Linear>()) {
      flops += 2 * linear->options.in_features() * linear->options.out_features();
    }
  }
  return flops;
}

std::string dims_string(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return s;
}

std::string thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

ModelSummary summarize(GoogLeNet& model, int64_t height, int64_t width) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->train(model->options().aux_heads);  // the heads run only in training mode
  ModelSummary summary;
  const auto device = model->parameters().front().device();
  auto input = torch::zeros({2, model->options().in_channels, height, width}, device);
  model->forward_all(input, [&](const std::string& name, const std::string& kind,
                                const torch::nn::Module* module, const torch::Tensor& out) {
    LayerSummary row{name, kind, out.sizes().slice(1).vec(), 0, 0};
    if (module != nullptr) {
      row.parameters = count_parameters(*module);
      // Aux heads pool to 2x2 first; their convs run there, not on the block's map.
      const bool aux = kind == "AuxHead";
      const int64_t h = out.dim() == 4 ? out.size(2) : aux ? 2 : 1;
      const int64_t w = out.dim() == 4 ? out.size(3) : aux ? 2 : 1;
      row.flops = module_flops(*module, h, w);
      if (!aux) summary.total_flops += row.flops;
    }
    summary.layers.push_back(std::move(row));
  });
  model->train(was_training);
  summary.total_parameters = count_parameters(*model);
  return summary;
}

std::string format_summary(const ModelSummary& summary) {
  std::ostringstream out;
  const auto rule = std::string(86, '-') + "\n";
  out << std::left << std::setw(12) << "layer" << std::setw(28) << "kind" << std::setw(18)
      << "output" << std::right << std::setw(13) << "parameters" << std::setw(15) << "FLOPs"
      << "\n"
      << rule;
  for (const auto& row : summary.layers) {
    out << std::left << std::setw(12) << row.name << std::setw(28) << row.kind << std::setw(18)
        << dims_string(row.output_shape) << std::right << std::setw(13) << thousands(row.parameters)
        << std::setw(15) << thousands(row.flops) << "\n";
  }
  out << rule << "total parameters: " << thousands(summary.total_parameters) << "\n"
      << "forward FLOPs per image: " << thousands(summary.total_flops) << " (" << std::fixed
      << std::setprecision(1) << summary.total_flops / 1e6
      << " M; multiply-adds x2, padding counted)\n";
  return out.str();
}

}  // namespace googlenet
