// GoogLeNet / Inception modules: construction under the reference's names, forward,
// and the weight-initialisation schemes.
#include "googlenet/model/googlenet.h"

#include <torch/version.h>

namespace googlenet {

namespace nn = torch::nn;

// Szegedy et al., "Going deeper with convolutions", Table 1: #1x1, #3x3 reduce,
// #3x3, #5x5 reduce, #5x5, pool proj.
const std::array<InceptionConfig, 9> kInceptionTable = {{
    {192, 64, 96, 128, 16, 32, 32},      // 3a
    {256, 128, 128, 192, 32, 96, 64},    // 3b
    {480, 192, 96, 208, 16, 48, 64},     // 4a
    {512, 160, 112, 224, 24, 64, 64},    // 4b
    {512, 128, 128, 256, 24, 64, 64},    // 4c
    {512, 112, 144, 288, 32, 64, 64},    // 4d
    {528, 256, 160, 320, 32, 128, 128},  // 4e
    {832, 256, 160, 320, 32, 128, 128},  // 5a
    {832, 384, 192, 384, 48, 128, 128},  // 5b
}};

namespace {

nn::Conv2d make_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
                     int64_t padding = 0) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding));
}

nn::MaxPool2d make_pool(int64_t stride) {
  return nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(stride).padding(1));
}

// Registers `unit.conv` as `name` on `owner` (and its BN as `name_bn`).
void register_unit(nn::Module& owner, const std::string& name, ConvUnit& unit, nn::Conv2d conv,
                   bool batch_norm) {
  unit.conv = owner.register_module(name, conv);
  if (batch_norm) {
    unit.bn = owner.register_module(name + "_bn", nn::BatchNorm2d(conv->options.out_channels()));
  }
}

}  // namespace

torch::Tensor ConvUnit::operator()(const torch::Tensor& x) {
  auto y = conv->forward(x);
  if (bn) y = bn->forward(y);
  return torch::relu(y);
}

InceptionImpl::InceptionImpl(const InceptionConfig& c, bool batch_norm) {
  register_unit(*this, "p1_1", p1_1_, make_conv(c.in, c.c1, 1), batch_norm);
  register_unit(*this, "p2_1", p2_1_, make_conv(c.in, c.c2_reduce, 1), batch_norm);
  register_unit(*this, "p2_2", p2_2_, make_conv(c.c2_reduce, c.c2, 3, 1, 1), batch_norm);
  register_unit(*this, "p3_1", p3_1_, make_conv(c.in, c.c3_reduce, 1), batch_norm);
  // 5x5 as in the paper and the reference (torchvision uses 3x3 here).
  register_unit(*this, "p3_2", p3_2_, make_conv(c.c3_reduce, c.c3, 5, 1, 2), batch_norm);
  p4_1_ = register_module("p4_1", make_pool(/*stride=*/1));
  register_unit(*this, "p4_2", p4_2_, make_conv(c.in, c.c4, 1), batch_norm);
}

torch::Tensor InceptionImpl::forward(const torch::Tensor& x) {
  return torch::cat({p1_1_(x), p2_2_(p2_1_(x)), p3_2_(p3_1_(x)), p4_2_(p4_1_->forward(x))},
                    /*dim=*/1);
}

AuxHeadImpl::AuxHeadImpl(int64_t in_channels, int64_t num_classes) {
  conv_ = register_module("conv", make_conv(in_channels, 128, 1));
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
  auto stage = [this](const std::string& name) {
    return register_module(name, std::make_shared<nn::Module>());
  };
  // The paper's 224-px stem applied unchanged to 32-px CIFAR images, as in the
  // reference: the maps shrink 32 -> 16 -> 8 -> 4 -> 2 -> 1 over the five stages
  // (the paper's 224 -> 56 -> 28 -> 14 -> 7). The paper's LRN layers are omitted,
  // as in the reference.
  auto stage1 = stage("stage1");
  register_unit(*stage1, "0", stem7x7_, make_conv(options.in_channels, 64, 7, 2, 3), bn);
  auto stage2 = stage("stage2");
  register_unit(*stage2, "0", stem1x1_, make_conv(64, 64, 1), bn);
  register_unit(*stage2, "2", stem3x3_, make_conv(64, 192, 3, 1, 1), bn);

  // Inception blocks keep the reference's Sequential indices: stage3.0-1,
  // stage4.0-4, stage5.0-1.
  const std::array<std::pair<const char*, int>, 3> stages = {
      {{"stage3", 2}, {"stage4", 5}, {"stage5", 2}}};
  size_t block = 0;
  for (const auto& [name, count] : stages) {
    auto container = stage(name);
    for (int i = 0; i < count; ++i, ++block) {
      blocks_.push_back(
          container->register_module(std::to_string(i), Inception(kInceptionTable[block], bn)));
    }
  }
  pool_ = make_pool(/*stride=*/2);  // parameter-free, shared by the stages
  fc_ = register_module("fc", nn::Linear(1024, options.num_classes));
  if (options.aux_heads) {
    aux1_ = register_module("aux1", AuxHead(kInceptionTable[3].in, options.num_classes));
    aux2_ = register_module("aux2", AuxHead(kInceptionTable[6].in, options.num_classes));
  }
}

GoogLeNetOutput GoogLeNetImpl::forward_all(const torch::Tensor& input,
                                           const LayerObserver& observe) {
  GoogLeNetOutput out;
  const bool with_aux = options_.aux_heads && is_training();
  auto layer = [&](const char* name, const char* kind, const nn::Module* module, torch::Tensor y) {
    if (observe) observe(name, kind, module, y);
    return y;
  };
  auto conv = [&](const char* name, ConvUnit& unit, const torch::Tensor& x) {
    return layer(name, unit.bn ? "Conv2d+BN+ReLU" : "Conv2d+ReLU", unit.conv.get(), unit(x));
  };
  auto block = [&](const char* name, size_t index, const torch::Tensor& x) {
    return layer(name, "Inception", blocks_[index].get(), blocks_[index](x));
  };
  auto pool = [&](const char* name, const torch::Tensor& x) {
    return layer(name, "MaxPool2d", nullptr, pool_(x));
  };

  auto x = conv("stage1.0", stem7x7_, input);  // N x 64 x 16 x 16
  x = pool("stage1.2", x);                     // N x 64 x 8 x 8
  x = conv("stage2.0", stem1x1_, x);           // N x 64 x 8 x 8
  x = conv("stage2.2", stem3x3_, x);           // N x 192 x 8 x 8
  x = pool("stage2.4", x);                     // N x 192 x 4 x 4
  x = block("stage3.0", 0, x);                 // N x 256 x 4 x 4
  x = block("stage3.1", 1, x);                 // N x 480 x 4 x 4
  x = pool("stage3.2", x);                     // N x 480 x 2 x 2
  x = block("stage4.0", 2, x);                 // N x 512 x 2 x 2 (4a)
  if (with_aux) out.aux1 = layer("aux1", "AuxHead", aux1_.get(), aux1_(x));
  x = block("stage4.1", 3, x);  // N x 512 x 2 x 2
  x = block("stage4.2", 4, x);  // N x 512 x 2 x 2
  x = block("stage4.3", 5, x);  // N x 528 x 2 x 2 (4d)
  if (with_aux) out.aux2 = layer("aux2", "AuxHead", aux2_.get(), aux2_(x));
  x = block("stage4.4", 6, x);  // N x 832 x 2 x 2
  x = pool("stage4.5", x);      // N x 832 x 1 x 1
  x = block("stage5.0", 7, x);  // N x 832 x 1 x 1
  x = block("stage5.1", 8, x);  // N x 1024 x 1 x 1
  x = layer("stage5.2", "AdaptiveAvgPool2d+Flatten", nullptr,
            torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));  // N x 1024
  out.logits = layer("fc", "Linear", fc_.get(), fc_(x));        // N x num_classes
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

std::pair<int64_t, int64_t> conv_padding(const torch::nn::Conv2dImpl& conv) {
  // Conv2dOptions::padding is a c10::variant in LibTorch 1.x, a std::variant in 2.x.
#if TORCH_VERSION_MAJOR >= 2
  const auto& padding = std::get<torch::ExpandingArray<2>>(conv.options.padding());
#else
  const auto& padding = c10::get<torch::ExpandingArray<2>>(conv.options.padding());
#endif
  return {(*padding)[0], (*padding)[1]};
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
