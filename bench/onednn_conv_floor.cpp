// The floor under a training step on this machine: GoogLeNet's convolutions alone (main
// path, 32-px images), each run on oneDNN with the layouts it prefers and no reorders,
// timed per pass: forward, backward-data, backward-weights. No implementation built on
// these kernels trains faster than batch / (the three passes' sum); README, Speed.
//
//   OMP_NUM_THREADS=2 build/onednn_conv_floor [fp32|bf16] [--fp32-weight-grads]
//                                            [--batch N] [--verbose]
//
// --fp32-weight-grads: a bf16 run's weight gradients in fp32 (mixed precision).
// Built where oneDNN 2.x's headers are installed (Debian: libdnnl-dev).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "googlenet/model.h"

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;
using Args = std::unordered_map<int, memory>;

struct ConvShape {
  int64_t in, out, kernel, stride, padding, size;  // size: the input map's side
};

// The main path's convolutions: the stem, then each Inception block's six.
std::vector<ConvShape> googlenet_convs() {
  std::vector<ConvShape> convs = {
      {3, 64, 7, 2, 3, 32}, {64, 64, 1, 1, 0, 8}, {64, 192, 3, 1, 1, 8}};
  for (size_t block = 0; block < googlenet::kInceptionTable.size(); ++block) {
    const auto& c = googlenet::kInceptionTable[block];
    const int64_t size = block < 2 ? 4 : block < 7 ? 2 : 1;  // stages 3, 4, 5
    convs.push_back({c.in, c.c1, 1, 1, 0, size});
    convs.push_back({c.in, c.c2_reduce, 1, 1, 0, size});
    convs.push_back({c.c2_reduce, c.c2, 3, 1, 1, size});
    convs.push_back({c.in, c.c3_reduce, 1, 1, 0, size});
    convs.push_back({c.c3_reduce, c.c3, 5, 1, 2, size});
    convs.push_back({c.in, c.c4, 1, 1, 0, size});
  }
  return convs;
}

struct Pass {
  dnnl::primitive primitive;
  Args args;
};

struct ConvPasses {
  Pass forward, backward_data, backward_weights;
};

ConvPasses make_passes(const dnnl::engine& engine, const ConvShape& c, int64_t batch, DataType type,
                       DataType weight_grad_type, bool verbose) {
  const int64_t out_size = (c.size + 2 * c.padding - c.kernel) / c.stride + 1;
  const memory::desc src({batch, c.in, c.size, c.size}, type, Tag::any);
  const memory::desc weights({c.out, c.in, c.kernel, c.kernel}, type, Tag::any);
  const memory::desc weight_grads({c.out, c.in, c.kernel, c.kernel}, weight_grad_type, Tag::any);
  const memory::desc bias({c.out}, DataType::f32, Tag::any);
  const memory::desc dst({batch, c.out, out_size, out_size}, type, Tag::any);
  const memory::dims strides{c.stride, c.stride}, padding{c.padding, c.padding};
  const auto direct = dnnl::algorithm::convolution_direct;

  dnnl::convolution_forward::primitive_desc forward({dnnl::prop_kind::forward_training, direct, src,
                                                     weights, bias, dst, strides, padding, padding},
                                                    engine);
  dnnl::convolution_backward_data::primitive_desc backward_data(
      {direct, src, weights, dst, strides, padding, padding}, engine, forward);
  dnnl::convolution_backward_weights::primitive_desc backward_weights(
      {direct, src, weight_grads, bias, dst, strides, padding, padding}, engine, forward);
  if (verbose) {
    std::printf("%4ld -> %4ld, %ldx%ld on %ldx%ld: %s / %s / %s\n", c.in, c.out, c.kernel, c.kernel,
                c.size, c.size, forward.impl_info_str(), backward_data.impl_info_str(),
                backward_weights.impl_info_str());
  }
  auto make = [&](const memory::desc& desc) { return memory(desc, engine); };
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
            {DNNL_ARG_DIFF_DST, make(backward_weights.diff_dst_desc())}}}};
}

}  // namespace

int main(int argc, char** argv) {
  DataType type = DataType::f32, weight_grad_type = DataType::f32;
  bool fp32_weight_grads = false, verbose = false;
  int64_t batch = 128;
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
    } else if (arg == "--batch" && i + 1 < argc) {
      batch = std::atoll(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [fp32|bf16] [--fp32-weight-grads] [--batch N] [--verbose]\n",
                   argv[0]);
      return 2;
    }
  }
  weight_grad_type = fp32_weight_grads ? DataType::f32 : type;

  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::vector<ConvPasses> convs;
  for (const auto& shape : googlenet_convs())
    convs.push_back(make_passes(engine, shape, batch, type, weight_grad_type, verbose));

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
    for (int i = 0; i < 3; ++i) run();  // warm-up: JIT, caches, page faults
    constexpr int kIterations = 10;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kIterations; ++i) run();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count() /
        kIterations;
    total_ms += ms;
    std::printf("%-17s %7.1f ms per step\n", names[pass], ms);
  }
  std::printf(
      "%s convolutions, batch %ld: %.1f ms per step -> at most %.0f img/s\n",
      type == DataType::bf16 ? (fp32_weight_grads ? "bf16 (fp32 weight grads)" : "bf16") : "fp32",
      batch, total_ms, batch * 1000 / total_ms);
  return 0;
}
