// Minimal SVG drawing for the run reports: a document builder, "nice" axis ticks
// and a line chart with axes, ticks, labels and a legend. No LibTorch here.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace googlenet::svg {

// &, <, >, " and ' as XML entities.
std::string escape(const std::string& text);

// At most about `target` evenly spaced round values (1, 2 or 5 x 10^k apart)
// covering [lo, hi]; the first is <= lo and the last >= hi. lo == hi is widened.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

// A tick value with as many decimals as the tick spacing needs ("0.25", "40").
std::string format_tick(double value, double spacing);

class Document {
 public:
  Document(double width, double height);
  void rect(double x, double y, double w, double h, const std::string& fill,
            const std::string& stroke = "none");
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& dash = "");
  // anchor: start | middle | end; rotate: degrees about (x, y).
  void text(double x, double y, const std::string& content, const std::string& anchor = "start",
            double size = 12, const std::string& fill = "#222", double rotate = 0,
            const std::string& weight = "normal");
  void polyline(const std::vector<std::pair<double, double>>& points, const std::string& stroke,
                double width, const std::string& dash = "");
  void circle(double cx, double cy, double r, const std::string& fill);
  std::string str() const;  // the complete document

 private:
  double width_, height_;
  std::string body_;
};

struct Series {
  std::string name;
  std::string color;
  std::vector<double> x, y;  // non-finite y leaves a gap
  std::string dash;          // SVG stroke-dasharray, empty for solid
};

struct Chart {
  double left, top, width, height;  // the plotting area, in document units
  std::string title, x_label, y_label;
  std::optional<double> y_min, y_max;  // fixed ends, else from the data
  bool x_integer = false;              // ticks only at whole numbers (epochs)
  std::vector<Series> series;
};

// Frame, grid, ticks, axis labels, the series and a legend in the top-right corner.
void draw_line_chart(Document& doc, const Chart& chart);

}  // namespace googlenet::svg
