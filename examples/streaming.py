"""A streaming WSGI app: yields N chunks of S bytes, no Content-Length.

Query string: chunks=N (default 10), size=S bytes per chunk (default 1024),
delay_ms=D to sleep between chunks (default 0, for slow-stream tests).
Chunk i is filled with the letter chr(ord('a') + i % 26), so a client can
check both order and boundaries.
"""
import time
from urllib.parse import parse_qs


def _int_param(query, name, default):
    try:
        return max(0, int(query.get(name, [default])[0]))
    except ValueError:
        return default


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    chunks = _int_param(query, "chunks", 10)
    size = _int_param(query, "size", 1024)
    delay = _int_param(query, "delay_ms", 0) / 1000.0
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def generate():
        for i in range(chunks):
            if delay and i:
                time.sleep(delay)
            yield bytes([ord("a") + i % 26]) * size

    return generate()
