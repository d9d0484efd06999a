// Python pickles without Python: a value tree, a strict reader that never runs code
// (only caller-whitelisted globals are accepted) and a protocol-2 writer. Free of
// LibTorch so that dataset readers can use it too.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace googlenet::pickle {

enum class Kind {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,  // Python 3 str (UTF-8)
  kBytes,   // bytes, and Python 2 str (BINSTRING/SHORT_BINSTRING)
  kTuple,
  kList,
  kDict,
  kGlobal,        // a class or function named "module.name"
  kObject,        // a global applied by REDUCE/NEWOBJ, see Object
  kPersistentId,  // BINPERSID payload (torch.save: the storage tuple)
};

// "int", "str", ... as Python would name the kind.
const char* kind_name(Kind kind);

struct Object;
namespace detail {
struct ValueAccess;
}

// One node of an unpickled object graph. Copies share the node (like Python
// references); a value read from a file is never modified afterwards.
class Value {
 public:
  using Items = std::vector<Value>;
  using DictItems = std::vector<std::pair<Value, Value>>;  // insertion order

  Value();  // None
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value real(double f);
  static Value string(std::string s);
  static Value bytes(std::string b);
  static Value tuple(Items items);
  static Value list(Items items);
  static Value dict(DictItems items);
  static Value global(std::string module_dot_name);
  static Value object(Object object);
  static Value persistent_id(Value pid);

  Kind kind() const;
  bool is(Kind kind) const { return this->kind() == kind; }

  // Typed access; each throws std::runtime_error "expected int, found str 'abc'".
  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;               // a float (an int is not silently converted)
  const std::string& as_string() const;  // str
  const std::string& as_bytes() const;   // bytes / py2 str
  const Items& items() const;            // tuple or list elements
  const DictItems& dict() const;
  const std::string& global_name() const;
  const Object& object() const;
  const Value& persistent_id() const;

  // Dict lookup by a str key, or a bytes/py2-str key with the same bytes (files
  // pickled by Python 2 have byte-string keys). nullptr when absent.
  const Value* find(std::string_view key) const;
  // As find(), but throws "no key 'x' (keys: 'a', 'b', ...)" when absent.
  const Value& at(std::string_view key) const;

  // Python-like repr, cut to about `max_chars` (for error messages).
  std::string repr(size_t max_chars = 80) const;

  friend bool operator==(const Value& a, const Value& b);  // deep, structural
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  struct Node;
  explicit Value(std::shared_ptr<Node> node) : node_(std::move(node)) {}
  friend struct detail::ValueAccess;
  std::shared_ptr<Node> node_;
};

// `callable(*args)` (REDUCE) or `callable.__new__(callable, *args)` (NEWOBJ), then
// the APPEND(S)/SETITEM(S) applied to the result (OrderedDict entries), then
// BUILD(state) (__setstate__). The meaning is left to the caller.
struct Object {
  std::string callable;  // "module.name", always from the reader's whitelist
  bool newobj = false;
  Value::Items args;
  Value::Items list_items;
  Value::DictItems dict_items;
  std::optional<Value> state;
};

// Globals ("module.name") a pickle may name; every other one is refused.
using AllowedGlobals = std::set<std::string, std::less<>>;

// Limits beyond which a pickle is refused as absurd (real files stay far below).
constexpr int kMaxDepth = 100;            // nesting of containers
constexpr int64_t kMaxValues = 1 << 24;   // values created while reading
constexpr size_t kMaxGlobalLength = 256;  // bytes of a GLOBAL module or name line

// Parses one pickle (protocols 2-5, the opcodes Python and torch.save emit) that
// must fill `bytes` exactly. Throws std::runtime_error naming `source`, the byte
// offset and what was found on any unknown opcode, non-whitelisted global,
// truncation, stack misuse, recursive structure, trailing bytes or absurd size.
Value read(std::string_view bytes, const AllowedGlobals& allowed, std::string_view source);

// read() on a whole file (the file path is the source in messages).
Value read_file(const std::string& path, const AllowedGlobals& allowed);

// Protocol-2 pickle of `value` (bytes use protocol 3's BINBYTES, which every
// Python 3 reads). Throws std::invalid_argument on nesting deeper than kMaxDepth.
std::string write(const Value& value);

}  // namespace googlenet::pickle
