// SavedValue construction and typed access.
#include "googlenet/io/saved_value.h"

#include <stdexcept>

namespace googlenet {

std::string shape_string(torch::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

SavedValue::SavedValue(const StateDict& state) : data_(Dict{}), ordered_(true) {
  auto& dict = std::get<Dict>(data_);
  for (const auto& [name, tensor] : state) dict.emplace_back(name, tensor);
}

std::string SavedValue::type_name() const {
  static const char* kNames[] = {"None", "bool", "int", "float", "str", "Tensor", "list", "dict"};
  if (is_tensor()) {
    const auto& t = std::get<torch::Tensor>(data_);
    return "Tensor" + shape_string(t.sizes()) + " " + std::string(c10::toString(t.scalar_type()));
  }
  if (tuple_) return "tuple";
  return kNames[data_.index()];
}

namespace {
template <typename T>
const T& get(const std::variant<std::monostate, bool, int64_t, double, std::string, torch::Tensor,
                                SavedValue::List, SavedValue::Dict>& data,
             const SavedValue& self, const char* expected) {
  if (const T* v = std::get_if<T>(&data)) return *v;
  throw std::runtime_error(std::string("expected ") + expected + ", found " + self.type_name());
}
}  // namespace

bool SavedValue::as_bool() const { return get<bool>(data_, *this, "bool"); }
int64_t SavedValue::as_int() const { return get<int64_t>(data_, *this, "int"); }
double SavedValue::as_float() const {
  if (const auto* i = std::get_if<int64_t>(&data_)) return static_cast<double>(*i);
  return get<double>(data_, *this, "float");
}
const std::string& SavedValue::as_string() const { return get<std::string>(data_, *this, "str"); }
const torch::Tensor& SavedValue::as_tensor() const {
  return get<torch::Tensor>(data_, *this, "Tensor");
}
const SavedValue::List& SavedValue::as_list() const { return get<List>(data_, *this, "list"); }
const SavedValue::Dict& SavedValue::as_dict() const { return get<Dict>(data_, *this, "dict"); }

const SavedValue* SavedValue::find(std::string_view key) const {
  for (const auto& [k, v] : as_dict()) {
    const auto* s = std::get_if<std::string>(&k.data_);
    if (s != nullptr && *s == key) return &v;
  }
  return nullptr;
}

const SavedValue& SavedValue::at(std::string_view key) const {
  if (const SavedValue* v = find(key)) return *v;
  std::string keys;
  for (const auto& item : as_dict()) {
    const auto* s = std::get_if<std::string>(&item.first.data_);
    keys += (keys.empty() ? "'" : ", '") + (s ? *s : item.first.type_name()) + "'";
    if (keys.size() > 200) break;
  }
  throw std::runtime_error("no key '" + std::string(key) + "' (keys: " + keys + ")");
}

StateDict SavedValue::to_state_dict() const {
  StateDict state;
  for (const auto& [k, v] : as_dict()) {
    const auto* name = std::get_if<std::string>(&k.data_);
    if (name == nullptr || !v.is_tensor()) {
      throw std::runtime_error("not a state_dict: entry " +
                               (name ? "'" + *name + "'" : k.type_name() + " key") + " holds a " +
                               v.type_name() + ", expected name -> Tensor");
    }
    state.emplace_back(*name, v.as_tensor());
  }
  return state;
}

}  // namespace googlenet
