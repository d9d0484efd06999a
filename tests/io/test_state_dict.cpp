// state_dicts against the PyTorch reference: names and shapes, the reference's own
// weights giving its logits on real test images, and strict loading's messages.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "googlenet/io/state_dict.h"
#include "googlenet/model/googlenet.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::Contains;
using testing::fixture;
using testing::TempDir;

// "name d0 d1 ..." lines of a names fixture; `total` gets the "# parameters N" line.
std::vector<std::pair<std::string, std::vector<int64_t>>> read_names(const std::string& file,
                                                                     int64_t* total = nullptr) {
  std::ifstream in(fixture(file));
  std::vector<std::pair<std::string, std::vector<int64_t>>> names;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    if (name == "#") {
      std::string key;
      if (fields >> key && key == "parameters" && total != nullptr) fields >> *total;
      continue;
    }
    std::vector<int64_t> shape;
    for (int64_t d; fields >> d;) shape.push_back(d);
    names.emplace_back(name, shape);
  }
  return names;
}

// State with every tensor filled from the names fixture (zeros of its shapes).
StateDict state_from_names(const std::string& file) {
  StateDict state;
  for (const auto& [name, shape] : read_names(file)) state.emplace_back(name, torch::zeros(shape));
  return state;
}

ModelOptions options(bool aux_heads, bool batch_norm) {
  ModelOptions o;
  o.aux_heads = aux_heads;
  o.batch_norm = batch_norm;
  return o;
}

std::string load_error(torch::nn::Module& module, const StateDict& state) {
  try {
    load_state_dict(module, state, "w.pt");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(StateDict, NamesAndShapesAreTheReferences) {
  int64_t total = 0;
  const auto reference = read_names("reference_names.txt", &total);
  GoogLeNet model;
  const StateDict ours = state_dict(*model);
  ASSERT_EQ(ours.size(), reference.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i].first, reference[i].first);
    EXPECT_EQ(ours[i].second.sizes(), torch::IntArrayRef(reference[i].second)) << ours[i].first;
  }
  EXPECT_EQ(count_parameters(*model), total);
}

TEST(StateDict, ReferenceWeightsGiveTheReferenceLogits) {
  GoogLeNet model;
  load_state_dict(*model, read_state_dict(fixture("reference_weights.pt")), "reference_weights.pt");
  const SavedValue golden = torch_load(fixture("golden_logits.pt"));
  const torch::Tensor indices = golden.at("indices").as_tensor();
  ASSERT_EQ(indices.numel(), 8);

  // The first 8 records of the real test set: label byte + R, G, B planes.
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  std::ifstream in(testing::cifar_bin_dir() / "test_batch.bin", std::ios::binary);
  std::vector<char> bytes(8 * kRecord);
  ASSERT_TRUE(in.read(bytes.data(), bytes.size())) << testing::cifar_bin_dir();
  auto records = torch::from_blob(bytes.data(), {8, kRecord}, torch::kUInt8);
  auto x = records.slice(1, 1).reshape({8, 3, 32, 32}).to(torch::kFloat) / 255;
  x = (x - torch::tensor({0.4914, 0.4822, 0.4465}).view({1, 3, 1, 1})) /
      torch::tensor({0.2023, 0.1994, 0.2010}).view({1, 3, 1, 1});
  x = x.index_select(0, indices);

  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = model->forward(x);
  const torch::Tensor expected = golden.at("logits").as_tensor();
  ASSERT_EQ(logits.sizes(), expected.sizes());
  EXPECT_LT((logits - expected).abs().max().item<float>(), 1e-4);
}

TEST(StateDict, PythonBatchNormBuffersLoad) {
  torch::nn::Sequential net(torch::nn::Conv2d(3, 4, 3), torch::nn::BatchNorm2d(4));
  load_state_dict(*net, read_state_dict(fixture("python_bn_state.pt")), "python_bn_state.pt");
  const StateDict state = state_dict(*net);
  EXPECT_EQ(state.back().first, "1.num_batches_tracked");
  EXPECT_EQ(state.back().second.scalar_type(), torch::kLong);
  EXPECT_EQ(state.back().second.item<int64_t>(), 1);
  EXPECT_FALSE(torch::equal(state[4].second, torch::zeros(4)));  // 1.running_mean moved
}

TEST(StateDict, WriteReadRoundTripWithCheckpointLayout) {
  TempDir dir;
  GoogLeNet model(options(/*aux_heads=*/true, /*batch_norm=*/true));
  const StateDict original = state_dict(*model);
  write_state_dict(dir / "w.pt", original);
  torch_save(dir / "ckpt.pt", SavedValue(SavedValue::Dict{{"model", original}, {"epoch", 3}}));
  for (const char* file : {"w.pt", "ckpt.pt"}) {
    const StateDict back = read_state_dict(dir / file);
    ASSERT_EQ(back.size(), original.size());
    for (size_t i = 0; i < back.size(); ++i) {
      EXPECT_EQ(back[i].first, original[i].first);
      EXPECT_TRUE(torch::equal(back[i].second, original[i].second)) << back[i].first;
    }
    GoogLeNet other(options(/*aux_heads=*/true, /*batch_norm=*/true));
    load_state_dict(*other, back, file);
  }
  try {
    read_state_dict(fixture("python_mixed.pt"));
    ADD_FAILURE() << "python_mixed.pt is no state_dict";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), "python_mixed.pt: not a state_dict: entry 'int' holds a int"));
  }
}

TEST(StateDict, StrictLoadReportsEveryProblemAtOnce) {
  GoogLeNet model;
  StateDict state = read_state_dict(fixture("reference_weights.pt"));
  state.erase(state.begin() + 1);             // stage1.0.bias
  state.back().second = torch::zeros({100});  // fc.bias
  state.emplace_back("extra.weight", torch::zeros({2, 3}));
  const torch::Tensor before = state_dict(*model).front().second.clone();
  const std::string msg = load_error(*model, state);
  EXPECT_TRUE(Contains(msg,
                       "w.pt: state_dict does not match the model (1 missing, 1 unexpected, "
                       "1 wrong shape/type):"));
  EXPECT_TRUE(Contains(msg, "missing in the file (1):\n    stage1.0.bias [64] Float"));
  EXPECT_TRUE(Contains(msg, "unexpected in the file (1):\n    extra.weight [2, 3] Float"));
  EXPECT_TRUE(Contains(msg,
                       "wrong shape or type (1):\n    fc.bias: file [100] Float, model [10] "
                       "Float"));
  EXPECT_TRUE(torch::equal(state_dict(*model).front().second, before));  // nothing copied

  StateDict shapes = read_state_dict(fixture("reference_weights.pt"));
  shapes.back().second = torch::zeros({100});
  EXPECT_TRUE(Contains(load_error(*model, shapes), "hint: same names, other sizes"));
}

TEST(StateDict, HintsAtTheLikelyCause) {
  GoogLeNet plain;
  GoogLeNet aux(options(/*aux_heads=*/true, /*batch_norm=*/false));
  GoogLeNet bn(options(/*aux_heads=*/false, /*batch_norm=*/true));
  EXPECT_TRUE(Contains(load_error(*plain, state_dict(*aux)),
                       "hint: the file holds auxiliary-head weights: pass --aux"));
  EXPECT_TRUE(Contains(load_error(*aux, state_dict(*plain)),
                       "hint: the model has auxiliary heads the file lacks: drop --aux"));
  EXPECT_TRUE(Contains(load_error(*plain, state_dict(*bn)),
                       "hint: the file holds batch-norm layers: pass --batch-norm"));
  const std::string resnet = load_error(*plain, state_from_names("resnet18_names.txt"));
  EXPECT_TRUE(Contains(resnet, "(114 missing, 120 unexpected, 2 wrong shape/type)"));
  EXPECT_TRUE(Contains(resnet, "... and 112 more"));
  EXPECT_TRUE(Contains(resnet,
                       "hint: not a GoogLeNet state_dict: only 2 of the model's 116 names "
                       "are in the file (it has e.g. 'conv1.weight'"));
}

}  // namespace
}  // namespace googlenet
