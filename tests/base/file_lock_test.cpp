// podns::FileLock's conversion and hand-over (the rootless session's shared lock: converted to
// exclusive by the last command out, and carried across the CLI's re-exec). Waiting, timeouts and
// unlinking are covered through the state's locks (tests/state/lock_test.cpp).
#include "podns/file_lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "test_support.hpp"

namespace podns {
namespace {

using Mode = FileLock::Mode;

TEST(FileLock, SharedBecomesExclusiveOnlyWhenAlone) {
  test::TempDir dir;
  std::string path = dir / "session.lock";
  auto a = FileLock::acquire(path, Mode::shared);
  ASSERT_OK(a);
  auto b = FileLock::acquire(path, Mode::shared, std::chrono::milliseconds(0));
  ASSERT_OK(b);
  auto busy = a->try_change(Mode::exclusive);
  ASSERT_FALSE(busy);
  EXPECT_TRUE(busy.error().is(Errc::busy)) << busy.error().message();
  b->release();
  // flock may have dropped a's shared lock on the failed try: taking it again works either way.
  ASSERT_OK(a->try_change(Mode::exclusive));
  EXPECT_FALSE(FileLock::acquire(path, Mode::shared, std::chrono::milliseconds(0)));
  ASSERT_OK(a->try_change(Mode::shared));
  EXPECT_TRUE(FileLock::acquire(path, Mode::shared, std::chrono::milliseconds(0)).has_value());
  FileLock empty;
  EXPECT_FALSE(empty.try_change(Mode::exclusive));
}

TEST(FileLock, AHandedOverFdKeepsTheLockAndAnotherFdIsRefused) {
  test::TempDir dir;
  std::string path = dir / "session.lock";
  auto a = FileLock::acquire(path, Mode::exclusive);
  ASSERT_OK(a);
  int fd = a->release_fd();
  EXPECT_FALSE(a->held());
  // Still locked through the raw fd.
  EXPECT_FALSE(FileLock::acquire(path, Mode::shared, std::chrono::milliseconds(0)));
  // An fd that is another file is refused and left open.
  int other = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(other, 0);
  auto wrong = FileLock::adopt(other, path);
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(Errc::invalid_argument)) << wrong.error().message();
  EXPECT_EQ(::fcntl(other, F_GETFD), FD_CLOEXEC);
  ::close(other);
  auto adopted = FileLock::adopt(fd, path);
  ASSERT_OK(adopted);
  EXPECT_TRUE(adopted->held());
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // the handed fd itself is closed: the lock moved
  EXPECT_FALSE(FileLock::acquire(path, Mode::shared, std::chrono::milliseconds(0)));
  adopted->release();
  EXPECT_TRUE(FileLock::acquire(path, Mode::shared, std::chrono::milliseconds(0)).has_value());
}

}  // namespace
}  // namespace podns
