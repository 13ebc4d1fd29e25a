// Receptive fields of AlexNet and VGG-16 against published values: Araujo, Norris and Sim, "Computing
// Receptive Fields of Convolutional Neural Networks", Distill 2019, Table 1 (alexnet_v2: r = 195;
// vgg_16: r = 212, both with effective stride 32).
#include "rotor/metrics/receptive_field.h"

#include <gtest/gtest.h>

#include "rotor/core/error.h"

namespace rotor::metrics {
namespace {

TEST(ReceptiveField, AlexNetAndVgg16MatchPublishedValues) {
  const auto alex = receptive_fields(named_net("alexnet"));
  EXPECT_EQ(alex.back().receptive_field, 195);
  EXPECT_EQ(alex.back().jump, 32);
  const auto vgg = receptive_fields(named_net("vgg16"));
  ASSERT_EQ(vgg.size(), 18u);
  EXPECT_EQ(vgg.back().receptive_field, 212);
  EXPECT_EQ(vgg.back().jump, 32);
  EXPECT_EQ(vgg[0].receptive_field, 3);  // conv1_1
  EXPECT_EQ(vgg[2].receptive_field, 6);  // pool1
}

TEST(ReceptiveField, StartAndDilation) {
  // a 3x3 conv, padding 1: the first unit's field is centred on pixel 0.5; a dilated 3x3 (d = 2) after a
  // stride-2 layer grows the field by (3 - 1) 2 2 = 8.
  const auto rows = receptive_fields({{"a", 3, 1, 1}, {"b", 2, 2, 0}, {"c", 3, 1, 0, 2}});
  EXPECT_EQ(rows[0].start, 0.5);
  EXPECT_EQ(rows[1].start, 1.0);
  EXPECT_EQ(rows[2].receptive_field, 4 + 8);
  EXPECT_THROW(named_net("resnet"), Error);
  EXPECT_THROW(receptive_fields({{"bad", 0}}), Error);
}

}  // namespace
}  // namespace rotor::metrics
