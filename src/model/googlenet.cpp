// GoogLeNet / Inception modules: construction under the reference's names, forward,
// and the weight-initialisation schemes.
#include "googlenet/model/googlenet.h"

namespace googlenet {

namespace nn = torch::nn;

namespace {

nn::Conv2d make_conv(const ConvSpec& c) {
  return nn::Conv2d(nn::Conv2dOptions(c.in, c.out, c.kernel).stride(c.stride).padding(c.padding));
}

// Registers `unit.conv` as `name` on `owner` (and its BN as `name_bn`).
void register_unit(nn::Module& owner, const std::string& name, ConvUnit& unit, nn::Conv2d conv,
                   bool batch_norm) {
  unit.conv = owner.register_module(name, conv);
  if (batch_norm) {
    unit.bn = owner.register_module(name + "_bn", nn::BatchNorm2d(conv->options.out_channels()));
  }
}

// The module that holds the layer `name` and the layer's name there: the reference
// wraps each stage in nn.Sequential, so "stage2.2" is child "2" of a plain container
// "stage2" of `root` (made on first use), which gives the same state_dict names.
std::pair<nn::Module*, std::string> owner_of(nn::Module& root, const std::string& name) {
  nn::Module* owner = &root;
  size_t begin = 0;
  for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', begin)) {
    const std::string part = name.substr(begin, dot - begin);
    const auto children = owner->named_children();
    const auto* child = children.find(part);
    owner = child != nullptr ? child->get()
                             : owner->register_module(part, std::make_shared<nn::Module>()).get();
    begin = dot + 1;
  }
  return {owner, name.substr(begin)};
}

template <typename Holder>
Holder register_at(nn::Module& root, const std::string& name, Holder module) {
  auto [owner, leaf] = owner_of(root, name);
  return owner->register_module(leaf, module);
}

}  // namespace

torch::Tensor ConvUnit::operator()(const torch::Tensor& x) {
  auto y = conv->forward(x);
  if (bn) y = bn->forward(y);
  return torch::relu(y);
}

InceptionImpl::InceptionImpl(const InceptionConfig& config, bool batch_norm) {
  const auto c = inception_convs(config);  // p1_1, p2_1, p2_2, p3_1, p3_2, p4_2
  register_unit(*this, c[0].name, p1_1_, make_conv(c[0]), batch_norm);
  register_unit(*this, c[1].name, p2_1_, make_conv(c[1]), batch_norm);
  register_unit(*this, c[2].name, p2_2_, make_conv(c[2]), batch_norm);
  register_unit(*this, c[3].name, p3_1_, make_conv(c[3]), batch_norm);
  register_unit(*this, c[4].name, p3_2_, make_conv(c[4]), batch_norm);
  p4_1_ = register_module("p4_1", nn::MaxPool2d(nn::MaxPool2dOptions(kInceptionPool.kernel)
                                                    .stride(kInceptionPool.stride)
                                                    .padding(kInceptionPool.padding)));
  register_unit(*this, c[5].name, p4_2_, make_conv(c[5]), batch_norm);
}

torch::Tensor InceptionImpl::forward(const torch::Tensor& x) {
  return torch::cat({p1_1_(x), p2_2_(p2_1_(x)), p3_2_(p3_1_(x)), p4_2_(p4_1_->forward(x))},
                    /*dim=*/1);
}

AuxHeadImpl::AuxHeadImpl(int64_t in_channels, int64_t num_classes) {
  conv_ = register_module("conv", make_conv({"conv", in_channels, 128, 1, 1, 0}));
  fc1_ = register_module("fc1", nn::Linear(128 * 2 * 2, 1024));
  dropout_ = register_module("dropout", nn::Dropout(0.7));
  fc2_ = register_module("fc2", nn::Linear(1024, num_classes));
}

torch::Tensor AuxHeadImpl::forward(const torch::Tensor& x) {
  auto y = torch::adaptive_avg_pool2d(x, {2, 2});
  y = torch::relu(conv_->forward(y)).flatten(1);
  y = dropout_->forward(torch::relu(fc1_->forward(y)));
  return fc2_->forward(y);
}

GoogLeNetImpl::GoogLeNetImpl(const ModelOptions& options) : options_(options) {
  const bool bn = options.batch_norm;
  // Channels only: the modules do not depend on the map size.
  const auto resolved = resolve(options.network, {options.in_channels, 0, 0, options.num_classes});
  for (const auto& r : resolved) {
    Layer layer{r.spec};
    const std::string& name = r.spec.name;
    if (r.spec.kind == LayerKind::kConv) {
      auto [owner, leaf] = owner_of(*this, name);
      register_unit(*owner, leaf, layer.conv, make_conv(r.convs.front()), bn);
    } else if (r.spec.kind == LayerKind::kInception) {
      layer.block = register_at(*this, name, Inception(r.spec.inception, bn));
    } else if (r.spec.kind == LayerKind::kLinear) {
      layer.linear = register_at(*this, name, nn::Linear(r.in_channels, r.out_channels));
    }
    layers_.push_back(layer);
  }
  // After the main path, as the reference registers them.
  for (size_t i = 0; i < resolved.size() && options.aux_heads; ++i) {
    if (resolved[i].spec.kind != LayerKind::kAuxHead) continue;
    layers_[i].aux = register_at(*this, resolved[i].spec.name,
                                 AuxHead(resolved[i].in_channels, options.num_classes));
  }
}

GoogLeNetOutput GoogLeNetImpl::forward_all(const torch::Tensor& input,
                                           const LayerObserver& observe) {
  GoogLeNetOutput out;
  const bool with_aux = options_.aux_heads && is_training();
  torch::Tensor* aux_outputs[] = {&out.aux1, &out.aux2};  // in the table's order
  size_t aux = 0;
  torch::Tensor x = input;
  for (auto& layer : layers_) {
    auto observed = [&](const char* kind, const nn::Module* module, torch::Tensor y) {
      if (observe) observe(layer.spec.name, kind, module, y);
      return y;
    };
    switch (layer.spec.kind) {
      case LayerKind::kConv:
        x = observed(layer.conv.bn ? "Conv2d+BN+ReLU" : "Conv2d+ReLU", layer.conv.conv.get(),
                     layer.conv(x));
        break;
      case LayerKind::kMaxPool: {
        const PoolSpec pool = layer.spec.pool();
        x = observed("MaxPool2d", nullptr,
                     torch::max_pool2d(x, {pool.kernel, pool.kernel}, {pool.stride, pool.stride},
                                       {pool.padding, pool.padding}));
        break;
      }
      case LayerKind::kInception:
        x = observed("Inception", layer.block.get(), layer.block(x));
        break;
      case LayerKind::kAuxHead:
        if (with_aux) *aux_outputs[aux] = observed("AuxHead", layer.aux.get(), layer.aux(x));
        ++aux;
        break;
      case LayerKind::kGlobalAvgPool:
        x = observed("AdaptiveAvgPool2d+Flatten", nullptr,
                     torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
        break;
      case LayerKind::kLinear:
        out.logits = observed("Linear", layer.linear.get(), layer.linear(x));
        break;
    }
  }
  return out;
}

void GoogLeNetImpl::initialize(InitScheme scheme) {
  if (scheme == InitScheme::kPyTorch) return;  // the modules' own defaults
  torch::NoGradGuard no_grad;
  for (auto& module : modules(/*include_self=*/false)) {
    torch::Tensor weight, bias;
    if (auto* conv = module->as<nn::Conv2d>()) {
      weight = conv->weight, bias = conv->bias;
    } else if (auto* linear = module->as<nn::Linear>()) {
      weight = linear->weight, bias = linear->bias;
    } else {
      continue;
    }
    nn::init::xavier_uniform_(weight);
    if (bias.defined()) nn::init::zeros_(bias);
  }
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

TrainingLoss training_loss(const GoogLeNetOutput& output, const torch::Tensor& labels) {
  TrainingLoss loss;
  loss.main = torch::cross_entropy_loss(output.logits, labels);
  loss.total = loss.main;
  if (output.aux1.defined()) {
    loss.total = loss.total + kAuxLossWeight * (torch::cross_entropy_loss(output.aux1, labels) +
                                                torch::cross_entropy_loss(output.aux2, labels));
  }
  return loss;
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters()) {
    if (parameter.dim() == 4) {
      parameter.set_data(parameter.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
}

}  // namespace googlenet
