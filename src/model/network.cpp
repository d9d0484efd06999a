// GoogLeNet's table of layers, its resolution into shapes, and the small-map kernel
// cropping.
#include "googlenet/model/network.h"

#include <set>
#include <stdexcept>

namespace googlenet {

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

LayerSpec conv(const std::string& name, int64_t out, int64_t kernel, int64_t stride = 1,
               int64_t padding = 0) {
  return {LayerKind::kConv, name, out, kernel, stride, padding};
}

LayerSpec max_pool(const std::string& name, int64_t stride) {
  return {LayerKind::kMaxPool, name, 0, 3, stride, 1};
}

LayerSpec inception(const std::string& name, const InceptionConfig& config) {
  return {LayerKind::kInception, name, 0, 1, 1, 0, config};
}

bool is_flat(LayerKind kind) {
  return kind == LayerKind::kGlobalAvgPool || kind == LayerKind::kLinear ||
         kind == LayerKind::kAuxHead;
}

}  // namespace

const Network& googlenet_network() {
  // The paper's 224-px stem applied unchanged to 32-px CIFAR images, as in the
  // reference: the maps shrink 32 -> 16 -> 8 -> 4 -> 2 -> 1 over the five stages (the
  // paper's 224 -> 56 -> 28 -> 14 -> 7). The paper's LRN layers are omitted, as in the
  // reference. The names are the reference's nn.Sequential indices (stage2.1 and
  // stage2.3 were its ReLUs); shapes are those of a 32-px batch.
  static const Network network = {
      conv("stage1.0", 64, 7, 2, 3),              // N x 64 x 16 x 16
      max_pool("stage1.2", 2),                    // N x 64 x 8 x 8
      conv("stage2.0", 64, 1),                    // N x 64 x 8 x 8
      conv("stage2.2", 192, 3, 1, 1),             // N x 192 x 8 x 8
      max_pool("stage2.4", 2),                    // N x 192 x 4 x 4
      inception("stage3.0", kInceptionTable[0]),  // N x 256 x 4 x 4 (3a)
      inception("stage3.1", kInceptionTable[1]),  // N x 480 x 4 x 4 (3b)
      max_pool("stage3.2", 2),                    // N x 480 x 2 x 2
      inception("stage4.0", kInceptionTable[2]),  // N x 512 x 2 x 2 (4a)
      {LayerKind::kAuxHead, "aux1"},              // N x num_classes, from 4a
      inception("stage4.1", kInceptionTable[3]),  // N x 512 x 2 x 2 (4b)
      inception("stage4.2", kInceptionTable[4]),  // N x 512 x 2 x 2 (4c)
      inception("stage4.3", kInceptionTable[5]),  // N x 528 x 2 x 2 (4d)
      {LayerKind::kAuxHead, "aux2"},              // N x num_classes, from 4d
      inception("stage4.4", kInceptionTable[6]),  // N x 832 x 2 x 2 (4e)
      max_pool("stage4.5", 2),                    // N x 832 x 1 x 1
      inception("stage5.0", kInceptionTable[7]),  // N x 832 x 1 x 1 (5a)
      inception("stage5.1", kInceptionTable[8]),  // N x 1024 x 1 x 1 (5b)
      {LayerKind::kGlobalAvgPool, "stage5.2"},    // N x 1024
      {LayerKind::kLinear, "fc"},                 // N x num_classes
  };
  return network;
}

std::array<ConvSpec, 6> inception_convs(const InceptionConfig& c) {
  return {{{"p1_1", c.in, c.c1, 1, 1, 0},
           {"p2_1", c.in, c.c2_reduce, 1, 1, 0},
           {"p2_2", c.c2_reduce, c.c2, 3, 1, 1},
           {"p3_1", c.in, c.c3_reduce, 1, 1, 0},
           {"p3_2", c.c3_reduce, c.c3, 5, 1, 2},
           {"p4_2", c.in, c.c4, 1, 1, 0}}};
}

std::vector<int64_t> ResolvedLayer::output_shape() const {
  if (is_flat(spec.kind)) return {out_channels};
  return {out_channels, out_height, out_width};
}

std::vector<ResolvedLayer> resolve(const Network& network, const NetworkInput& input) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("network: " + what); };
  if (input.channels <= 0 || input.num_classes <= 0 || input.height < 0 || input.width < 0) {
    fail("input channels and classes must be positive");
  }
  if (network.empty() || network.front().kind != LayerKind::kConv) {
    fail("the first layer must be a convolution (it reads the images)");
  }
  const size_t size = network.size();
  int64_t channels = input.channels;
  int64_t height = input.height > 0 && input.width > 0 ? input.height : 0;
  int64_t width = height > 0 ? input.width : 0;
  std::set<std::string> names;
  int aux_heads = 0;
  std::vector<ResolvedLayer> layers;
  for (size_t i = 0; i < size; ++i) {
    const LayerSpec& spec = network[i];
    const std::string where = "layer '" + spec.name + "': ";
    if (spec.name.empty() || !names.insert(spec.name).second) {
      fail(where + "every layer needs a name of its own");
    }
    if ((spec.kind == LayerKind::kGlobalAvgPool) != (i + 2 == size) ||
        (spec.kind == LayerKind::kLinear) != (i + 1 == size)) {
      fail(where + "the global average pool and the classifier must be the last two layers");
    }
    ResolvedLayer layer{spec, channels, height, width};
    // Output side of a kernel x kernel window sliding over `side` (0: unknown).
    auto slide = [&](int64_t side) -> int64_t {
      if (side == 0) return 0;
      const int64_t span = side + 2 * spec.padding - spec.kernel;
      if (span < 0) {
        fail(where + "its " + std::to_string(spec.kernel) + "x" + std::to_string(spec.kernel) +
             " window is larger than the padded " + std::to_string(height) + "x" +
             std::to_string(width) + " map");
      }
      return window_output(side, spec.kernel, spec.stride, spec.padding);
    };
    switch (spec.kind) {
      case LayerKind::kConv:
      case LayerKind::kMaxPool:
        if (spec.kernel <= 0 || spec.stride <= 0 || spec.padding < 0 ||
            (spec.kind == LayerKind::kConv ? spec.out_channels <= 0
                                           : spec.padding > spec.kernel / 2)) {
          fail(where +
               "needs positive channels, kernel and stride (a pool, padding at most "
               "half its kernel)");
        }
        layer.out_channels = spec.kind == LayerKind::kConv ? spec.out_channels : channels;
        layer.out_height = slide(height);
        layer.out_width = slide(width);
        if (spec.kind == LayerKind::kConv) {
          layer.convs.push_back(
              {spec.name, channels, spec.out_channels, spec.kernel, spec.stride, spec.padding});
        }
        break;
      case LayerKind::kInception: {
        const InceptionConfig& c = spec.inception;
        if (c.in != channels) {
          fail(where + "an Inception block with in = " + std::to_string(c.in) +
               " follows a layer giving " + std::to_string(channels) + " channels");
        }
        for (auto conv : inception_convs(c)) {
          if (conv.out <= 0) fail(where + "every branch width must be positive");
          conv.name = spec.name + "." + conv.name;
          layer.convs.push_back(conv);
        }
        layer.out_channels = c.out_channels();
        layer.out_height = height, layer.out_width = width;  // every branch keeps the map
        break;
      }
      case LayerKind::kAuxHead:
        ++aux_heads;
        layer.out_channels = input.num_classes;
        break;
      case LayerKind::kGlobalAvgPool:
        layer.out_channels = channels;
        break;
      case LayerKind::kLinear:
        layer.out_channels = input.num_classes;
        break;
    }
    if (spec.kind != LayerKind::kAuxHead) {
      channels = layer.out_channels, height = layer.out_height, width = layer.out_width;
    }
    layers.push_back(std::move(layer));
  }
  if (aux_heads != 0 && aux_heads != 2) {
    fail("has " + std::to_string(aux_heads) + " aux heads; GoogLeNet has none or two");
  }
  return layers;
}

CentralTaps central_taps(int64_t kernel, int64_t padding, int64_t stride, int64_t map_size) {
  const bool same = stride == 1 && kernel % 2 == 1 && padding == kernel / 2;
  const int64_t reachable = 2 * map_size - 1;  // taps that meet an input row
  if (!same || reachable >= kernel) return {kernel, 0, padding};
  return {reachable, (kernel - reachable) / 2, reachable / 2};
}

}  // namespace googlenet
