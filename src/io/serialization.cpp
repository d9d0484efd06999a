// torch.save / torch.load archives: SavedValue, the strict reader (zip via
// LibTorch's PyTorchStreamReader, pickle via pickle.h) and the writer (through AtomicFile).
#include "googlenet/io/serialization.h"

#include <caffe2/serialize/inline_container.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "googlenet/io/pickle.h"
#include "googlenet/util/atomic_file.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "storages are read and written as little-endian, like torch.save on x86/ARM"
#endif

namespace googlenet {

namespace fs = std::filesystem;
using pickle::Kind;
using pickle::Value;

namespace {

constexpr char kRebuildTensor[] = "torch._utils._rebuild_tensor_v2";
constexpr char kRebuildParameter[] = "torch._utils._rebuild_parameter";
constexpr char kOrderedDict[] = "collections.OrderedDict";

// Storage classes torch.save names in its persistent ids, and their dtypes.
const std::map<std::string, torch::Dtype>& storage_dtypes() {
  static const std::map<std::string, torch::Dtype> kTypes = {
      {"torch.FloatStorage", torch::kFloat}, {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},   {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},   {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort}, {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},   {"torch.BoolStorage", torch::kBool}};
  return kTypes;
}

pickle::AllowedGlobals allowed_globals() {
  pickle::AllowedGlobals allowed = {kRebuildTensor, kRebuildParameter, kOrderedDict};
  for (const auto& entry : storage_dtypes()) allowed.insert(entry.first);
  return allowed;
}

}  // namespace

// ---- Reading -------------------------------------------------------------------

namespace {

// Turns the unpickled tree into SavedValues, loading each storage record once.
class Loader {
 public:
  Loader(caffe2::serialize::PyTorchStreamReader& zip, std::string source)
      : zip_(zip), source_(std::move(source)) {}

  SavedValue convert(const Value& v) {
    switch (v.kind()) {
      case Kind::kNone:
        return {};
      case Kind::kBool:
        return v.as_bool();
      case Kind::kInt:
        return v.as_int();
      case Kind::kFloat:
        return v.as_float();
      case Kind::kString:
        return v.as_string();
      case Kind::kTuple:
      case Kind::kList: {
        SavedValue::List items;
        for (const auto& item : v.items()) items.push_back(convert(item));
        return SavedValue(std::move(items), v.is(Kind::kTuple));
      }
      case Kind::kDict:
        return convert_dict(v.dict(), /*ordered=*/false);
      case Kind::kObject:
        return convert_object(v.object());
      default:
        fail("unexpected " + std::string(pickle::kind_name(v.kind())) + " " + v.repr());
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(source_ + ": " + what);
  }

  SavedValue convert_dict(const Value::DictItems& items, bool ordered) {
    SavedValue::Dict dict;
    for (const auto& [k, v] : items) {
      if (!k.is(Kind::kString) && !k.is(Kind::kInt))
        fail("dict key " + k.repr() + " is not str/int");
      dict.emplace_back(convert(k), convert(v));
    }
    return SavedValue(std::move(dict), ordered);
  }

  SavedValue convert_object(const pickle::Object& o) {
    const auto& a = o.args;
    if (o.callable == kOrderedDict) {
      // BUILD state is the instance __dict__: state_dict()'s `_metadata` (module
      // versions), which LibTorch modules have no use for.
      if (o.newobj || !a.empty() || !o.list_items.empty() ||
          (o.state && !o.state->is(Kind::kDict))) {
        fail("malformed OrderedDict");
      }
      return convert_dict(o.dict_items, /*ordered=*/true);
    }
    if (o.newobj || !o.list_items.empty() || !o.dict_items.empty() || o.state) {
      fail("malformed " + o.callable + " call");
    }
    if (o.callable == kRebuildParameter) {  // (data, requires_grad, backward_hooks)
      if (a.size() != 3 || !a[0].is(Kind::kObject)) fail("malformed " + o.callable + " call");
      no_hooks(a[2]);
      return convert_object(a[0].object());
    }
    // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (o.callable != kRebuildTensor || a.size() < 6 || a.size() > 7 ||
        !a[0].is(Kind::kPersistentId) || !a[1].is(Kind::kInt) || !a[4].is(Kind::kBool) ||
        (a.size() == 7 && !a[6].is(Kind::kNone) &&
         !(a[6].is(Kind::kDict) && a[6].dict().empty()))) {
      fail("malformed " + o.callable + " call " + Value::tuple(a).repr());
    }
    no_hooks(a[5]);
    const std::vector<int64_t> size = ints(a[2]), stride = ints(a[3]);
    const int64_t offset = a[1].as_int();
    const torch::Tensor storage = load_storage(a[0].persistent_id());
    // The view must lie inside the storage: its last element is at offset +
    // sum((size - 1) * stride). 128-bit sums so hostile numbers cannot overflow;
    // the element count is bounded too, as stride 0 (expand) may exceed the storage.
    const int64_t n = storage.numel();
    bool ok = offset >= 0 && size.size() == stride.size() && size.size() <= 64;
    bool empty = false;
    __int128 last = offset, count = 1;
    for (size_t d = 0; ok && d < size.size(); ++d) {
      ok = size[d] >= 0 && stride[d] >= 0;
      empty = empty || size[d] == 0;
      count *= std::max<int64_t>(size[d], 1);
      last += static_cast<__int128>(std::max<int64_t>(size[d] - 1, 0)) * stride[d];
      ok = ok && count <= (int64_t{1} << 48);
    }
    if (!ok || (empty ? offset > n : last >= n)) {
      fail("tensor view (offset " + std::to_string(offset) + ", size " + shape_string(size) +
           ", stride " + shape_string(stride) + ") does not fit its storage of " +
           std::to_string(n) + " elements");
    }
    return storage.as_strided(size, stride, offset);
  }

  // A tuple of ints (a tensor's size or stride).
  std::vector<int64_t> ints(const Value& tuple) {
    std::vector<int64_t> out;
    if (!tuple.is(Kind::kTuple)) fail("tensor size/stride " + tuple.repr() + " is not a tuple");
    for (const auto& item : tuple.items()) {
      if (!item.is(Kind::kInt)) fail("tensor size/stride " + tuple.repr() + " holds a non-int");
      out.push_back(item.as_int());
    }
    return out;
  }

  void no_hooks(const Value& hooks) {
    if (!hooks.is(Kind::kObject) || hooks.object().callable != kOrderedDict ||
        !hooks.object().dict_items.empty()) {
      fail("tensor with backward hooks " + hooks.repr() + " (only empty OrderedDict() allowed)");
    }
  }

  // ('storage', torch.FloatStorage, key, location, numel) -> 1-D CPU tensor.
  torch::Tensor load_storage(const Value& pid) {
    if (!pid.is(Kind::kTuple) || pid.items().size() != 5 ||
        pid.items()[0] != Value::string("storage") || !pid.items()[1].is(Kind::kGlobal) ||
        !pid.items()[2].is(Kind::kString) || !pid.items()[3].is(Kind::kString) ||
        !pid.items()[4].is(Kind::kInt)) {
      fail("unexpected persistent id " + pid.repr() +
           ", expected ('storage', type, key, location, numel)");
    }
    const auto& type = pid.items()[1].global_name();
    const auto& key = pid.items()[2].as_string();
    const int64_t numel = pid.items()[4].as_int();
    const auto dtype = storage_dtypes().find(type);
    if (dtype == storage_dtypes().end()) fail("unsupported storage type " + type);
    if (key.empty() || key.find_first_not_of("0123456789") != std::string::npos) {
      fail("storage key '" + key + "' is not a decimal number");
    }
    auto cached = storages_.find(key);
    if (cached != storages_.end()) {
      if (cached->second.scalar_type() != dtype->second || cached->second.numel() != numel) {
        fail("storage " + key + " is used with two different types or sizes");
      }
      return cached->second;
    }
    const std::string record = "data/" + key;
    if (!zip_.hasRecord(record)) fail("record " + record + " is missing");
    auto [data, bytes] = zip_.getRecord(record);
    const auto element = static_cast<int64_t>(c10::elementSize(dtype->second));
    if (numel < 0 || static_cast<uint64_t>(numel) != bytes / element || bytes % element != 0) {
      fail("record " + record + " has " + std::to_string(bytes) + " bytes, expected " +
           std::to_string(numel) + " x " + std::to_string(element) + " for a " + type +
           " (file truncated or corrupt?)");
    }
    torch::Tensor storage = torch::empty({numel}, torch::TensorOptions(dtype->second));
    if (bytes > 0) std::memcpy(storage.data_ptr(), data.get(), bytes);
    storages_.emplace(key, storage);
    return storage;
  }

  caffe2::serialize::PyTorchStreamReader& zip_;
  std::string source_;
  std::map<std::string, torch::Tensor> storages_;
};

std::string first_line(const char* text) {
  std::string s(text);
  return s.substr(0, s.find('\n'));
}

}  // namespace

SavedValue torch_load(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw std::runtime_error(
        path + (fs::exists(path, ec) ? ": not a regular file" : ": no such file (check the path)"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open (" + std::strerror(errno) + ")");
  char magic[4] = {};
  in.read(magic, sizeof magic);
  if (magic[0] == '\x80') {
    throw std::runtime_error(path +
                             ": legacy (pre-1.6, non-zip) torch.save format, not "
                             "supported; re-save it with a current PyTorch");
  }
  if (std::memcmp(magic, "PK\x03\x04", 4) != 0) {
    throw std::runtime_error(path + ": not a torch.save file (no zip header; " +
                             std::to_string(fs::file_size(path, ec)) +
                             " bytes). Expected a file written by torch.save or this program");
  }
  try {
    caffe2::serialize::PyTorchStreamReader zip(path);
    if (!zip.hasRecord("data.pkl")) {
      throw std::runtime_error(path + (zip.hasRecord("constants.pkl")
                                           ? ": a TorchScript archive (torch.jit.save), not "
                                             "torch.save; save model.state_dict() with torch.save"
                                           : ": zip archive without data.pkl, not a torch.save "
                                             "file"));
    }
    if (zip.hasRecord("byteorder")) {
      auto [order, n] = zip.getRecord("byteorder");
      if (std::string(static_cast<const char*>(order.get()), n) != "little") {
        throw std::runtime_error(path + ": big-endian tensors are not supported");
      }
    }
    auto [data, size] = zip.getRecord("data.pkl");
    const Value tree = pickle::read(std::string_view(static_cast<const char*>(data.get()), size),
                                    allowed_globals(), path + ": data.pkl");
    return Loader(zip, path).convert(tree);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": corrupt or truncated torch.save archive (" +
                             first_line(e.what_without_backtrace()) +
                             "); re-copy or re-create the file");
  }
}

// ---- Writing -------------------------------------------------------------------

namespace {

// Builds the pickle torch.save would write; tensors become _rebuild_tensor_v2 calls
// on storages numbered in order of appearance.
class Saver {
 public:
  std::vector<torch::Tensor> storages;  // contiguous CPU tensors; record data/<index>

  Value convert(const SavedValue& v) {
    using Type = SavedValue::Type;
    switch (v.type()) {
      case Type::kNone:
        return Value();
      case Type::kBool:
        return Value::boolean(v.as_bool());
      case Type::kInt:
        return Value::integer(v.as_int());
      case Type::kFloat:
        return Value::real(v.as_float());
      case Type::kString:
        return Value::string(v.as_string());
      case Type::kTensor:
        return tensor(v.as_tensor());
      case Type::kList: {
        Value::Items items;
        for (const auto& item : v.as_list()) items.push_back(convert(item));
        return v.is_tuple() ? Value::tuple(std::move(items)) : Value::list(std::move(items));
      }
      case Type::kDict:
        break;
    }
    Value::DictItems items;
    for (const auto& [k, item] : v.as_dict()) {
      if (k.type() != Type::kString && k.type() != Type::kInt) {
        throw std::invalid_argument("torch_save: dict key of type " + k.type_name() +
                                    ", expected str or int");
      }
      items.emplace_back(convert(k), convert(item));
    }
    return v.is_ordered() ? ordered_dict(std::move(items)) : Value::dict(std::move(items));
  }

 private:
  static Value ordered_dict(Value::DictItems items) {
    pickle::Object od;
    od.callable = kOrderedDict;
    od.dict_items = std::move(items);
    return Value::object(std::move(od));
  }

  Value tensor(const torch::Tensor& t) {
    std::string type;
    for (const auto& [name, dtype] : storage_dtypes()) {
      if (dtype == t.scalar_type()) type = name;
    }
    if (type.empty()) {
      throw std::invalid_argument(std::string("torch_save: tensors of dtype ") +
                                  c10::toString(t.scalar_type()) + " are not supported");
    }
    // Contiguous on the CPU: data_ptr() .. + nbytes() is the record.
    const torch::Tensor data = t.detach().to(torch::kCPU).contiguous();
    storages.push_back(data);
    Value::Items size, stride;
    int64_t step = 1;
    for (int64_t d = data.dim() - 1; d >= 0; --d) {
      stride.insert(stride.begin(), Value::integer(step));
      size.insert(size.begin(), Value::integer(data.size(d)));
      step *= std::max<int64_t>(data.size(d), 1);
    }
    const Value pid = Value::tuple({Value::string("storage"), Value::global(type),
                                    Value::string(std::to_string(storages.size() - 1)),
                                    Value::string("cpu"), Value::integer(data.numel())});
    pickle::Object rebuild;
    rebuild.callable = kRebuildTensor;
    rebuild.args = {Value::persistent_id(pid),     Value::integer(0),
                    Value::tuple(std::move(size)), Value::tuple(std::move(stride)),
                    Value::boolean(false),         ordered_dict({})};
    return Value::object(std::move(rebuild));
  }
};

}  // namespace

void torch_save(const std::string& path, const SavedValue& value) {
  Saver saver;
  const std::string pickle_bytes = pickle::write(saver.convert(value));
  AtomicFile file(path);
  try {
    caffe2::serialize::PyTorchStreamWriter zip([&file](const void* data, size_t n) {
      file.write(data, n);
      return n;
    });
    // Record order as torch.save: data.pkl, byteorder (2.x), data/0.., version.
    zip.writeRecord("data.pkl", pickle_bytes.data(), pickle_bytes.size());
    zip.writeRecord("byteorder", "little", 6);
    for (size_t i = 0; i < saver.storages.size(); ++i) {
      const auto& s = saver.storages[i];
      zip.writeRecord("data/" + std::to_string(i), s.data_ptr(), s.nbytes());
    }
    zip.writeEndOfFile();
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": writing the archive failed (" +
                             first_line(e.what_without_backtrace()) + ")");
  }
  file.commit();
}

}  // namespace googlenet
