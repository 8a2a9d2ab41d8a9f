#!/usr/bin/python3 -I
# A fake CNI plugin for podns's tests: produces on demand what real plugins will not (error
# objects with codes, stderr-only errors, garbage, crashes, a death halfway through writing the
# result, hangs with a grandchild, old result versions, 1.1.0 STATUS/GC). Installed into a test's
# CNI_PATH as a symlink named after the plugin type; behaviour comes from the "fake" object of its
# config (a failure may last only while a file exists: "failWhile"), supported versions from
# <argv0>.versions (a JSON list) when present. Every call is appended to fake.log as one JSON line.
import json, os, signal, sys, time

ALL = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
cmd = os.environ.get("CNI_COMMAND", "")
me = os.path.basename(sys.argv[0])
try:
    with open(sys.argv[0] + ".versions") as f:
        supported = json.load(f)
except OSError:
    supported = ALL

raw = sys.stdin.read()

def out(obj, code=0):
    sys.stdout.write(json.dumps(obj))
    sys.stdout.flush()
    sys.exit(code)

try:
    conf = json.loads(raw)
except ValueError as e:
    out({"code": 6, "msg": "decoding config", "details": str(e)}, 1)

if cmd == "VERSION":
    out({"cniVersion": supported[-1], "supportedVersions": supported})

fake = conf.get("fake", {})
if "log" in fake:
    with open(fake["log"], "a") as f:
        env = {k: v for k, v in os.environ.items() if k.startswith("CNI_")}
        f.write(json.dumps({"command": cmd, "type": me, "env": env, "conf": conf}) + "\n")

version = conf.get("cniVersion", "")
if version not in supported:
    out({"cniVersion": version, "code": 1, "msg": "incompatible CNI versions",
         "details": "config is %r, plugin supports %r" % (version, supported)}, 1)

if cmd in fake.get("crash", []):
    os.kill(os.getpid(), signal.SIGSEGV)
if cmd in fake.get("dieMidWrite", []):
    # Half a result on stdout, then SIGKILL: a plugin the OOM killer (or kill -9) stops while it
    # writes its answer, after its side effects. The runtime must not take the half for a result.
    text = json.dumps({"cniVersion": version,
                       "interfaces": [{"name": "eth0", "sandbox": os.environ.get("CNI_NETNS", "")}],
                       "ips": [{"address": "10.99.0.2/24", "interface": 0}]})
    sys.stdout.write(text[:len(text) // 2])
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)
if cmd in fake.get("hang", {}):
    pid = os.fork()
    if pid == 0:
        os.execvp("sleep", ["sleep", "300"])  # a grandchild in the plugin's process group
    with open(fake["hang"][cmd], "w") as f:
        f.write(str(pid))
    time.sleep(300)
if cmd in fake.get("failWhile", {}):
    # Fails only while the named file exists: a test "fixes" the plugin by removing it, and a DEL
    # retried later with the conflist stored at ADD time then succeeds.
    e = dict(fake["failWhile"][cmd])
    if os.path.exists(e.pop("file")):
        e.setdefault("code", 11)
        e.setdefault("msg", "fake %s failure" % cmd)
        e.setdefault("cniVersion", version)
        out(e, 1)
if cmd in fake.get("fail", {}):
    e = dict(fake["fail"][cmd])
    e.setdefault("cniVersion", version)
    out(e, 1)
if cmd in fake.get("failStderr", {}):
    sys.stderr.write(fake["failStderr"][cmd])
    sys.exit(1)
if cmd in fake.get("garbage", {}):
    sys.stdout.write(fake["garbage"][cmd])
    sys.exit(fake.get("garbageExit", 0))

if cmd == "ADD":
    res = conf.get("prevResult") or {}
    v = fake.get("resultVersion", version)
    res = {"cniVersion": v, "interfaces": list(res.get("interfaces", [])), "ips": list(res.get("ips", [])),
           "routes": list(res.get("routes", [])), "dns": res.get("dns", {})}
    res["interfaces"].append({"name": "%s-%s" % (me, os.environ.get("CNI_IFNAME", "")),
                              "mac": "02:00:00:00:00:%02x" % len(res["interfaces"]),
                              "sandbox": os.environ.get("CNI_NETNS", "")})
    if "ip" in fake:
        res["ips"].append({"address": fake["ip"], "interface": len(res["interfaces"]) - 1})
    for ip in res["ips"]:
        if v.startswith("0."):
            ip["version"] = "6" if ":" in ip["address"] else "4"
        else:
            ip.pop("version", None)
    if "route" in fake:
        res["routes"].append(fake["route"])
    out(res)
sys.exit(0)
