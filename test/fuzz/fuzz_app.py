"""The app the server fuzzer (scripts/fuzz.mjs) serves.

Every response it makes carries X-Path (the PATH_INFO it answers), so the
fuzzer can tell which request a response belongs to and spot a desync.

/echo    the request body back, with Content-Length
/stream  ?n=N chunks from a generator (no Content-Length)
/error   raises
/resp    the response side: the query says what to emit (status, headers,
         body kind, a wrong Content-Length...), percent-decoded as latin-1,
         or as UTF-8 with u=1 (to get characters outside latin-1)
"""
import urllib.parse


def _args(environ):
    qs = environ.get("QUERY_STRING", "")
    return urllib.parse.parse_qs(qs, keep_blank_values=True, encoding="latin-1")


def _text(value, utf8):
    return value.encode("latin-1").decode("utf-8", "replace") if utf8 else value


class Boom(Exception):
    pass


def _body(kind, args, path):
    size = int(args.get("size", ["100"])[0] or 0) if args.get("size", ["100"])[0].isdigit() else 100
    if kind == "bytes":
        return [b"b" * min(size, 1 << 20)]
    if kind == "str":
        return ["a str body"]
    if kind == "str-later":
        return [b"first ", "then a str"]
    if kind == "none":
        return None
    if kind == "int":
        return [42]
    if kind == "raise-first":
        def gen():
            raise Boom("raised before the first chunk")
            yield b""
        return gen()
    if kind == "raise-later":
        def gen():
            yield b"first chunk "
            raise Boom("raised after the first chunk")
        return gen()
    if kind == "empty-chunks":
        return [b"", b"x", b"", b""]
    if kind == "many":
        return [b"c" for _ in range(min(size, 5000))]
    if kind == "close-raises":
        class It:
            def __iter__(self):
                return iter([b"body"])

            def close(self):
                raise Boom("close() raised")
        return It()
    return [("path=" + path).encode("latin-1", "replace")]


def _resp(environ, start_response, path):
    args = _args(environ)
    utf8 = args.get("u", ["0"])[0] == "1"
    status = _text(args.get("status", ["200 OK"])[0], utf8)
    headers = [("X-Path", path)]
    for name, value in zip(args.get("hn", []), args.get("hv", [])):
        headers.append((_text(name, utf8), _text(value, utf8)))
    if args.get("hbig", [""])[0].isdigit():
        headers.append(("X-Big", "x" * int(args["hbig"][0])))
    if "cl" in args:
        headers.append(("Content-Length", args["cl"][0]))
    kind = args.get("body", ["default"])[0]
    body = _body(kind, args, path)
    if args.get("twice", ["0"])[0] == "1":
        start_response("200 OK", [("X-Path", path)])
    if args.get("write", ["0"])[0] == "1":
        write = start_response(status, headers)
        write(b"written ")
        return body if body is not None else []
    if args.get("bad-headers", ["0"])[0] == "1":
        start_response(status, [("X-Path", path), ("X-Int", 5)])
        return body
    start_response(status, headers)
    return body


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("X-Path", path), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        n = _args(environ).get("n", ["3"])[0]
        n = min(int(n), 50) if n.isdigit() else 3

        def gen():
            for i in range(n):
                yield b"chunk %d\n" % i
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Path", path)])
        return gen()
    if path == "/error":
        raise Boom("the /error endpoint")
    if path == "/resp":
        return _resp(environ, start_response, path)
    body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Path", path), ("Content-Length", str(len(body)))])
    return [body]
