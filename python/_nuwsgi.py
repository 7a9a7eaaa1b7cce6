"""nuwsgi's in-process loader: the only Python code on the request path.

The Node worker owns every socket. Each core (``--threads``) has its own
shared memory region (a writable memoryview, ``_Core.mem``). For each request
Node writes one marshal blob into the core's region and runs ``handle(slot)``:
directly under the GIL with one core, or, with several, by waking the core's
own Python thread (``start_cores``). We build the environ, call the WSGI app,
and write the response framing back into the same region:

    offset 0   u32 kind         KIND_* below
    offset 4   u32 status       HTTP status code (int)
    offset 8   u32 head_len     bytes of "<status line text>\r\n<name: value\r\n>*"
    offset 12  u32 body_len     body bytes that follow the head in the region
    offset 16  i64 content_len  Content-Length the app declared, -1 if none
    offset 24  u32 flags        FLAG_* below
    offset 28  u32 header_count
    offset 32  i64 file_offset  KIND_FILE: where to start sending
    offset 40  i64 file_length  KIND_FILE: how many bytes, -1 = to EOF
    offset 48  i64 data_addr    threaded cores: address of the returned bytes' data
    offset 56  i64 data_len     threaded cores: their length, -1 = none
    offset 64  head bytes, then body bytes

``handle()`` returns None, or a bytes object holding a body too large for the
region (Node copies it out with one memcpy). Streaming bodies are fetched by
``pull()``, one chunk per call, only as fast as the client drains them. A core
thread cannot hand Node an object (Node never takes the GIL then): it keeps
the bytes referenced until its next command and writes their address and
length at offset 48 (test/unit/meta-layout pins this layout to meta.ts).

Compatible with CPython 3.8+. No third-party imports.
"""

import importlib.machinery
import importlib.util
import io
import marshal
import os
import re
import struct
import sys
import traceback

import _nuwsgi_mistakes as _mistakes

KIND_COMPLETE = 0  # head (+ body inline or returned as bytes); app finished, close() called
KIND_STREAM = 1  # head + first chunk; more chunks via pull()
KIND_ERROR = 2  # the app failed before its headers were sent: answer 500
KIND_FILE = 3  # head; body is a file Node sends itself (wsgi.file_wrapper)
KIND_END = 4  # pull(): the iterable is exhausted, close() was called
KIND_BROKEN = 5  # pull(): the app failed after headers were sent: close the connection

FLAG_CONNECTION_CLOSE = 1  # the app sent "Connection: close"
FLAG_APP_CHUNKED = 2  # the app sent "Transfer-Encoding: chunked" (we frame it ourselves)
FLAG_BODY_RETURNED = 4  # KIND_COMPLETE: the body is the bytes object handle() returned

_HEADER = struct.Struct("<IIIIqIIqq")
_DATA = struct.Struct("<qq")  # at offset 48: data_addr, data_len
HEADER_SIZE = 64
# Commands Node gives a core thread through its job eventfd (the counter's value).
CMD_HANDLE = 1
CMD_PULL = 2
CMD_ABORT = 3
# A bytes object's data starts this far from its address (id()) in CPython.
_BYTES_DATA_OFFSET = sys.getsizeof(b"") - 1
# Bodies up to this size are joined and copied through the region in one go,
# beyond it the response becomes a stream. Lists and tuples, and iterables whose
# declared Content-Length fits, are "whole": a slow client then never holds Python.
WHOLE_BODY_LIMIT = 1 << 20
# Bodies up to this size go into the region together with the head (one copy more, one write less).
_SMALL_BODY = 4096

_loads = marshal.loads
_apps = []  # list of (mountpoint, callable)
_static_environ = {}
_DELETED_HEADERS = frozenset()  # --del-header: lower-case names dropped from the app's headers
_ADDED_HEAD = b""  # --add-header: wire lines appended to every response head
_ADDED_COUNT = 0


class _Core(object):
    """One core's per-request state: its region and the response it streams."""

    __slots__ = ("id", "mem", "view", "capacity", "stream", "held")

    def __init__(self, core_id, region):
        self.id = core_id
        self.mem = region  # memoryview over the core's shared region
        self.view = region[4:]  # the region past the request's length prefix
        self.capacity = len(region)
        self.stream = None  # the response being streamed, if any
        self.held = None  # bytes Node is copying out (threaded cores)


_cores = []

_NEVER_BLOCKING_ITERATORS = frozenset(type(iter(x)) for x in ([], (), b"", ""))
# \Z, not $: "$" also matches before a trailing "\n", which would let "200 OK\n"
# or a header name "X-A\n" put a bare LF on the wire (found by scripts/fuzz.mjs).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(r"([0-9]{3}) [^\x00-\x1f\x7f]*\Z")
# RFC 9110 §7.6.1: hop-by-hop fields belong to the connection, which is ours.
_HOP_BY_HOP_DROPPED = frozenset(
    ("keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authenticate")
)


class WsgiError(Exception):
    """The app broke the WSGI contract (bad status, bad header...)."""


# --------------------------------------------------------------------------- boot


def setup(regions, options_json):
    """Called once by the worker after Py_Initialize, before loading apps.
    `regions`: one memoryview per core."""
    import json

    options = json.loads(options_json)
    if isinstance(regions, memoryview):
        regions = [regions]
    _cores[:] = [_Core(i, region) for i, region in enumerate(regions)]
    sys.argv = list(options.get("argv") or [sys.executable or "nuwsgi"])
    _static_environ.update(
        {
            "wsgi.version": (1, 0),
            "wsgi.multithread": bool(options.get("multithread", False)),
            "wsgi.multiprocess": bool(options.get("multiprocess", False)),
            "wsgi.run_once": False,
            "wsgi.errors": sys.stderr,
            "wsgi.file_wrapper": FileWrapper,
            "wsgi.input_terminated": True,
            "nuwsgi.version": options.get("version", ""),
            "uwsgi.version": options.get("version", "").encode("ascii", "replace"),
            "uwsgi.node": options.get("node", "").encode("ascii", "replace"),
        }
    )
    # As uWSGI's python plugin: the working directory (after --chdir) comes
    # first, so `--module app` finds app.py there.
    sys.path[0:0] = [".", ""]
    # Each entry goes to the front in the order given, as uWSGI's python
    # plugin inserts them: the last `pythonpath` wins a module name two share.
    for path in options.get("pythonpath") or []:
        if path not in sys.path:
            sys.path.insert(0, path)
    _configure_response_headers(options.get("responseHeaders"))
    _register_traceback_dump()
    autoreload = options.get("autoreload")
    if autoreload:
        _start_autoreloader(autoreload["seconds"], autoreload["masterPid"])


def _configure_response_headers(headers):
    """--add-header lines (validated by the config layer) and --del-header names, as uWSGI applies them to every response."""
    global _DELETED_HEADERS, _ADDED_HEAD, _ADDED_COUNT
    if not headers:
        return
    _DELETED_HEADERS = frozenset(name.lower() for name in headers.get("del") or ())
    added = headers.get("add") or []
    _ADDED_HEAD = "".join(line + "\r\n" for line in added).encode("latin-1")
    _ADDED_COUNT = len(added)


def _register_traceback_dump():
    """SIGPWR dumps every thread's Python stack to stderr (--harakiri-verbose
    sends it before the SIGKILL). faulthandler's handler is plain C: it runs
    even while the main thread is stuck inside the app."""
    import faulthandler
    import signal

    if hasattr(signal, "SIGPWR"):
        faulthandler.register(signal.SIGPWR, file=sys.stderr, all_threads=True)
    # A fatal signal (SIGSEGV, SIGFPE, SIGABRT, SIGBUS, SIGILL) dumps every
    # thread's stack, then faulthandler restores the previous handler (V8's
    # trap handler, which declines faults outside WebAssembly) and re-raises:
    # the worker still dies by its signal, and the master logs which request.
    faulthandler.enable(file=sys.stderr, all_threads=True)


def _start_autoreloader(seconds, master_pid):
    """--py-autoreload, as uWSGI's python plugin: a daemon thread stats every
    imported module's file each `seconds`; the first change logs uWSGI's line
    and sends SIGHUP to the master (a graceful reload), then the thread ends:
    the workers that replace this one start their own."""
    import signal
    import threading
    import time

    def modules_files():
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                yield path[:-1] if path.endswith((".pyc", ".pyo")) else path

    def scan(seen):
        for path in modules_files():
            try:
                mtime = os.stat(path).st_mtime
            except OSError:
                continue
            known = seen.setdefault(path, mtime)
            if mtime != known:
                return path
        return None

    def run():
        seen = {}
        scan(seen)
        while True:
            time.sleep(seconds)
            changed = scan(seen)
            if changed is not None:
                sys.stderr.write("[uwsgi-python-reloader] module/file %s has been modified\n" % changed)
                sys.stderr.flush()
                os.kill(master_pid, signal.SIGHUP)
                return

    threading.Thread(target=run, name="uWSGIAutoReloader", daemon=True).start()


def load_app(mountpoint, kind, target, callable_name):
    """Import an app; returns "" on success, or a one-line reason.

    The traceback, if any, is printed to stderr here, where the user looks.
    """
    try:
        app = _import_app(kind, target, callable_name)
    except _AppSpecError as err:  # the configuration's mistake: one clear line, no frames of ours
        sys.stderr.write("%s\n" % (err,))
        sys.stderr.flush()
        return "import error"
    except BaseException:  # SystemExit included: an app must not end the worker
        traceback.print_exc()
        sys.stderr.flush()
        return "import error"
    if app is None:
        return "callable not found"
    if not callable(app):
        return "callable %r is not callable" % (callable_name,)
    _apps.append((mountpoint, app))
    return ""


class _AppSpecError(Exception):
    """--module/--wsgi-file names something that cannot be what was meant."""


def _import_app(kind, target, callable_name):
    if kind == "file":
        return _pick_callable(_import_file(target), callable_name)
    module_name, _, attr = target.partition(":")
    return _pick_callable(_import_module(module_name), attr or callable_name)


def _pick_callable(module, attr):
    if attr.endswith("()"):
        factory = getattr(module, attr[:-2], None)
        return factory() if factory is not None else None
    return getattr(module, attr, None)


def _import_module(module_name):
    """--module is always a dotted module name, as uWSGI's PyImport_ImportModule.

    `mysite.wsgi` is the module wsgi of the package mysite, never a file. A
    value that fails to import and looks like a path gets a hint instead of
    only Python's "No module named 'app.py'".
    """
    try:
        return __import__(module_name, fromlist=["_"])
    except ModuleNotFoundError as err:
        if "/" not in module_name and not module_name.endswith(".py"):
            raise
        raise _AppSpecError(
            "%s: --module takes a dotted module name (mysite.wsgi, app:application), not a file path;"
            " to load the file %r use --wsgi-file %s" % (err, module_name, module_name)
        ) from None


def _import_file(path):
    """--wsgi-file: any file is Python source, whatever its extension (mod_wsgi's app.wsgi)."""
    name = "uwsgi_file_" + _pythonize(path)
    if path.endswith(".py"):
        loader = importlib.machinery.SourceFileLoader(name, path)
    else:
        loader = _SourceOnlyLoader(name, path)
    if not os.path.isfile(path):
        raise _AppSpecError("--wsgi-file %s: no such file" % (path,))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _pythonize(path):
    """uWSGI's module name for a file: '.' and '/' become '_', a trailing .py is dropped."""
    name = path.replace(".", "_").replace("/", "_")
    return name[:-3] if name.endswith("_py") else name


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles the file each time: app.wsgi must not share __pycache__/app.*.pyc with app.py."""

    def get_code(self, fullname):
        return self.source_to_code(self.get_data(self.path), self.path)


# ------------------------------------------------------------------------ request


class FileWrapper(object):
    """wsgi.file_wrapper: Node sends a real file itself, Python never reads it."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


class _Response(object):
    """What start_response collected, and the iterable being consumed.

    Per-request state starts as class attributes (no __init__ to run): a
    response sets what differs from them when it learns it.
    """

    status = None
    code = 0
    headers = None
    head = b""
    content_length = -1
    flags = 0
    sent = False  # headers handed to Node
    iterable = None
    iterator = None
    written = None  # data passed to write(), a list once there is some
    input = None  # wsgi.input: a streaming app may read it until it ends
    environ = None  # a streaming response's, for what pull() logs
    items = 0  # body items consumed so far (a streaming response's, for what pull() logs)
    streamed = 0  # body bytes handed to Node by a streaming response with a Content-Length

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise WsgiError("start_response() called a second time without exc_info")
        self.code, self.head, self.content_length, self.flags = _frame_head(status, headers)
        self.status = status
        self.headers = headers
        return self.write

    def write(self, data):
        if self.status is None:
            raise WsgiError("write() called before start_response()")
        if not isinstance(data, bytes):
            raise WsgiError("write() got %s, not bytes: WSGI bodies must be bytes" % _mistakes.a_type(data))
        if self.written is None:
            self.written = [data]
        else:
            self.written.append(data)

    def close(self):
        iterable, self.iterable = self.iterable, None
        self.iterator = None
        stream, self.input = self.input, None
        try:
            if iterable is not None and hasattr(iterable, "close"):
                iterable.close()
        except Exception:
            # The body is complete: a failing close() (Django's request_finished
            # handlers run in it) is logged with its traceback and the response
            # still goes out whole, as uWSGI does (found by scripts/fuzz.mjs:
            # it used to turn the response into a 500 or cut a stream short).
            _mistakes.log_exception(self.environ, sys.exc_info()[1])
        finally:
            if stream is not None:
                stream.close()


def _frame_head(status, headers):
    """Validate status and headers (PEP 3333) and serialize them as latin-1.

    Both caches hold wire bytes, already encoded: a response whose status and
    headers were seen before costs a dict lookup per line and one join.
    """
    cached = _status_cache.get(status) if type(status) is str else None  # a str subclass is refused
    if cached is None:
        cached = _check_status(status)
    code, line = cached
    if type(headers) is not list:
        raise WsgiError("start_response() headers must be a list of (name, value) tuples, not %s" % _mistakes.a_type(headers))
    lines = [line]
    content_length = -1
    flags = 0
    for item in headers:
        try:
            line = _header_cache[item]
        except (KeyError, TypeError):  # unhashable: certainly not a valid header, _check_header says why
            line = _check_header(item)
        if line.__class__ is bytes:
            lines.append(line)
            continue
        kind, value, line = line  # a header we act on rather than pass through
        if kind == "content-length":
            if code == 204:
                continue  # RFC 9110 §8.6: a 204 MUST NOT carry one (its body is never sent)
            if content_length >= 0:
                # Two Content-Lengths: a proxy may frame by either (nginx answers 502).
                # The same value twice is one; two values are the app's error (found by the fuzzer).
                if value != content_length:
                    raise WsgiError("conflicting Content-Length headers: %d and %d" % (content_length, value))
                continue
            content_length = value
            lines.append(line)
        elif kind == "connection":
            flags |= value
        elif kind == "transfer-encoding":
            flags |= FLAG_APP_CHUNKED
    if _ADDED_HEAD:
        lines.append(_ADDED_HEAD)  # after the app's, as uWSGI
    return code, b"".join(lines), content_length, flags


_status_cache = {}
_header_cache = {}
_HEADER_CACHE_MAX = 2048


def _latin1(text):
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise WsgiError("status or header not encodable as latin-1")


def _check_status(status):
    if type(status) is not str:
        raise WsgiError("start_response() status must be a str such as '200 OK', not %s" % _mistakes.a_type(status))
    match = _STATUS.match(status)
    if match is None:
        raise WsgiError("start_response() got an invalid status %r (a code and a reason, such as '200 OK')" % (status,))
    if not 200 <= int(match.group(1)) <= 599:
        # A 1xx is interim: the client would take the next response (the
        # next request's) as this one's. Above 599 is no HTTP status (RFC 9110 §15).
        raise WsgiError("start_response() got the status %r: an app's status must be a final one, 200 to 599" % (status,))
    if len(_status_cache) >= _HEADER_CACHE_MAX:
        _status_cache.clear()
    cached = _status_cache[status] = (int(match.group(1)), _latin1(status + "\r\n"))
    return cached


def _check_header(item):
    """Validate one header; returns its wire line as latin-1 bytes (cached), or
    (kind, value, wire line or None) for the headers that frame the response,
    which we handle ourselves."""
    if type(item) is not tuple or len(item) != 2:
        raise WsgiError("start_response() header %r is not a (name, value) tuple" % (item,))
    name, value = item
    if type(name) is not str or not _TOKEN.match(name):
        raise WsgiError("start_response() got an invalid header name %r" % (name,))
    if type(value) is not str or _BAD_VALUE.search(value):
        raise WsgiError("start_response() got an invalid value for header %r: %r (a str without control characters)" % (name, value))
    lower = name.lower()
    if lower in _DELETED_HEADERS:
        line = ("dropped", 0, None)  # --del-header
    elif lower == "content-length":
        if not value.strip().isdigit():
            raise WsgiError("invalid Content-Length %r" % (value,))
        line = ("content-length", int(value), _latin1("%s: %s\r\n" % item))
    elif lower == "connection":
        # The connection is ours: we write our own Connection header.
        line = ("connection", FLAG_CONNECTION_CLOSE if "close" in value.lower() else 0, None)
    elif lower == "transfer-encoding":
        line = ("transfer-encoding", 0, None)  # we frame the body ourselves
    elif lower in _HOP_BY_HOP_DROPPED:
        line = ("dropped", 0, None)
    else:
        line = _latin1("%s: %s\r\n" % (name, value))
    # Apps send the same few headers again and again: validate each pair once.
    if len(_header_cache) >= _HEADER_CACHE_MAX:
        _header_cache.clear()
    _header_cache[item] = line
    return line


class _EmptyInput(object):
    """wsgi.input of a request without a body: shared, stateless, never blocks."""

    def read(self, size=-1):
        return b""

    def readline(self, size=-1):
        return b""

    def readlines(self, hint=-1):
        return []

    def __iter__(self):
        return iter(())

    def close(self):
        pass


_EMPTY_INPUT = _EmptyInput()


def handle(slot=0):
    """Run one request on core `slot`. See the module docstring for what goes where."""
    return _handle(_cores[slot])


def _handle(core):
    # marshal.loads reads one object and ignores what follows: no slicing, no copy.
    # Node puts wsgi.url_scheme in the dict itself (it knows the socket and the
    # HTTPS var), and picked the app (mountpoints, SCRIPT_NAME).
    environ, body, app = _loads(core.view)
    environ.update(_static_environ)
    if body is None:
        environ["wsgi.input"] = _EMPTY_INPUT
        response = _Response()  # nothing to close: the empty input is shared
    else:
        if type(body) is bytes:
            stream = io.BytesIO(body)
        else:  # a spooled body: the path of a temporary file Node wrote
            stream = open(body, "rb")
        environ["wsgi.input"] = stream
        response = _Response()
        response.input = stream
    try:
        iterable = _apps[app][1](environ, response.start_response)
        response.iterable = iterable
        response.environ = environ  # pull() and _cap_stream() name the request in what they log
        return _first_output(core, response, iterable)
    except BaseException:
        _log_failure(environ, response.sent)
        _safe_close(response, environ)
        if response.sent:
            return _write_meta(core, KIND_BROKEN, response, 0)
        return _write_meta(core, KIND_ERROR, None, 0)


def _first_output(core, response, iterable):
    if response.written is not None:
        # Legacy write() output comes first (PEP 3333).
        if type(iterable) in (list, tuple):
            _require_headers(response)
            try:
                body = b"".join(iterable)
            except TypeError:
                raise _bad_whole_body(iterable)
            response.close()
            return _complete(core, response, b"".join(response.written) + body)
        return _begin_stream(core, response, b"".join(response.written), _iterate(iterable))
    if isinstance(iterable, FileWrapper) and _file_offset(iterable) is not None:
        return _send_file(core, response, iterable)
    if type(iterable) in (list, tuple):
        try:
            body = b"".join(iterable)
        except TypeError:
            raise _bad_whole_body(iterable)
        _require_headers(response)
        response.close()
        return _complete(core, response, body)
    if type(iterable) is bytes:  # not WSGI, but uWSGI sends it as the body: so do we
        _require_headers(response)
        response.close()
        return _complete(core, response, iterable)
    iterator = _iterate(iterable)
    # Built-in iterators over lists and tuples (Django's HttpResponse is one)
    # never block: drain them now and answer whole.
    drain = type(iterator) in _NEVER_BLOCKING_ITERATORS
    chunks = []
    size = 0
    declared = response.content_length
    index = -1
    for chunk in iterator:
        index += 1
        if chunk:
            if type(chunk) is not bytes:
                chunk = _body_bytes(chunk, index, response)
            chunks.append(chunk)
            size += len(chunk)
            if drain:
                continue
            # A generator of unknown length may wait between chunks (server-sent
            # events): send what we have now and stream the rest.
            if declared < 0 or declared > WHOLE_BODY_LIMIT:
                response.items = index + 1
                return _begin_stream(core, response, b"".join(chunks), iterator)
            if size >= declared:
                # Every declared byte is here (Flask's responses): the iterator
                # normally ends at once; anything more is the app's error, which
                # Node reports as a length mismatch.
                for extra in iterator:
                    index += 1
                    if extra:
                        if type(extra) is not bytes:
                            extra = _body_bytes(extra, index, response)
                        chunks.append(extra)
                break
    _require_headers(response)
    response.close()
    return _complete(core, response, b"".join(chunks))


def _iterate(iterable):
    """iter(), with an app that returned no iterable (None...) named as the app's mistake."""
    try:
        return iter(iterable)
    except TypeError:
        if _mistakes.is_iterable_type(iterable):
            raise  # the app's own __iter__ failed: its traceback says where
        raise WsgiError(_mistakes.not_iterable(iterable))


def _body_bytes(chunk, index, response):
    """A body item that is not bytes: bytearray and memoryview are taken (as uWSGI
    does), anything else is the app's mistake."""
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise WsgiError(_mistakes.body_item(chunk, index, response.iterable))


def _bad_whole_body(items):
    """The WsgiError naming the item of a list/tuple body that b"".join() refused."""
    found = _mistakes.first_bad_item(items)
    if found is None:
        return WsgiError("the response body could not be joined")
    index, item = found
    return WsgiError(_mistakes.body_item(item, index, items))


def _require_headers(response):
    if response.status is None:
        raise WsgiError("the app returned without calling start_response()")


def _complete(core, response, body):
    response.sent = True
    head = response.head
    size = len(body)
    if size <= core.capacity - HEADER_SIZE - len(head):
        if size <= _SMALL_BODY:
            # One write into the region: joining two short bytes is cheaper
            # than a second memoryview slice.
            _write_meta(core, KIND_COMPLETE, response, size, head + body)
        else:
            _write_meta(core, KIND_COMPLETE, response, size)
            core.mem[HEADER_SIZE + len(head) : HEADER_SIZE + len(head) + size] = body
        return None
    response.flags |= FLAG_BODY_RETURNED
    _write_meta(core, KIND_COMPLETE, response, -1)
    return body


def _begin_stream(core, response, first, iterator):
    _require_headers(response)
    response.sent = True
    response.iterator = iterator
    if response.content_length >= 0:
        first = _cap_stream(response, first)  # may end the stream: after response.iterator is set
    core.stream = response
    _write_meta(core, KIND_STREAM, response, -1)
    return first


def pull(slot=0):
    """Next chunk of core `slot`'s streaming response: KIND_STREAM + bytes, KIND_END, or KIND_BROKEN."""
    return _pull(_cores[slot])


def _pull(core):
    response = core.stream
    try:
        for chunk in response.iterator:
            response.items += 1
            if chunk:
                if type(chunk) is not bytes:
                    chunk = _body_bytes(chunk, response.items - 1, response)
                if response.content_length >= 0:
                    chunk = _cap_stream(response, chunk)
                    if not chunk:
                        break
                _write_meta(core, KIND_STREAM, None, -1)
                return chunk
        core.stream = None
        response.close()
        _write_meta(core, KIND_END, None, 0)
    except BaseException:
        core.stream = None
        _log_failure(response.environ, True)
        _safe_close(response)
        _write_meta(core, KIND_BROKEN, None, 0)
    return None


def _cap_stream(response, chunk):
    """A streamed body never goes past the app's Content-Length: the bytes beyond
    it would reach the client as the start of the next response (found by
    scripts/fuzz.mjs, with write() followed by a generator). What is past the
    declared length is dropped, one line says so, and the stream ends there."""
    room = response.content_length - response.streamed
    if len(chunk) <= room:
        response.streamed += len(chunk)
        return chunk
    response.streamed = response.content_length
    response.iterator = iter(())  # the next pull() ends the response (and closes the iterable)
    _mistakes._write(
        "Content-Length mismatch on %s: declared %d, generated more: the rest of the body was dropped\n"
        % (_mistakes.request_name(response.environ), response.content_length)
    )
    return chunk[:room]


def abort(slot=0):
    """The client went away mid-stream (or Node opened the file): close core `slot`'s iterable exactly once."""
    _abort(_cores[slot])


def _abort(core):
    response, core.stream = core.stream, None
    if response is not None:
        _safe_close(response)


# ------------------------------------------------------------------ core threads


def start_cores(options_json):
    """--threads: one Python thread per core, each serving the commands Node
    writes into its job eventfd (the counter's value is the command). Node never takes the GIL again: each thread takes
    it itself when its pipe wakes it (os.read releases it while waiting).
    Options: {"jobFds": [fd per core], "doneFd": fd, "stackKib": n, "followLoop": bool}. Returns the threads' OS ids, comma-separated."""
    import json
    import threading

    options = json.loads(options_json)
    job_fds, done_fd, stack_kib = options["jobFds"], options["doneFd"], options["stackKib"]

    if stack_kib > 0:
        threading.stack_size(stack_kib * 1024)
    threads = []
    for core, job_fd in zip(_cores, job_fds):
        name = "nuwsgi-core-%d" % core.id
        thread = threading.Thread(target=_core_loop, args=(core, job_fd, done_fd), name=name, daemon=True)
        thread.start()  # returns once the thread runs: its native_id is known
        threads.append(thread)
    if stack_kib > 0:
        threading.stack_size(0)  # threads the app starts get the default again
    if options.get("followLoop"):
        _unpin_what_cores_start(os.sched_getaffinity(0))  # the loop's set: it is never pinned
    # The OS thread ids, for Node to keep the cores on its loop's CPU (src/worker/core-placement.ts).
    return ",".join(str(thread.native_id) for thread in threads)


def _unpin_what_cores_start(cpus):
    """--threads-follow-loop pins the core threads to the event loop's CPU, and
    threads and processes inherit their creator's CPUs: a ThreadPoolExecutor
    started from a view, or an ffmpeg run with subprocess, would stay on that
    one CPU. Threads started through threading or _thread, processes started
    with subprocess, and os.fork() children (multiprocessing) begin on every
    CPU the process may use instead."""
    import _thread
    import subprocess
    import threading

    start = _thread.start_new_thread
    setaffinity = os.sched_setaffinity
    getaffinity = os.sched_getaffinity

    def unpin():
        try:
            setaffinity(0, cpus)
        except OSError:
            pass

    def start_new_thread(function, args, kwargs=None):
        def unpinned(*a, **kw):
            unpin()
            return function(*a, **kw)

        return start(unpinned, args) if kwargs is None else start(unpinned, args, kwargs)

    _thread.start_new_thread = _thread.start_new = start_new_thread
    threading._start_new_thread = start_new_thread

    execute_child = subprocess.Popen._execute_child

    def _execute_child(self, *args, **kwargs):
        # The child is forked (or spawned) from this thread: unpinned for the moment, pinned again after.
        own = getaffinity(0)
        if own == cpus:
            return execute_child(self, *args, **kwargs)
        setaffinity(0, cpus)
        try:
            return execute_child(self, *args, **kwargs)
        finally:
            setaffinity(0, own)

    subprocess.Popen._execute_child = _execute_child
    os.register_at_fork(after_in_child=unpin)


def _core_loop(core, job_fd, done_fd):
    read = os.read
    write = os.write
    done = bytes((core.id,))
    mem = core.mem
    while True:
        try:
            command = read(job_fd, 8)  # an eventfd's counter (little-endian): the command
        except InterruptedError:
            continue
        except OSError:
            return  # the descriptor is gone: the worker is exiting
        if not command:
            return  # the descriptor was closed: the worker is exiting
        core.held = None
        command = command[0]
        try:
            if command == CMD_HANDLE:
                data = _handle(core)
            elif command == CMD_PULL:
                data = _pull(core)
            else:
                data = _abort(core)
        except BaseException:  # a bug in the loader itself: answer 500, keep the core
            _log_exception(None)
            data = _write_meta(core, KIND_ERROR, None, 0)
        if data is None:
            _DATA.pack_into(mem, 48, 0, -1)
        else:
            core.held = data  # alive, and unchanged, until Node has copied it
            _DATA.pack_into(mem, 48, id(data) + _BYTES_DATA_OFFSET, len(data))
        write(done_fd, done)


def _file_offset(wrapper):
    filelike = wrapper.filelike
    try:
        fd = filelike.fileno()
        if not isinstance(fd, int):
            return None
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return filelike.tell()
    except Exception:
        return None


def _send_file(core, response, wrapper):
    _require_headers(response)
    response.sent = True
    offset = _file_offset(wrapper)
    fd = wrapper.filelike.fileno()
    _write_meta(core, KIND_FILE, response, 0)
    length = response.content_length
    # Node opens /proc/self/fd/<fd> itself, then tells us to close the iterable.
    struct.pack_into("<qq", core.mem, 32, offset, length)
    core.stream = response
    return ("/proc/self/fd/%d" % fd).encode("ascii")


def _write_meta(core, kind, response, body_len, out=None):
    """The meta header, then `out` (the head, or head + body) right after it."""
    mem = core.mem
    if response is None:
        _HEADER.pack_into(mem, 0, kind, 0, 0, body_len if body_len > 0 else 0, -1, 0, 0, 0, -1)
        return None
    head = response.head
    _HEADER.pack_into(
        mem, 0, kind, response.code, len(head), body_len if body_len > 0 else 0,
        response.content_length, response.flags, len(response.headers) + _ADDED_COUNT, 0, -1,
    )
    if out is None:
        out = head
    mem[HEADER_SIZE : HEADER_SIZE + len(out)] = out
    return None


def _safe_close(response, environ=None):
    """close() the app's iterable; its exception is logged naming the request
    (a streaming response keeps its environ, the others pass it)."""
    try:
        response.close()
    except BaseException:
        _log_exception(environ if environ is not None else response.environ)


def _log_failure(environ, headers_sent):
    """The current exception: one line when the app broke the WSGI contract,
    its traceback (without our frames) when the app itself raised."""
    exc = sys.exc_info()[1]
    if isinstance(exc, WsgiError):
        _mistakes.log_mistake(environ, exc, headers_sent)
    else:
        _mistakes.log_exception(environ, exc)


def _log_exception(environ):
    _mistakes.log_exception(environ, sys.exc_info()[1])
