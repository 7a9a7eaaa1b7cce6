"""What the ASGI loop thread pays per request, in isolation (docs/asgi.md, "Where an ASGI request's CPU goes").

    /usr/bin/python3 bench/asgi_loop_micro.py TREE [REQUESTS] [BATCH]
    APP=fastapi_app:app PROFILE=1 /usr/bin/python3 bench/asgi_loop_micro.py .      # cProfile of the run

A real _Server of TREE's python/_nuwsgi_asgi.py on uvloop, with real job and completion pipes; a driver in the
same loop plays Node: it writes BATCH requests (the scope tuple src/worker/asgi/scope.ts writes for a wrk
request) into BATCH slots, one write of BATCH HANDLE commands, and reads events until the BATCH EV_FREEs came.
Prints CPU µs per request (the driver's few included). The machine's noise moves that by ±30 %: for a steady
figure count instructions instead, as the difference of two runs (startup cancels out):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null /usr/bin/python3 bench/asgi_loop_micro.py TREE 1000
    valgrind --tool=callgrind --callgrind-out-file=/dev/null /usr/bin/python3 bench/asgi_loop_micro.py TREE 3000
    # (Collected(3000) - Collected(1000)) / 2000 = instructions per request

APP (module:callable in bench/apps) picks the app, asgi_hello:app by default.
"""
import importlib
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREE = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 8
sys.path.insert(0, os.path.join(TREE, "python"))
sys.path.insert(0, os.path.join(HERE, "bench", "apps"))
import asyncio  # noqa: E402

import _nuwsgi as _w  # noqa: E402
import _nuwsgi_asgi as _a  # noqa: E402

_a.asyncio = asyncio  # start() imports it


from marshal_wire import enc  # noqa: E402


module, _, attr = os.environ.get("APP", "asgi_hello:app").partition(":")
_w._apps[:] = [("", getattr(importlib.import_module(module), attr))]
regions = [memoryview(bytearray(256 * 1024)) for _ in range(BATCH)]
_w._cores[:] = [_w._Core(i, r) for i, r in enumerate(regions)]
parts = ("1.1", "GET", "http", "/", b"/", b"", "", [(b"host", b"127.0.0.1:8000")], ("127.0.0.1", 40000), ("127.0.0.1", 8000))
blob = enc((parts, None, 0, 8))  # flags 8: early hints advertised, as for an HTTP/1.1 client
job_read, job_write = os.pipe()
done_read, done_write = os.pipe()
server = _a._Server({"jobFd": job_read, "doneFd": done_write, "interfaces": ["asgi"], "lifespan": "off", "loop": "uvloop"})
_a._state = server
loop = server.loop
state = {"left": N, "free": 0}
commands = b"".join(struct.pack("<BBH", 1, 0, slot) for slot in range(BATCH))


def submit():
    for region in regions:
        region[0:4] = struct.pack("<I", len(blob))
        region[4 : 4 + len(blob)] = blob
    os.write(job_write, commands)


def on_events():
    data = os.read(done_read, 65536)
    state["free"] += sum(1 for i in range(2, len(data), 4) if data[i] == 2)  # EV_FREE
    if state["free"] >= BATCH:
        state["free"] -= BATCH
        state["left"] -= BATCH
        if state["left"] <= 0:
            loop.stop()
        else:
            submit()


asyncio.set_event_loop(loop)
os.set_blocking(job_read, False)
os.set_blocking(done_read, False)
loop.add_reader(job_read, server._on_jobs)
loop.add_reader(done_read, on_events)
loop.call_soon(submit)
t0, c0 = time.perf_counter(), time.thread_time()
if os.environ.get("PROFILE"):
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    loop.run_forever()
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(30)
else:
    loop.run_forever()
wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
print("%s: %.2f us/req CPU, %.2f us/req wall (%d requests, batches of %d)" % (TREE, cpu / N * 1e6, wall / N * 1e6, N, BATCH))
