// The model against the reference: names, shapes, parameter count, gradients.
#include <gtest/gtest.h>

#include "googlenet/model.h"

namespace googlenet {
namespace {

TEST(Model, ParameterCountIsTheReferences) {
  GoogLeNet model;
  EXPECT_EQ(count_parameters(*model), 5983802);
}

TEST(Model, LogitsShape) {
  GoogLeNet model;
  model->eval();
  auto y = model->forward(torch::zeros({2, 3, 32, 32}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10}));
}

}  // namespace
}  // namespace googlenet
