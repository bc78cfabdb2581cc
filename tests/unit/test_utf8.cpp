#include <gtest/gtest.h>

#include "rso/io/utf8.hpp"

namespace rso {
namespace {

TEST(Utf8, AcceptsValidText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));                             // U+10FFFF
}

TEST(Utf8, ReportsTheFirstBadByte) {
  EXPECT_EQ(find_invalid_utf8("ab\xff"), 2u);                // never valid
  EXPECT_EQ(find_invalid_utf8("a\xc3"), 1u);                 // truncated
  EXPECT_EQ(find_invalid_utf8("\xc0\xaf"), 0u);              // overlong '/'
  EXPECT_EQ(find_invalid_utf8("\xe0\x80\xaf"), 0u);          // overlong
  EXPECT_EQ(find_invalid_utf8("xy\xed\xa0\x80"), 2u);        // surrogate U+D800
  EXPECT_EQ(find_invalid_utf8("\xf4\x90\x80\x80"), 0u);      // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\xe2\x82"), 0u);              // truncated 3-byte
  EXPECT_EQ(find_invalid_utf8("ok\xe2\x28\xa1"), 2u);        // bad continuation
}

}  // namespace
}  // namespace rso
