// CifarLoader: the reference's batch counts, file order for evaluation, batches
// independent of thread count, resuming mid-epoch, DistributedSampler sharding.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "googlenet/data/augment.h"
#include "googlenet/data/cifar.h"
#include "googlenet/data/loader.h"
#include "test_util.h"

namespace googlenet {
namespace {

std::shared_ptr<const Cifar10> real(Split split) {
  static const auto test =
      std::make_shared<const Cifar10>(load_cifar10(testing::cifar_bin_dir(), Split::kTest));
  if (split == Split::kTest) return test;
  static const auto train =
      std::make_shared<const Cifar10>(load_cifar10(testing::cifar_bin_dir(), Split::kTrain));
  return train;
}

LoaderOptions train_options(int64_t threads, uint64_t seed = 42) {
  LoaderOptions o;
  o.seed = seed;
  o.threads = threads;
  return o;
}

std::vector<Batch> epoch(CifarLoader& loader, int64_t number, int64_t first_batch = 0) {
  loader.start_epoch(number, first_batch);
  std::vector<Batch> batches;
  while (auto batch = loader.next()) batches.push_back(std::move(*batch));
  return batches;
}

void expect_same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].index, b[i].index);
    ASSERT_TRUE(torch::equal(a[i].indices, b[i].indices)) << "batch " << i;
    ASSERT_TRUE(torch::equal(a[i].labels, b[i].labels)) << "batch " << i;
    ASSERT_TRUE(torch::equal(a[i].images, b[i].images)) << "batch " << i;
  }
}

std::vector<int64_t> all_indices(const std::vector<Batch>& batches) {
  std::vector<int64_t> indices;
  for (const auto& b : batches) {
    const auto* p = b.indices.data_ptr<int64_t>();
    indices.insert(indices.end(), p, p + b.indices.numel());
  }
  return indices;
}

TEST(Loader, TrainEpochIs391ShuffledBatchesWithThePartialLastOne) {
  const auto data = real(Split::kTrain);
  CifarLoader loader(data, train_options(/*threads=*/2));
  EXPECT_EQ(loader.batches_per_epoch(), 391);
  loader.start_epoch(0);
  std::vector<int64_t> indices, sizes;
  while (auto batch = loader.next()) {  // checked as they come: the epoch is 600 MB of floats
    ASSERT_EQ(batch->index, static_cast<int64_t>(sizes.size()));
    ASSERT_EQ(batch->images.dim(), 4);
    ASSERT_EQ(batch->images.sizes().slice(1), torch::IntArrayRef({3, 32, 32}));
    ASSERT_EQ(batch->images.scalar_type(), torch::kFloat32);
    ASSERT_TRUE(batch->images.is_contiguous());
    ASSERT_EQ(batch->labels.scalar_type(), torch::kInt64);
    const auto* index = batch->indices.data_ptr<int64_t>();
    const auto* label = batch->labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < batch->labels.size(0); ++i) {
      ASSERT_EQ(label[i], data->labels[index[i]]);
      indices.push_back(index[i]);
    }
    sizes.push_back(batch->images.size(0));
  }
  ASSERT_EQ(sizes.size(), 391u);
  EXPECT_EQ(sizes.front(), 128);
  EXPECT_EQ(sizes.back(), 50000 - 390 * 128);  // 80, kept
  EXPECT_FALSE(std::is_sorted(indices.begin(), indices.end()));
  std::sort(indices.begin(), indices.end());
  std::vector<int64_t> expected(50000);
  std::iota(expected.begin(), expected.end(), int64_t{0});
  EXPECT_EQ(indices, expected);  // every image exactly once
}

TEST(Loader, TestLoaderKeepsFileOrderWithoutAugmentation) {
  LoaderOptions o{kTestBatchSize, /*shuffle=*/false, /*augment=*/false,      /*seed=*/0,
                  /*threads=*/1,  /*prefetch=*/2,    /*channels_last=*/false};
  CifarLoader loader(real(Split::kTest), o);
  const auto batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 100u);
  const auto& data = *real(Split::kTest);
  for (int64_t k : {0, 57, 99}) {
    ASSERT_EQ(batches[k].images.size(0), 100);
    EXPECT_TRUE(torch::equal(batches[k].indices, torch::arange(k * 100, k * 100 + 100)));
    auto expected = torch::empty({100, 3, 32, 32});
    for (int64_t i = 0; i < 100; ++i) {
      normalize_image(data.image(k * 100 + i), false, expected[i].data_ptr<float>());
      EXPECT_EQ(batches[k].labels[i].item<int64_t>(), data.labels[k * 100 + i]);
    }
    EXPECT_TRUE(torch::equal(batches[k].images, expected)) << "batch " << k;
  }
  expect_same(epoch(loader, 1), batches);  // no shuffle: every epoch alike
}

TEST(Loader, SameBatchesForAnyThreadCountAndRun) {
  CifarLoader one(real(Split::kTest), train_options(1));
  CifarLoader four(real(Split::kTest), train_options(4));
  CifarLoader inline_loader(real(Split::kTest), train_options(0));
  const auto reference = epoch(one, 3);
  expect_same(epoch(four, 3), reference);
  expect_same(epoch(inline_loader, 3), reference);
  CifarLoader again(real(Split::kTest), train_options(2));
  expect_same(epoch(again, 3), reference);
}

TEST(Loader, ReshuffledAndReaugmentedEveryEpochAndSeed) {
  CifarLoader loader(real(Split::kTest), train_options(2));
  const auto e0 = epoch(loader, 0), e1 = epoch(loader, 1);
  EXPECT_FALSE(torch::equal(e0[0].indices, e1[0].indices));
  CifarLoader other_seed(real(Split::kTest), train_options(2, /*seed=*/43));
  EXPECT_FALSE(torch::equal(epoch(other_seed, 0)[0].indices, e0[0].indices));
  // The same image in two epochs gets fresh crops: compare image 0 wherever it lands.
  const auto find = [](const std::vector<Batch>& batches) {
    for (const auto& b : batches) {
      for (int64_t i = 0; i < b.indices.size(0); ++i) {
        if (b.indices[i].item<int64_t>() == 0) return b.images[i];
      }
    }
    return torch::Tensor();
  };
  EXPECT_FALSE(torch::equal(find(e0), find(e1)));
}

TEST(Loader, ResumeAtBatchKEqualsTheTailOfTheFullEpoch) {
  CifarLoader full(real(Split::kTest), train_options(2));
  const auto whole = epoch(full, 5);
  CifarLoader resumed(real(Split::kTest), train_options(3));
  resumed.start_epoch(9);
  ASSERT_TRUE(resumed.next().has_value());  // abandon an epoch with batches in flight
  const auto tail = epoch(resumed, 5, /*first_batch=*/40);
  expect_same(tail, std::vector<Batch>(whole.begin() + 40, whole.end()));
  EXPECT_TRUE(epoch(resumed, 5, resumed.batches_per_epoch()).empty());
}

TEST(Loader, ShardsFollowDistributedSampler) {
  const int64_t n = 10000;
  const LoaderOptions single = train_options(0);
  const auto order = shard_indices(n, 2, single);  // the shared permutation
  for (int64_t world : {3, 4}) {
    const int64_t per_rank = (n + world - 1) / world;
    std::vector<int64_t> seen;
    for (int64_t rank = 0; rank < world; ++rank) {
      LoaderOptions o = train_options(2);
      o.rank = rank;
      o.world_size = world;
      CifarLoader loader(real(Split::kTest), o);
      EXPECT_EQ(loader.samples_per_epoch(), per_rank);
      const auto indices = all_indices(epoch(loader, 2));
      ASSERT_EQ(static_cast<int64_t>(indices.size()), per_rank);
      for (int64_t k = 0; k < per_rank; ++k) {
        ASSERT_EQ(indices[k], order[(rank + k * world) % n]) << "rank " << rank << " k " << k;
      }
      seen.insert(seen.end(), indices.begin(), indices.end());
    }
    // Padding repeats the permutation's first (world * per_rank - n) entries.
    std::vector<int64_t> expected(order);
    expected.insert(expected.end(), order.begin(), order.begin() + (world * per_rank - n));
    std::sort(seen.begin(), seen.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(seen, expected) << "world " << world;
  }
}

TEST(Loader, ChannelsLastHoldsTheSameValues) {
  LoaderOptions o = train_options(1);
  o.channels_last = true;
  CifarLoader nhwc(real(Split::kTest), o);
  CifarLoader nchw(real(Split::kTest), train_options(1));
  nhwc.start_epoch(0);
  nchw.start_epoch(0);
  const auto a = *nhwc.next(), b = *nchw.next();
  EXPECT_TRUE(a.images.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_EQ(a.images.sizes(), b.images.sizes());
  EXPECT_TRUE(torch::equal(a.images, b.images));
}

TEST(Loader, BadOptionsAndMisuseAreExplained) {
  const auto message = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  };
  LoaderOptions o = train_options(1);
  o.batch_size = 0;
  EXPECT_EQ(message([&] { CifarLoader(real(Split::kTest), o); }),
            "LoaderOptions: batch_size 0, expected >= 1");
  o = train_options(1);
  o.rank = 2;
  o.world_size = 2;
  EXPECT_EQ(message([&] { CifarLoader(real(Split::kTest), o); }),
            "LoaderOptions: rank 2, expected 0 <= rank < world_size 2");
  EXPECT_EQ(message([&] { CifarLoader(std::make_shared<Cifar10>(), train_options(1)); }),
            "CifarLoader: empty dataset (load_cifar10 first)");
  CifarLoader loader(real(Split::kTest), train_options(1));
  EXPECT_EQ(message([&] { loader.next(); }),
            "CifarLoader::next: no epoch started (call start_epoch(epoch) first)");
  EXPECT_EQ(message([&] { loader.start_epoch(0, 80); }),
            "CifarLoader::start_epoch: first_batch 80, expected 0..79 (batches per epoch)");
}

}  // namespace
}  // namespace googlenet
