"""What the ASGI loop thread pays per request to get its scope, in isolation (docs/asgi.md, "The scope built by Node").

    /usr/bin/python3 bench/asgi_scope_micro.py BASE_TREE

BASE_TREE: a checkout from before the scope was built by Node (its python/_nuwsgi_asgi.py turns the environ blob
into the scope). Compares, interleaved: that; this tree's scope tuple; and two alternatives that were considered,
the whole scope as a marshalled dict and a binary layout (lengths + bytes) sliced in Python. The blobs are encoded
the way src/worker/python/marshal.ts writes them (no refs, short ASCII strings).
"""
import importlib.util
import marshal
import os
import struct
import sys
import timeit

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, "python"))


from marshal_wire import enc  # noqa: E402


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


old = load(os.path.join(sys.argv[1], "python", "_nuwsgi_asgi.py"), "old_asgi")
new = load(os.path.join(HERE, "python", "_nuwsgi_asgi.py"), "new_asgi")
WRK = [("Host", "127.0.0.1:8000")]
BROWSER = [
    ("Host", "example.com"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "en-US,en;q=0.5"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Connection", "keep-alive"),
    ("Cookie", "a=1; b=2"),
    ("Upgrade-Insecure-Requests", "1"),
    ("Sec-Fetch-Dest", "document"),
    ("Sec-Fetch-Mode", "navigate"),
]
loads = marshal.loads
unpack_from = struct.unpack_from
state = {"db": 1}
for label, hdrs in (("wrk-like (1 header)", WRK), ("browser-like (10 headers)", BROWSER)):
    env = {
        "REQUEST_METHOD": "GET", "REQUEST_URI": "/items/5?q=1", "PATH_INFO": "/items/5", "QUERY_STRING": "q=1",
        "SCRIPT_NAME": "", "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "myhost", "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "41234",
    }
    for n, v in hdrs:
        env["HTTP_" + n.upper().replace("-", "_")] = v
    env["wsgi.url_scheme"] = "http"
    blob_old = enc((env, None, 0))
    H = [(n.lower().encode(), v.encode("latin-1")) for n, v in hdrs]
    parts = ("1.1", "GET", "http", "/items/5", b"/items/5", b"q=1", "", H, ("127.0.0.1", 41234), ("127.0.0.1", 8000))
    blob_new = enc((parts, None, 0, 0))
    as_dict = dict(zip(("http_version", "method", "scheme", "path", "raw_path", "query_string", "root_path", "headers", "client", "server"), parts))
    as_dict.update({"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}})
    blob_dict = enc((as_dict, None, 0, 0))
    fields = [b"GET", b"/items/5", b"/items/5", b"q=1", b"", b"127.0.0.1", b"127.0.0.1"]
    every = fields + [x for pair in H for x in pair]
    blob_bin = struct.pack("<HHII", len(fields), len(H), 41234, 8000) + struct.pack("<%dH" % len(every), *[len(x) for x in every]) + b"".join(every)

    def before():
        environ, body, app = loads(blob_old)
        old._scope(environ, state, False)

    def now():
        p, body, app, flags = loads(blob_new)
        new._scope(p, state, flags)

    def marshalled_dict():
        s, body, app, flags = loads(blob_dict)
        s["state"] = state.copy()
        s["extensions"] = {"http.response.pathsend": {}}

    def binary():
        v = memoryview(blob_bin)
        nf, nh, cport, sport = unpack_from("<HHII", v, 0)
        n = nf + 2 * nh
        pos = 12 + 2 * n
        out = []
        for length in unpack_from("<%dH" % n, v, 12):
            out.append(bytes(v[pos : pos + length]))
            pos += length
        hs = [(out[i], out[i + 1]) for i in range(nf, n, 2)]
        p = ("1.1", out[0].decode(), "http", out[1].decode(), out[2], out[3], out[4].decode(), hs, (out[5].decode(), cport), (out[6].decode(), sport))
        new._scope(p, state, 0)

    ways = (("before: environ blob + _scope", before), ("now: scope tuple + _scope", now), ("a marshalled scope dict", marshalled_dict), ("a binary layout sliced", binary))
    results = {}
    for _round in range(5):  # interleaved, so a busy moment hits every way alike
        for name, fn in ways:
            results.setdefault(name, []).append(min(timeit.repeat(fn, number=2000, repeat=25)) / 2000 * 1e6)
    for name, times in results.items():
        times.sort()
        print("%-26s %-32s best %.2f us, median of the rounds' bests %.2f us" % (label, name, times[0], times[2]))
    print("%-26s blob bytes: before %d, now %d" % (label, len(blob_old), len(blob_new)))
