// state_dicts: collecting them from modules in PyTorch's order, file I/O, and the
// strict all-errors-at-once load with a hint on the likely cause.
#include "googlenet/io/state_dict.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace googlenet {

namespace {

void collect(const torch::nn::Module& module, const std::string& prefix, StateDict& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    if (p.value().defined()) out.emplace_back(prefix + p.key(), p.value());
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    if (b.value().defined()) out.emplace_back(prefix + b.key(), b.value());
  }
  for (const auto& child : module.named_children()) {
    collect(*child.value(), prefix + child.key() + ".", out);
  }
}

std::string shape(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes() << " " << t.scalar_type();
  return out.str();
}

// Lists at most kShown entries of a section of the error message.
constexpr size_t kShown = 8;

void section(std::ostringstream& msg, const char* title, const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  msg << "\n  " << title << " (" << lines.size() << "):";
  for (size_t i = 0; i < lines.size() && i < kShown; ++i) msg << "\n    " << lines[i];
  if (lines.size() > kShown) msg << "\n    ... and " << lines.size() - kShown << " more";
}

bool is_aux(const std::string& name) {
  return name.rfind("aux1.", 0) == 0 || name.rfind("aux2.", 0) == 0;
}
bool is_bn(const std::string& name) { return name.find("_bn.") != std::string::npos; }

// The likely cause, from which kinds of keys are missing or extra.
std::string hint(const std::vector<std::string>& missing,
                 const std::vector<std::string>& unexpected, size_t wrong, size_t matched,
                 size_t expected, bool googlenet) {
  auto any = [](const std::vector<std::string>& names, bool (*pred)(const std::string&)) {
    return std::any_of(names.begin(), names.end(), pred);
  };
  auto other = [](const std::string& n) { return !is_aux(n) && !is_bn(n); };
  std::vector<std::string> hints;
  if (2 * matched < expected) {
    hints.push_back(
        std::string(googlenet ? "not a GoogLeNet state_dict" : "not a state_dict of this model") +
        ": only " + std::to_string(matched) + " of the model's " + std::to_string(expected) +
        " names are in the file (" +
        (unexpected.empty() ? "" : "it has e.g. '" + unexpected.front() + "'; ") +
        "saved from another architecture?)");
  } else {
    if (any(unexpected, is_aux))
      hints.push_back("the file holds auxiliary-head weights: pass --aux");
    if (any(missing, is_aux))
      hints.push_back("the model has auxiliary heads the file lacks: drop --aux");
    if (any(unexpected, is_bn))
      hints.push_back("the file holds batch-norm layers: pass --batch-norm");
    if (any(missing, is_bn))
      hints.push_back("the model has batch norm the file lacks: drop --batch-norm");
    if (hints.empty() && (std::any_of(missing.begin(), missing.end(), other) ||
                          std::any_of(unexpected.begin(), unexpected.end(), other))) {
      hints.push_back("names differ from this model's; was the file saved from a modified model?");
    }
    if (hints.empty() && wrong > 0) {
      hints.push_back(
          "same names, other sizes: saved from a different configuration (number of "
          "classes or input channels?)");
    }
  }
  std::string out;
  for (const auto& h : hints) out += "\nhint: " + h;
  return out;
}

}  // namespace

StateDict state_dict(const torch::nn::Module& module) {
  StateDict out;
  collect(module, "", out);
  return out;
}

StateDict read_state_dict(const std::string& path) {
  return read_state_dict(torch_load(path), path);
}

StateDict read_state_dict(const SavedValue& file, const std::string& path) {
  const SavedValue* state = &file;
  if (!file.is_dict()) {
    throw std::runtime_error(path + ": holds a " + file.type_name() +
                             ", expected a state_dict (dict of name -> tensor)");
  }
  if (const SavedValue* model = file.find("model"); model != nullptr && model->is_dict()) {
    state = model;  // a checkpoint {"model": state_dict, "optimizer": ..., ...}
  }
  try {
    return state->to_state_dict();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what() +
                             " (expected torch.save(model.state_dict()) or a checkpoint with a "
                             "\"model\" entry)");
  }
}

void write_state_dict(const std::string& path, const StateDict& state) {
  torch_save(path, SavedValue(state));
}

void load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& source) {
  const StateDict expected = state_dict(module);
  std::map<std::string, torch::Tensor> given;
  std::vector<std::string> duplicate, missing, unexpected, wrong;
  for (const auto& [name, tensor] : state) {
    if (!given.emplace(name, tensor).second) duplicate.push_back(name);
  }
  std::set<std::string> names;
  for (const auto& [name, target] : expected) {
    names.insert(name);
    const auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name + " " + shape(target));
    } else if (it->second.sizes() != target.sizes() ||
               it->second.is_floating_point() != target.is_floating_point()) {
      wrong.push_back(name + ": file " + shape(it->second) + ", model " + shape(target));
    }
  }
  std::vector<std::string> missing_names, unexpected_names;
  for (const auto& [name, tensor] : state) {
    if (names.count(name) == 0) {
      unexpected.push_back(name + " " + shape(tensor));
      unexpected_names.push_back(name);
    }
  }
  for (const auto& [name, target] : expected) {
    if (given.count(name) == 0) missing_names.push_back(name);
  }
  if (!duplicate.empty() || !missing.empty() || !unexpected.empty() || !wrong.empty()) {
    std::ostringstream msg;
    msg << source << ": state_dict does not match the model (" << missing.size() << " missing, "
        << unexpected.size() << " unexpected, " << wrong.size() << " wrong shape/type):";
    section(msg, "missing in the file", missing);
    section(msg, "unexpected in the file", unexpected);
    section(msg, "wrong shape or type", wrong);
    section(msg, "duplicate names", duplicate);
    const bool googlenet = names.count("stage1.0.weight") && names.count("fc.weight");
    msg << hint(missing_names, unexpected_names, wrong.size(), expected.size() - missing.size(),
                expected.size(), googlenet);
    throw std::runtime_error(msg.str());
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, target] : expected) target.copy_(given.at(name));
}

}  // namespace googlenet
