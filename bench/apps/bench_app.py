"""Apps for the concurrency scenarios of `npm run bench` (bench/README.md).

/       hello (as examples/hello.py)
/io     waits 50 ms, as an app waiting on a database would, then hello
/slow   waits 0.5 s: the back-to-back slow request of the head-of-line scenario
"""
import time

BODY = b"Hello, World!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/io":
        time.sleep(0.05)
    elif path == "/slow":
        time.sleep(0.5)
    start_response("200 OK", HEADERS)
    return [BODY]
