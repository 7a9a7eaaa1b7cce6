"""nuwsgi's ASGI WebSockets: the `websocket` scope and messages on the loop thread.

Node does every byte of the protocol (handshake, frames, masks, UTF-8,
ping/pong, permessage-deflate, the close handshake). A WebSocket holds one ASGI
slot for its lifetime; the slot's region carries messages both ways, one at a
time in each direction (src/worker/asgi/ws-contract.ts is the other half):

    Node -> Python, commands on the job pipe (`<BBH`: command, 0, slot):
      CMD_WS_CONNECT  the region holds the request (as for CMD_HANDLE): start the app
                      (answered with EV_WS_TAKEN once the request is read)
      CMD_WS_RECEIVE  the IN header (offset 64) and IN data (offset 128) hold a
                      message or a piece of one (flag MORE), or the disconnect
      CMD_WS_SENT     Node has written the last OUT message (and the socket drained)

    Python -> Node, events on the completion pipe (`<HBB`: slot, event, 0):
      EV_WS_OUT       the OUT header (offset 0; data by address at 48, as
                      answers are) holds a message from the app
      EV_WS_TAKEN     the IN piece is copied (MORE) or the message was taken by
                      the app's receive(): Node may send the next one
      EV_FREE         the app's task is over (as for HTTP)

Backpressure: Node sends the next message only after EV_WS_TAKEN, and pauses
the socket meanwhile. The app's websocket.send hands its message to Node and
returns at once when Node has nothing else of this WebSocket in hand; a send()
while the last message is not yet written and drained (CMD_WS_SENT) waits for
that, and then for its own. So at most one message per WebSocket is in Node's
hands beyond the socket's buffer, and an echo costs no extra round trip
through the loop per message. Accept, close and the HTTP response wait for
CMD_WS_SENT as before.
"""

import struct
import sys

import _nuwsgi as _w
import _nuwsgi_asgi as _a
import _nuwsgi_mistakes as _mistakes

CMD_WS_CONNECT = 16
CMD_WS_RECEIVE = 17
CMD_WS_SENT = 18

EV_WS_OUT = 16
EV_WS_TAKEN = 17

# OUT kinds (Python -> Node)
OUT_ACCEPT = 1  # data: subprotocol (latin-1 line, may be empty) CRLF, then header lines
OUT_TEXT = 2
OUT_BYTES = 3
OUT_CLOSE = 4  # code; data: reason (UTF-8)
OUT_HTTP_HEAD = 5  # data: "403 Forbidden\r\nName: value\r\n..." (websocket.http.response.start)
OUT_HTTP_BODY = 6  # flags MORE; data: body piece (websocket.http.response.body)
OUT_ERROR = 7  # the app failed: 500 before accept, 1011 after

# IN kinds (Node -> Python)
IN_TEXT = 1
IN_BYTES = 2
IN_DISCONNECT = 3  # code; data: reason (UTF-8)

FLAG_MORE = 1

_OUT = struct.Struct("<III")  # kind, code, flags at offset 0; data at 48 (_w._DATA)
_IN = struct.Struct("<IIII")  # kind, code, flags, length at offset 64
IN_HEADER = 64
IN_DATA = 128


class ClientDisconnected(OSError):
    """send() on a WebSocket that is closed (the ASGI spec: a server-specific IOError subclass)."""


class _WebSocket(object):
    """One ASGI WebSocket on a slot: the app's task, its inbox, its one message on the way to Node."""

    def __init__(self, server, core, parts, app_index):
        self.server = server
        self.core = core
        self.parts = parts
        self.app = _w._apps[app_index][1]
        self.scope = _ws_scope(parts, server.states.get(app_index))
        self.inbox = []  # messages for receive(), the first is websocket.connect
        self.inbox.append({"type": "websocket.connect"})
        self.waiting = None  # receive()'s future while the inbox is empty
        self.pieces = []  # a message arriving in pieces (MORE)
        self.taken_owed = False  # EV_WS_TAKEN to send once the app takes the last delivered message
        self.outgoing = []  # (kind, code, flags, data, future) waiting for the OUT slot
        self.out_busy = False  # an OUT message is with Node, until CMD_WS_SENT
        self.state = "connecting"  # -> accepted | responding -> closed
        self.disconnected = None  # the websocket.disconnect message, once Node said so
        self.task_over = False
        self.freed = False

    def start(self):
        self.server.loop.create_task(self._run())

    async def _run(self):
        try:
            await self.app(self.scope, self.receive, self.send)
        except BaseException as exc:
            if isinstance(exc, _a.AsgiError):  # the app misused the protocol: one line, as for HTTP
                sys.stderr.write("ASGI app error on %s: %s\n" % (_mistakes.request_name(_a.request_environ(self.parts)), exc))
                sys.stderr.flush()
            elif self.disconnected is None or not isinstance(exc, ClientDisconnected):
                _mistakes.log_exception(_a.request_environ(self.parts), exc)
            self._fail()
        else:
            if self.state == "connecting":
                sys.stderr.write("ASGI app error on %s: the app returned without accepting or closing the WebSocket\n" % _mistakes.request_name(_a.request_environ(self.parts)))
                sys.stderr.flush()
                self._fail()
            elif self.state == "responding":
                self._queue(OUT_HTTP_BODY, 0, 0, b"", None)  # end a response the app left open
            elif self.state == "accepted" and self.disconnected is None:
                self._queue(OUT_CLOSE, 1000, 0, b"", None)  # as uvicorn: a normal closure for an app that just returns
        finally:
            self.state = "closed"
            self.task_over = True
            self._maybe_free()

    def _maybe_free(self):
        """EV_FREE once the task is over and Node has every message the app sent."""
        if self.task_over and not self.outgoing and not self.freed:
            self.freed = True
            self.server.event(self.core.id, _a.EV_FREE)

    def _fail(self):
        if self.state in ("connecting", "accepted", "responding") and self.disconnected is None:
            self._queue(OUT_ERROR, 0, 0, b"", None)
        self.state = "closed"

    # ------------------------------------------------------------- receive

    async def receive(self):
        while not self.inbox:
            if self.disconnected is not None:
                return self.disconnected
            self.waiting = self.server.loop.create_future()
            await self.waiting
            self.waiting = None
        message = self.inbox.pop(0)
        if self.taken_owed and not self.inbox:
            self.taken_owed = False
            self.server.event(self.core.id, EV_WS_TAKEN)
        return message

    def _wake(self):
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(None)

    # ---------------------------------------------------------------- send

    async def send(self, message):
        kind = message.get("type")
        if self.disconnected is not None or self.state == "closed":
            raise ClientDisconnected("the WebSocket is closed")
        if kind == "websocket.accept":
            if self.state != "connecting":
                raise _a.AsgiError("websocket.accept sent twice, or after a close or a response")
            data = _accept_data(message)  # a mistake in it leaves the WebSocket unanswered: Node answers 500
            self.state = "accepted"
            await self._send(OUT_ACCEPT, 0, 0, data)
        elif kind == "websocket.send":
            if self.state != "accepted":
                raise _a.AsgiError("websocket.send before websocket.accept")
            text = message.get("text")
            if text is not None:
                if type(text) is not str:
                    raise _a.AsgiError("websocket.send 'text' must be a str, not %s" % _mistakes.a_type(text))
                data = text.encode("utf-8")
                kind = OUT_TEXT
            else:
                data = message.get("bytes")
                if data is None or not isinstance(data, (bytes, bytearray, memoryview)):
                    raise _a.AsgiError("websocket.send needs 'text' (str) or 'bytes' (bytes)")
                if type(data) is not bytes:
                    data = bytes(data)
                kind = OUT_BYTES
            if self.outgoing:  # the last message is still with Node: wait for it to be written and drained
                await self._send(kind, 0, 0, data)
            else:  # straight to Node, no round trip: the next send() waits if this one is not out yet
                self._queue(kind, 0, 0, data, None)
        elif kind == "websocket.close":
            code = message.get("code", 1000)
            reason = message.get("reason") or ""
            if type(code) is not int or type(reason) is not str:
                raise _a.AsgiError("websocket.close: 'code' is an int, 'reason' a str")
            if self.state == "connecting":
                self.state = "closed"  # before accept: Node answers 403
                await self._send(OUT_HTTP_HEAD, 0, 0, _a._Head(403, [(b"content-length", b"0")]).head, last_body=True)
                return
            if self.state != "accepted":
                raise _a.AsgiError("websocket.close during a websocket.http.response")
            self.state = "closed"
            await self._send(OUT_CLOSE, code, 0, reason.encode("utf-8")[:123])
        elif kind == "websocket.http.response.start":
            if self.state != "connecting":
                raise _a.AsgiError("websocket.http.response.start after accept, or twice")
            head = _a._Head(message.get("status"), message.get("headers") or (), kind)
            self.state = "responding"
            await self._send(OUT_HTTP_HEAD, 0, 0, head.head)
        elif kind == "websocket.http.response.body":
            if self.state != "responding":
                raise _a.AsgiError("websocket.http.response.body before websocket.http.response.start")
            body = message.get("body", b"")
            if type(body) is not bytes:
                body = _a._body_bytes(body)
            more = bool(message.get("more_body", False))
            if not more:
                self.state = "closed"
            await self._send(OUT_HTTP_BODY, 0, FLAG_MORE if more else 0, body)
        else:
            raise _a.AsgiError("unexpected message type %r on a WebSocket" % (kind,))

    async def _send(self, kind, code, flags, data, last_body=False):
        future = self.server.loop.create_future()
        self._queue(kind, code, flags, data, future)
        if last_body:
            self._queue(OUT_HTTP_BODY, 0, 0, b"", None)
        await future  # backpressure: until Node wrote it and the socket drained

    def _queue(self, kind, code, flags, data, future):
        self.outgoing.append((kind, code, flags, data, future))
        self._flush()

    def _flush(self):
        if self.out_busy or not self.outgoing:
            return
        kind, code, flags, data, future = self.outgoing[0]
        self.out_busy = True
        core = self.core
        core.held = data
        _OUT.pack_into(core.mem, 0, kind, code, flags)
        _w._DATA.pack_into(core.mem, 48, id(data) + _w._BYTES_DATA_OFFSET, len(data))
        self.server.event(core.id, EV_WS_OUT)

    # ----------------------------------------------------- Node's commands

    def sent(self):
        """CMD_WS_SENT: Node wrote the OUT message; the next may go."""
        self.core.held = None
        self.out_busy = False
        _kind, _code, _flags, _data, future = self.outgoing.pop(0)
        if future is not None and not future.done():
            future.set_result(None)
        self._flush()
        self._maybe_free()

    def received(self):
        """CMD_WS_RECEIVE: copy the IN message (or piece) out of the region."""
        kind, code, flags, length = _IN.unpack_from(self.core.mem, IN_HEADER)
        data = bytes(self.core.mem[IN_DATA : IN_DATA + length])
        if flags & FLAG_MORE:
            self.pieces.append(data)
            self.server.event(self.core.id, EV_WS_TAKEN)
            return
        if self.pieces:
            self.pieces.append(data)
            data = b"".join(self.pieces)
            self.pieces = []
        if kind == IN_DISCONNECT:
            self.disconnected = {"type": "websocket.disconnect", "code": code, "reason": data.decode("utf-8", "replace")}
            self._fail_pending_sends()
            self._maybe_free()
        elif kind == IN_TEXT:
            self.inbox.append({"type": "websocket.receive", "text": data.decode("utf-8")})
        else:
            self.inbox.append({"type": "websocket.receive", "bytes": data})
        if kind != IN_DISCONNECT:
            self.taken_owed = True  # Node sends nothing more until the app has taken it
        self._wake()

    def _fail_pending_sends(self):
        """The client is gone: sends waiting for the OUT slot raise ClientDisconnected."""
        for index, (_kind, _code, _flags, _data, future) in enumerate(self.outgoing):
            if index == 0 and self.out_busy:
                continue  # Node still answers CMD_WS_SENT for the one it has
            if future is not None and not future.done():
                future.set_exception(ClientDisconnected("the WebSocket is closed"))
        self.outgoing = self.outgoing[:1] if self.out_busy else []


def _accept_data(message):
    subprotocol = message.get("subprotocol")
    if subprotocol is not None and (type(subprotocol) is not str or not _w._TOKEN.match(subprotocol)):
        raise _a.AsgiError("websocket.accept 'subprotocol' must be a token str, not %r" % (subprotocol,))
    headers = message.get("headers") or ()
    head = _a._Head(200, headers, "websocket.accept").head  # validated as a response's headers; the status line is dropped
    lines = head.split(b"\r\n", 1)[1] if headers or _w._ADDED_HEAD else b""
    return (subprotocol or "").encode("latin-1") + b"\r\n" + lines


def _ws_scope(parts, state):
    """The ASGI websocket scope: the HTTP scope's fields, ws/wss, subprotocols, no method."""
    scope = _a._scope(parts, state, 0)  # no trailers on a WebSocket
    del scope["method"]
    scope["type"] = "websocket"
    scope["asgi"] = {"version": "3.0", "spec_version": "2.4"}
    scope["scheme"] = "wss" if scope["scheme"] == "https" else "ws"
    # Every Sec-WebSocket-Protocol field, in order (a client may send several).
    offered = b",".join(value for name, value in scope["headers"] if name == b"sec-websocket-protocol").decode("latin-1")
    scope["subprotocols"] = [p.strip() for p in offered.split(",") if p.strip()]
    scope["extensions"] = {"websocket.http.response": {}}
    return scope


def command(server, command_id, slot):
    """One WebSocket command from Node (called by _nuwsgi_asgi's _command); the per-message ones first."""
    if command_id == CMD_WS_RECEIVE:
        server.requests[slot].received()
    elif command_id == CMD_WS_SENT:
        server.requests[slot].sent()
    elif command_id == CMD_WS_CONNECT:
        core = _w._cores[slot]
        core.held = None
        parts, _body, app, _flags = _w._loads(core.view)
        ws = _WebSocket(server, core, parts, app)
        server.requests[slot] = ws
        server.event(slot, EV_WS_TAKEN)  # the request is read: the region may carry messages now
        ws.start()
