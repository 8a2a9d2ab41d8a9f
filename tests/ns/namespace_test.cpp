#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include "ns_test_util.hpp"
#include "podns/namespace.hpp"
#include "test_support.hpp"

namespace podns {
using test::ParkedChild;
using test::TempDir;

TEST(Namespace, OpenCurrentOfEveryType) {
  for (const auto& info : all_namespaces()) {
    auto ns = Namespace::open_current(info.type);
    ASSERT_OK(ns);
    EXPECT_EQ(ns->type(), info.type);
    struct stat st {};
    ASSERT_EQ(::stat(("/proc/self/ns/" + std::string(info.proc_entry)).c_str(), &st), 0);
    EXPECT_EQ(ns->id().ino, st.st_ino) << info.name;
    EXPECT_EQ(ns->id().dev, st.st_dev) << info.name;
    int flags = ::fcntl(ns->fd().get(), F_GETFD);
    EXPECT_TRUE(flags & FD_CLOEXEC);
  }
}

TEST(Namespace, OpenPathChecksExpectedType) {
  auto ok = Namespace::open_path("/proc/self/ns/uts", NamespaceType::uts);
  ASSERT_OK(ok);
  auto wrong = Namespace::open_path("/proc/self/ns/uts", NamespaceType::net);
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(Errc::wrong_namespace_type));
  EXPECT_NE(wrong.error().message().find("is a uts namespace, not net"), std::string::npos)
      << wrong.error().message();
}

TEST(Namespace, DistinctErrorsForMissingNotANamespaceAndWrongType) {
  TempDir dir;
  std::ofstream(dir / "file") << "x";
  auto missing = Namespace::open_path(dir / "nope");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(std::errc::no_such_file_or_directory));
  auto file = Namespace::open_path(dir / "file");
  ASSERT_FALSE(file);
  EXPECT_TRUE(file.error().is(Errc::not_a_namespace));
  auto directory = Namespace::open_path(dir.path());
  ASSERT_FALSE(directory);
  EXPECT_TRUE(directory.error().is(Errc::not_a_namespace));
  auto proc_file = Namespace::open_path("/proc/self/status");
  ASSERT_FALSE(proc_file);
  EXPECT_TRUE(proc_file.error().is(Errc::not_a_namespace));
  auto wrong = Namespace::open_path("/proc/self/ns/ipc", NamespaceType::mnt);
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(Errc::wrong_namespace_type));
}

TEST(Namespace, OpenPathDoesNotBlockOnFifo) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  auto r = Namespace::open_path(dir / "fifo");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::not_a_namespace));
}

TEST(Namespace, IdentityAndEquality) {
  auto a = Namespace::open_current(NamespaceType::net);
  auto b = Namespace::open_path("/proc/self/ns/net");
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_TRUE(*a == *b);
  EXPECT_EQ(a->id(), b->id());
  auto c = a->dup();
  ASSERT_OK(c);
  EXPECT_TRUE(*c == *a);
  EXPECT_NE(c->fd().get(), a->fd().get());
}

TEST(Namespace, OpenPidOfAnotherProcess) {
  PODNS_REQUIRE_ROOT();
  ParkedChild child(CLONE_NEWNET | CLONE_NEWUTS);
  ASSERT_TRUE(child.ready());
  auto theirs = Namespace::open_pid(child.pid(), NamespaceType::net);
  auto ours = Namespace::open_current(NamespaceType::net);
  ASSERT_OK(theirs);
  ASSERT_OK(ours);
  EXPECT_FALSE(*theirs == *ours);
  struct stat st {};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(child.pid()) + "/ns/net").c_str(), &st), 0);
  EXPECT_EQ(theirs->id().ino, st.st_ino);
  // Not moved into a new ipc namespace: same as ours.
  auto ipc = Namespace::open_pid(child.pid(), NamespaceType::ipc);
  auto our_ipc = Namespace::open_current(NamespaceType::ipc);
  ASSERT_OK(ipc);
  ASSERT_OK(our_ipc);
  EXPECT_TRUE(*ipc == *our_ipc);
}

TEST(Namespace, OpenPidOfMissingOrExitedProcess) {
  ParkedChild child;
  pid_t pid = child.pid();
  child.kill();  // reaped: the PID is free (and will not be reused this quickly)
  auto r = Namespace::open_pid(pid, NamespaceType::net);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::not_found)) << r.error().message();
  auto bad = Namespace::open_pid(-5, NamespaceType::net);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_argument));
}

TEST(Namespace, OwnerUsernsOfInitialNamespaces) {
  auto net = Namespace::open_current(NamespaceType::net);
  ASSERT_OK(net);
  auto owner = net->owner_userns();
  ASSERT_OK(owner);
  EXPECT_EQ(owner->type(), NamespaceType::user);
  auto ours = Namespace::open_current(NamespaceType::user);
  ASSERT_OK(ours);
  EXPECT_TRUE(*owner == *ours);
}

TEST(Namespace, OwnerUidAndParentOfAChildUserns) {
  // A child that unshares a user namespace as an unprivileged-looking owner: it is ours (uid).
  ParkedChild child(CLONE_NEWUSER);
  if (!child.ready()) GTEST_SKIP() << "unshare(CLONE_NEWUSER) not permitted here";
  auto userns = Namespace::open_pid(child.pid(), NamespaceType::user);
  ASSERT_OK(userns);
  auto uid = userns->owner_uid();
  ASSERT_OK(uid);
  EXPECT_EQ(*uid, ::geteuid());
  auto parent = userns->parent();
  ASSERT_OK(parent);
  auto ours = Namespace::open_current(NamespaceType::user);
  ASSERT_OK(ours);
  EXPECT_TRUE(*parent == *ours);
}

TEST(Namespace, QueriesThatDoNotApplyFail) {
  auto net = Namespace::open_current(NamespaceType::net);
  ASSERT_OK(net);
  auto uid = net->owner_uid();
  ASSERT_FALSE(uid);
  EXPECT_TRUE(uid.error().is(std::errc::invalid_argument));
  auto parent = net->parent();
  ASSERT_FALSE(parent);
  EXPECT_TRUE(parent.error().is(std::errc::invalid_argument));
  // The initial user namespace has no parent we may see.
  auto user = Namespace::open_current(NamespaceType::user);
  ASSERT_OK(user);
  auto top = user->parent();
  ASSERT_FALSE(top);
  EXPECT_TRUE(top.error().is(std::errc::operation_not_permitted)) << top.error().message();
}

}  // namespace podns
