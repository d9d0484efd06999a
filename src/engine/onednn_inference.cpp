#include "googlenet/engine/onednn_inference.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#if GOOGLENET_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace googlenet {

std::string to_string(InferenceEngine engine) {
  return engine == InferenceEngine::kOneDnn ? "onednn" : "libtorch";
}

InferenceEngine inference_engine_from_string(const std::string& name) {
  if (name == "onednn") return InferenceEngine::kOneDnn;
  if (name == "libtorch") return InferenceEngine::kLibTorch;
  throw std::invalid_argument("--engine must be onednn or libtorch, got '" + name + "'");
}

InferenceEngine default_inference_engine(const torch::Device& device) {
  return device.is_cpu() && onednn_inference_available() ? InferenceEngine::kOneDnn
                                                         : InferenceEngine::kLibTorch;
}

#if GOOGLENET_HAVE_DNNL

bool onednn_inference_available() { return true; }

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;
using Args = std::unordered_map<int, memory>;

// Every activation between the first convolution and the classifier: oneDNN's
// channel-blocked layout, which its AVX-512 convolution, pooling and concat kernels
// read and write without reorders. Channel counts that are not multiples of 16 (the
// 5x5 branches' 24/48 reductions) are zero-padded by oneDNN; every concatenated
// branch width is a multiple of 16, so concat stays a blocked copy.
constexpr Tag kActivationTag = Tag::aBcd16b;

// bf16 on CPUs with AMX: channels-last activations instead. oneDNN 2.6's AMX kernels
// (brgconv) do not take the blocked layout, and the AVX512-BF16 kernels that do ran
// evaluation at 1918 img/s against fp32's ~2850 on a Xeon with AMX (docs/engines.md).
Tag activation_tag(DataType type) {
  const bool amx = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core_amx;
  return type == DataType::bf16 && amx ? Tag::acdb : kActivationTag;
}

// A convolution with its batch norm folded in: eval-mode BN is y = (x - mean) *
// gamma / sqrt(var + eps) + beta, a per-channel affine map that scales the weights
// and shifts the bias.
struct FoldedConv {
  torch::Tensor weight;  // O x I x kh x kw, float32, contiguous
  torch::Tensor bias;    // O, float32
  int64_t stride = 1;
  int64_t padding_h = 0, padding_w = 0;  // equal, until crop_to_input meets a non-square map
};

class ParameterTable {
 public:
  explicit ParameterTable(GoogLeNet& model) {
    for (const auto& item : model->named_parameters()) tensors_[item.key()] = item.value();
    for (const auto& item : model->named_buffers()) tensors_[item.key()] = item.value();
    for (const auto& item : model->named_modules()) modules_[item.key()] = item.value();
  }

  FoldedConv conv(const ConvSpec& spec) const {
    FoldedConv folded;
    folded.stride = spec.stride;
    folded.padding_h = folded.padding_w = spec.padding;
    torch::NoGradGuard no_grad;
    folded.weight = tensor(spec.name + ".weight");
    folded.bias = tensor(spec.name + ".bias");
    if (folded.weight.sizes() != torch::IntArrayRef{spec.out, spec.in, spec.kernel, spec.kernel}) {
      throw std::logic_error("OneDnnInference: " + spec.name + ".weight is not the network's");
    }
    auto bn_module = modules_.find(spec.name + "_bn");
    if (bn_module != modules_.end()) {
      const auto* bn = bn_module->second->as<torch::nn::BatchNorm2d>();
      const auto scale = (bn->weight / torch::sqrt(bn->running_var + bn->options.eps()))
                             .detach()
                             .to(torch::kCPU, torch::kFloat32);
      folded.weight = folded.weight * scale.view({-1, 1, 1, 1});
      folded.bias = (folded.bias - bn->running_mean.to(torch::kCPU)) * scale +
                    bn->bias.detach().to(torch::kCPU, torch::kFloat32);
    }
    folded.weight = folded.weight.contiguous();
    folded.bias = folded.bias.contiguous();
    return folded;
  }

  torch::Tensor tensor(const std::string& name) const {
    auto found = tensors_.find(name);
    if (found == tensors_.end()) throw std::logic_error("OneDnnInference: no tensor " + name);
    return found->second.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  }

 private:
  std::unordered_map<std::string, torch::Tensor> tensors_;
  std::unordered_map<std::string, std::shared_ptr<torch::nn::Module>> modules_;
};

// The convolution on the taps that meet an input of `height` x `width` (central_taps).
FoldedConv crop_to_input(const FoldedConv& conv, int64_t height, int64_t width) {
  FoldedConv cropped = conv;
  for (const int dim : {2, 3}) {
    int64_t& padding = dim == 2 ? cropped.padding_h : cropped.padding_w;
    const CentralTaps taps =
        central_taps(conv.weight.size(dim), padding, conv.stride, dim == 2 ? height : width);
    cropped.weight = cropped.weight.slice(dim, taps.first, taps.first + taps.kept);
    padding = taps.padding;
  }
  cropped.weight = cropped.weight.contiguous();
  return cropped;
}

// The network as a flat list of primitives for one input shape.
class Plan {
 public:
  Plan(const dnnl::engine& engine, DataType type)
      : engine_(engine), type_(type), activation_tag_(activation_tag(type)) {}

  struct Activation {
    memory mem;
    memory::dims dims;  // N, C, H, W
  };

  // The user's images (float32, NCHW or channels-last) as the first primitive's source.
  Activation input(const memory::dims& dims, bool channels_last) {
    input_ = memory({dims, DataType::f32, channels_last ? Tag::acdb : Tag::abcd}, engine_,
                    DNNL_MEMORY_NONE);
    if (type_ == DataType::f32) return {input_, dims};
    memory converted({dims, type_, channels_last ? Tag::acdb : Tag::abcd}, engine_);
    add(dnnl::reorder(input_, converted), {{DNNL_ARG_FROM, input_}, {DNNL_ARG_TO, converted}});
    return {converted, dims};
  }

  Activation conv_relu(const Activation& x, const FoldedConv& full) {
    const FoldedConv conv = crop_to_input(full, x.dims[2], x.dims[3]);
    const int64_t out_channels = conv.weight.size(0);
    const int64_t out_h =
        window_output(x.dims[2], conv.weight.size(2), conv.stride, conv.padding_h);
    const int64_t out_w =
        window_output(x.dims[3], conv.weight.size(3), conv.stride, conv.padding_w);
    const memory::dims out_dims{x.dims[0], out_channels, out_h, out_w};
    const memory::dims weight_dims(conv.weight.sizes().begin(), conv.weight.sizes().end());
    const memory::desc bias_md({out_channels}, DataType::f32, Tag::a);
    const memory::desc dst_md(out_dims, type_, activation_tag_);
    dnnl::post_ops relu;
    relu.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(relu);
    auto primitive_desc = [&](const memory::desc& src) {
      dnnl::convolution_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
          memory::desc(weight_dims, type_, Tag::any), bias_md, dst_md, {conv.stride, conv.stride},
          {conv.padding_h, conv.padding_w}, {conv.padding_h, conv.padding_w});
      return dnnl::convolution_forward::primitive_desc(desc, attr, engine_);
    };
    // The activation as it is; where no optimised kernel reads that layout (the user's
    // 3-channel images), the layout the kernel asks for, reordered to once.
    auto pd = primitive_desc(x.mem.get_desc());
    memory src = x.mem;
    if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) {
      pd = primitive_desc(memory::desc(x.dims, type_, Tag::any));
      src = memory(pd.src_desc(), engine_);
      add(dnnl::reorder(x.mem, src), {{DNNL_ARG_FROM, x.mem}, {DNNL_ARG_TO, src}});
    }

    // Weights: re-laid out (and converted to bf16) once, here.
    memory user_weights({weight_dims, DataType::f32, Tag::oihw}, engine_,
                        conv.weight.data_ptr<float>());
    memory weights(pd.weights_desc(), engine_);
    dnnl::stream stream(engine_);
    dnnl::reorder(user_weights, weights).execute(stream, user_weights, weights);
    stream.wait();
    memory bias(bias_md, engine_);
    std::memcpy(bias.get_data_handle(), conv.bias.data_ptr<float>(), out_channels * sizeof(float));

    memory dst(pd.dst_desc(), engine_);
    add(dnnl::convolution_forward(pd), {{DNNL_ARG_SRC, src},
                                        {DNNL_ARG_WEIGHTS, weights},
                                        {DNNL_ARG_BIAS, bias},
                                        {DNNL_ARG_DST, dst}});
    return {dst, out_dims};
  }

  Activation pool(const Activation& x, dnnl::algorithm algorithm, int64_t kernel_h,
                  int64_t kernel_w, int64_t stride, int64_t padding) {
    const memory::dims out_dims{x.dims[0], x.dims[1],
                                window_output(x.dims[2], kernel_h, stride, padding),
                                window_output(x.dims[3], kernel_w, stride, padding)};
    dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm,
                                     x.mem.get_desc(), {out_dims, type_, activation_tag_},
                                     {stride, stride}, {kernel_h, kernel_w}, {padding, padding},
                                     {padding, padding});
    dnnl::pooling_forward::primitive_desc pd(desc, engine_);
    memory dst(pd.dst_desc(), engine_);
    add(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, x.mem}, {DNNL_ARG_DST, dst}});
    return {dst, out_dims};
  }

  Activation max_pool(const Activation& x, const PoolSpec& spec) {
    return pool(x, dnnl::algorithm::pooling_max, spec.kernel, spec.kernel, spec.stride,
                spec.padding);
  }

  Activation concat(const std::vector<Activation>& parts) {
    std::vector<memory::desc> descs;
    memory::dims dims = parts.front().dims;
    dims[1] = 0;
    for (const auto& part : parts) {
      descs.push_back(part.mem.get_desc());
      dims[1] += part.dims[1];
    }
    dnnl::concat::primitive_desc pd({dims, type_, activation_tag_}, 1, descs, engine_);
    memory dst(pd.dst_desc(), engine_);
    Args args{{DNNL_ARG_DST, dst}};
    for (size_t i = 0; i < parts.size(); ++i)
      args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), parts[i].mem);
    add(dnnl::concat(pd), std::move(args));
    return {dst, dims};
  }

  // Global average pooling into a float32 N x C matrix the classifier reads.
  void features(const Activation& x) {
    const Activation pooled =
        pool(x, dnnl::algorithm::pooling_avg_exclude_padding, x.dims[2], x.dims[3], 1, 0);
    features_ =
        memory({{x.dims[0], x.dims[1], 1, 1}, DataType::f32, Tag::abcd}, engine_, DNNL_MEMORY_NONE);
    add(dnnl::reorder(pooled.mem, features_),
        {{DNNL_ARG_FROM, pooled.mem}, {DNNL_ARG_TO, features_}});
  }

  void run(const torch::Tensor& images, torch::Tensor& features, dnnl::stream& stream) {
    input_.set_data_handle(images.data_ptr());
    features_.set_data_handle(features.data_ptr());
    for (auto& [primitive, args] : steps_) primitive.execute(stream, args);
    stream.wait();
  }

 private:
  void add(dnnl::primitive primitive, Args args) {
    steps_.emplace_back(std::move(primitive), std::move(args));
  }

  dnnl::engine engine_;
  DataType type_;
  Tag activation_tag_;  // activation_tag(type_)
  memory input_, features_;
  std::vector<std::pair<dnnl::primitive, Args>> steps_;
};

}  // namespace

struct OneDnnInference::Impl {
  Precision precision;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  Network network;  // the model's
  // Folded weights of the main path's convolutions, by name.
  std::unordered_map<std::string, FoldedConv> convs;
  torch::Tensor fc_weight, fc_bias;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, bool>, std::unique_ptr<Plan>> plans;

  Plan& plan_for(const torch::Tensor& images, bool channels_last) {
    const auto key = std::make_tuple(images.size(0), images.size(1), images.size(2), images.size(3),
                                     channels_last);
    auto found = plans.find(key);
    if (found != plans.end()) return *found->second;
    auto plan = std::make_unique<Plan>(
        engine, precision == Precision::kBFloat16 ? DataType::bf16 : DataType::f32);
    build(*plan, {images.size(0), images.size(1), images.size(2), images.size(3)}, channels_last);
    return *plans.emplace(key, std::move(plan)).first->second;
  }

  // The main path of the network, layer by layer, up to the classifier's features.
  void build(Plan& plan, const memory::dims& dims, bool channels_last) {
    auto conv = [&](const Plan::Activation& x, const std::string& name) {
      return plan.conv_relu(x, convs.at(name));
    };
    auto x = plan.input(dims, channels_last);
    for (const LayerSpec& layer : network) {
      const std::string& name = layer.name;
      switch (layer.kind) {
        case LayerKind::kConv:
          x = conv(x, name);
          break;
        case LayerKind::kMaxPool:
          x = plan.max_pool(x, layer.pool());
          break;
        case LayerKind::kInception: {
          const auto branch1 = conv(x, name + ".p1_1");
          const auto branch2 = conv(conv(x, name + ".p2_1"), name + ".p2_2");
          const auto branch3 = conv(conv(x, name + ".p3_1"), name + ".p3_2");
          const auto branch4 = conv(plan.max_pool(x, kInceptionPool), name + ".p4_2");
          x = plan.concat({branch1, branch2, branch3, branch4});
          break;
        }
        case LayerKind::kAuxHead:  // training-only
          break;
        case LayerKind::kGlobalAvgPool:
          plan.features(x);
          break;
        case LayerKind::kLinear:  // forward() applies it to the features
          break;
      }
    }
  }
};

OneDnnInference::OneDnnInference(GoogLeNet& model, Precision precision)
    : impl_(std::make_unique<Impl>()) {
  impl_->precision = precision;
  const auto& options = model->options();
  impl_->network = options.network;
  const ParameterTable table(model);
  for (const auto& layer :
       resolve(options.network, {options.in_channels, 0, 0, options.num_classes})) {
    for (const auto& conv : layer.convs) impl_->convs.emplace(conv.name, table.conv(conv));
  }
  const std::string& fc = options.network.back().name;  // the classifier (kLinear)
  impl_->fc_weight = table.tensor(fc + ".weight");
  impl_->fc_bias = table.tensor(fc + ".bias");
}

torch::Tensor OneDnnInference::forward(const torch::Tensor& images) {
  if (images.dim() != 4 || images.scalar_type() != torch::kFloat32 || !images.device().is_cpu())
    throw std::invalid_argument(
        "OneDnnInference::forward: expects a float32 CPU batch N x C x H x W");
  const bool channels_last =
      !images.is_contiguous() && images.is_contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::Tensor input = channels_last ? images : images.contiguous();
  auto features = torch::empty({input.size(0), impl_->fc_weight.size(1)});
  try {
    impl_->plan_for(input, channels_last).run(input, features, impl_->stream);
  } catch (const dnnl::error& e) {
    // E.g. bf16 on a CPU without AVX-512: oneDNN has no kernel for it.
    throw std::runtime_error(
        std::string("oneDNN engine (") + to_string(impl_->precision) + "): " + e.what() +
        "; use --engine libtorch" +
        (impl_->precision == Precision::kBFloat16 ? " or --precision fp32" : ""));
  }
  return torch::addmm(impl_->fc_bias, features, impl_->fc_weight.t());
}

#else  // built without oneDNN's headers

bool onednn_inference_available() { return false; }

struct OneDnnInference::Impl {
  Precision precision;
};

OneDnnInference::OneDnnInference(GoogLeNet&, Precision) {
  throw std::runtime_error(
      "--engine onednn: this googlenet was built without oneDNN's headers (Debian: apt-get "
      "install libdnnl-dev, then rebuild); use --engine libtorch");
}

torch::Tensor OneDnnInference::forward(const torch::Tensor&) {
  throw std::logic_error("OneDnnInference without oneDNN");
}

#endif

OneDnnInference::~OneDnnInference() = default;
OneDnnInference::OneDnnInference(OneDnnInference&&) noexcept = default;
OneDnnInference& OneDnnInference::operator=(OneDnnInference&&) noexcept = default;
Precision OneDnnInference::precision() const { return impl_->precision; }

}  // namespace googlenet
