"""nuwsgi's ASGI 3 side: one asyncio loop on its own Python thread per worker.

Node owns every socket. For each request in flight Node uses one *slot*: a
shared region (the same layout as a core's, see _nuwsgi.py) and a slot id.
Node writes the request into the slot's region — for an ASGI app the scope's
pieces, ``(scope parts, body, app, flags)`` (src/worker/asgi/scope.ts, see
_scope); for a WSGI app mounted beside it the same environ blob as a WSGI
core's — and a 4-byte command into the loop's job pipe:

    u8 command (CMD_HANDLE / CMD_PULL / CMD_ABORT / CMD_SHUTDOWN), u8 0, u16 slot (LE)

The loop thread watches the job pipe with ``loop.add_reader`` and answers
through the completion pipe with 4-byte events:

    u16 slot (LE), u8 event (EV_*), u8 0

EV_ANSWER: the slot's region holds the answer to its last command (the same
meta header the WSGI cores write: KIND_COMPLETE / KIND_STREAM / KIND_ERROR /
KIND_END / KIND_BROKEN; returned bytes by address at offset 48, kept alive
until the slot's next command). EV_FREE: the app's task for the slot is over
(Starlette's background tasks run after the response): Node reuses the slot
only once it has both finished the response and seen EV_FREE. EV_STOPPED:
lifespan shutdown is over.

Backpressure: a streaming body is handed to Node one chunk per CMD_PULL, and
Node pulls only when the client socket has drained, so the app's ``send()``
waits while the client is slow.

WSGI apps mounted in the same worker run in the loop's default executor with
_nuwsgi's own handle/pull/abort on the slot's region.

Streamed request bodies (FLAG_BODY_STREAM in the flags): the body in
the request blob is only what had arrived; receive() asks Node for more with
EV_RECEIVE, and Node answers with CMD_BODY once it has a piece, written into
the slot's *body area* (its last BODY_AREA bytes: u32 BODY_* kind, u32 length,
the bytes). Node stops reading the client while the app does not take the
body. CMD_GONE: the client closed or half-closed (http.disconnect).
"""

import http
import json
import os
import struct
import sys
import threading

import _nuwsgi as _w
import _nuwsgi_mistakes as _mistakes
import _nuwsgi_asgi_ws as _ws  # imported here: python/ is on sys.path only while this module loads

CMD_HANDLE = 1
CMD_PULL = 2
CMD_ABORT = 3
CMD_SHUTDOWN = 4
CMD_BODY = 5
CMD_GONE = 6
CMD_HINTED = 7
CMD_WS_FIRST = 16  # 16 and up: WebSocket commands (python/_nuwsgi_asgi_ws.py)

EV_ANSWER = 1
EV_FREE = 2
EV_STOPPED = 3
EV_RECEIVE = 4
EV_HINT = 5  # the region holds a framed 103 (<I length at 0, bytes at 4); Node answers CMD_HINTED

BODY_AREA = 64 * 1024 + 8  # src/worker/asgi/protocol.ts
BODY_MORE = 0
BODY_LAST = 1
BODY_GONE = 2
_BODY_HEAD = struct.Struct("<II")

# The request's flags (src/worker/asgi/scope.ts SCOPE_FLAG).
FLAG_BODY_STREAM = 1
FLAG_TRAILERS = 2
FLAG_PATH_BYTES = 4
FLAG_EARLY_HINTS = 8

# A KIND_ERROR (KIND_BROKEN) answer whose status is GONE_STATUS: the client left before any response (during a
# streaming one) and the app stopped: not the app's mistake (src/worker/asgi/protocol.ts).
GONE_STATUS = 499
GONE_RAISED = 1  # in its flags: the app raised (its traceback is logged), rather than returned
_GONE = struct.Struct("<II")  # kind, status at offset 0
_GONE_FLAGS = struct.Struct("<I")  # flags at offset 24

_COMMAND = struct.Struct("<BBH")
_COMPLETE = struct.Struct("<IIIIqIIqqqq")  # _nuwsgi's _HEADER then its _DATA (no bytes returned): a complete answer's meta
_BODY_LENGTH = struct.Struct("<I")  # _COMPLETE's body length field
_BODY_LENGTH_AT = 12
_EVENT = struct.Struct("<HBB")
_BODY_CHUNK = 64 * 1024

_REASONS = {status.value: status.phrase for status in http.HTTPStatus}
_END = object()  # the end of a streaming body, in a request's outgoing queue

_state = None  # the _Server, once started
# Imported by start(): detection runs in every worker (WSGI ones too) and must not cost them asyncio.
asyncio = None


class AsgiError(Exception):
    """The app broke the ASGI contract (a second start, body before start...)."""


# ------------------------------------------------------------------ detection


def is_asgi(app):
    """As uvicorn's --interface auto: a coroutine function, or an object whose __call__ is one."""
    import inspect

    if inspect.iscoroutinefunction(app):
        return True
    call = getattr(app, "__call__", None)
    return inspect.iscoroutinefunction(call)


def interface_of(index):
    """"asgi" or "wsgi" for loaded app number `index` (a str)."""
    return "asgi" if is_asgi(_w._apps[int(index)][1]) else "wsgi"


def add_regions(regions):
    """More slots than --threads cores: one _Core (region) each, appended to _nuwsgi's."""
    for region in regions:
        _w._cores.append(_w._Core(len(_w._cores), region))


# ----------------------------------------------------------------- the server


class _Server(object):
    def __init__(self, options):
        self.job_fd = options["jobFd"]
        self.done_fd = options["doneFd"]
        self.interfaces = options["interfaces"]
        self.lifespan_mode = options["lifespan"]
        self.requests = {}  # slot -> _Request or _WsgiRequest
        self.pending = b""
        self.events = bytearray()  # events not yet written to Node
        self.flush_scheduled = False
        self.states = {}  # app index -> lifespan state dict
        self.lifespans = []
        self.loop = _new_loop(options["loop"])
        if options.get("threads", 1) > 1:
            from concurrent.futures import ThreadPoolExecutor

            self.loop.set_default_executor(ThreadPoolExecutor(options["threads"], thread_name_prefix="nuwsgi-executor"))
        self.ready = threading.Event()
        self.failure = ""
        for core in _w._cores:  # complete responses stay out of the body area
            core.capacity = len(core.mem) - BODY_AREA

    def run(self):
        asyncio.set_event_loop(self.loop)
        try:
            self.failure = self.loop.run_until_complete(self._startup())
        except BaseException as exc:  # our own bug: the worker must not report ready
            _mistakes.log_exception(None, exc)
            self.failure = "lifespan startup crashed"
        self.ready.set()
        if self.failure:
            return
        os.set_blocking(self.job_fd, False)
        self.loop.add_reader(self.job_fd, self._on_jobs)
        self.loop.run_forever()

    def event(self, slot, kind):
        """Queue an event; the events of one loop iteration go to Node in one write."""
        self.events += _EVENT.pack(slot, kind, 0)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self._flush_events)

    def _flush_events(self):
        self.flush_scheduled = False
        if not self.events:
            return
        events, self.events = self.events, bytearray()
        try:
            written = os.write(self.done_fd, events)  # all of it, nearly always (the pipe holds 16,384 events)
            if written < len(events):
                data = memoryview(events)[written:]
                while data:
                    data = data[os.write(self.done_fd, data) :]
        except BrokenPipeError:  # Node closed its end: the process is exiting, nobody is left to tell
            pass

    def _on_jobs(self):
        try:
            data = os.read(self.job_fd, 16384)  # 4096 commands: os.read allocates its whole size first
        except (BlockingIOError, InterruptedError):
            return
        if not data:  # Node closed the pipe: the worker is exiting
            self.loop.remove_reader(self.job_fd)
            self.loop.stop()
            return
        if self.pending:
            data = self.pending + data
        extra = len(data) % 4
        if extra:
            self.pending = data[-extra:]
            data = data[:-extra]
        else:
            self.pending = b""
        for command, _zero, slot in _COMMAND.iter_unpack(data):
            try:
                if command == CMD_HANDLE:  # the common case first: one call less per request
                    self._handle(slot)
                else:
                    self._command(command, slot)
            except BaseException as exc:  # a bug of ours: answer 500, keep serving
                _mistakes.log_exception(None, exc)
                _w._write_meta(_w._cores[slot], _w.KIND_ERROR, None, 0)
                self.answer(slot, None)
        if not self.flush_scheduled:
            # Queued behind the first steps of the tasks just created: what they answer goes to Node in
            # this same loop iteration, not one iteration (one epoll_wait) later.
            self.flush_scheduled = True
            self.loop.call_soon(self._flush_events)

    def _handle(self, slot):
        core = _w._cores[slot]
        core.held = None
        data = _w._loads(core.view)
        if len(data) == 4:  # an ASGI app's scope parts (a WSGI app's environ blob has 3 items)
            request = self.requests[slot] = _Request(self, core, *data)
            self.loop.create_task(request._run())  # _Request.start(), one call less
        else:
            request = self.requests[slot] = _WsgiRequest(self, core)
            request.start()

    def _command(self, command, slot):
        if command >= CMD_WS_FIRST:  # WebSockets (python/_nuwsgi_asgi_ws.py): first, two of them come per message
            _ws.command(self, command, slot)
        elif command == CMD_HANDLE:
            self._handle(slot)
        elif command == CMD_PULL:
            _w._cores[slot].held = None
            self.requests[slot].pull()
        elif command == CMD_ABORT:
            self.requests[slot].abort()
        elif command == CMD_BODY:
            self.requests[slot].body_arrived()
        elif command == CMD_GONE:
            self.requests[slot].client_gone()
        elif command == CMD_HINTED:
            self.requests[slot].hinted()
        elif command == CMD_SHUTDOWN:
            self.loop.create_task(self._shutdown())

    def answer(self, slot, data):
        """The slot's region holds its answer; `data`, if any, is returned by address (kept until the next command)."""
        core = _w._cores[slot]
        if data is None:
            _w._DATA.pack_into(core.mem, 48, 0, -1)
        else:
            core.held = data
            _w._DATA.pack_into(core.mem, 48, id(data) + _w._BYTES_DATA_OFFSET, len(data))
        self.event(slot, EV_ANSWER)

    # -------------------------------------------------------------- lifespan

    async def _startup(self):
        if self.lifespan_mode == "off":
            return ""
        for index, (_mount, app) in enumerate(_w._apps):
            if self.interfaces[index] != "asgi":
                continue
            lifespan = _Lifespan(app, self.lifespan_mode)
            failure = await lifespan.startup()
            if failure:
                return failure
            self.lifespans.append(lifespan)
            self.states[index] = lifespan.state
        return ""

    async def _shutdown(self):
        for lifespan in self.lifespans:
            try:
                await lifespan.shutdown()
            except BaseException as exc:
                _mistakes.log_exception(None, exc)
        self.event(0, EV_STOPPED)


def _new_loop(choice):
    """--loop auto: uvloop when importable, as uvicorn; asyncio otherwise."""
    if choice in ("auto", "uvloop"):
        try:
            import uvloop

            return uvloop.new_event_loop()
        except ImportError:
            if choice == "uvloop":
                sys.stderr.write("--loop uvloop: uvloop is not importable, using asyncio\n")
    return asyncio.new_event_loop()


class _Lifespan(object):
    """The lifespan scope of one app (uvicorn's --lifespan auto|on)."""

    # What send() accepts in each phase, as uvicorn's LifespanOn.send asserts it.
    _EXPECTED = {
        "startup": ("lifespan.startup.complete", "lifespan.startup.failed"),
        "started": ("lifespan.shutdown.complete", "lifespan.shutdown.failed"),
    }
    _PHASES = {
        "startup": "during startup",
        "started": "after startup was answered",
        "failed": "after lifespan.startup.failed",
        "stopped": "after shutdown was answered",
    }

    def __init__(self, app, mode):
        self.app = app
        self.mode = mode
        self.state = {}
        self.inbox = asyncio.Queue()
        self.started = asyncio.get_event_loop().create_future()
        self.stopped = asyncio.get_event_loop().create_future()
        self.task = None
        self.unsupported = False
        self.phase = "startup"  # -> started | failed -> stopped: what send() may say next
        self.mistake = ""  # the AsgiError that ended startup, for the log line

    async def startup(self):
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self.task = asyncio.ensure_future(self._main(scope))
        await self.inbox.put({"type": "lifespan.startup"})
        outcome = await self.started
        if outcome is None:
            return ""
        if self.unsupported and self.mode == "auto":
            # uvicorn's line; an app that broke the protocol (rather than not speaking it) is told how.
            sys.stderr.write("ASGI 'lifespan' protocol appears unsupported%s\n" % (": " + self.mistake if self.mistake else "."))
            sys.stderr.flush()
            return ""
        return outcome

    async def _main(self, scope):
        try:
            await self.app(scope, self.inbox.get, self._send)
        except BaseException as exc:
            mistake = isinstance(exc, AsgiError)
            if not self.started.done():
                self.unsupported = True
                if mistake:  # one line: with `on` it is the worker's last word, with `auto` startup()'s
                    self.mistake = str(exc)
                    self.started.set_result("lifespan startup failed: %s" % exc)
                else:
                    if self.mode == "on":
                        _mistakes.log_exception(None, exc)
                    self.started.set_result("lifespan startup raised %s" % type(exc).__name__)
            elif mistake:
                sys.stderr.write("ASGI app error in lifespan: %s\n" % exc)
                sys.stderr.flush()
            else:
                _mistakes.log_exception(None, exc)
        finally:
            if not self.started.done():
                self.unsupported = True
                self.started.set_result("the app returned without answering lifespan.startup")
            if not self.stopped.done():
                self.stopped.set_result(None)

    async def _send(self, message):
        kind = message.get("type") if isinstance(message, dict) else None
        if kind not in self._EXPECTED.get(self.phase, ()):
            if not isinstance(message, dict):
                raise AsgiError("lifespan send() takes a dict such as {'type': 'lifespan.startup.complete'}, not %s" % _mistakes.a_type(message))
            expected = self._EXPECTED.get(self.phase)
            raise AsgiError(
                "lifespan send() got an unexpected message type %r %s: %s"
                % (kind, self._PHASES[self.phase], "expected %s or %s" % expected if expected else "nothing more is expected")
            )
        if kind == "lifespan.startup.complete":
            self.phase = "started"
            self.started.set_result(None)
        elif kind == "lifespan.startup.failed":
            self.phase = "failed"
            text = message.get("message", "")
            sys.stderr.write("lifespan startup failed%s\n" % (": " + text if text else ""))
            sys.stderr.flush()
            self.started.set_result("lifespan startup failed")
        elif kind == "lifespan.shutdown.complete":
            self.phase = "stopped"
            self.stopped.set_result(None)
        else:  # lifespan.shutdown.failed
            self.phase = "stopped"
            text = message.get("message", "")
            sys.stderr.write("lifespan shutdown failed%s\n" % (": " + text if text else ""))
            sys.stderr.flush()
            self.stopped.set_result(None)

    async def shutdown(self):
        if self.task is None or self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.stopped


# -------------------------------------------------------------- HTTP requests


def _scope(parts, state, flags):
    """The ASGI HTTP scope from the pieces Node built (src/worker/asgi/scope.ts): on the HTTP
    socket the headers are the request's own fields, one pair each in the client's order;
    behind nginx (uwsgi protocol) they come from the CGI variables, one pair per variable."""
    http_version, method, scheme, path, raw_path, query_string, root_path, headers, client, server = parts
    if flags & FLAG_PATH_BYTES:  # not valid UTF-8: decoded as uvicorn's unquote does
        path = path.decode("utf-8", "replace")
    extensions = {"http.response.pathsend": {}}
    if flags & FLAG_TRAILERS:
        extensions["http.response.trailers"] = {}
    if flags & FLAG_EARLY_HINTS:
        extensions["http.response.early_hint"] = {}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": http_version,
        "method": method,
        "scheme": scheme,
        "path": path,  # without root_path, as the Starlette Debian ships expects
        "raw_path": raw_path,
        "query_string": query_string,
        "root_path": root_path,
        "headers": headers,
        "client": client,
        "server": server,
        "extensions": extensions,
    }
    if state is not None:
        scope["state"] = state.copy()
    return scope


def request_environ(parts):
    """What the log's error lines name (_nuwsgi_mistakes.request_name): the method and the target."""
    target = parts[4].decode("latin-1")
    if parts[5]:
        target += "?" + parts[5].decode("latin-1")
    return {"REQUEST_METHOD": parts[1], "REQUEST_URI": target}


class _Request(object):
    """One ASGI HTTP request on a slot: its task, its body source and its way back to Node."""

    # Per-request state starts as these class attributes: an instance assigns only what changes
    # (most requests change few of them), which saves a store per attribute per request.
    receiving = None  # the future of a receive() Node has been asked to answer
    early = None  # a piece Node answered after its receive() was cancelled
    trailers = False  # http.response.start said trailers: True (and the client takes them)
    file = None  # http.response.pathsend: the file Node is sending
    client_left = False  # the client closed before the response (uvicorn logs nothing then)
    body_file = None
    body_done = False  # a request without a body still gets one empty http.request
    response = None  # _Head once http.response.start came
    answered = False  # the HANDLE command has its answer
    finished = False  # the whole response is with Node (or abandoned)
    broken = False
    aborted = False
    pull_waiting = False
    gone = None  # a future once receive() waits for http.disconnect
    over = False  # the response is over or the client left: receive() says http.disconnect
    hinting = None  # a future while Node writes an http.response.early_hint from the region
    # Made a list only once used (a whole response in one message, the common case, never uses them).
    outgoing = ()  # (chunk or _END, future or None) waiting for a pull
    trailer_lines = ()  # http.response.trailers' framed lines until the last one

    def __init__(self, server, core, parts, body, app, flags):
        self.server = server
        self.core = core
        self.parts = parts
        self.flags = flags  # FLAG_*: read where they matter (streamed body, trailers, early hints)
        self.app = _w._apps[app][1]
        self.scope = _scope(parts, server.states.get(app), flags)
        self.body = body  # None, bytes, or the path of a spooled file

    def start(self):
        self.server.loop.create_task(self._run())

    async def _run(self):
        try:
            await self.app(self.scope, self.receive, self.send)
        except BaseException as exc:
            self._failed(exc)
        else:
            if self.client_left and not self.finished:
                # The client left (receive() said http.disconnect) and the app stopped: nobody is there to
                # answer or to stream to, no mistake to report (uvicorn is silent too).
                self._failed(None, silent=True)
            elif not self.answered:
                what = "returned without sending a response" if self.response is None else "returned before the response body"
                self._failed(AsgiError("the app %s" % what), quiet=True)
            elif not self.finished:
                self._failed(AsgiError("the app returned before the end of its streaming response"), quiet=True)
        finally:
            if self.body_file is not None:
                self._close_body()
            if not self.over:
                self._disconnect()
            self.server.event(self.core.id, EV_FREE)

    def _failed(self, exc, quiet=False, silent=False):
        if silent:
            pass
        elif isinstance(exc, AsgiError) or quiet:
            sys.stderr.write("ASGI app error on %s: %s\n" % (_mistakes.request_name(request_environ(self.parts)), exc))
            sys.stderr.flush()
        else:
            _mistakes.log_exception(request_environ(self.parts), exc)
        if not self.answered:
            self.answered = self.finished = True
            _w._write_meta(self.core, _w.KIND_ERROR, None, 0)
            if self.client_left:  # nothing to write: Node logs 499, as nginx does for a client that left first
                _GONE.pack_into(self.core.mem, 0, _w.KIND_ERROR, GONE_STATUS)
                if exc is not None:
                    _GONE_FLAGS.pack_into(self.core.mem, 24, GONE_RAISED)
            self.server.answer(self.core.id, None)
        elif not self.finished:
            self.broken = True
            self.finished = True
            if self.pull_waiting:
                self.pull_waiting = False
                self._answer_broken()
                self.server.answer(self.core.id, None)

    # ------------------------------------------------------------- receive

    async def receive(self):
        if not self.body_done:
            if not self.flags & FLAG_BODY_STREAM:
                return self._next_body()
            if self.body is not None:  # what had arrived with the request comes first
                body, self.body = self.body, None
                return {"type": "http.request", "body": body, "more_body": True}
            return await self._receive_stream()
        if not self.over:
            if self.gone is None:
                self.gone = self.server.loop.create_future()
            await asyncio.shield(self.gone)
        return {"type": "http.disconnect"}

    def _next_body(self):
        body = self.body
        if body is None or type(body) is bytes:
            body = body or b""
            self.body_done = True
            self.body = None
            return {"type": "http.request", "body": body, "more_body": False}
        if self.body_file is None:
            self.body_file = open(body, "rb")
        chunk = self.body_file.read(_BODY_CHUNK)
        more = len(chunk) == _BODY_CHUNK
        if not more:
            self.body_done = True
            self._close_body()
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def _receive_stream(self):
        if self.receiving is not None:
            raise AsgiError("receive() called while another receive() is waiting")
        piece = self.early
        self.early = None
        if piece is None:
            self.receiving = self.server.loop.create_future()
            self.server.event(self.core.id, EV_RECEIVE)
            try:
                piece = await self.receiving
            finally:
                self.receiving = None
        kind, data = piece
        if kind == BODY_GONE:
            self.body_done = True
            self.client_left = True
            self._disconnect()
            return {"type": "http.disconnect"}
        if kind == BODY_LAST:
            self.body_done = True
        return {"type": "http.request", "body": data, "more_body": kind == BODY_MORE}

    def body_arrived(self):
        """CMD_BODY: Node put the next piece in the body area."""
        mem = self.core.mem
        at = len(mem) - BODY_AREA
        kind, length = _BODY_HEAD.unpack_from(mem, at)
        piece = (kind, bytes(mem[at + 8 : at + 8 + length]))
        waiter = self.receiving
        if waiter is not None and not waiter.done():
            waiter.set_result(piece)
        else:
            self.early = piece  # its receive() was cancelled: the next one gets it

    def client_gone(self):
        """CMD_GONE: the client closed or half-closed: receive() after the body says http.disconnect."""
        self.client_left = True
        self._disconnect()

    def _close_body(self):
        if self.body_file is not None:
            self.body_file.close()
            self.body_file = None

    def _disconnect(self):
        self.over = True
        if self.gone is not None and not self.gone.done():
            self.gone.set_result(None)

    # ---------------------------------------------------------------- send

    async def send(self, message):
        if self.hinting is not None:  # the region is Node's until it wrote the hint (another task's send)
            await asyncio.shield(self.hinting)
        kind = message.get("type")
        if kind == "http.response.body":
            if self.response is None:
                raise AsgiError("http.response.body sent before http.response.start")
            if self.finished:
                if self.aborted:
                    return  # the client left: uvicorn's send() is silent then (spec 2.3)
                raise AsgiError("http.response.body sent after the response ended")
            body = message.get("body", b"")
            if type(body) is not bytes:
                body = _body_bytes(body)
            more = message.get("more_body", False)
            if not more and not self.answered and not self.trailers:
                self._complete(body)  # the common case first: the whole response in one message
                return
            more = bool(more)
            if self.trailers and not more:
                more = True  # the response ends with its trailers
                self.trailers = "waiting"
                if not body and not self.answered:
                    self._begin_stream(b"")
                    return
            if not self.answered:
                if not more:
                    self._complete(body)
                    return
                if not body:
                    return  # nothing to say yet: keep the HANDLE command for the first real chunk
                self._begin_stream(body)
                return
            if body:
                waiter = self.server.loop.create_future()
                self._queue(body, waiter)
                self._flush()
            if not more:
                self._queue(_END, None)
                self.finished = True
                self._flush()
            elif body:
                await waiter
            return
        if kind == "http.response.start":
            if self.response is not None:
                raise AsgiError("http.response.start sent a second time")
            self.response = _Head.of(message.get("status"), message.get("headers") or ())
            if self.flags & FLAG_TRAILERS:
                self.trailers = bool(message.get("trailers", False))
            return
        if kind == "http.response.pathsend":
            return self._pathsend(message)
        if kind == "http.response.trailers":
            return self._trailers(message)
        if kind == "http.response.early_hint":
            return await self._early_hint(message)
        raise AsgiError("unexpected message type %r" % (kind,))

    def _pathsend(self, message):
        """http.response.pathsend: Node sends the file (as for wsgi.file_wrapper), the app's send() returns at once."""
        if self.response is None:
            raise AsgiError("http.response.pathsend sent before http.response.start")
        if self.answered:
            raise AsgiError("http.response.pathsend after the response body began")
        path = message.get("path")
        if not isinstance(path, str) or not os.path.isabs(path):
            raise AsgiError("http.response.pathsend 'path' must be an absolute path, not %r" % (path,))
        import stat

        handle = open(path, "rb")
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            handle.close()
            raise AsgiError("http.response.pathsend %r is not a regular file" % path)
        self.file = handle
        self.answered = self.finished = True
        self.response.sent = True
        _w._write_meta(self.core, _w.KIND_FILE, self.response, 0)
        struct.pack_into("<qq", self.core.mem, 32, 0, self.response.content_length)
        # Node opens /proc/self/fd/<fd> itself, then ABORT tells us to close ours.
        self.server.answer(self.core.id, ("/proc/self/fd/%d" % handle.fileno()).encode("ascii"))

    def _trailers(self, message):
        if self.trailers != "waiting":
            if self.response is not None and not self.flags & FLAG_TRAILERS:
                return  # the client did not ask for trailers: they are dropped, as the spec allows
            raise AsgiError("http.response.trailers without trailers: True in http.response.start, or before the body's end")
        for item in message.get("headers") or ():
            try:
                name, value = item
            except (TypeError, ValueError):
                raise AsgiError("trailer %r is not a [name, value] pair" % (item,))
            if type(name) is not bytes or type(value) is not bytes or not _w._TOKEN.match(name.decode("latin-1")) or _w._BAD_VALUE.search(value.decode("latin-1")):
                raise AsgiError("trailer %r: a bytes token name and a bytes value without control characters" % (item,))
            if not self.trailer_lines:
                self.trailer_lines = []
            self.trailer_lines.append(name + b": " + value + b"\r\n")
        if message.get("more_trailers", False):
            return
        self.trailers = False
        self._queue(_END, b"".join(self.trailer_lines))
        self.finished = True
        self._flush()  # backpressure: until Node pulled it, i.e. the client drained the previous one

    async def _early_hint(self, message):
        """http.response.early_hint: a 103 with one Link field per link, before the response (returns once Node wrote it)."""
        lines = [b"HTTP/1.1 103 Early Hints\r\n"]
        for link in message.get("links") or ():
            if type(link) is not bytes or _w._BAD_VALUE.search(link.decode("latin-1")):
                raise AsgiError("http.response.early_hint links must be bytes without control characters, not %r" % (link,))
            lines.append(b"Link: " + link + b"\r\n")
        if not self.flags & FLAG_EARLY_HINTS or self.answered or len(lines) == 1:
            return  # not advertised (HTTP/1.0, nginx), too late, or nothing to hint: dropped, as the spec allows
        data = b"".join(lines) + b"\r\n"
        if len(data) > self.core.capacity - 4:
            raise AsgiError("http.response.early_hint of %d bytes: at most %d" % (len(data), self.core.capacity - 4))
        mem = self.core.mem
        struct.pack_into("<I", mem, 0, len(data))
        mem[4 : 4 + len(data)] = data
        self.hinting = self.server.loop.create_future()
        self.server.event(self.core.id, EV_HINT)
        await asyncio.shield(self.hinting)  # a cancelled send() still leaves the region to Node until CMD_HINTED

    def hinted(self):
        """CMD_HINTED: Node wrote (or dropped) the early hints: the region is ours again."""
        hinting, self.hinting = self.hinting, None
        if hinting is not None and not hinting.done():
            hinting.set_result(None)

    def _complete(self, body):
        """The whole response: its meta and, when small, head and body in the region (_w._complete's
        layout, written here in one pack and one copy); a larger body is returned by address."""
        self.answered = self.finished = True
        core = self.core
        response = self.response
        response.sent = True
        prefix = response.prefix  # the meta (body length 0) and the head, packed once per head
        size = len(body)
        end = len(prefix) + size
        if size <= _w._SMALL_BODY and end <= core.capacity:
            mem = core.mem
            mem[0:end] = prefix + body if size else prefix
            if size:
                _BODY_LENGTH.pack_into(mem, _BODY_LENGTH_AT, size)
            self.server.event(core.id, EV_ANSWER)
        else:  # _w._complete may mark the head FLAG_BODY_RETURNED: not a cached one shared by other requests
            response = self.response = response.copy()
            self.server.answer(core.id, _w._complete(core, response, body))
        self.over = True  # _disconnect(): a receive() from now on says http.disconnect
        if self.gone is not None and not self.gone.done():
            self.gone.set_result(None)

    def _begin_stream(self, first):
        self.answered = True
        self.response.sent = True
        _w._write_meta(self.core, _w.KIND_STREAM, self.response, -1)
        self.server.answer(self.core.id, first)

    def _queue(self, item, waiter):
        """A chunk (or _END) for Node's next CMD_PULL."""
        if not self.outgoing:
            self.outgoing = []
        self.outgoing.append((item, waiter))

    def _flush(self):
        if not self.pull_waiting or not self.outgoing:
            return
        self.pull_waiting = False
        item, waiter = self.outgoing.pop(0)
        if item is _END:
            _w._write_meta(self.core, _w.KIND_END, None, 0)
            self.server.answer(self.core.id, waiter or None)  # an _END's second item: its trailer lines
            self._disconnect()
            return
        else:
            _w._write_meta(self.core, _w.KIND_STREAM, None, -1)
            self.server.answer(self.core.id, item)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _answer_broken(self):
        """The stream ends unfinished: the connection closes (GONE_STATUS: the client had left, Node logs it so)."""
        _w._write_meta(self.core, _w.KIND_BROKEN, None, 0)
        if self.client_left:
            _GONE.pack_into(self.core.mem, 0, _w.KIND_BROKEN, GONE_STATUS)

    # ----------------------------------------------------- Node's commands

    def pull(self):
        if self.broken and not self.outgoing:
            self._answer_broken()
            self.server.answer(self.core.id, None)
            return
        self.pull_waiting = True
        self._flush()

    def abort(self):
        """The client went away mid-stream: send() becomes silent, receive() says http.disconnect."""
        self.finished = self.aborted = True
        self.pull_waiting = False
        if self.file is not None:
            self.file.close()
            self.file = None
        for item, waiter in self.outgoing:
            if item is not _END and waiter is not None and not waiter.done():
                waiter.set_result(None)
        self.outgoing = []
        self._disconnect()
        self.server.answer(self.core.id, None)


class _Head(object):
    """http.response.start, framed as _nuwsgi's responses are (status line, validated headers)."""

    __slots__ = ("code", "head", "content_length", "flags", "headers", "sent", "status", "prefix")

    def __init__(self, status, headers, message="http.response.start"):
        """`message`: the ASGI message whose status and headers these are, as a mistake's line names it."""
        if type(status) is not int:
            raise AsgiError("%s 'status' must be an int such as 200, not %s %r" % (message, _mistakes.a_type(status), status))
        if not 200 <= status <= 599:
            if 100 <= status <= 199:  # interim: the client would take the next response as this one's
                raise AsgiError("%s 'status' %d is interim (1xx): a response's status must be a final one, 200 to 599" % (message, status))
            raise AsgiError("%s 'status' %d is not an HTTP status code (100 to 599)" % (message, status))
        reason = _REASONS.get(status, "")
        try:
            items = iter(headers)
        except TypeError:
            raise AsgiError("%s 'headers' must be an iterable of [name, value] pairs, not %s" % (message, _mistakes.a_type(headers))) from None
        pairs = []
        for item in items:
            try:
                name, value = item
            except (TypeError, ValueError):
                raise AsgiError("%s header %r is not a [name, value] pair" % (message, item)) from None
            if type(name) is not bytes:
                raise AsgiError("%s header name %r must be bytes, not %s" % (message, name, _mistakes.a_type(name)))
            if type(value) is not bytes:
                raise AsgiError("%s header %r: the value must be bytes, not %s %r" % (message, name, _mistakes.a_type(value), value))
            name = name.decode("latin-1")
            value = value.decode("latin-1")
            if not _w._TOKEN.match(name):
                raise AsgiError("%s header name %r is not a valid field name (a token: letters, digits, !#$%%&'*+-.^_`|~)" % (message, item[0]))
            if _w._BAD_VALUE.search(value):
                raise AsgiError("%s header %r has an invalid value %r: control characters (such as CR or LF) are not allowed" % (message, item[0], item[1]))
            pairs.append((name, value))
        try:
            self.code, self.head, self.content_length, self.flags = _w._frame_head("%d %s" % (status, reason), pairs)
        except _w.WsgiError as err:  # what is left: Content-Length (its value, two that disagree)
            text = str(err)
            raise AsgiError(text.replace("start_response() ", message + " ") if "start_response() " in text else "%s: %s" % (message, text)) from None
        self.headers = pairs
        self.status = status
        self.sent = False
        # A whole response's region bytes but for its body and the body's length (_Request._complete).
        self.prefix = _COMPLETE.pack(
            _w.KIND_COMPLETE, self.code, len(self.head), 0, self.content_length, self.flags,
            len(pairs) + _w._ADDED_COUNT, 0, -1, 0, -1,
        ) + self.head

    @classmethod
    def of(cls, status, headers):
        """_Head(status, headers), from a cache of the responses seen before (most apps answer a few
        shapes: the same status and headers, often the same Content-Length) when they are hashable.
        A cached head is shared by the requests that answer its shape: only `sent` (which ASGI never
        reads) is written on it, and a body returned by address gets a copy (_Request._complete)."""
        # Only an int status and a list or tuple are looked up: 200.0 == 200 must not pass as valid.
        # (An equal read-only memoryview would match cached bytes: the wire bytes are the same then.)
        if type(status) is int and type(headers) in (list, tuple):
            try:
                key = (status, tuple(headers))
                head = _heads.get(key)
            except TypeError:  # a header as a list: unhashable, framed each time
                return cls(status, headers)
            if head is None:
                head = cls(status, headers)
                if len(_heads) < _HEADS_MAX:
                    _heads[key] = head
            return head
        return cls(status, headers)

    def copy(self):
        """A head of this request's own (one it may change)."""
        head = _Head.__new__(_Head)
        head.code, head.head, head.content_length, head.flags = self.code, self.head, self.content_length, self.flags
        head.headers, head.status, head.sent, head.prefix = self.headers, self.status, self.sent, self.prefix
        return head


# (status, headers) -> the _Head framed for them: only valid responses get here (the constructor raises otherwise).
_heads = {}
_HEADS_MAX = 1024


def _body_bytes(body):
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise AsgiError("http.response.body 'body' must be bytes, not %s" % _mistakes.a_type(body))


class _WsgiRequest(object):
    """A WSGI app mounted next to ASGI ones: _nuwsgi's handle/pull/abort in the loop's executor."""

    def __init__(self, server, core):
        self.server = server
        self.core = core

    def start(self):
        self._call(_w._handle, True)

    def pull(self):
        self._call(_w._pull, True)

    def abort(self):
        self._call(_w._abort, False)

    def _call(self, fn, check_end):
        loop = self.server.loop
        future = loop.run_in_executor(None, fn, self.core)
        future.add_done_callback(lambda f: self._answered(f, check_end))

    def _answered(self, future, check_end):
        slot = self.core.id
        try:
            data = future.result()
        except BaseException as exc:
            _mistakes.log_exception(None, exc)
            _w._write_meta(self.core, _w.KIND_ERROR, None, 0)
            data = None
        self.server.answer(slot, data)
        if not check_end or self.core.stream is None:
            self.server.event(slot, EV_FREE)  # the response no longer needs Python


# ------------------------------------------------------------------ entry


def start(options_json):
    """Start the loop thread, run lifespan startup; returns "" or why the worker must not serve.

    Called by Node under the GIL: Event.wait releases it while the loop thread runs startup."""
    global _state, asyncio
    import asyncio

    options = json.loads(options_json)
    server = _Server(options)
    _state = server
    thread = threading.Thread(target=server.run, name="nuwsgi-asgi-loop", daemon=True)
    thread.start()
    server.ready.wait()
    return server.failure
