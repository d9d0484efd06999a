// Confusion matrix: counts, text tables, JSON report and SVG heatmap.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "googlenet/report/confusion.h"
#include "test_util.h"

namespace {

using googlenet::testing::error_of;

using googlenet::ConfusionMatrix;

// Three classes: 4 cats (3 right, 1 called dog), 2 dogs (both right), no birds.
ConfusionMatrix example() {
  ConfusionMatrix m({"cat", "dog", "bird"});
  m.add({0, 0, 0, 0, 1, 1}, {0, 0, 0, 1, 1, 1});
  return m;
}

TEST(ConfusionMatrix, CountsAndAccuracies) {
  const auto m = example();
  EXPECT_EQ(m.total(), 6);
  EXPECT_EQ(m.correct(), 5);
  EXPECT_EQ(m.count(0, 1), 1);
  EXPECT_DOUBLE_EQ(m.accuracy(), 5.0 / 6);
  EXPECT_DOUBLE_EQ(m.class_accuracy(0), 0.75);
  EXPECT_DOUBLE_EQ(m.class_precision(1), 2.0 / 3);
  EXPECT_EQ(m.class_accuracy(2), 0.0);  // absent class, not NaN
}

TEST(ConfusionMatrix, RejectsBadLabels) {
  ConfusionMatrix m({"cat", "dog"});
  EXPECT_EQ(error_of([&] { m.add(0, 2); }),
            "confusion matrix: predicted label 2 is not a class index in [0, 2)");
  EXPECT_EQ(error_of([&] { m.add(-1, 0); }),
            "confusion matrix: true label -1 is not a class index in [0, 2)");
  EXPECT_EQ(error_of([&] {
              m.add({0, 1}, {0});
            }),
            "confusion matrix: 2 true labels but 1 predictions");
  EXPECT_EQ(error_of([] { ConfusionMatrix({}); }), "confusion matrix: no class names given");
  EXPECT_EQ(m.total(), 0);
}

TEST(ConfusionMatrix, TextTables) {
  const auto m = example();
  EXPECT_EQ(m.to_text(),
            "true \\ predicted   cat   dog  bird\n"
            "cat                  3     1     0\n"
            "dog                  0     2     0\n"
            "bird                 0     0     0\n");
  EXPECT_EQ(m.per_class_text(),
            "class    correct  accuracy\n"
            "cat          3/4    75.00%\n"
            "dog          2/2   100.00%\n"
            "bird         0/0     0.00%\n"
            "overall      5/6    83.33%\n");
}

TEST(ConfusionMatrix, JsonReport) {
  googlenet::testing::TempDir dir;
  googlenet::write_evaluation_json(dir / "eval.json", example(),
                                   {{"loss", 0.5}, {"checkpoint", "best.pt"}});
  std::ifstream in(dir / "eval.json");
  const auto json = nlohmann::json::parse(in);
  EXPECT_EQ(json.at("classes"), nlohmann::json({"cat", "dog", "bird"}));
  EXPECT_EQ(json.at("matrix"), nlohmann::json({{3, 1, 0}, {0, 2, 0}, {0, 0, 0}}));
  EXPECT_EQ(json.at("total"), 6);
  EXPECT_EQ(json.at("correct"), 5);
  EXPECT_DOUBLE_EQ(json.at("accuracy").get<double>(), 5.0 / 6);
  EXPECT_EQ(json.at("per_class").at(0).at("class"), "cat");
  EXPECT_DOUBLE_EQ(json.at("per_class").at(0).at("accuracy").get<double>(), 0.75);
  EXPECT_EQ(json.at("per_class").at(1).at("total"), 2);
  EXPECT_EQ(json.at("loss"), 0.5);
  EXPECT_EQ(json.at("checkpoint"), "best.pt");
}

TEST(ConfusionMatrix, SvgHeatmapHasEveryCountAndName) {
  googlenet::testing::TempDir dir;
  ConfusionMatrix m({"cat", "dog & fox", "bird"});
  m.add({0, 0, 1, 2}, {0, 1, 1, 0});
  googlenet::write_confusion_svg(dir / "confusion.svg", m);
  std::ifstream in(dir / "confusion.svg");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string svg = buffer.str();
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find(">dog &amp; fox<"), std::string::npos);  // escaped
  EXPECT_NE(svg.find("2/4 correct (50.00%)"), std::string::npos);
  EXPECT_NE(svg.find(">predicted class<"), std::string::npos);
  EXPECT_NE(svg.find(">true class<"), std::string::npos);
  size_t cells = 0;
  for (size_t at = svg.find("<rect"); at != std::string::npos; at = svg.find("<rect", at + 1))
    ++cells;
  EXPECT_EQ(cells, 9u + 2u);  // 3x3 cells, the background and the frame
  EXPECT_NE(svg.find("fill=\"#08306b\""), std::string::npos);  // bird row: all in one cell
}

}  // namespace
