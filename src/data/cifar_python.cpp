// The python layout (cifar-10-batches-py/): Python 2 protocol-2 pickles of dicts
// whose 'data' is a numpy uint8 array, read with the strict pickle reader; only
// the three numpy globals an ndarray needs are allowed, and no code ever runs.
#include <stdexcept>

#include "googlenet/data/cifar.h"
#include "googlenet/io/pickle.h"

namespace googlenet {

namespace {

const pickle::AllowedGlobals kNumpyGlobals = {"numpy.core.multiarray._reconstruct", "numpy.ndarray",
                                              "numpy.dtype"};

const char* const kHint = "re-extract cifar-10-python.tar.gz or pass --data DIR";

[[noreturn]] void fail(const std::string& name, const std::string& found,
                       const std::string& expected) {
  throw std::runtime_error(name + ": " + found + ", expected " + expected +
                           " (not a CIFAR-10 python file? " + kHint + ")");
}

pickle::Value read_pickle(const std::string& name, std::string_view bytes) {
  try {
    return pickle::read(bytes, kNumpyGlobals, name);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + " (not a CIFAR-10 python file? " + kHint +
                             ")");
  }
}

// A py2 str arrives as bytes, a py3 one as str; the text is what matters.
bool is_text(const pickle::Value& v, std::string_view text) {
  if (v.is(pickle::Kind::kBytes)) return v.as_bytes() == text;
  if (v.is(pickle::Kind::kString)) return v.as_string() == text;
  return false;
}

// numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') + BUILD((1, shape,
// dtype('u1'), is_fortran, raw bytes)): a C-order uint8 array; returns its bytes.
const std::string& uint8_matrix(const std::string& name, const pickle::Value& v, int64_t rows,
                                int64_t cols) {
  const std::string expected =
      "'data': a uint8 numpy array " + std::to_string(rows) + " x " + std::to_string(cols);
  if (!v.is(pickle::Kind::kObject) || v.object().callable != "numpy.core.multiarray._reconstruct" ||
      !v.object().state || !v.object().state->is(pickle::Kind::kTuple)) {
    fail(name, "'data' is " + v.repr(), expected);
  }
  const auto& state = v.object().state->items();
  if (state.size() != 5 || !state[1].is(pickle::Kind::kTuple) ||
      !state[2].is(pickle::Kind::kObject) || !state[4].is(pickle::Kind::kBytes)) {
    fail(name, "'data' has array state " + v.object().state->repr(), expected);
  }
  const auto& dtype = state[2].object();
  if (dtype.callable != "numpy.dtype" || dtype.args.empty() || !is_text(dtype.args[0], "u1")) {
    fail(name, "'data' has dtype " + state[2].repr(), expected);
  }
  const auto& shape = state[1].items();
  if (shape.size() != 2 || !shape[0].is(pickle::Kind::kInt) || !shape[1].is(pickle::Kind::kInt) ||
      shape[0].as_int() != rows || shape[1].as_int() != cols) {
    fail(name, "'data' has shape " + state[1].repr(), expected);
  }
  const bool fortran = state[3].is(pickle::Kind::kBool)  ? state[3].as_bool()
                       : state[3].is(pickle::Kind::kInt) ? state[3].as_int() != 0
                                                         : true;
  if (fortran) fail(name, "'data' is Fortran-ordered (" + state[3].repr() + ")", expected);
  const std::string& raw = state[4].as_bytes();
  if (static_cast<int64_t>(raw.size()) != rows * cols) {
    fail(name, "'data' holds " + std::to_string(raw.size()) + " bytes",
         std::to_string(rows * cols) + " = " + std::to_string(rows) + " x " + std::to_string(cols));
  }
  return raw;
}

}  // namespace

void parse_python_batch(const std::string& name, std::string_view bytes, int64_t expected_records,
                        Cifar10& out) {
  const pickle::Value batch = read_pickle(name, bytes);
  const std::string expected_dict = "a dict with 'data' and 'labels'";
  if (!batch.is(pickle::Kind::kDict)) fail(name, "the pickle holds " + batch.repr(), expected_dict);
  const pickle::Value* data = batch.find("data");
  const pickle::Value* labels = batch.find("labels");
  if (data == nullptr || labels == nullptr)
    fail(name, "the dict is " + batch.repr(), expected_dict);
  const std::string& raw = uint8_matrix(name, *data, expected_records, kCifarImageBytes);
  const std::string expected_labels =
      "'labels': a list of " + std::to_string(expected_records) + " ints 0-9";
  if (!labels->is(pickle::Kind::kList) ||
      static_cast<int64_t>(labels->items().size()) != expected_records) {
    fail(name, "'labels' is " + labels->repr(), expected_labels);
  }
  for (size_t i = 0; i < labels->items().size(); ++i) {
    const auto& label = labels->items()[i];
    if (!label.is(pickle::Kind::kInt) || label.as_int() < 0 || label.as_int() >= kCifarClasses) {
      fail(name, "labels[" + std::to_string(i) + "] is " + label.repr(), expected_labels);
    }
  }
  out.images.insert(out.images.end(), raw.begin(), raw.end());
  for (const auto& label : labels->items())
    out.labels.push_back(static_cast<uint8_t>(label.as_int()));
}

std::vector<std::string> parse_python_meta(const std::string& name, std::string_view bytes) {
  const pickle::Value meta = read_pickle(name, bytes);
  const std::string expected = "a dict with 'label_names': a list of 10 strings";
  const pickle::Value* names = meta.is(pickle::Kind::kDict) ? meta.find("label_names") : nullptr;
  if (names == nullptr) fail(name, "the pickle holds " + meta.repr(), expected);
  if (!names->is(pickle::Kind::kList) ||
      static_cast<int64_t>(names->items().size()) != kCifarClasses) {
    fail(name, "'label_names' is " + names->repr(), expected);
  }
  std::vector<std::string> result;
  for (const auto& v : names->items()) {
    if (v.is(pickle::Kind::kBytes)) {
      result.push_back(v.as_bytes());
    } else if (v.is(pickle::Kind::kString)) {
      result.push_back(v.as_string());
    } else {
      fail(name, "a label name is " + v.repr(), expected);
    }
  }
  return result;
}

}  // namespace googlenet
