"""An ASGI app's own CPU per request, with no server at all (issue 12's floor).

    /usr/bin/python3 bench/asgi_app_alone.py [module:app] [REQUESTS] [CONCURRENT]

Calls `await app(scope, receive, send)` REQUESTS times on uvloop (asyncio when
it is missing), CONCURRENT at a time through asyncio.gather, with a fresh
scope per request as a server builds for `GET /` (the headers wrk sends),
`receive` returning the empty body at once and `send` dropping the messages.
No socket, no parsing, no framing: whatever a server adds comes on top, so
no server can serve this app with less CPU per request than this prints.
Lifespan startup runs first (FastAPI needs none; the hello app answers it).
"""
import asyncio
import importlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "apps"))
TARGET = sys.argv[1] if len(sys.argv) > 1 else "asgi_hello:app"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
CONCURRENT = int(sys.argv[3]) if len(sys.argv) > 3 else 8

module, _, attr = TARGET.partition(":")
app = getattr(importlib.import_module(module), attr or "app")

HEADERS = [(b"host", b"127.0.0.1:8000")]
REQUEST = {"type": "http.request", "body": b"", "more_body": False}
STATE = {}


def scope():
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "path": "/", "raw_path": b"/", "query_string": b"",
        "root_path": "", "headers": list(HEADERS), "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000), "state": dict(STATE),
    }


async def receive():
    return REQUEST


async def send(message):
    pass


async def one():
    await app(scope(), receive, send)


async def lifespan_startup():
    sent = []
    queue = [{"type": "lifespan.startup"}]

    async def lrecv():
        if queue:
            return queue.pop()
        await asyncio.sleep(3600)

    async def lsend(message):
        sent.append(message)

    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": STATE}, lrecv, lsend))
    for _ in range(100):
        if sent or task.done():
            break
        await asyncio.sleep(0)
    return task


async def main():
    lifespan = await lifespan_startup()
    for _ in range(2000 // CONCURRENT):  # warm caches and FastAPI's lazily built parts
        await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    rounds = N // CONCURRENT
    cpu = time.process_time()
    for _ in range(rounds):
        await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    cpu = time.process_time() - cpu
    lifespan.cancel()
    print(f"{TARGET}: {cpu / (rounds * CONCURRENT) * 1e6:.1f} us CPU per request, {rounds * CONCURRENT} requests, {CONCURRENT} at a time")


try:
    import uvloop
    uvloop.install()
except ImportError:
    pass
asyncio.run(main())
