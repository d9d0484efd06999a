// SVG helpers: axis ticks, tick labels, escaping, the line chart's structure.
#include <gtest/gtest.h>

#include <cmath>

#include "googlenet/report/svg.h"

namespace {

namespace svg = googlenet::svg;

TEST(Svg, NiceTicksAreRoundAndCoverTheRange) {
  EXPECT_EQ(svg::nice_ticks(0, 100), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(svg::nice_ticks(1, 60), (std::vector<double>{0, 10, 20, 30, 40, 50, 60}));
  const auto small = svg::nice_ticks(0.13, 2.31);
  ASSERT_EQ(small.size(), 6u);
  EXPECT_DOUBLE_EQ(small.front(), 0);
  EXPECT_DOUBLE_EQ(small.back(), 2.5);
  const auto flat = svg::nice_ticks(5, 5);  // one value: widened, still covers it
  EXPECT_LT(flat.front(), 5);
  EXPECT_GT(flat.back(), 5);
  const auto fallback = svg::nice_ticks(NAN, 1);  // no data: [0, 1]
  EXPECT_DOUBLE_EQ(fallback.front(), 0);
  EXPECT_DOUBLE_EQ(fallback.back(), 1);
}

TEST(Svg, TickLabelsUseTheSpacingsDecimals) {
  EXPECT_EQ(svg::format_tick(40, 20), "40");
  EXPECT_EQ(svg::format_tick(0.30000000000000004, 0.1), "0.3");
  EXPECT_EQ(svg::format_tick(0.25, 0.05), "0.25");
  EXPECT_EQ(svg::format_tick(-1e-17, 0.5), "0.0");
}

TEST(Svg, EscapesMarkup) { EXPECT_EQ(svg::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;"); }

TEST(Svg, ChartDrawsFrameTicksLabelsSeriesAndLegend) {
  svg::Document doc(400, 300);
  svg::Chart chart{60, 40, 300, 200, "Title", "x axis", "y axis", {}, {}, true, {}};
  chart.series.push_back({"up", "#f00", {1, 2, 3}, {1, 2, 3}, ""});
  chart.series.push_back({"down", "#00f", {1, 2, 3}, {3, NAN, 1}, "4,2"});
  svg::draw_line_chart(doc, chart);
  const std::string text = doc.str();
  for (const char* s : {">Title<", ">x axis<", ">y axis<", ">up<", ">down<", "rotate(-90",
                        "stroke-dasharray=\"4,2\"", ">3<"}) {
    EXPECT_NE(text.find(s), std::string::npos) << s;
  }
  EXPECT_EQ(text.find(">0.5<"), std::string::npos) << "epoch ticks must be whole numbers";
  size_t polylines = 0;
  for (size_t at = text.find("<polyline"); at != std::string::npos;
       at = text.find("<polyline", at + 1))
    ++polylines;
  EXPECT_EQ(polylines, 1u);  // "down" has no two consecutive finite points
}

}  // namespace
