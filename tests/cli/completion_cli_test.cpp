// podns completion and the man pages: both come from the CLI's own command tree. The bash script
// is syntax-checked and its completion function is called the way bash calls it on a TAB; each
// man page renders with man(1) and lists every verb that --help lists.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "../pod/pod_fixture.hpp"

namespace podns::pod {
namespace {

using podns::test::PodWorld;
using podns::test::run;
using podns::test::run_podns;
using podns::test::TempDir;

// What the completion function puts in COMPREPLY for a command line that ends where the cursor
// is ("" as the last word: a TAB after a space).
std::set<std::string> bash_complete(const std::string& script, const std::vector<std::string>& words,
                                    const std::vector<std::string>& env) {
  std::string line = "COMP_WORDS=(" + podns::test::podns_cli();
  for (const auto& w : words) line += " '" + w + "'";
  line += fmt::format("); COMP_CWORD={}; _podns; printf '%s\\n' \"${{COMPREPLY[@]}}\"", words.size());
  auto r = run({"bash", "-c", "source " + script + " && " + line}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> out;
  std::istringstream in(r.out);
  for (std::string s; std::getline(in, s);)
    if (!s.empty()) out.insert(s);
  return out;
}

TEST(CompletionCli, BashScriptCompletesVerbsFlagsAndLivePods) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("bash", "bash");
  PodWorld w;
  auto env = w.cli_env();
  auto gen = run_podns({"completion", "bash"}, env);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  std::string script = w.dir().path() + "/podns.bash";
  std::ofstream(script) << gen.out;
  auto syntax = run({"bash", "-n", script});
  EXPECT_EQ(syntax.exit_code, 0) << syntax.err;

  CreateOptions a;
  a.name = "alpha";
  ASSERT_OK(pod::create(w.env, a));
  CreateOptions b;
  b.name = "beta";
  ASSERT_OK(pod::create(w.env, b));

  EXPECT_EQ(bash_complete(script, {"pod", "rm", ""}, env), (std::set<std::string>{"alpha", "beta"}));
  EXPECT_EQ(bash_complete(script, {"pod", "rm", "alpha", "b"}, env), (std::set<std::string>{"beta"}));
  EXPECT_EQ(bash_complete(script, {"pod", "inspect", "al"}, env), (std::set<std::string>{"alpha"}));
  // A new pod's name is not completed; its flags are.
  EXPECT_TRUE(bash_complete(script, {"pod", "create", ""}, env).empty());
  EXPECT_TRUE(bash_complete(script, {"pod", "create", "x", "--pub"}, env).count("--publish"));
  EXPECT_EQ(bash_complete(script, {"n"}, env), (std::set<std::string>{"network", "ns"}));
  EXPECT_TRUE(bash_complete(script, {"pod", "create", "x", "--network", ""}, env).count("podns"));
  EXPECT_EQ(bash_complete(script, {"ns", "add", "x", "--type", "u"}, env), (std::set<std::string>{"user", "uts"}));
  EXPECT_FALSE(bash_complete(script, {""}, env).count("__complete"));  // hidden
  ASSERT_OK(pod::remove(w.env, "alpha"));
  ASSERT_OK(pod::remove(w.env, "beta"));
  EXPECT_TRUE(bash_complete(script, {"pod", "rm", ""}, env).empty());
}

TEST(CompletionCli, ZshAndFishScriptsNameTheHiddenCompleter) {
  for (const char* shell : {"zsh", "fish"}) {
    auto r = run_podns({"completion", shell});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("__complete --"), std::string::npos) << shell;
  }
  auto bad = run_podns({"completion", "tcsh"});
  EXPECT_EQ(bad.exit_code, 2);
}

// The verbs `podns WORD --help` lists under "Subcommands:".
std::vector<std::string> help_verbs(const std::string& word) {
  auto r = run_podns({word, "--help"});
  std::vector<std::string> verbs;
  std::istringstream in(r.out);
  bool in_list = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in_list = true;
      continue;
    }
    if (in_list && line.rfind("  ", 0) == 0) {
      std::istringstream words(line);
      std::string verb;
      words >> verb;
      verbs.push_back(verb.substr(0, verb.find(',')));  // "ls,list": the name, then its aliases
    } else if (in_list) {
      in_list = false;
    }
  }
  return verbs;
}

TEST(ManPages, EveryWordHasAPageThatRendersAndListsEveryVerb) {
  PODNS_REQUIRE_TOOL("man", "man-db");
  TempDir dir("man");
  auto words = run_podns({"__man-words"});
  ASSERT_EQ(words.exit_code, 0) << words.err;
  std::vector<std::string> pages{""};
  std::istringstream in(words.out);
  for (std::string w; std::getline(in, w);) pages.push_back(w);
  for (const char* expected : {"ns", "pod", "network", "cni", "session", "gc", "completion"})
    EXPECT_NE(std::find(pages.begin(), pages.end(), expected), pages.end()) << expected;

  for (const auto& word : pages) {
    auto roff = word.empty() ? run_podns({"__man"}) : run_podns({"__man", word});
    ASSERT_EQ(roff.exit_code, 0) << word << roff.err;
    std::string file = dir.path() + "/page.8";
    std::ofstream(file) << roff.out;
    auto shown = run({"man", "--warnings", "-l", file}, {"MANPAGER=cat", "MANWIDTH=120"});
    ASSERT_EQ(shown.exit_code, 0) << word << shown.err;
    EXPECT_EQ(shown.err, "") << word;  // groff warnings: bad roff
    if (word.empty()) continue;
    auto verbs = help_verbs(word);
    for (const auto& v : verbs)
      EXPECT_NE(shown.out.find("podns " + word + " " + v), std::string::npos) << word << " " << v;
  }
  auto top = run({"man", "-l", "-"}, {"MANPAGER=cat"}, run_podns({"__man"}).out);
  EXPECT_NE(top.out.find("podns-network(8)"), std::string::npos) << top.out;
}

}  // namespace
}  // namespace podns::pod
