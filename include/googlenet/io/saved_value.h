// SavedValue: the tree of values a torch.save file holds (tensors, numbers,
// strings, lists, dicts), and StateDict, its name -> tensor special case.
#pragma once

#include <torch/torch.h>

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace googlenet {

// Parameter and buffer names with their tensors, in PyTorch's state_dict order.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// A tensor shape as error messages print it: "[2, 3]".
std::string shape_string(torch::IntArrayRef sizes);

// What a torch.save file holds, restricted to what checkpoints need: None, bool,
// int, float, str, tensor, list/tuple and dict (keys str or int, insertion order).
class SavedValue {
 public:
  using List = std::vector<SavedValue>;
  using Dict = std::vector<std::pair<SavedValue, SavedValue>>;
  enum class Type { kNone, kBool, kInt, kFloat, kString, kTensor, kList, kDict };

  SavedValue() = default;  // None
  SavedValue(bool b) : data_(b) {}
  SavedValue(int i) : data_(int64_t{i}) {}
  SavedValue(int64_t i) : data_(i) {}
  SavedValue(double f) : data_(f) {}
  SavedValue(std::string s) : data_(std::move(s)) {}
  SavedValue(const char* s) : data_(std::string(s)) {}
  SavedValue(torch::Tensor t) : data_(std::move(t)) {}
  SavedValue(List items, bool tuple = false) : data_(std::move(items)), tuple_(tuple) {}
  // A dict; `ordered` writes it as collections.OrderedDict, as torch.save does for
  // a state_dict (Python code that needs OrderedDict then gets one).
  SavedValue(Dict items, bool ordered = false) : data_(std::move(items)), ordered_(ordered) {}
  SavedValue(const StateDict& state);  // an OrderedDict of name -> tensor

  Type type() const { return static_cast<Type>(data_.index()); }  // tuples are kList
  bool is_none() const { return data_.index() == 0; }
  bool is_tensor() const { return std::holds_alternative<torch::Tensor>(data_); }
  bool is_dict() const { return std::holds_alternative<Dict>(data_); }
  bool is_tuple() const { return tuple_; }
  bool is_ordered() const { return ordered_; }

  // Typed access; each throws std::runtime_error "expected int, found str".
  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;  // a float or an int, as Python would accept
  const std::string& as_string() const;
  const torch::Tensor& as_tensor() const;
  const List& as_list() const;  // list or tuple
  const Dict& as_dict() const;
  // Dict lookup by str key: nullptr / throws "no key 'x' (keys: ...)" when absent.
  const SavedValue* find(std::string_view key) const;
  const SavedValue& at(std::string_view key) const;
  // A dict of str -> tensor as a StateDict; throws naming the first other entry.
  StateDict to_state_dict() const;

  std::string type_name() const;  // "int", "Tensor[10, 1024] float", ...

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, torch::Tensor, List, Dict> data_;
  bool tuple_ = false;
  bool ordered_ = false;
};

}  // namespace googlenet
