#include "googlenet/engine/onednn_training.h"

#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#if GOOGLENET_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace googlenet {

std::string to_string(TrainingEngine engine) {
  return engine == TrainingEngine::kOneDnn ? "onednn" : "libtorch";
}

TrainingEngine training_engine_from_string(const std::string& name) {
  if (name == "onednn") return TrainingEngine::kOneDnn;
  if (name == "libtorch") return TrainingEngine::kLibTorch;
  throw std::invalid_argument("--train-engine must be onednn or libtorch, got '" + name + "'");
}

TrainingEngine default_training_engine(const ModelOptions& model, const torch::Device& device) {
  const bool supported = onednn_training_available() && device.is_cpu() && !model.batch_norm;
  return supported ? TrainingEngine::kOneDnn : TrainingEngine::kLibTorch;
}

#if GOOGLENET_HAVE_DNNL

bool onednn_training_available() { return true; }

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;

// Activations between the first convolution and the classifier: oneDNN's
// channel-blocked layout (nChw16c), held in LibTorch tensors shaped
// N x ceil(C/16) x H x W x 16 so that autograd, pooling and concatenation can work on
// them. Channel counts that are not multiples of 16 (the 24-channel 5x5 reduction of
// 4b) carry zero padding; every concatenated branch is a multiple of 16, so
// torch::cat along dim 1 is the blocked concatenation.
constexpr int64_t kBlock = 16;
constexpr Tag kActivationTag = Tag::aBcd16b;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

memory wrap(const memory::desc& desc, const torch::Tensor& tensor) {
  return memory(desc, cpu_engine(), tensor.data_ptr());
}

// A 1-d buffer of `desc`'s size and type (float32 or bfloat16). Where the layout pads
// (channel counts that are not multiples of the block), the padding is zeroed: kernels
// read it, and uninitialised memory may hold NaNs that 0 x NaN would spread.
torch::Tensor buffer_for(const memory::desc& desc, bool zeroed = false) {
  const bool bf16 = desc.data_type() == DataType::bf16;
  const auto options = torch::TensorOptions().dtype(bf16 ? torch::kBFloat16 : torch::kFloat32);
  const auto elements = static_cast<int64_t>(desc.get_size() / (bf16 ? 2 : 4));
  int64_t logical = 1;
  for (const auto d : desc.dims()) logical *= d;
  return zeroed || logical != elements ? torch::zeros({elements}, options)
                                       : torch::empty({elements}, options);
}

void reorder(const memory::desc& from_desc, const torch::Tensor& from, const memory::desc& to_desc,
             const torch::Tensor& to) {
  auto source = wrap(from_desc, from), destination = wrap(to_desc, to);
  dnnl::reorder(source, destination).execute(cpu_stream(), source, destination);
  cpu_stream().wait();
}

bool is_reference_kernel(const char* implementation) {
  return std::string(implementation).rfind("ref", 0) == 0;
}

int64_t blocks(int64_t channels) { return (channels + kBlock - 1) / kBlock; }

// Everything one convolution runs for one batch size.
//
// Mixed precision (ConvLayer::mixed_precision): every pass reads bf16 copies of its
// inputs (src, diff_dst, weights), made each step, and writes float32 (dst, diff_src,
// the weight and bias gradients), so that activations between layers, gradients, SGD
// and the master weights stay float32, as under autocast with float32 weights. Each
// pass falls back to float32 where oneDNN has only reference kernels for bf16.
struct ConvPrimitives {
  memory::desc src, dst, bias;                  // float32: the activations the engine keeps
  bool bf16 = false;                            // forward and backward-data in bf16
  memory::desc forward_src, backward_diff_dst;  // what the passes read: bf16 or src/dst
  std::vector<int64_t> dst_shape;               // the blocked LibTorch tensor's
  bool padded_dst = false;
  dnnl::convolution_forward forward;
  memory::desc forward_weights;  // the layout (and type) it reads; the layer's own unless
                                 // cropped or bf16
  // Absent for the first convolution, whose input (the images) needs no gradient.
  std::optional<dnnl::convolution_backward_data> backward_data;
  memory::desc backward_data_weights;  // the layout it reads; reordered to when it differs
  // Unset where the weight gradients are GEMMs (gemm_weights, below).
  dnnl::convolution_backward_weights backward_weights;
  memory::desc backward_weights_gradient;  // the layout it writes
  bool reorder_gradient = false;           // when that is not the weights' own layout
  // Weight gradients as GEMMs instead of the convolution kernel, which reduces over
  // the batch poorly on small maps (stage 5's 832 -> 384 1x1: 3.1 ms against 0.4;
  // docs/engines.md):
  // - 1x1 kernels (after cropping) on maps of at most kGemmMaxPixels pixels: one GEMM,
  //   gradient (out x in) = diff_dst^T (out x N*H*W) . src (N*H*W x in), on
  //   channels-last copies of src and diff_dst (on 1x1 maps the blocked tensors
  //   themselves: nChw16c is then an N x C matrix with padded rows);
  // - 3x3 kernels (after cropping) on 2x2 maps: every (output pixel, input pixel) pair
  //   meets through exactly one tap. The blocked tensors are N-row matrices whose
  //   columns run (channel block, pixel, channel), so one GEMM src^T . diff_dst gives
  //   all 16 pairs' products (4 in x 4 out) at once, no copies; each pair's block is
  //   then added into its tap's gradient (the centre tap gets four, corners one). The
  //   convolution kernel would also visit 20 padded tap positions.
  std::optional<dnnl::matmul> gemm_weights;
  memory::desc gemm_diff_dst_t, gemm_src, gemm_gradient;  // 1x1: A, B, C
  memory::desc gemm_taps;   // every tap's gradient ([tap][out][in]; all_pairs: [tap][in][out])
  bool all_pairs = false;   // 3x3 on 2x2: A = src^T, B = diff_dst, C = every pair's block
  torch::Tensor pair_taps;  // all_pairs: the tap of pair (dst pixel * 4 + src pixel)
  std::optional<memory::desc> plain_src, plain_dst;  // the channels-last copies' layouts
  bool gemm_bf16 = false;     // the operands are bf16 (mixed precision): forward_src, diff_dst
  bool weights_bf16 = false;  // backward_weights reads the bf16 copies (mixed precision)
};

// Largest map (pixels) whose 1x1 weight gradients take the GEMM: measured on 2-core
// Xeon (AMX) and Zen 5 hosts, the GEMM wins from stage 4's 2x2 maps down and ties at 4x4.
constexpr int64_t kGemmMaxPixels = 4;

// One main-path convolution (+ ReLU) with its weights in the engine's layout.
//
// A stride-1 "same" convolution on a map smaller than its kernel only meets padding
// with its outer taps (GoogLeNet's 5x5 and 3x3 branches on the 2x2 and 1x1 maps of
// stages 4-5 of a 32-px image): their gradient is exactly zero. Such a layer runs on
// the central taps alone (oneDNN has only reference kernels for padding wider than the
// map: ~40% of the step without this; central_taps), and keeps its full weights in plain oihw order
// (weight decay still reaches the outer taps, as in LibTorch); the central taps are
// read through a strided view each step, and their gradient written back through it.
struct ConvLayer {
  std::string name;                 // state_dict prefix, e.g. "stage3.0.p2_2"
  torch::nn::Conv2dImpl* module{};  // the model's, for its bias and for syncing
  int64_t in = 0, out = 0, kernel_h = 0, kernel_w = 0, stride = 1, padding_h = 0, padding_w = 0;
  bool reads_images = false;  // the network's first layer: plain NCHW input, no input gradient
  // Mixed precision (ConvPrimitives): every pass on bf16 copies. On every map: the
  // 2x2 and 1x1 maps of stages 4-5 gain too (Zen 5, forward and backward-data in bf16:
  // on stages 1-3 alone +13% a step, on all layers +23%; docs/engines.md).
  bool mixed_precision = false;
  // Fixed by the first shape seen (the training batch's), with the weights' layout.
  bool has_layout = false;
  int64_t height = 0, width = 0;                             // the input map the engine trains on
  int64_t kept_h = 0, kept_w = 0, first_h = 0, first_w = 0;  // central taps run
  int64_t run_padding_h = 0, run_padding_w = 0;              // the padding they run with
  bool cropped = false;
  memory::desc plain_weights;  // O x I x kh x kw (oihw)
  memory::desc weights;        // the forward kernel's layout, or oihw when cropped
  memory::desc central_taps;   // cropped: the kept taps as a strided view of oihw
  torch::Tensor weight;        // 1-d buffer in `weights` layout; the trained parameter
  std::map<int64_t, ConvPrimitives> by_batch;

  // A merged layer (module == nullptr) runs the 1x1 convolutions of an Inception block
  // that read the block input (p1_1, p2_1, p3_1) as one, their output channels side by
  // side: one pass of each kind instead of three, and autograd sums one gradient into
  // the block input instead of three. Its `parts` keep their own names and parameters:
  // each part's `weight` is a contiguous chunk of the merged buffer (attach_parts), so
  // SGD, checkpoints and layouts stay per parameter without copies.
  std::vector<ConvLayer*> parts;
  std::vector<int64_t> part_offsets;  // each part's chunk: first float in `weight`
  bool parts_attached = false;

  torch::Tensor to_blocked(const torch::Tensor& plain) const {
    const auto source = plain.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    auto blocked = buffer_for(weights);
    reorder(plain_weights, source, weights, blocked);
    return blocked;
  }

  torch::Tensor to_plain(const torch::Tensor& blocked) const {
    auto plain = torch::empty({out, in, kernel_h, kernel_w});
    reorder(weights, blocked.detach().contiguous(), plain_weights, plain);
    return plain;
  }

  // The central taps of a full oihw buffer (the weights, or their gradient).
  memory central_taps_of(const torch::Tensor& full) const {
    auto* base = static_cast<float*>(full.data_ptr()) + first_h * kernel_w + first_w;
    return memory(central_taps, cpu_engine(), base);
  }

  void fix_layout(int64_t h, int64_t w) {
    height = h, width = w;
    const CentralTaps rows = googlenet::central_taps(kernel_h, padding_h, stride, h);
    const CentralTaps columns = googlenet::central_taps(kernel_w, padding_w, stride, w);
    kept_h = rows.kept, first_h = rows.first, run_padding_h = rows.padding;
    kept_w = columns.kept, first_w = columns.first, run_padding_w = columns.padding;
    cropped = kept_h != kernel_h || kept_w != kernel_w;
    plain_weights = memory::desc({out, in, kernel_h, kernel_w}, DataType::f32, Tag::oihw);
    central_taps = memory::desc({out, in, kept_h, kept_w}, DataType::f32,
                                {in * kernel_h * kernel_w, kernel_h * kernel_w, kernel_w, 1});
  }

  // Merged layers: gives every part its chunk of `weight` (filled from the part's
  // module) when the chosen layout keeps output channels outermost in blocks that the
  // parts' boundaries do not cut (OIhw16i16o and the like; only blocks whose c1 and
  // c2_reduce are multiples of 16 are merged). Checked by reordering the merged buffer
  // back to oihw; false (the parts then run as layers of their own) if anything differs.
  bool attach_parts() {
    const dnnl_memory_desc_t& data = weights.data;
    if (data.format_kind != dnnl_blocked || data.ndims != 4 || data.offset0 != 0 ||
        data.extra.flags != 0) {
      return false;
    }
    const auto& blocking = data.format_desc.blocking;
    int64_t out_block = 1;
    for (int i = 0; i < blocking.inner_nblks; ++i) {
      if (blocking.inner_idxs[i] == 0) out_block *= blocking.inner_blks[i];
    }
    const int64_t block_stride = blocking.strides[0];  // floats from one block to the next
    if (block_stride * (data.padded_dims[0] / out_block) * sizeof(float) != weights.get_size()) {
      return false;  // output-channel blocks are not outermost
    }
    auto give_up = [&] {  // every part back to a layer of its own
      for (auto* part : parts) part->has_layout = false, part->weight = torch::Tensor();
      part_offsets.clear();
      return false;
    };
    std::vector<torch::Tensor> plain;
    int64_t first = 0;
    for (auto* part : parts) {
      if (first % out_block != 0) return give_up();
      dnnl_memory_desc_t chunk = data;
      chunk.dims[0] = part->out;
      chunk.padded_dims[0] = (part->out + out_block - 1) / out_block * out_block;
      const int64_t offset = first / out_block * block_stride;
      const memory::desc chunk_desc(chunk);
      const auto floats = static_cast<int64_t>(chunk_desc.get_size() / sizeof(float));
      if (offset + floats > weight.numel()) return give_up();
      part->fix_layout(height, width);
      part->weights = chunk_desc;
      part->has_layout = true;
      part->weight = weight.narrow(0, offset, floats).detach();
      part->weight.copy_(part->to_blocked(part->module->weight));
      part_offsets.push_back(offset);
      plain.push_back(part->module->weight.detach());
      first += part->out;
    }
    if (first != out || !torch::equal(to_plain(weight), torch::cat(plain))) return give_up();
    return true;
  }

  // Mixed precision: replaces `p`'s forward and backward-data by bf16 ones (float32
  // outputs), unless oneDNN has only reference kernels for them on this CPU (no
  // AVX512-BF16): the layer then stays float32.
  // Returns the bf16 forward's primitive_desc (the hint for a bf16 weight gradient).
  std::optional<dnnl::convolution_forward::primitive_desc> use_bf16(
      ConvPrimitives& p, const memory::dims& strides, const memory::dims& padding,
      const dnnl::primitive_attr& with_relu) const {
    const memory::dims src_dims = p.src.dims(), dst_dims = p.dst.dims();
    const memory::desc src(src_dims, DataType::bf16, reads_images ? Tag::abcd : kActivationTag);
    const memory::desc diff_dst(dst_dims, DataType::bf16, kActivationTag);
    const memory::desc any_weights({out, in, kept_h, kept_w}, DataType::bf16, Tag::any);
    const auto direct = dnnl::algorithm::convolution_direct;
    try {
      const dnnl::convolution_forward::primitive_desc forward(
          {dnnl::prop_kind::forward_training, direct, src, any_weights, p.bias, p.dst, strides,
           padding, padding},
          with_relu, cpu_engine());
      if (is_reference_kernel(forward.impl_info_str())) return std::nullopt;
      std::optional<dnnl::convolution_backward_data::primitive_desc> backward_data;
      if (!reads_images) {
        backward_data.emplace(dnnl::convolution_backward_data::desc(
                                  direct, p.src, any_weights, diff_dst, strides, padding, padding),
                              cpu_engine(), forward);
        if (is_reference_kernel(backward_data->impl_info_str())) return std::nullopt;
      }
      p.bf16 = true;
      p.forward_src = src, p.backward_diff_dst = diff_dst;
      p.forward = dnnl::convolution_forward(forward);
      p.forward_weights = forward.weights_desc();
      if (backward_data) {
        p.backward_data_weights = backward_data->weights_desc();
        p.backward_data = dnnl::convolution_backward_data(*backward_data);
      }
      return forward;
    } catch (const dnnl::error&) {
      return std::nullopt;  // no bf16 kernel for this shape: float32
    }
  }

  // ConvPrimitives::gemm_weights, 1x1 kernels: A = diff_dst^T, B = src, C = gradient.
  void gemm_1x1_descs(ConvPrimitives& p, int64_t n, int64_t h, int64_t w, DataType operand) const {
    int64_t src_row = in, dst_row = out;
    if (h * w > 1) {
      p.plain_src = memory::desc({n, in, h, w}, operand, Tag::nhwc);
      p.plain_dst = memory::desc({n, out, h, w}, operand, Tag::nhwc);
    } else {
      src_row = blocks(in) * kBlock, dst_row = blocks(out) * kBlock;
    }
    const int64_t k = n * h * w;
    p.gemm_diff_dst_t = memory::desc({out, k}, operand, memory::dims{1, dst_row});
    p.gemm_src = memory::desc({k, in}, operand, memory::dims{src_row, 1});
    p.gemm_gradient = memory::desc({out, in}, DataType::f32, Tag::ab);
    p.gemm_taps = memory::desc({out, in, kept_h, kept_w}, DataType::f32,
                               memory::dims{in, 1, kept_w * out * in, out * in});
  }

  // ConvPrimitives::gemm_weights, 3x3 kernels on 2x2 maps: A = src^T, B = diff_dst,
  // C = every pixel pair's block.
  void all_pairs_descs(ConvPrimitives& p, int64_t n, int64_t h, int64_t w, DataType operand) const {
    p.all_pairs = true;
    const int64_t src_columns = blocks(in) * kBlock * h * w;
    const int64_t dst_columns = blocks(out) * kBlock * h * w;
    p.gemm_src = memory::desc({src_columns, n}, operand, memory::dims{1, src_columns});
    p.gemm_diff_dst_t = memory::desc({n, dst_columns}, operand, Tag::ab);
    p.gemm_gradient = memory::desc({src_columns, dst_columns}, DataType::f32, Tag::ab);
    std::vector<int64_t> taps;
    for (int64_t o = 0; o < h * w; ++o) {
      for (int64_t i = 0; i < h * w; ++i) {
        taps.push_back((i / w - o / w + 1) * kept_w + (i % w - o % w + 1));
      }
    }
    p.pair_taps = torch::tensor(taps, torch::kInt64);
    // Every tap's gradient as [tap][in (padded)][out (padded)].
    const int64_t in_padded = blocks(in) * kBlock, out_padded = blocks(out) * kBlock;
    p.gemm_taps = memory::desc(
        {out, in, kept_h, kept_w}, DataType::f32,
        memory::dims{1, out_padded, kept_w * in_padded * out_padded, in_padded * out_padded});
  }

  ConvPrimitives& primitives_for(int64_t n, int64_t h, int64_t w) {
    if (!has_layout) fix_layout(h, w);
    if (h != height || w != width) {
      throw std::invalid_argument("oneDNN training engine: built for " + std::to_string(height) +
                                  "x" + std::to_string(width) + " inputs to " + name + ", got " +
                                  std::to_string(h) + "x" + std::to_string(w));
    }
    auto found = by_batch.find(n);
    if (found != by_batch.end()) return found->second;

    const int64_t out_h = window_output(h, kept_h, stride, run_padding_h);
    const int64_t out_w = window_output(w, kept_w, stride, run_padding_w);
    const memory::dims strides{stride, stride}, padding{run_padding_h, run_padding_w};
    const memory::desc any_weights({out, in, kept_h, kept_w}, DataType::f32, Tag::any);
    const auto direct = dnnl::algorithm::convolution_direct;
    ConvPrimitives p;
    const Tag src_tag = reads_images ? Tag::abcd : kActivationTag;
    p.src = memory::desc({n, in, h, w}, DataType::f32, src_tag);
    p.dst = memory::desc({n, out, out_h, out_w}, DataType::f32, kActivationTag);
    p.forward_src = p.src, p.backward_diff_dst = p.dst;
    p.bias = memory::desc({out}, DataType::f32, Tag::a);
    p.dst_shape = {n, blocks(out), out_h, out_w, kBlock};
    p.padded_dst = out % kBlock != 0;

    dnnl::post_ops relu;
    relu.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr with_relu;
    with_relu.set_post_ops(relu);
    const bool layout_free = cropped || !has_layout;
    const dnnl::convolution_forward::primitive_desc forward(
        {dnnl::prop_kind::forward_training, direct, p.src, layout_free ? any_weights : weights,
         p.bias, p.dst, strides, padding, padding},
        with_relu, cpu_engine());
    p.forward_weights = forward.weights_desc();
    const memory::desc gradient_layout = p.forward_weights;  // float32, as the forward's
    if (!has_layout) {  // the float32 kernel's layout, also under mixed precision
      weights = cropped ? plain_weights : p.forward_weights;
      has_layout = true;
      if (module != nullptr) {
        weight = to_blocked(module->weight);
      } else {
        weight = buffer_for(weights, /*zeroed=*/true);
        parts_attached = attach_parts();
      }
    }
    p.forward = dnnl::convolution_forward(forward);

    if (!reads_images) {
      const dnnl::convolution_backward_data::primitive_desc backward_data(
          {direct, p.src, any_weights, p.dst, strides, padding, padding}, cpu_engine(), forward);
      p.backward_data_weights = backward_data.weights_desc();
      p.backward_data = dnnl::convolution_backward_data(backward_data);
    }
    const auto bf16_forward =
        mixed_precision ? use_bf16(p, strides, padding, with_relu) : std::nullopt;

    const bool gemm_1x1 = kept_h == 1 && kept_w == 1 && h * w <= kGemmMaxPixels;
    const bool gemm_3x3 = kept_h == 3 && kept_w == 3 && h == 2 && w == 2;
    if (!reads_images && stride == 1 && (gemm_1x1 || gemm_3x3)) {
      // Under mixed precision the GEMM reads bf16 copies (float32 product), as oneDNN's
      // bf16 matmul is ~2x faster than its float32 one here; float32 where it has only
      // reference kernels for bf16.
      for (const auto operand : {p.bf16 ? DataType::bf16 : DataType::f32, DataType::f32}) {
        gemm_1x1 ? gemm_1x1_descs(p, n, h, w, operand) : all_pairs_descs(p, n, h, w, operand);
        const auto& a = p.all_pairs ? p.gemm_src : p.gemm_diff_dst_t;
        const auto& b = p.all_pairs ? p.gemm_diff_dst_t : p.gemm_src;
        try {
          const dnnl::matmul::primitive_desc gemm({a, b, p.gemm_gradient}, cpu_engine());
          if (operand == DataType::f32 || !is_reference_kernel(gemm.impl_info_str())) {
            p.gemm_weights = dnnl::matmul(gemm);
            p.gemm_bf16 = operand == DataType::bf16;
            break;
          }
        } catch (const dnnl::error&) {
          if (operand == DataType::f32) throw;
        }
      }
    }

    if (p.gemm_weights) return by_batch.emplace(n, std::move(p)).first->second;

    // Gradients straight into the forward's weight layout (for uncropped layers the
    // parameter's own: SGD then works elementwise), unless only a reference kernel
    // writes it: then the kernel's layout and one reorder. Under mixed precision the
    // kernel reads the bf16 copies (float32 gradient): on stages 1-3 faster than the
    // float32 kernel (64 -> 192 3x3 on 8x8: 3.7 vs 5.7 ms; docs/engines.md).
    using BackwardWeights = dnnl::convolution_backward_weights::primitive_desc;
    auto backward_weights = [&](bool bf16) -> std::optional<BackwardWeights> {
      const memory::desc any_gradient({out, in, kept_h, kept_w}, DataType::f32, Tag::any);
      for (const auto& gradient : {gradient_layout, any_gradient}) {
        try {
          BackwardWeights chosen({direct, bf16 ? p.forward_src : p.src, gradient, p.bias,
                                  bf16 ? p.backward_diff_dst : p.dst, strides, padding, padding},
                                 cpu_engine(), bf16 ? *bf16_forward : forward);
          if (!is_reference_kernel(chosen.impl_info_str())) return chosen;
        } catch (const dnnl::error&) {
        }
      }
      return std::nullopt;
    };
    std::optional<BackwardWeights> chosen;
    if (bf16_forward) chosen = backward_weights(/*bf16=*/true);
    p.weights_bf16 = chosen.has_value();
    if (!chosen) chosen = backward_weights(/*bf16=*/false);
    if (!chosen) {  // reference kernels only: whatever layout they like
      chosen.emplace(dnnl::convolution_backward_weights::desc(direct, p.src, any_weights, p.bias,
                                                              p.dst, strides, padding, padding),
                     cpu_engine(), forward);
    }
    p.backward_weights_gradient = chosen->diff_weights_desc();
    p.reorder_gradient = cropped || p.backward_weights_gradient != weights;
    p.backward_weights = dnnl::convolution_backward_weights(*chosen);
    return by_batch.emplace(n, std::move(p)).first->second;
  }
};

// ConvPrimitives::gemm_weights: writes the weight gradient into `diff_weights` (the
// layer's layout) and returns the bias gradient. `src` and `diff_dst` are the GEMM's
// operands (bf16 copies where p.gemm_bf16); `diff_dst_f32` the float32 gradient.
torch::Tensor gemm_weight_gradient(const ConvLayer& layer, ConvPrimitives& p,
                                   const torch::Tensor& src, const torch::Tensor& diff_dst,
                                   const torch::Tensor& diff_dst_f32, torch::Tensor& diff_weights) {
  auto& stream = cpu_stream();
  torch::Tensor gradient;  // as p.gemm_taps
  if (p.all_pairs) {
    const int64_t pixels = src.size(2) * src.size(3);
    const int64_t in_blocks = src.size(1), out_blocks = diff_dst.size(1);
    auto product = torch::empty({in_blocks * pixels * kBlock, out_blocks * pixels * kBlock});
    p.gemm_weights->execute(stream, {{DNNL_ARG_SRC, wrap(p.gemm_src, src)},
                                     {DNNL_ARG_WEIGHTS, wrap(p.gemm_diff_dst_t, diff_dst)},
                                     {DNNL_ARG_DST, wrap(p.gemm_gradient, product)}});
    stream.wait();
    // Each pair's block (in x out, strided) into its tap: copied by the tap's first
    // pair, added by the others.
    const auto grid = product.view({in_blocks, pixels, kBlock, out_blocks, pixels, kBlock});
    gradient = torch::empty(
        {p.gemm_taps.dims()[2] * p.gemm_taps.dims()[3], in_blocks, kBlock, out_blocks, kBlock});
    std::vector<bool> written(gradient.size(0), false);
    const auto* tap = p.pair_taps.data_ptr<int64_t>();
    for (int64_t o = 0; o < pixels; ++o) {
      for (int64_t i = 0; i < pixels; ++i, ++tap) {
        const auto block = grid.select(4, o).select(1, i);
        if (written[*tap]) {
          gradient[*tap].add_(block);
        } else {
          gradient[*tap].copy_(block);
          written[*tap] = true;
        }
      }
    }
  } else {
    torch::Tensor src_rows = src, diff_dst_rows = diff_dst;
    if (p.plain_src) {
      src_rows = buffer_for(*p.plain_src);
      diff_dst_rows = buffer_for(*p.plain_dst);
      const auto& src_desc = p.gemm_bf16 ? p.forward_src : p.src;
      const auto& diff_dst_desc = p.gemm_bf16 ? p.backward_diff_dst : p.dst;
      auto from_src = wrap(src_desc, src), to_src = wrap(*p.plain_src, src_rows);
      dnnl::reorder(from_src, to_src).execute(stream, from_src, to_src);
      auto from_dst = wrap(diff_dst_desc, diff_dst), to_dst = wrap(*p.plain_dst, diff_dst_rows);
      dnnl::reorder(from_dst, to_dst).execute(stream, from_dst, to_dst);
    }
    gradient = torch::empty({1, layer.out, layer.in});
    p.gemm_weights->execute(stream, {{DNNL_ARG_SRC, wrap(p.gemm_diff_dst_t, diff_dst_rows)},
                                     {DNNL_ARG_WEIGHTS, wrap(p.gemm_src, src_rows)},
                                     {DNNL_ARG_DST, wrap(p.gemm_gradient, gradient)}});
  }
  auto from = wrap(p.gemm_taps, gradient);
  auto to = layer.cropped ? layer.central_taps_of(diff_weights) : wrap(layer.weights, diff_weights);
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  // diff_dst summed over batch and pixels (padded channels dropped).
  return diff_dst_f32.sum({0, 2, 3}).reshape({-1}).narrow(0, 0, layer.out);
}

struct ConvReluOutput {
  // weights and forward_src: as the forward read them (weights: central taps if
  // cropped; both bf16 copies under mixed precision)
  torch::Tensor dst, weights, forward_src;
};

ConvReluOutput conv_relu_forward(ConvLayer& layer, const torch::Tensor& src,
                                 const torch::Tensor& weight, const torch::Tensor& bias) {
  auto& p = layer.primitives_for(src.size(0), src.size(2), src.size(3));
  auto& stream = cpu_stream();
  torch::Tensor weights = weight;
  if (layer.cropped || p.forward_weights != layer.weights) {
    // The central taps, and/or the bf16 copy, in the forward's layout.
    weights = buffer_for(p.forward_weights);
    auto from = layer.cropped ? layer.central_taps_of(weight) : wrap(layer.weights, weight);
    auto target = wrap(p.forward_weights, weights);
    dnnl::reorder(from, target).execute(stream, from, target);
  }
  const auto forward_src = p.bf16 ? src.to(torch::kBFloat16) : src;
  auto dst = p.padded_dst ? torch::zeros(p.dst_shape) : torch::empty(p.dst_shape);
  p.forward.execute(stream, {{DNNL_ARG_SRC, wrap(p.forward_src, forward_src)},
                             {DNNL_ARG_WEIGHTS, wrap(p.forward_weights, weights)},
                             {DNNL_ARG_BIAS, wrap(p.bias, bias)},
                             {DNNL_ARG_DST, wrap(p.dst, dst)}});
  stream.wait();
  return {dst, weights, forward_src};
}

struct ConvReluGradients {
  torch::Tensor src, weights, bias;  // src undefined for the first layer
};

ConvReluGradients conv_relu_backward(ConvLayer& layer, const torch::Tensor& src,
                                     const torch::Tensor& forward_src, const torch::Tensor& dst,
                                     const torch::Tensor& weights, const torch::Tensor& grad) {
  auto& p = layer.primitives_for(src.size(0), src.size(2), src.size(3));
  // ReLU's backward: the gradient passes where the output is positive.
  const auto diff_dst = torch::threshold_backward(grad, dst, 0).contiguous();
  auto& stream = cpu_stream();

  const auto read_diff_dst = p.bf16 ? diff_dst.to(torch::kBFloat16) : diff_dst;
  ConvReluGradients diff;
  if (p.backward_data) {
    diff.src = layer.in % kBlock != 0 ? torch::zeros(src.sizes()) : torch::empty(src.sizes());
    auto weights_read = wrap(p.forward_weights, weights);
    torch::Tensor relaid;
    if (p.backward_data_weights != p.forward_weights) {
      relaid = buffer_for(p.backward_data_weights);
      auto target = wrap(p.backward_data_weights, relaid);
      dnnl::reorder(weights_read, target).execute(stream, weights_read, target);
      weights_read = target;
    }
    p.backward_data->execute(stream,
                             {{DNNL_ARG_DIFF_SRC, wrap(p.src, diff.src)},
                              {DNNL_ARG_WEIGHTS, weights_read},
                              {DNNL_ARG_DIFF_DST, wrap(p.backward_diff_dst, read_diff_dst)}});
  }

  // Zeroed for cropped layers: the outer taps' gradient (they only meet padding).
  diff.weights = buffer_for(layer.weights, /*zeroed=*/layer.cropped);
  if (p.gemm_weights) {
    diff.bias = p.gemm_bf16 ? gemm_weight_gradient(layer, p, forward_src, read_diff_dst, diff_dst,
                                                   diff.weights)
                            : gemm_weight_gradient(layer, p, src, diff_dst, diff_dst, diff.weights);
    return diff;
  }
  diff.bias = torch::empty({layer.out});
  auto gradient = p.reorder_gradient ? buffer_for(p.backward_weights_gradient) : diff.weights;
  p.backward_weights.execute(
      stream, {{DNNL_ARG_SRC, p.weights_bf16 ? wrap(p.forward_src, forward_src) : wrap(p.src, src)},
               {DNNL_ARG_DIFF_DST,
                p.weights_bf16 ? wrap(p.backward_diff_dst, read_diff_dst) : wrap(p.dst, diff_dst)},
               {DNNL_ARG_DIFF_WEIGHTS, wrap(p.backward_weights_gradient, gradient)},
               {DNNL_ARG_DIFF_BIAS, wrap(p.bias, diff.bias)}});
  if (p.reorder_gradient) {
    auto from = wrap(p.backward_weights_gradient, gradient);
    auto to =
        layer.cropped ? layer.central_taps_of(diff.weights) : wrap(layer.weights, diff.weights);
    dnnl::reorder(from, to).execute(stream, from, to);
  }
  stream.wait();
  return diff;
}

// What the autograd nodes below keep from the forward pass, and their backward pass.
void save_for_backward(torch::autograd::AutogradContext* context, ConvLayer* layer,
                       const torch::Tensor& src, const ConvReluOutput& out) {
  context->save_for_backward({src, out.dst, out.forward_src});
  context->saved_data["weights"] = out.weights;
  context->saved_data["layer"] = reinterpret_cast<int64_t>(layer);
}

ConvReluGradients backward_from(torch::autograd::AutogradContext* context,
                                const torch::autograd::variable_list& grads) {
  const auto saved = context->get_saved_variables();
  auto* layer = reinterpret_cast<ConvLayer*>(context->saved_data["layer"].toInt());
  return conv_relu_backward(*layer, saved[0], saved[2], saved[1],
                            context->saved_data["weights"].toTensor(), grads[0]);
}

// relu(conv(x)) as one autograd node: forward and both backward passes on oneDNN.
struct ConvReluFunction : public torch::autograd::Function<ConvReluFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& src,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               ConvLayer* layer) {
    // Named for profiles (bench --profile): autograd records only the backward node.
    RECORD_FUNCTION("onednn::conv_relu_forward", std::vector<c10::IValue>());
    const auto out = conv_relu_forward(*layer, src, weight, bias);
    save_for_backward(context, layer, src, out);
    return out.dst;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list grads) {
    const auto diff = backward_from(context, grads);
    return {diff.src, diff.weights, diff.bias, torch::Tensor()};
  }
};

// A merged layer (ConvLayer::parts) as one autograd node whose inputs are the three
// parts' own weights and biases, so that each gets its own gradient: the merged
// gradient's chunks.
struct MergedConvReluFunction : public torch::autograd::Function<MergedConvReluFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& src,
                               const torch::Tensor& weight1, const torch::Tensor& weight2,
                               const torch::Tensor& weight3, const torch::Tensor& bias1,
                               const torch::Tensor& bias2, const torch::Tensor& bias3,
                               ConvLayer* layer) {
    RECORD_FUNCTION("onednn::conv_relu_forward", std::vector<c10::IValue>());
    const torch::Tensor* part_weights[] = {&weight1, &weight2, &weight3};
    for (size_t k = 0; k < 3; ++k) {  // the forward reads the merged buffer itself
      if (part_weights[k]->data_ptr<float>() !=
          layer->weight.data_ptr<float>() + layer->part_offsets[k]) {
        throw std::logic_error("oneDNN training engine: " + layer->parts[k]->name +
                               ".weight no longer lies in its merged layer's buffer (a "
                               "parameter was replaced instead of updated in place)");
      }
    }
    const auto out =
        conv_relu_forward(*layer, src, layer->weight, torch::cat({bias1, bias2, bias3}));
    save_for_backward(context, layer, src, out);
    return out.dst;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list grads) {
    const auto diff = backward_from(context, grads);
    auto* layer = reinterpret_cast<ConvLayer*>(context->saved_data["layer"].toInt());
    torch::autograd::variable_list result{diff.src};
    for (size_t k = 0; k < 3; ++k) {
      result.push_back(
          diff.weights.narrow(0, layer->part_offsets[k], layer->parts[k]->weight.numel()));
    }
    int64_t first = 0;
    for (const auto* part : layer->parts) {
      result.push_back(diff.bias.narrow(0, first, part->out));
      first += part->out;
    }
    result.push_back(torch::Tensor());
    return result;
  }
};

// Max pooling on a blocked activation: viewed as (N * C/16) x 16 x H x W in
// channels-last order, which LibTorch's pooling reads as is.
torch::Tensor max_pool(const torch::Tensor& x, const PoolSpec& spec) {
  const auto n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  // A 1x1 map pooled to 1x1 (stage 5's): the one window holds the one pixel (padding
  // is at most half the kernel).
  if (h == 1 && w == 1 && window_output(1, spec.kernel, spec.stride, spec.padding) == 1) return x;
  const auto view = x.view({n * c, h, w, kBlock}).permute({0, 3, 1, 2});
  const auto pooled = torch::max_pool2d(view, {spec.kernel, spec.kernel},
                                        {spec.stride, spec.stride}, {spec.padding, spec.padding});
  return pooled.permute({0, 2, 3, 1}).reshape({n, c, pooled.size(2), pooled.size(3), kBlock});
}

// A blocked activation whose channels are all real (no padding) in NCHW.
torch::Tensor to_nchw(const torch::Tensor& x) {
  return x.permute({0, 1, 4, 2, 3}).reshape({x.size(0), x.size(1) * kBlock, x.size(2), x.size(3)});
}

// The first layer whose channels the blocked layout cannot carry, or nullptr:
// torch::cat along the blocks concatenates an Inception block's branches only when each
// is whole blocks, and the aux heads and the global pool read their input unpadded.
const ResolvedLayer* misfit_for_blocks(const std::vector<ResolvedLayer>& layers) {
  for (const auto& layer : layers) {
    const auto& c = layer.spec.inception;
    switch (layer.spec.kind) {
      case LayerKind::kInception:
        if (c.c1 % kBlock || c.c2 % kBlock || c.c3 % kBlock || c.c4 % kBlock) return &layer;
        break;
      case LayerKind::kAuxHead:
      case LayerKind::kGlobalAvgPool:
        if (layer.in_channels % kBlock) return &layer;
        break;
      default:
        break;
    }
  }
  return nullptr;
}

}  // namespace

struct OneDnnTraining::Impl {
  GoogLeNet model{nullptr};
  Network network;  // the model's
  std::vector<std::unique_ptr<ConvLayer>> layers;
  std::unordered_map<std::string, ConvLayer*> by_name;    // "stage3.0.p2_2"
  std::unordered_map<std::string, ConvLayer*> by_weight;  // "stage3.0.p2_2.weight"
  // Each block's p1_1 + p2_1 + p3_1 (ConvLayer::parts), by block ("stage3.0"); a block
  // whose merged layout could not be split is dropped at the first forward.
  std::unordered_map<std::string, std::unique_ptr<ConvLayer>> merged;
  std::shared_ptr<torch::nn::LinearImpl> fc;
  std::vector<std::shared_ptr<AuxHeadImpl>>
      aux_heads;  // in the table's order, if the model has them

  torch::Tensor conv(const std::string& name, const torch::Tensor& x) {
    ConvLayer* layer = by_name.at(name);
    const auto input = x.contiguous();
    layer->primitives_for(input.size(0), input.size(2), input.size(3));  // fixes the layout
    return ConvReluFunction::apply(input, layer->weight, layer->module->bias, layer);
  }

  torch::Tensor inception(const std::string& block, const torch::Tensor& x) {
    auto found = merged.find(block);
    if (found != merged.end()) {
      ConvLayer* layer = found->second.get();
      const auto input = x.contiguous();
      layer->primitives_for(input.size(0), input.size(2), input.size(3));  // fixes the layout
      if (layer->parts_attached) {
        const auto& parts = layer->parts;
        const auto reduced = MergedConvReluFunction::apply(
            input, parts[0]->weight, parts[1]->weight, parts[2]->weight, parts[0]->module->bias,
            parts[1]->module->bias, parts[2]->module->bias, layer);
        // Block-aligned, as attach_parts checked: the last part takes the padding.
        const auto branches = reduced.split_with_sizes(
            {parts[0]->out / kBlock, parts[1]->out / kBlock, blocks(parts[2]->out)}, /*dim=*/1);
        return torch::cat(
            {branches[0], conv(block + ".p2_2", branches[1]), conv(block + ".p3_2", branches[2]),
             conv(block + ".p4_2", max_pool(x, kInceptionPool))},
            /*dim=*/1);
      }
      merged.erase(found);
    }
    return torch::cat({conv(block + ".p1_1", x), conv(block + ".p2_2", conv(block + ".p2_1", x)),
                       conv(block + ".p3_2", conv(block + ".p3_1", x)),
                       conv(block + ".p4_2", max_pool(x, kInceptionPool))},
                      /*dim=*/1);
  }

  // GoogLeNetImpl::forward_all (src/model/googlenet.cpp): the same table, layer by layer.
  GoogLeNetOutput forward_all(const torch::Tensor& images) {
    GoogLeNetOutput out;
    const bool with_aux = model->options().aux_heads && model->is_training();
    torch::Tensor* aux_outputs[] = {&out.aux1, &out.aux2};
    size_t aux = 0;
    torch::Tensor x = images.contiguous();
    for (const LayerSpec& layer : network) {
      switch (layer.kind) {
        case LayerKind::kConv:
          x = conv(layer.name, x);
          break;
        case LayerKind::kMaxPool:
          x = max_pool(x, layer.pool());
          break;
        case LayerKind::kInception:
          x = inception(layer.name, x);
          break;
        case LayerKind::kAuxHead:
          if (with_aux) *aux_outputs[aux] = aux_heads[aux]->forward(to_nchw(x));
          ++aux;
          break;
        case LayerKind::kGlobalAvgPool:
          x = x.mean({2, 3}).reshape({x.size(0), -1});  // N x C
          break;
        case LayerKind::kLinear:
          out.logits = fc->forward(x);
          break;
      }
    }
    return out;
  }
};

OneDnnTraining::OneDnnTraining(GoogLeNet model, const std::vector<int64_t>& input_shape,
                               Precision precision)
    : impl_(std::make_unique<Impl>()) {
  const auto& options = model->options();
  if (options.batch_norm) {
    throw std::invalid_argument(
        "--train-engine onednn trains the model without batch norm; with --bn use "
        "--train-engine libtorch");
  }
  if (input_shape.size() != 4 || input_shape[1] != options.in_channels) {
    throw std::invalid_argument("OneDnnTraining: input shape must be N x " +
                                std::to_string(options.in_channels) + " x H x W");
  }
  for (const auto& parameter : model->parameters()) {
    if (!parameter.device().is_cpu() || parameter.scalar_type() != torch::kFloat32) {
      throw std::invalid_argument(
          "--train-engine onednn trains float32 models on the CPU; use --train-engine libtorch");
    }
  }
  const auto resolved = resolve(
      options.network, {options.in_channels, input_shape[2], input_shape[3], options.num_classes});
  if (const auto* misfit = misfit_for_blocks(resolved)) {
    throw std::invalid_argument("--train-engine onednn: layer '" + misfit->spec.name +
                                "' has channels that are not multiples of " +
                                std::to_string(kBlock) +
                                " (Inception branches, aux-head and pool inputs); use "
                                "--train-engine libtorch");
  }
  impl_->model = model;
  impl_->network = options.network;
  const auto modules = model->named_modules();
  auto module = [&](const std::string& name) {
    const auto* found = modules.find(name);
    if (found == nullptr)
      throw std::logic_error("oneDNN training engine: the model has no " + name);
    return *found;
  };
  for (const auto& resolved_layer : resolved) {
    const LayerSpec& spec = resolved_layer.spec;
    if (spec.kind == LayerKind::kLinear) {
      impl_->fc = std::dynamic_pointer_cast<torch::nn::LinearImpl>(module(spec.name));
    }
    if (spec.kind == LayerKind::kAuxHead && options.aux_heads) {
      impl_->aux_heads.push_back(std::dynamic_pointer_cast<AuxHeadImpl>(module(spec.name)));
    }
    for (const ConvSpec& conv : resolved_layer.convs) {
      auto layer = std::make_unique<ConvLayer>();
      layer->name = conv.name;
      layer->module = module(conv.name)->as<torch::nn::Conv2d>();
      if (layer->module == nullptr) throw std::logic_error(conv.name + " is not a Conv2d");
      layer->out = conv.out;
      layer->in = conv.in;
      layer->kernel_h = layer->kernel_w = conv.kernel;
      layer->stride = conv.stride;
      layer->padding_h = layer->padding_w = conv.padding;
      layer->reads_images = &resolved_layer == &resolved.front();
      layer->mixed_precision = precision == Precision::kBFloat16;
      impl_->by_name[layer->name] = layer.get();
      impl_->by_weight[layer->name + ".weight"] = layer.get();
      impl_->layers.push_back(std::move(layer));
    }
    // The block's 1x1 convolutions that read its input, as one; their outputs are split
    // along whole blocks (ConvLayer::attach_parts).
    const auto& c = spec.inception;
    if (spec.kind == LayerKind::kInception && c.c1 % kBlock == 0 && c.c2_reduce % kBlock == 0) {
      auto layer = std::make_unique<ConvLayer>();
      layer->name = spec.name + ".p1_1+p2_1+p3_1";
      for (const char* branch : {".p1_1", ".p2_1", ".p3_1"}) {
        ConvLayer* part = impl_->by_name.at(spec.name + branch);
        layer->parts.push_back(part);
        layer->out += part->out;
        layer->in = part->in;
      }
      layer->kernel_h = layer->kernel_w = 1;
      layer->mixed_precision = precision == Precision::kBFloat16;
      impl_->merged[spec.name] = std::move(layer);
    }
  }
  // One pass on a batch of the training shape picks every weight layout.
  torch::NoGradGuard no_grad;
  const bool training = model->is_training();
  model->eval();  // no aux heads: their dropout would draw from the generator
  try {
    impl_->forward_all(torch::zeros(input_shape));
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("oneDNN training engine: ") + e.what() +
                             "; use --train-engine libtorch");
  }
  model->train(training);
  for (auto& layer : impl_->layers) layer->weight.requires_grad_(true);
}

GoogLeNetOutput OneDnnTraining::forward_all(const torch::Tensor& images) {
  if (images.dim() != 4 || images.scalar_type() != torch::kFloat32 || !images.device().is_cpu())
    throw std::invalid_argument(
        "OneDnnTraining::forward_all: expects a float32 CPU batch N x C x H x W");
  try {
    return impl_->forward_all(images);
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("oneDNN training engine: ") + e.what() +
                             "; use --train-engine libtorch");
  }
}

torch::OrderedDict<std::string, torch::Tensor> OneDnnTraining::named_parameters() const {
  torch::OrderedDict<std::string, torch::Tensor> parameters;
  for (const auto& item : impl_->model->named_parameters()) {
    auto found = impl_->by_weight.find(item.key());
    parameters.insert(item.key(),
                      found == impl_->by_weight.end() ? item.value() : found->second->weight);
  }
  return parameters;
}

void OneDnnTraining::sync_model() {
  torch::NoGradGuard no_grad;
  for (auto& layer : impl_->layers) layer->module->weight.copy_(layer->to_plain(layer->weight));
}

void OneDnnTraining::load_from_model() {
  torch::NoGradGuard no_grad;
  for (auto& layer : impl_->layers) layer->weight.copy_(layer->to_blocked(layer->module->weight));
}

torch::Tensor OneDnnTraining::to_model_layout(const std::string& name,
                                              const torch::Tensor& tensor) const {
  auto found = impl_->by_weight.find(name);
  return found == impl_->by_weight.end() ? tensor : found->second->to_plain(tensor);
}

torch::Tensor OneDnnTraining::to_engine_layout(const std::string& name,
                                               const torch::Tensor& tensor) const {
  auto found = impl_->by_weight.find(name);
  if (found == impl_->by_weight.end()) return tensor;
  const auto& layer = *found->second;
  if (tensor.sizes() != layer.module->weight.sizes()) {
    throw std::invalid_argument("'" + name + "' has shape " + c10::str(tensor.sizes()) +
                                ", the parameter has " + c10::str(layer.module->weight.sizes()));
  }
  return layer.to_blocked(tensor);
}

#else  // built without oneDNN's headers

bool onednn_training_available() { return false; }

struct OneDnnTraining::Impl {
  GoogLeNet model{nullptr};
};

OneDnnTraining::OneDnnTraining(GoogLeNet, const std::vector<int64_t>&, Precision) {
  throw std::runtime_error(
      "--train-engine onednn: this googlenet was built without oneDNN's headers (Debian: "
      "apt-get install libdnnl-dev, then rebuild); use --train-engine libtorch");
}

GoogLeNetOutput OneDnnTraining::forward_all(const torch::Tensor&) {
  throw std::logic_error("OneDnnTraining without oneDNN");
}
torch::OrderedDict<std::string, torch::Tensor> OneDnnTraining::named_parameters() const {
  throw std::logic_error("OneDnnTraining without oneDNN");
}
void OneDnnTraining::sync_model() {}
void OneDnnTraining::load_from_model() {}
torch::Tensor OneDnnTraining::to_model_layout(const std::string&, const torch::Tensor& t) const {
  return t;
}
torch::Tensor OneDnnTraining::to_engine_layout(const std::string&, const torch::Tensor& t) const {
  return t;
}

#endif

OneDnnTraining::~OneDnnTraining() = default;
OneDnnTraining::OneDnnTraining(OneDnnTraining&&) noexcept = default;
OneDnnTraining& OneDnnTraining::operator=(OneDnnTraining&&) noexcept = default;

std::vector<torch::Tensor> OneDnnTraining::parameters() const {
  return named_parameters().values();
}

GoogLeNet& OneDnnTraining::model() { return impl_->model; }

}  // namespace googlenet
