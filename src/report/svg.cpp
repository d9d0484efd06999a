// SVG document builder and line chart used by the report writers.
#include "googlenet/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace googlenet::svg {

namespace {

std::string num(double v) {  // compact coordinates: 0.01 px is plenty
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", v);
  std::string s = buffer;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string dash_attr(const std::string& dash) {
  return dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"";
}

double tick_spacing(const std::vector<double>& ticks) {
  return ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
}

// Rough width of `text` at font `size`, for laying out the legend.
double text_width(const std::string& text, double size) { return 0.6 * size * text.size(); }

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(lo))) {
    const double pad = lo == 0 ? 1 : 0.1 * std::abs(lo);
    lo -= pad, hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last + 0.5; ++k) ticks.push_back(k * step);
  return ticks;
}

std::string format_tick(double value, double spacing) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(spacing) + 1e-9)));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string s = buffer;
  return s.find_first_not_of("-0.") == std::string::npos ? s.substr(s[0] == '-') : s;
}

Document::Document(double width, double height) : width_(width), height_(height) {}

void Document::rect(double x, double y, double w, double h, const std::string& fill,
                    const std::string& stroke) {
  body_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" +
           num(h) + "\" fill=\"" + fill + "\" stroke=\"" + stroke + "\"/>\n";
}

void Document::line(double x1, double y1, double x2, double y2, const std::string& stroke,
                    double width, const std::string& dash) {
  body_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
           num(y2) + "\" stroke=\"" + stroke + "\" stroke-width=\"" + num(width) + "\"" +
           dash_attr(dash) + "/>\n";
}

void Document::text(double x, double y, const std::string& content, const std::string& anchor,
                    double size, const std::string& fill, double rotate,
                    const std::string& weight) {
  body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor +
           "\" font-size=\"" + num(size) + "\" fill=\"" + fill + "\"";
  if (weight != "normal") body_ += " font-weight=\"" + weight + "\"";
  if (rotate != 0) {
    body_ += " transform=\"rotate(" + num(rotate) + " " + num(x) + " " + num(y) + ")\"";
  }
  body_ += ">" + escape(content) + "</text>\n";
}

void Document::polyline(const std::vector<std::pair<double, double>>& points,
                        const std::string& stroke, double width, const std::string& dash) {
  body_ += "<polyline fill=\"none\" stroke=\"" + stroke + "\" stroke-width=\"" + num(width) +
           "\" stroke-linejoin=\"round\"" + dash_attr(dash) + " points=\"";
  for (size_t i = 0; i < points.size(); ++i) {
    body_ += (i ? " " : "") + num(points[i].first) + "," + num(points[i].second);
  }
  body_ += "\"/>\n";
}

void Document::circle(double cx, double cy, double r, const std::string& fill) {
  body_ += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(r) + "\" fill=\"" +
           fill + "\"/>\n";
}

std::string Document::str() const {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
         num(width_) + "\" height=\"" + num(height_) + "\" viewBox=\"0 0 " + num(width_) + " " +
         num(height_) +
         "\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\">\n"
         "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" +
         body_ + "</svg>\n";
}

void draw_line_chart(Document& doc, const Chart& c) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double x_lo = kInf, x_hi = -kInf, y_lo = kInf, y_hi = -kInf;
  for (const auto& s : c.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]), x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
    }
  }
  if (x_lo > x_hi) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // nothing finite to draw
  if (c.x_integer && x_lo == x_hi) x_lo -= 1, x_hi += 1;    // one epoch: centre it
  if (c.y_min) y_lo = std::min(*c.y_min, y_lo);
  if (c.y_max) y_hi = std::max(*c.y_max, y_hi);
  std::vector<double> x_ticks = nice_ticks(x_lo, x_hi);
  if (c.x_integer && tick_spacing(x_ticks) < 1) {
    x_ticks.clear();
    for (double k = std::floor(x_lo); k <= std::ceil(x_hi); ++k) x_ticks.push_back(k);
    if (x_ticks.size() == 1) x_ticks.push_back(x_ticks[0] + 1);
  }
  const std::vector<double> y_ticks = nice_ticks(y_lo, y_hi);
  const double x0 = x_ticks.front(), x1 = x_ticks.back();
  const double y0 = y_ticks.front(), y1 = y_ticks.back();
  auto px = [&](double x) { return c.left + (x - x0) / (x1 - x0) * c.width; };
  auto py = [&](double y) { return c.top + c.height - (y - y0) / (y1 - y0) * c.height; };
  const double bottom = c.top + c.height, right = c.left + c.width;

  for (double t : y_ticks) {
    doc.line(c.left, py(t), right, py(t), "#e4e4e4");
    doc.line(c.left - 5, py(t), c.left, py(t), "#444");
    doc.text(c.left - 8, py(t) + 4, format_tick(t, tick_spacing(y_ticks)), "end", 11);
  }
  for (double t : x_ticks) {
    doc.line(px(t), c.top, px(t), bottom, "#f0f0f0");
    doc.line(px(t), bottom, px(t), bottom + 5, "#444");
    doc.text(px(t), bottom + 18, format_tick(t, tick_spacing(x_ticks)), "middle", 11);
  }
  doc.rect(c.left, c.top, c.width, c.height, "none", "#444");
  doc.text(c.left + c.width / 2, bottom + 38, c.x_label, "middle", 13);
  doc.text(c.left - 48, c.top + c.height / 2, c.y_label, "middle", 13, "#222", -90);
  doc.text(c.left, c.top - 12, c.title, "start", 14, "#222", 0, "bold");

  for (const auto& s : c.series) {
    std::vector<std::pair<double, double>> run;
    const bool dots = s.x.size() <= 40;  // markers while points are few (one epoch shows)
    auto flush = [&] {
      if (run.size() > 1) doc.polyline(run, s.color, 2, s.dash);
      run.clear();
    };
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        flush();
        continue;
      }
      run.emplace_back(px(s.x[i]), py(s.y[i]));
      if (dots) doc.circle(px(s.x[i]), py(s.y[i]), 2.5, s.color);
    }
    flush();
  }

  // Legend: one row right-aligned above the frame, so it never covers a curve.
  double x = right;
  for (auto it = c.series.rbegin(); it != c.series.rend(); ++it) {
    x -= text_width(it->name, 12);
    doc.text(x, c.top - 12, it->name, "start", 12);
    x -= 30;
    doc.line(x, c.top - 16, x + 24, c.top - 16, it->color, 2.5, it->dash);
    x -= 16;
  }
}

}  // namespace googlenet::svg
