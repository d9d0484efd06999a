// The node behind pickle::Value, shared by the value code and the reader (which
// builds containers in place, as Python's unpickler does).
#pragma once

#include <memory>

#include "googlenet/io/pickle.h"

namespace googlenet::pickle {

struct Value::Node {
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                   // str, bytes, global name
  Items items;                     // tuple, list; persistent id: its one payload
  DictItems dict;                  // dict
  std::unique_ptr<Object> object;  // object
  // Reader bookkeeping: nesting depth, and whether the node already sits inside
  // another one (then it may no longer change: that is how cycles are kept out).
  int depth = 1;
  bool contained = false;
};

namespace detail {

struct ValueAccess {
  using Node = Value::Node;
  static Value make(Kind kind);
  static Value::Node& node(const Value& v) { return *v.node_; }
};

// UTF-8 as Python's "surrogatepass" decoder accepts it.
bool valid_utf8(std::string_view s);

// Equal for equal hashable dict keys (to refuse duplicates); empty if unhashable.
std::string key_fingerprint(const Value& v);

}  // namespace detail
}  // namespace googlenet::pickle
