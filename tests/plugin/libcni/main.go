// podns-libcni drives CNI plugins through Go libcni, a CNI runtime that podns did not write:
// Debian's golang-github-appc-cni-dev (libcni 1.1.2, what containerd 1.6 and podman 4.3 use),
// built in GOPATH mode from the packaged sources, so no module proxy is needed. The podns-bridge
// tests and the benchmark run it.
//
//	podns-libcni validate -conf FILE                  VERSION of every plugin (ValidateNetworkList)
//	podns-libcni add|check|del -conf FILE -netns PATH -id ID [-ifname IF] [-cap-args JSON] [-args K=V;...]
//	podns-libcni cycle -conf FILE -netns PATH -id ID -n N   N x (ADD then DEL), timings as JSON
//
// CNI_PATH names the plugin directories; -cache-dir libcni's result cache. Errors go to stderr,
// exit status 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
)

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "podns-libcni: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fatal("usage: podns-libcni validate|add|check|del|cycle -conf FILE [flags]")
	}
	verb := os.Args[1]
	fs := flag.NewFlagSet(verb, flag.ExitOnError)
	conf := fs.String("conf", "", "conflist file")
	netns := fs.String("netns", "", "network namespace path")
	id := fs.String("id", "", "container id")
	ifname := fs.String("ifname", "eth0", "interface name inside the container")
	capArgs := fs.String("cap-args", "", "capability args, a JSON object")
	args := fs.String("args", "", "CNI_ARGS, K=V;K2=V2")
	cacheDir := fs.String("cache-dir", "", "libcni's result cache")
	n := fs.Int("n", 1, "cycle: iterations")
	if err := fs.Parse(os.Args[2:]); err != nil {
		fatal("%v", err)
	}
	list, err := libcni.ConfListFromFile(*conf)
	if err != nil {
		fatal("load %s: %v", *conf, err)
	}
	cninet := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), *cacheDir, nil)
	rt := &libcni.RuntimeConf{ContainerID: *id, NetNS: *netns, IfName: *ifname}
	if *args != "" {
		for _, kv := range strings.Split(*args, ";") {
			p := strings.SplitN(kv, "=", 2)
			if len(p) != 2 {
				fatal("-args: %q is not K=V", kv)
			}
			rt.Args = append(rt.Args, [2]string{p[0], p[1]})
		}
	}
	if *capArgs != "" {
		if err := json.Unmarshal([]byte(*capArgs), &rt.CapabilityArgs); err != nil {
			fatal("-cap-args: %v", err)
		}
	}
	ctx := context.Background()
	switch verb {
	case "validate":
		caps, err := cninet.ValidateNetworkList(ctx, list)
		if err != nil {
			fatal("validate %s: %v", list.Name, err)
		}
		out, _ := json.Marshal(caps)
		fmt.Println(string(out))
	case "add":
		res, err := cninet.AddNetworkList(ctx, list, rt)
		if err != nil {
			fatal("ADD: %v", err)
		}
		if err := res.PrintTo(os.Stdout); err != nil {
			fatal("print result: %v", err)
		}
	case "check":
		if err := cninet.CheckNetworkList(ctx, list, rt); err != nil {
			fatal("CHECK: %v", err)
		}
	case "del":
		if err := cninet.DelNetworkList(ctx, list, rt); err != nil {
			fatal("DEL: %v", err)
		}
	case "cycle":
		// The same netns every time: DEL gives it back empty, as a runtime retrying a sandbox does.
		var adds, dels []int64
		for i := 0; i < *n; i++ {
			rt.ContainerID = fmt.Sprintf("%s-%d", *id, i)
			t0 := time.Now()
			if _, err := cninet.AddNetworkList(ctx, list, rt); err != nil {
				fatal("ADD %d: %v", i, err)
			}
			t1 := time.Now()
			if err := cninet.DelNetworkList(ctx, list, rt); err != nil {
				fatal("DEL %d: %v", i, err)
			}
			adds = append(adds, t1.Sub(t0).Microseconds())
			dels = append(dels, time.Since(t1).Microseconds())
		}
		out, _ := json.Marshal(map[string][]int64{"add_us": adds, "del_us": dels})
		fmt.Println(string(out))
	default:
		fatal("unknown verb %q", verb)
	}
}
