// GoogLeNet's topology as data: one table of layers, in order, that every back-end
// walks (the LibTorch model, both oneDNN engines, the benchmarks), like Caffe's
// prototxt. resolve() turns it into channel counts and map sizes for one input,
// validating it; central_taps() is the small-map kernel cropping both oneDNN engines do.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace googlenet {

// Inception(in, c1, (c2r, c2), (c3r, c3), c4) of the reference: input channels, then
// #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
struct InceptionConfig {
  int64_t in, c1, c2_reduce, c2, c3_reduce, c3, c4;
  int64_t out_channels() const { return c1 + c2 + c3 + c4; }
};

// The nine blocks 3a..5b, in order: Szegedy et al., "Going deeper with convolutions"
// (2014), Table 1.
extern const std::array<InceptionConfig, 9> kInceptionTable;

// A max pool's window (square).
struct PoolSpec {
  int64_t kernel, stride, padding;
};

// An Inception block's fourth branch pools before its 1x1 projection.
inline constexpr PoolSpec kInceptionPool{3, 1, 1};

enum class LayerKind {
  kConv,           // Conv2d (+ BatchNorm2d) + ReLU
  kMaxPool,        // MaxPool2d
  kInception,      // an Inception block: six convs, a max pool, a concat
  kAuxHead,        // an auxiliary classifier reading the map here; the main path goes on
  kGlobalAvgPool,  // average over the map, flattened to features
  kLinear,         // the classifier: features -> num_classes logits
};

// One row of the table. `name` is the state_dict prefix of the layer's parameters
// (e.g. "stage3.0"), or just its name where it has none (pools).
struct LayerSpec {
  LayerKind kind;
  std::string name;
  int64_t out_channels = 0;                     // kConv
  int64_t kernel = 1, stride = 1, padding = 0;  // kConv, kMaxPool
  InceptionConfig inception{};                  // kInception

  PoolSpec pool() const { return {kernel, stride, padding}; }
};

using Network = std::vector<LayerSpec>;

// GoogLeNet as the reference builds it for CIFAR-10.
const Network& googlenet_network();

// What one convolution is: enough to build it, or its primitives.
struct ConvSpec {
  std::string name;  // state_dict prefix, e.g. "stage3.0.p2_2"
  int64_t in, out, kernel, stride, padding;
};

// An Inception block's six convolutions in registration order (p1_1, p2_1, p2_2,
// p3_1, p3_2, p4_2), named within the block: p1_1 | p2_1 -> p2_2 (3x3) | p3_1 -> p3_2
// (5x5, as in the paper and the reference; torchvision uses 3x3) | pool -> p4_2.
std::array<ConvSpec, 6> inception_convs(const InceptionConfig& config);

// The network's input: images of `channels` x `height` x `width`; height and width 0
// when unknown (only channels are resolved then, every map size is 0).
struct NetworkInput {
  int64_t channels = 3;
  int64_t height = 0, width = 0;
  int64_t num_classes = 10;
};

// One row of the table with its input and output for a given NetworkInput.
struct ResolvedLayer {
  LayerSpec spec;
  int64_t in_channels = 0, in_height = 0, in_width = 0;
  // Channels and map of the output; features (height and width 0) for kGlobalAvgPool,
  // kLinear and kAuxHead. An aux head's output is its logits; the next layer reads
  // the aux head's input.
  int64_t out_channels = 0, out_height = 0, out_width = 0;
  // kConv: the conv itself; kInception: its six, under full names; others: none (an
  // aux head's layers are its own, LibTorch's).
  std::vector<ConvSpec> convs;

  // Per image: C x H x W, or the features (as `googlenet summary` prints it).
  std::vector<int64_t> output_shape() const;
};

// The table resolved for `input`. Throws std::invalid_argument naming the layer when
// the table is not a network: an Inception block's `in` is not the incoming channel
// count, a window is larger than its padded map, names repeat, it does not start with
// a convolution (reading the images) and end with kGlobalAvgPool then kLinear, or it
// has aux heads other than none or two (GoogLeNetOutput's aux1, aux2).
std::vector<ResolvedLayer> resolve(const Network& network, const NetworkInput& input);

// Output side of a `kernel`-wide window sliding with `stride` over `side` pixels padded
// by `padding` on each end, as convolutions and pools count it (the window must fit).
inline int64_t window_output(int64_t side, int64_t kernel, int64_t stride, int64_t padding) {
  return (side + 2 * padding - kernel) / stride + 1;
}

// A stride-1 "same" convolution (odd kernel, padding kernel / 2) on a map smaller than
// its kernel reads zeros through the outer taps: on a map of `map_size` rows only the
// central 2 * map_size - 1 rows of taps ever meet an input row (columns likewise).
// Running those taps alone, with the padding cut to match, gives the same output with
// fewer FLOPs, and keeps oneDNN on its optimised kernels, which refuse padding wider
// than the map (GoogLeNet's 5x5 and 3x3 branches on the 2x2 and 1x1 maps of stages
// 4-5 of a 32-px image). One dimension; other convolutions keep every tap.
struct CentralTaps {
  int64_t kept;     // taps run: kernel, or fewer
  int64_t first;    // index of the first kept tap
  int64_t padding;  // the padding to run them with
};
CentralTaps central_taps(int64_t kernel, int64_t padding, int64_t stride, int64_t map_size);

}  // namespace googlenet
