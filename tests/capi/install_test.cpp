// `cmake --install` of this build into a temp prefix, then programs built against what was
// installed as a runtime author would build them: a C program through pkg-config (the shared
// library) and a C++ program through find_package(podns) (the static one, so the system libraries
// the config names are exercised).
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "podns/podns.h"
#include "test_support.hpp"

namespace podns {
namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(Install, ConsumersBuildAgainstTheInstalledLibrary) {
  PODNS_REQUIRE_TOOL("pkg-config", "pkg-config");
  PODNS_REQUIRE_TOOL("cc", "gcc");
  test::TempDir dir("inst");
  const std::string prefix = dir / "prefix";
  auto inst = test::run({"cmake", "--install", PODNS_BUILD_DIR, "--prefix", prefix});
  ASSERT_EQ(inst.exit_code, 0) << inst.out << inst.err;

  // What a package holds: the library with its soname, headers, the CLI, the CNI plugin, man pages,
  // completions.
  auto ls = test::run({"sh", "-c", "cd " + prefix + " && find . -type f -o -type l | sort"});
  for (const char* f : {"include/podns/podns.h", "include/podns/pod/pod.hpp", "bin/podns", "share/man/man8/podns.8",
                        "share/bash-completion/completions/podns", "lib/cmake/podns/podnsConfig.cmake",
                        "lib/cmake/podns/podnsConfigVersion.cmake", "lib/pkgconfig/podns.pc", "lib/libpodns.a",
                        "lib/libpodns.so", "lib/libpodns.so." PODNS_PROJECT_VERSION, "lib/cni/podns-bridge"})
    EXPECT_NE(ls.out.find(std::string("./") + f + "\n"), std::string::npos) << f << " not installed:\n" << ls.out;
  auto soname = test::run({"sh", "-c", "objdump -p " + prefix + "/lib/libpodns.so | awk '/SONAME/ {print $2}'"});
  EXPECT_EQ(soname.out, "libpodns.so." + std::to_string(PODNS_VERSION_MAJOR) + "\n");

  const std::string c_src = dir / "consumer.c";
  write(c_src, R"(#include <stdio.h>
#include <string.h>
#include <podns/podns.h>
int main(void) {
  podns_error *err = NULL;
  if (podns_ns_create(NULL, "x", PODNS_NS_NET, &err) != -1 || podns_error_code(err) != PODNS_ERR_INVALID_ARGUMENT) return 1;
  podns_error_free(err);
  printf("%s\n", podns_version());
  return strcmp(podns_version(), "0") > 0 ? 0 : 1;
}
)");
  const std::string pc_env = "PKG_CONFIG_PATH=" + prefix + "/lib/pkgconfig";
  auto c_build = test::run({"sh", "-c",
                            "cc -o " + dir / "consumer_c" + " " + c_src + " " PODNS_CONSUMER_FLAGS
                            " $(pkg-config --cflags --libs podns)"},
                           {pc_env});
  ASSERT_EQ(c_build.exit_code, 0) << c_build.out << c_build.err;
  const std::string lib_env = "LD_LIBRARY_PATH=" + prefix + "/lib";
  // Found through the installed soname link, not the build tree.
  auto ldd = test::run({"ldd", dir / "consumer_c"}, {lib_env});
  EXPECT_NE(ldd.out.find(prefix + "/lib/libpodns.so." + std::to_string(PODNS_VERSION_MAJOR)), std::string::npos) << ldd.out;
  auto c_run = test::run({dir / "consumer_c"}, {lib_env});
  EXPECT_EQ(c_run.exit_code, 0) << c_run.err;
  EXPECT_EQ(c_run.out, PODNS_PROJECT_VERSION "\n");

  const std::string cxx_dir = dir / "cxx";
  std::filesystem::create_directories(cxx_dir);
  write(cxx_dir + "/CMakeLists.txt", R"(cmake_minimum_required(VERSION 3.25)
project(consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 23)
find_package(podns 0.1 REQUIRED)
add_executable(consumer main.cpp)
target_compile_options(consumer PRIVATE ${EXTRA_FLAGS})
target_link_options(consumer PRIVATE ${EXTRA_FLAGS})
target_link_libraries(consumer PRIVATE podns::podns_static)
)");
  write(cxx_dir + "/main.cpp", R"(#include <cstdio>
#include <podns/names.hpp>
#include <podns/pod/pod.hpp>
#include <podns/podns.h>
int main() {
  // The C++ API and the C API from one archive.
  if (podns::validate_name("../x")) return 1;
  std::printf("%s %d\n", podns_version(), PODNS_VERSION_MAJOR);
  return 0;
}
)");
  auto configure = test::run({"cmake", "-S", cxx_dir, "-B", cxx_dir + "/build", "-DCMAKE_PREFIX_PATH=" + prefix,
                              "-DEXTRA_FLAGS=" PODNS_CONSUMER_FLAGS});
  ASSERT_EQ(configure.exit_code, 0) << configure.out << configure.err;
  auto cxx_build = test::run({"cmake", "--build", cxx_dir + "/build"});
  ASSERT_EQ(cxx_build.exit_code, 0) << cxx_build.out << cxx_build.err;
  auto cxx_ldd = test::run({"ldd", cxx_dir + "/build/consumer"});
  EXPECT_EQ(cxx_ldd.out.find("libpodns"), std::string::npos) << "linked statically: " << cxx_ldd.out;
  auto cxx_run = test::run({cxx_dir + "/build/consumer"});
  EXPECT_EQ(cxx_run.exit_code, 0) << cxx_run.err;
  EXPECT_EQ(cxx_run.out, PODNS_PROJECT_VERSION " " + std::to_string(PODNS_VERSION_MAJOR) + "\n");
}

}  // namespace
}  // namespace podns
