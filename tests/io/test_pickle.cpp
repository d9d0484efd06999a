// The strict unpickler on pickles made by CPython (protocols 2, 4, 5 and a Python 2
// numpy pickle like CIFAR-10's), the writer, and refusal of hostile or broken input.
#include <gtest/gtest.h>

#include <random>

#include "googlenet/io/pickle.h"
#include "test_util.h"

namespace googlenet::pickle {
using namespace std::string_literals;

namespace {

using testing::Contains;

// pickle.dumps(kObject, protocol=4) by CPython 3.11 (protocol 5 differs only in
// the PROTO byte), where kObject = {'name': 'café', 'n': [0, 255, 65535, -1, 2**31,
// -2**40, 2**63-1, -2**63], 'f': 0.5, 't': (1,), 'b': b'\x00\xff', 'ok': True,
// 'no': None, 'nest': ((1, 2), (3, 4, 5), ()), 'e': {}}: FRAME, MEMOIZE,
// SHORT_BINUNICODE, SHORT_BINBYTES, LONG1, ...
const std::string kProtocol4(
    "\x80\x04\x95\x93\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x8c\x04\x6e\x61\x6d\x65\x94\x8c\x05"
    "\x63\x61\x66\xc3\xa9\x94\x8c\x01\x6e\x94\x5d\x94\x28\x4b\x00\x4b\xff\x4d\xff\xff\x4a\xff\xff"
    "\xff\xff\x8a\x05\x00\x00\x00\x80\x00\x8a\x06\x00\x00\x00\x00\x00\xff\x8a\x08\xff\xff\xff\xff"
    "\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x65\x8c\x01\x66\x94\x47\x3f\xe0\x00"
    "\x00\x00\x00\x00\x00\x8c\x01\x74\x94\x4b\x01\x85\x94\x8c\x01\x62\x94\x43\x02\x00\xff\x94\x8c"
    "\x02\x6f\x6b\x94\x88\x8c\x02\x6e\x6f\x94\x4e\x8c\x04\x6e\x65\x73\x74\x94\x4b\x01\x4b\x02\x86"
    "\x94\x4b\x03\x4b\x04\x4b\x05\x87\x94\x29\x87\x94\x8c\x01\x65\x94\x7d\x94\x75\x2e",
    158);

// The same object with protocol=2: BINUNICODE, BINPUT/BINGET, and bytes as
// _codecs.encode('\x00\xff', 'latin1') (a REDUCE).
const std::string kProtocol2(
    "\x80\x02\x7d\x71\x00\x28\x58\x04\x00\x00\x00\x6e\x61\x6d\x65\x71\x01\x58\x05\x00\x00\x00\x63"
    "\x61\x66\xc3\xa9\x71\x02\x58\x01\x00\x00\x00\x6e\x71\x03\x5d\x71\x04\x28\x4b\x00\x4b\xff\x4d"
    "\xff\xff\x4a\xff\xff\xff\xff\x8a\x05\x00\x00\x00\x80\x00\x8a\x06\x00\x00\x00\x00\x00\xff\x8a"
    "\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x65\x58\x01\x00"
    "\x00\x00\x66\x71\x05\x47\x3f\xe0\x00\x00\x00\x00\x00\x00\x58\x01\x00\x00\x00\x74\x71\x06\x4b"
    "\x01\x85\x71\x07\x58\x01\x00\x00\x00\x62\x71\x08\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e"
    "\x63\x6f\x64\x65\x0a\x71\x09\x58\x03\x00\x00\x00\x00\xc3\xbf\x71\x0a\x58\x06\x00\x00\x00\x6c"
    "\x61\x74\x69\x6e\x31\x71\x0b\x86\x71\x0c\x52\x71\x0d\x58\x02\x00\x00\x00\x6f\x6b\x71\x0e\x88"
    "\x58\x02\x00\x00\x00\x6e\x6f\x71\x0f\x4e\x58\x04\x00\x00\x00\x6e\x65\x73\x74\x71\x10\x4b\x01"
    "\x4b\x02\x86\x71\x11\x4b\x03\x4b\x04\x4b\x05\x87\x71\x12\x29\x87\x71\x13\x58\x01\x00\x00\x00"
    "\x65\x71\x14\x7d\x71\x15\x75\x2e",
    238);

// What Python 2's cPickle writes for {'label': 3, 'data': numpy.array([7, 9],
// dtype=uint8)}: the layout of CIFAR-10's python batches (checked with
// pickle.loads(..., encoding='bytes')).
const std::string kPython2Numpy(
    "\x80\x02}q\x00(U\x05labelq\x01K\x03U\x04"
    "dataq\x02"
    "cnumpy.core.multiarray\n_reconstruct\nq\x03"
    "cnumpy\nndarray\nq\x04K\x00\x85U\x01"
    "b\x87Rq\x05"
    "(K\x01K\x02\x85"
    "cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R"
    "(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    "\x89T\x02\x00\x00\x00\x07\x09tbu.",
    154);

const AllowedGlobals kNumpy = {"numpy.core.multiarray._reconstruct", "numpy.ndarray",
                               "numpy.dtype"};

void expect_the_object(const Value& v) {
  ASSERT_TRUE(v.is(Kind::kDict));
  EXPECT_EQ(v.dict().size(), 9u);
  EXPECT_EQ(v.dict().front().first.as_string(), "name");  // insertion order kept
  EXPECT_EQ(v.at("name").as_string(), "caf\xc3\xa9");
  const std::vector<int64_t> ints = {
      0, 255, 65535, -1, int64_t{1} << 31, -(int64_t{1} << 40), INT64_MAX, INT64_MIN};
  ASSERT_EQ(v.at("n").items().size(), ints.size());
  for (size_t i = 0; i < ints.size(); ++i) EXPECT_EQ(v.at("n").items()[i].as_int(), ints[i]);
  EXPECT_EQ(v.at("f").as_float(), 0.5);
  EXPECT_EQ(v.at("t"), Value::tuple({Value::integer(1)}));
  EXPECT_TRUE(v.at("ok").as_bool());
  EXPECT_TRUE(v.at("no").is(Kind::kNone));
  const auto& nest = v.at("nest").items();
  ASSERT_EQ(nest.size(), 3u);
  EXPECT_EQ(nest[1].items()[2].as_int(), 5);
  EXPECT_TRUE(nest[2].items().empty());
  EXPECT_TRUE(v.at("e").dict().empty());
}

TEST(Pickle, ReadsProtocols4And5) {
  const Value v = read(kProtocol4, {}, "p4.pkl");
  expect_the_object(v);
  EXPECT_EQ(v.at("b").as_bytes(), std::string("\x00\xff", 2));
  std::string p5 = kProtocol4;
  p5[1] = 5;
  EXPECT_EQ(read(p5, {}, "p5.pkl"), v);
}

TEST(Pickle, ReadsProtocol2WithWhitelistedReduce) {
  const Value v = read(kProtocol2, {"_codecs.encode"}, "p2.pkl");
  expect_the_object(v);
  const Object& encoded = v.at("b").object();
  EXPECT_EQ(encoded.callable, "_codecs.encode");
  EXPECT_EQ(encoded.args[1].as_string(), "latin1");
}

TEST(Pickle, ReadsPython2NumpyLayout) {
  const Value v = read(kPython2Numpy, kNumpy, "data_batch_1");
  EXPECT_EQ(v.at("label").as_int(), 3);  // py2 str keys are bytes; find() matches them
  const Object& array = v.at("data").object();
  EXPECT_EQ(array.callable, "numpy.core.multiarray._reconstruct");
  EXPECT_EQ(array.args[0].global_name(), "numpy.ndarray");
  const auto& state = array.state->items();  // (version, shape, dtype, fortran, raw)
  EXPECT_EQ(state[1], Value::tuple({Value::integer(2)}));
  EXPECT_EQ(state[2].object().callable, "numpy.dtype");
  EXPECT_EQ(state[2].object().args[0].as_bytes(), "u1");
  EXPECT_EQ(state[4].as_bytes(), "\x07\x09");
}

TEST(Pickle, WriteThenReadIsIdentity) {
  Object od{"collections.OrderedDict", /*newobj=*/false, {}, {}, {}, std::nullopt};
  od.dict_items = {{Value::string("w"), Value::list({Value::real(-1.25), Value()})}};
  od.state = Value::dict({});
  const Value v = Value::dict({
      {Value::string("od"), Value::object(od)},
      {Value::integer(7), Value::tuple({Value::integer(-70000), Value::integer(INT64_MIN),
                                        Value::integer(int64_t{1} << 40), Value::boolean(false)})},
      {Value::string("big"), Value::bytes(std::string(300, 'x'))},
      {Value::string("pid"), Value::persistent_id(Value::tuple(
                                 {Value::string("storage"), Value::global("torch.FloatStorage"),
                                  Value::string("0"), Value::string("cpu"), Value::integer(3)}))},
  });
  const std::string bytes = write(v);
  EXPECT_EQ(bytes.substr(0, 2), "\x80\x02");
  EXPECT_EQ(read(bytes, {"collections.OrderedDict", "torch.FloatStorage"}, "mine.pkl"), v);
}

std::string refusal(const std::string& bytes, const AllowedGlobals& allowed = {}) {
  try {
    read(bytes, allowed, "evil.pkl");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << ::testing::PrintToString(bytes);
  return "";
}

TEST(Pickle, RefusesGlobalsOutsideTheWhitelist) {
  // pickle.dumps of an object whose __reduce__ is (os.system, ('echo pwned',)).
  const std::string evil(
      "\x80\x02\x63posix\nsystem\nq\x00X\x0a\x00\x00\x00"
      "echo pwnedq\x01\x85R.",
      38);
  const std::string msg = refusal(evil, kNumpy);
  EXPECT_TRUE(Contains(msg,
                       "evil.pkl: pickle byte 2 (GLOBAL): global 'posix.system' is not "
                       "allowed (allowed: numpy.core.multiarray._reconstruct"));
  EXPECT_TRUE(Contains(msg, "refused"));
  EXPECT_TRUE(Contains(refusal(kProtocol2), "global '_codecs.encode' is not allowed"));
  // STACK_GLOBAL (protocol 4) goes through the same check.
  EXPECT_TRUE(Contains(refusal("\x80\x04\x8c\x02os\x8c\x06system\x93."s),
                       "(STACK_GLOBAL): global 'os.system' is not allowed"));
  EXPECT_TRUE(Contains(refusal("\x80\x02\x63os\nsys tem\nN."s), "outside [A-Za-z0-9_.]"));
}

TEST(Pickle, RefusesBrokenStructure) {
  EXPECT_TRUE(Contains(refusal(""s), "evil.pkl: pickle byte 0: empty"));
  EXPECT_TRUE(Contains(refusal("PK\x03\x04"s), "not a pickle of protocol 2-5"));
  EXPECT_TRUE(Contains(refusal("\x80\x01N."s), "protocol 1"));
  EXPECT_TRUE(Contains(refusal("\x80\x02N.junk"s), "4 trailing bytes after STOP"));
  EXPECT_TRUE(Contains(refusal("\x80\x02NN."s), "byte 4 (STOP): stack is not exactly one value"));
  EXPECT_TRUE(Contains(refusal("\x80\x02\x85."s), "byte 2 (TUPLE1): stack underflow"));
  EXPECT_TRUE(Contains(refusal("\x80\x02N(\x85."s), "stack underflow"));  // not across a MARK
  EXPECT_TRUE(Contains(refusal("\x80\x02Nt."s), "(TUPLE): no MARK"));
  EXPECT_TRUE(Contains(refusal("\x80\x02h\x05."s), "(BINGET): memo entry 5 was never stored"));
  EXPECT_TRUE(Contains(refusal("\x80\x02I1\n."s), "byte 2: unsupported opcode 0x49"));
  EXPECT_TRUE(Contains(refusal("\x80\x02K\x01K\x02R."s), "(REDUCE): callable is a int"));
  EXPECT_TRUE(Contains(refusal("\x80\x02]NNs."s), "(SETITEM): cannot apply it to a list"));
}

TEST(Pickle, RefusesAbsurdSizesAndRecursion) {
  EXPECT_TRUE(
      Contains(refusal("\x80\x02X\xff\xff\xff\xff"s),
               "byte 2 (BINUNICODE): truncated: a str needs 4294967295 bytes, only 0 left"));
  EXPECT_TRUE(Contains(refusal("\x80\x02\x8e\xff\xff\xff\xff\xff\xff\xff\xff."s),
                       "truncated: a bytes value needs 18446744073709551615 bytes"));
  EXPECT_TRUE(Contains(refusal("\x80\x02T\xff\xff\xff\xff."s), "negative length -1"));
  EXPECT_TRUE(Contains(refusal(std::string("\x80\x02\x8a\x09", 4) + std::string(9, '\x01') + "."),
                       "integer of 9 bytes does not fit in 64 bits"));
  EXPECT_TRUE(Contains(refusal("\x80\x02X\x02\x00\x00\x00\xc3(."s), "not valid UTF-8"));
  // l = []; l.append(l)
  EXPECT_TRUE(Contains(refusal("\x80\x02]q\x00h\x00"
                               "a."s),
                       "a value contains itself"));
  // l = []; t = (l,); l.append(t)
  EXPECT_TRUE(Contains(refusal("\x80\x02]q\x00h\x00\x85"
                               "a."s),
                       "already nested"));
  EXPECT_TRUE(Contains(
      refusal("\x80\x02" + std::string(kMaxDepth + 1, ']') + std::string(kMaxDepth, 'a') + "."),
      "nested deeper than 100"));
  EXPECT_TRUE(Contains(refusal("\x80\x02}(X\x01\x00\x00\x00"
                               "aNX\x01\x00\x00\x00"
                               "aNu."s),
                       "(SETITEMS): duplicate dict key 'a'"));
  EXPECT_TRUE(Contains(refusal("\x80\x02}]Ns."s), "unhashable dict key []"));
}

// Every prefix of a valid pickle, and many random corruptions of it, must either
// parse or throw std::runtime_error; never crash or read out of bounds.
TEST(Pickle, SurvivesTruncationAndByteFlips) {
  const AllowedGlobals allowed = {"_codecs.encode"};
  for (const std::string& valid : {kProtocol2, kProtocol4, kPython2Numpy}) {
    for (size_t n = 0; n < valid.size(); ++n) {
      EXPECT_THROW(read(valid.substr(0, n), kNumpy, "cut.pkl"), std::runtime_error) << n;
    }
  }
  std::mt19937 rng(1234);
  int parsed = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string bytes = trial % 2 ? kProtocol2 : kPython2Numpy;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    const std::string error = testing::error_of<std::runtime_error>(
        [&] { read(bytes, trial % 2 ? allowed : kNumpy, "flipped.pkl"); });
    if (error == testing::kNoError) {
      ++parsed;
    } else {
      EXPECT_EQ(error.rfind("flipped.pkl: ", 0), 0u) << "trial " << trial << ": " << error;
    }
  }
  EXPECT_LT(parsed, 20000);
}

}  // namespace
}  // namespace googlenet::pickle
