// Id maps: parsing, validation, subordinate ranges and `auto` allocation (pure functions).
#include "podns/idmap.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

TEST(IdMap, ParsesSeveralRanges) {
  auto m = parse_idmap("0:100000:1000,1000:1000:1, 1001:101001:64535");
  ASSERT_OK(m);
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0], (IdMapRange{0, 100000, 1000}));
  EXPECT_EQ((*m)[1], (IdMapRange{1000, 1000, 1}));
  EXPECT_EQ((*m)[2], (IdMapRange{1001, 101001, 64535}));
  EXPECT_EQ(format_idmap(*m), "0:100000:1000,1000:1000:1,1001:101001:64535");
  EXPECT_EQ(kernel_idmap_text(*m), "0 100000 1000\n1000 1000 1\n1001 101001 64535\n");
}

TEST(IdMap, RejectsMalformed) {
  for (const char* bad : {"", "0:1", "0:1:2:3", "a:1:2", "0:-1:2", "0::2", "0:1:2,", ",0:1:2", "0 1 2", "0:1:0x10"}) {
    auto m = parse_idmap(bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_TRUE(m.error().is(Errc::invalid_argument)) << bad;
  }
}

TEST(IdMap, RejectsZeroSize) {
  auto m = parse_idmap("0:100000:0");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("size 0"), std::string::npos) << m.error().message();
}

TEST(IdMap, RejectsOverlapInsideAndOnHost) {
  auto inside = parse_idmap("0:100000:1000,999:300000:10");
  ASSERT_FALSE(inside);
  EXPECT_NE(inside.error().message().find("overlap inside"), std::string::npos) << inside.error().message();
  auto host = parse_idmap("0:100000:1000,5000:100500:10");
  ASSERT_FALSE(host);
  EXPECT_NE(host.error().message().find("overlap on the host"), std::string::npos) << host.error().message();
  // Adjacent is fine.
  EXPECT_OK(parse_idmap("0:100000:1000,1000:101000:10"));
}

TEST(IdMap, RejectsOverflow) {
  for (const char* bad : {"0:4294967295:1", "4294967295:0:1", "0:4294967000:1000", "4294967000:0:1000",
                          "0:99999999999:1", "0:0:4294967296"}) {
    auto m = parse_idmap(bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_TRUE(m.error().is(Errc::invalid_argument)) << bad;
  }
  EXPECT_OK(parse_idmap("0:0:4294967294"));
}

TEST(IdMap, RejectsTooManyRanges) {
  IdMap m;
  for (uint32_t i = 0; i < 341; ++i) m.push_back({i, 100000 + i, 1});
  auto s = validate_idmap(m, "uid map");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("340"), std::string::npos);
}

TEST(IdMap, MappingsNeedBoth) {
  IdMappings m;
  m.uid = {{0, 100000, 10}};
  auto s = validate_idmappings(m);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("without a gid map"), std::string::npos);
  m.gid = m.uid;
  EXPECT_OK(validate_idmappings(m));
  EXPECT_OK(validate_idmappings(IdMappings{}));
}

TEST(IdMap, ParsesKernelText) {
  auto m = parse_kernel_idmap("         0     100000      65536\n      65536          0          1\n");
  ASSERT_OK(m);
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[1], (IdMapRange{65536, 0, 1}));
  auto init = parse_kernel_idmap("         0          0 4294967295\n");
  ASSERT_OK(init);
  EXPECT_EQ((*init)[0].size, 4294967295u);
  EXPECT_FALSE(parse_kernel_idmap("0 1\n"));
  EXPECT_EQ(map_to_container(*m, 100005), 5u);
  EXPECT_EQ(map_to_container(*m, 0), 65536u);
  EXPECT_FALSE(map_to_container(*m, 5).has_value());
}

TEST(Subid, ParsesFile) {
  auto r = parse_subid_file("# comment\nroot:1000000:65536\n\npodns-test:2000000:65536\n1001:3000000:10\n");
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1].owner, "podns-test");
  EXPECT_EQ((*r)[1].start, 2000000u);
  EXPECT_EQ((*r)[2].owner, "1001");
  auto bad = parse_subid_file("root:1000000:65536\nbroken line\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("line 2"), std::string::npos);
}

TEST(Subid, RangesForUserByNameOrUid) {
  test::TempDir dir("subid");
  std::string path = dir / "subuid";
  FILE* f = fopen(path.c_str(), "w");
  fputs("alice:100000:65536\n1234:200000:100\nbob:300000:10\n", f);
  fclose(f);
  auto r = subid_ranges_for(path, "alice", 1234);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 2u);
  auto none = subid_ranges_for(dir / "missing", "alice", 1234);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST(Subid, AllocateSkipsRangesInUse) {
  std::vector<SubidRange> allowed{{"u", 100000, 200000}};
  auto first = allocate_idmap(allowed, 65536, {});
  ASSERT_OK(first);
  EXPECT_EQ(*first, (IdMap{{0, 100000, 65536}}));
  auto second = allocate_idmap(allowed, 65536, *first);
  ASSERT_OK(second);
  EXPECT_EQ(*second, (IdMap{{0, 165536, 65536}}));
  IdMap used = *first;
  used.insert(used.end(), second->begin(), second->end());
  auto third = allocate_idmap(allowed, 65536, used);
  ASSERT_OK(third);
  EXPECT_EQ(*third, (IdMap{{0, 231072, 65536}}));
  used.insert(used.end(), third->begin(), third->end());
  auto fourth = allocate_idmap(allowed, 65536, used);
  ASSERT_FALSE(fourth);
  EXPECT_TRUE(fourth.error().is(Errc::not_found));
}

TEST(Subid, AllocateSpansRangesWhenNeeded) {
  std::vector<SubidRange> allowed{{"u", 500000, 10}, {"u", 100000, 10}};
  auto m = allocate_idmap(allowed, 15, {{0, 100002, 3}});
  ASSERT_OK(m);
  EXPECT_EQ(*m, (IdMap{{0, 100000, 2}, {2, 100005, 5}, {7, 500000, 8}}));
  EXPECT_OK(validate_idmap(*m));
}

// Found by fuzz_idmap: /etc/subuid may list overlapping ranges for a user (usermod -v adds one
// without looking at the others); the ids they share were handed out once per range, and the
// kernel refuses a map whose host ranges overlap.
TEST(Subid, AllocateTakesAnIdOnceFromOverlappingRanges) {
  std::vector<SubidRange> allowed{{"u", 100000, 200}, {"u", 100050, 1000}};
  auto m = allocate_idmap(allowed, 601, {{0, 100000, 100}});
  ASSERT_OK(m);
  EXPECT_EQ(*m, (IdMap{{0, 100100, 100}, {100, 100200, 501}}));
  EXPECT_OK(validate_idmap(*m));
  EXPECT_OK(check_idmap_allowed(*m, 1000, allowed));
  auto same = allocate_idmap(std::vector<SubidRange>{{"u", 100000, 10}, {"u", 100000, 10}}, 10, {});
  ASSERT_OK(same);
  EXPECT_EQ(*same, (IdMap{{0, 100000, 10}}));
  auto too_many = allocate_idmap(std::vector<SubidRange>{{"u", 100000, 10}, {"u", 100000, 10}}, 11, {});
  ASSERT_FALSE(too_many);
  EXPECT_TRUE(too_many.error().is(Errc::not_found));
}

// fuzz_idmap's invariant (an `auto` map is a valid map) fails on this too (corpus/idmap/scattered):
// free ids scattered between ids in use made a map of more lines than the kernel takes (340);
// that is an error up front, not a map that fails to be written.
TEST(Subid, AllocateStopsAtTheKernelsLineLimit) {
  IdMap in_use;
  for (uint32_t i = 0; i < 400; ++i) in_use.push_back({i, 100000 + 2 * i, 1});
  std::vector<SubidRange> allowed{{"u", 100000, 800}};
  auto fits = allocate_idmap(allowed, kMaxIdMapRanges, in_use);
  ASSERT_OK(fits);
  EXPECT_EQ(fits->size(), kMaxIdMapRanges);
  EXPECT_OK(validate_idmap(*fits));
  auto m = allocate_idmap(allowed, kMaxIdMapRanges + 1, in_use);
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().is(Errc::not_found));
  EXPECT_NE(m.error().message().find("340"), std::string::npos) << m.error().message();
}

TEST(Subid, CallerMayUseOnlyItsRanges) {
  std::vector<SubidRange> allowed{{"podns-test", 2000000, 65536}};
  EXPECT_OK(check_idmap_allowed({{0, 2000000, 65536}}, 999, allowed));
  EXPECT_OK(check_idmap_allowed({{0, 999, 1}, {1, 2000000, 100}}, 999, allowed));
  auto s = check_idmap_allowed({{0, 1000000, 65536}}, 999, allowed, "uid map");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("not yours to map"), std::string::npos) << s.error().message();
  // One past the end of the range.
  EXPECT_FALSE(check_idmap_allowed({{0, 2000000, 65537}}, 999, allowed));
  EXPECT_FALSE(check_idmap_allowed({{0, 0, 1}}, 999, allowed));
}

TEST(Subid, AutoForRootReadsSubuidAndSubgid) {
  test::TempDir dir("subid");
  for (const char* f : {"subuid", "subgid"}) {
    FILE* fp = fopen((dir / f).c_str(), "w");
    fprintf(fp, "%s:700000:131072\n", ::geteuid() == 0 ? "root" : std::to_string(::geteuid()).c_str());
    fclose(fp);
  }
  SubidFiles files{dir / "subuid", dir / "subgid"};
  auto m = auto_idmappings(65536, {{0, 700000, 65536}}, {}, files);
  ASSERT_OK(m);
  EXPECT_EQ(m->uid, (IdMap{{0, 765536, 65536}}));
  EXPECT_EQ(m->gid, (IdMap{{0, 700000, 65536}}));
  auto none = auto_idmappings(65536, {}, {}, SubidFiles{dir / "nope", dir / "nope"});
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(Errc::not_found));
}

}  // namespace
}  // namespace podns
