// The floor under a training step on this machine: GoogLeNet's convolutions alone (main
// path, 32-px images), each run on oneDNN with the layouts it prefers and no reorders,
// timed per pass: forward, backward-data, backward-weights. No implementation built on
// these kernels trains faster than batch / (the three passes' sum); docs/engines.md.
//
//   OMP_NUM_THREADS=2 build/onednn_conv_floor [fp32|bf16] [--fp32-weight-grads]
//                                            [--batch N] [--verbose] [--per-layer]
//                                            [--activations any|blocked|nhwc]
//
// --per-layer: each convolution's three passes timed on their own, one line per layer.
// --fp32-weight-grads: a bf16 run's weight gradients in fp32 (mixed precision).
// --activations: the activations' layout: each primitive's choice (any, the default),
// oneDNN's channel-blocked nChw16c (the fp32 training engine's), or channels-last (the
// one oneDNN 2.6's AMX bf16 kernels take).
// Built where oneDNN 2.x's headers are installed (Debian: libdnnl-dev).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "googlenet/model/network.h"

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;
using Args = std::unordered_map<int, memory>;

struct ConvShape {
  int64_t in, out, kernel, stride, padding, size;  // size: the input map's side
};

// The main path's convolutions, in order, on the maps of a 32-px image.
std::vector<ConvShape> googlenet_convs() {
  std::vector<ConvShape> convs;
  for (const auto& layer : googlenet::resolve(googlenet::googlenet_network(), {3, 32, 32, 10})) {
    for (const auto& c : layer.convs) {
      // An Inception block's convs all run on its input's map size.
      convs.push_back({c.in, c.out, c.kernel, c.stride, c.padding, layer.in_height});
    }
  }
  return convs;
}

struct Pass {
  dnnl::primitive primitive;
  Args args;
};

struct ConvPasses {
  Pass forward, backward_data, backward_weights;
  // 1x1 kernels (or 1x1 maps): the weight gradient as one GEMM on channels-last copies.
  std::vector<Pass> gemm_weights;
  memory gemm_taps;  // owns the buffer the GEMMs' results point into
};

ConvPasses make_passes(const dnnl::engine& engine, const ConvShape& c, int64_t batch, DataType type,
                       DataType weight_grad_type, Tag activations, bool verbose) {
  const int64_t out_size = googlenet::window_output(c.size, c.kernel, c.stride, c.padding);
  // With `blocked`, the stem reads plain NCHW images, as in the training engine.
  const Tag src_tag = c.in == 3 && activations == Tag::nChw16c ? Tag::nchw : activations;
  const memory::desc src({batch, c.in, c.size, c.size}, type, src_tag);
  const memory::desc weights({c.out, c.in, c.kernel, c.kernel}, type, Tag::any);
  const memory::desc weight_grads({c.out, c.in, c.kernel, c.kernel}, weight_grad_type, Tag::any);
  const memory::desc bias({c.out}, DataType::f32, Tag::any);
  const memory::desc dst({batch, c.out, out_size, out_size}, type, activations);
  const memory::dims strides{c.stride, c.stride}, padding{c.padding, c.padding};
  const auto direct = dnnl::algorithm::convolution_direct;

  dnnl::convolution_forward::primitive_desc forward({dnnl::prop_kind::forward_training, direct, src,
                                                     weights, bias, dst, strides, padding, padding},
                                                    engine);
  dnnl::convolution_backward_data::primitive_desc backward_data(
      {direct, src, weights, dst, strides, padding, padding}, engine, forward);
  dnnl::convolution_backward_weights::primitive_desc backward_weights(
      {direct, src, weight_grads, bias, dst, strides, padding, padding}, engine, forward);
  // Forced layouts can leave a layer only oneDNN's reference kernels (e.g. the 5x5
  // branches on 2x2 and 1x1 maps in nChw16c, which the engine crops to 3x3 and 1x1):
  // say so, or the totals look like the library's speed.
  for (const char* kernel :
       {forward.impl_info_str(), backward_data.impl_info_str(), backward_weights.impl_info_str()}) {
    if (std::string(kernel).rfind("ref", 0) == 0) {
      std::fprintf(stderr, "note: %ld -> %ld, %ldx%ld on %ldx%ld runs a reference kernel (%s)\n",
                   c.in, c.out, c.kernel, c.kernel, c.size, c.size, kernel);
      break;
    }
  }
  if (verbose) {
    std::printf("%4ld -> %4ld, %ldx%ld on %ldx%ld: %s / %s / %s\n", c.in, c.out, c.kernel, c.kernel,
                c.size, c.size, forward.impl_info_str(), backward_data.impl_info_str(),
                backward_weights.impl_info_str());
  }
  auto make = [&](const memory::desc& desc) { return memory(desc, engine); };
  std::vector<Pass> gemm;
  memory gemm_taps;
  // The engine's GEMM weight gradients (src/engine/onednn_training.cpp): one GEMM for 1x1
  // kernels (or 1x1 maps, where only the central tap meets data), 16 accumulated
  // per-pixel-pair GEMMs for 3x3 kernels on 2x2 maps; channels-last copies first.
  const bool one_tap = c.kernel == 1 || c.size == 1, pixel_pairs = c.kernel == 3 && c.size == 2;
  if (one_tap || pixel_pairs) {
    auto src_blocked = make(backward_weights.src_desc());
    auto dst_blocked = make(backward_weights.diff_dst_desc());
    auto src_plain = make(memory::desc({batch, c.in, c.size, c.size}, type, Tag::nhwc));
    auto dst_plain = make(memory::desc({batch, c.out, out_size, out_size}, type, Tag::nhwc));
    gemm.push_back({dnnl::reorder(src_blocked, src_plain),
                    {{DNNL_ARG_FROM, src_blocked}, {DNNL_ARG_TO, src_plain}}});
    gemm.push_back({dnnl::reorder(dst_blocked, dst_plain),
                    {{DNNL_ARG_FROM, dst_blocked}, {DNNL_ARG_TO, dst_plain}}});
    const int64_t pixels = c.size * c.size;
    const int64_t k = pixel_pairs ? batch : batch * pixels;
    const int64_t src_row = pixel_pairs ? c.in * pixels : c.in;
    const int64_t dst_row = pixel_pairs ? c.out * pixels : c.out;
    const memory::desc a({c.out, k}, type, memory::dims{1, dst_row});
    const memory::desc b({k, c.in}, type, memory::dims{src_row, 1});
    const memory::desc result({c.out, c.in}, weight_grad_type, Tag::ab);
    dnnl::primitive_attr attributes;
    if (pixel_pairs) {
      dnnl::post_ops add;
      add.append_sum(1.f);
      attributes.set_post_ops(add);
    }
    dnnl::matmul::primitive_desc matmul({a, b, result}, attributes, engine);
    if (verbose) std::printf("    gemm: %s\n", matmul.impl_info_str());
    const size_t element = memory::data_type_size(type);
    auto at = [&](const memory& m, int64_t elements) {
      return static_cast<char*>(m.get_data_handle()) + elements * element;
    };
    auto taps = make(memory::desc({pixel_pairs ? 9 : 1, c.out, c.in}, weight_grad_type, Tag::abc));
    gemm_taps = taps;
    const size_t tap_bytes = c.out * c.in * memory::data_type_size(weight_grad_type);
    for (int64_t o = 0; o < (pixel_pairs ? pixels : 1); ++o) {
      for (int64_t i = 0; i < (pixel_pairs ? pixels : 1); ++i) {
        const int64_t tap = pixel_pairs ? (i / 2 - o / 2 + 1) * 3 + (i % 2 - o % 2 + 1) : 0;
        gemm.push_back({dnnl::matmul(matmul),
                        {{DNNL_ARG_SRC, memory(a, engine, at(dst_plain, o * c.out))},
                         {DNNL_ARG_WEIGHTS, memory(b, engine, at(src_plain, i * c.in))},
                         {DNNL_ARG_DST,
                          memory(result, engine,
                                 static_cast<char*>(taps.get_data_handle()) + tap * tap_bytes)}}});
      }
    }
  }
  return {{dnnl::convolution_forward(forward),
           {{DNNL_ARG_SRC, make(forward.src_desc())},
            {DNNL_ARG_WEIGHTS, make(forward.weights_desc())},
            {DNNL_ARG_BIAS, make(forward.bias_desc())},
            {DNNL_ARG_DST, make(forward.dst_desc())}}},
          {dnnl::convolution_backward_data(backward_data),
           {{DNNL_ARG_DIFF_SRC, make(backward_data.diff_src_desc())},
            {DNNL_ARG_WEIGHTS, make(backward_data.weights_desc())},
            {DNNL_ARG_DIFF_DST, make(backward_data.diff_dst_desc())}}},
          {dnnl::convolution_backward_weights(backward_weights),
           {{DNNL_ARG_SRC, make(backward_weights.src_desc())},
            {DNNL_ARG_DIFF_WEIGHTS, make(backward_weights.diff_weights_desc())},
            {DNNL_ARG_DIFF_BIAS, make(backward_weights.diff_bias_desc())},
            {DNNL_ARG_DIFF_DST, make(backward_weights.diff_dst_desc())}}},
          std::move(gemm),
          gemm_taps};
}

}  // namespace

int main(int argc, char** argv) {
  DataType type = DataType::f32, weight_grad_type = DataType::f32;
  bool fp32_weight_grads = false, verbose = false, per_layer = false;
  int64_t batch = 128;
  Tag activations = Tag::any;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "bf16") {
      type = DataType::bf16;
    } else if (arg == "fp32") {
      type = DataType::f32;
    } else if (arg == "--fp32-weight-grads") {
      fp32_weight_grads = true;
    } else if (arg == "--verbose") {
      verbose = true;
    } else if (arg == "--per-layer") {
      per_layer = true;
    } else if (arg == "--activations" && i + 1 < argc) {
      const std::string layout = argv[++i];
      activations = layout == "nhwc" ? Tag::nhwc : layout == "blocked" ? Tag::nChw16c : Tag::any;
      if (layout != "nhwc" && layout != "blocked" && layout != "any") {
        std::fprintf(stderr, "--activations must be any, blocked or nhwc, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (arg == "--batch" && i + 1 < argc) {
      batch = std::atoll(argv[++i]);
    } else {
      std::fprintf(
          stderr,
          "usage: %s [fp32|bf16] [--fp32-weight-grads] [--batch N] [--verbose] [--per-layer] "
          "[--activations any|blocked|nhwc]\n",
          argv[0]);
      return 2;
    }
  }
  weight_grad_type = fp32_weight_grads ? DataType::f32 : type;

  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::vector<ConvPasses> convs;
  for (const auto& shape : googlenet_convs())
    convs.push_back(
        make_passes(engine, shape, batch, type, weight_grad_type, activations, verbose));

  constexpr int kIterations = 10;
  // Mean ms of `iterations` runs of `run` after 3 untimed ones (JIT, caches, page faults).
  auto time_ms = [&](auto&& run, int iterations) {
    for (int i = 0; i < 3; ++i) run();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) run();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
               .count() /
           iterations;
  };
  if (per_layer) {
    const auto shapes = googlenet_convs();
    std::printf("layer                         forward  bwd-data  bwd-weights  gemm (ms)\n");
    for (size_t i = 0; i < convs.size(); ++i) {
      double ms[3];
      for (int pass = 0; pass < 3; ++pass) {
        Pass& p = pass == 0   ? convs[i].forward
                  : pass == 1 ? convs[i].backward_data
                              : convs[i].backward_weights;
        ms[pass] = time_ms(
            [&] {
              p.primitive.execute(stream, p.args);
              stream.wait();
            },
            kIterations);
      }
      double gemm_ms = 0;
      if (!convs[i].gemm_weights.empty()) {
        gemm_ms = time_ms(
            [&] {
              for (auto& p : convs[i].gemm_weights) p.primitive.execute(stream, p.args);
              stream.wait();
            },
            kIterations);
      }
      const auto& c = shapes[i];
      std::printf("%4ld -> %4ld, %ldx%ld on %2ldx%-2ld   %8.3f  %8.3f  %8.3f  %8.3f\n", c.in, c.out,
                  c.kernel, c.kernel, c.size, c.size, ms[0], ms[1], ms[2], gemm_ms);
    }
  }

  const char* names[] = {"forward", "backward-data", "backward-weights"};
  double total_ms = 0;
  for (int pass = 0; pass < 3; ++pass) {
    auto run = [&] {
      for (auto& conv : convs) {
        Pass& p = pass == 0 ? conv.forward : pass == 1 ? conv.backward_data : conv.backward_weights;
        p.primitive.execute(stream, p.args);
      }
      stream.wait();
    };
    const double ms = time_ms(run, kIterations);
    total_ms += ms;
    std::printf("%-17s %7.1f ms per step\n", names[pass], ms);
  }
  std::printf(
      "%s convolutions, batch %ld: %.1f ms per step -> at most %.0f img/s\n",
      type == DataType::bf16 ? (fp32_weight_grads ? "bf16 (fp32 weight grads)" : "bf16") : "fp32",
      batch, total_ms, batch * 1000 / total_ms);
  return 0;
}
