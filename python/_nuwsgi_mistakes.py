"""How nuwsgi's loader reports an app that broke the WSGI contract.

An app mistake (a str body, a bad status, no start_response() call...) is
logged as ONE line naming the request and the mistake, never as a traceback
ending inside the loader: the loader's frames say nothing to the app's author.
Other exceptions keep their traceback, minus the loader's frames.

Only the error paths come here: nothing in this module runs for a request
that succeeds. Compatible with CPython 3.8+.
"""

import os
import sys
import traceback

# The loader's own files: frames from them are never shown to the user.
_OWN_DIR = os.path.dirname(os.path.abspath(__file__))

_MUST_BE_BYTES = "WSGI bodies must be bytes"


def _is_own(filename):
    return os.path.dirname(os.path.abspath(filename)) == _OWN_DIR


def body_item(item, index, iterable):
    """The message for a body item that is not bytes (`iterable` is what the app returned)."""
    kind = type(iterable)
    if kind is str:
        return "the app returned a str as the response body, not an iterable of bytes: %s (return [body.encode()])" % (
            _MUST_BE_BYTES,
        )
    if kind in (bytes, bytearray) and type(item) is int:
        return "the app returned %s whose items are ints: %s" % (_a(kind.__name__), _MUST_BE_BYTES)
    return "item %d of the response body is %s, not bytes: %s" % (index, _a(type(item).__name__), _MUST_BE_BYTES)


def _a(name):
    """'a str', 'an int': the type named as a sentence says it."""
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def first_bad_item(items):
    """(index, item) of the first item of a list/tuple body b"".join() refuses, or None."""
    for index, item in enumerate(items):
        if not isinstance(item, (bytes, bytearray, memoryview)):
            return index, item
    return None


def not_iterable(result):
    """The message for an app that returned something iter() refuses (None, an int...)."""
    if result is None:
        return "the app returned None, not an iterable of bytes (a list such as [b'body'])"
    return "the app returned %s, not an iterable of bytes (a list such as [b'body'])" % (_a(type(result).__name__),)


def is_iterable_type(obj):
    """Whether obj's type claims to be iterable: then a TypeError from iter() is the app's own bug."""
    kind = type(obj)
    return hasattr(kind, "__iter__") or hasattr(kind, "__getitem__")


def request_name(environ):
    if environ is None:
        return "?"
    return "%s %s" % (environ.get("REQUEST_METHOD", "?"), environ.get("REQUEST_URI", environ.get("PATH_INFO", "?")))


def log_mistake(environ, exc, headers_sent):
    """One line: the request, the mistake, where in the app's code (when the app called us), and what happened."""
    line = "WSGI app error on %s: %s" % (request_name(environ), exc)
    where = _app_location(exc.__traceback__)
    if where:
        line += " (at %s)" % where
    if headers_sent:
        line += " [the headers were already sent: connection closed]"
    _write(line + "\n")


def log_exception(environ, exc):
    """The app's own exception: its traceback, without the loader's frames around the app's."""
    try:
        if environ is not None:
            sys.stderr.write("Traceback for %s:\n" % (request_name(environ),))
        tb = exc.__traceback__
        while tb is not None and _is_own(tb.tb_frame.f_code.co_filename):
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb)
        sys.stderr.flush()
    except BaseException:
        pass


def _app_location(tb):
    """'FILE line N, in FUNC' of the app's innermost frame, when the app's code called the loader (start_response, write)."""
    where = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if not _is_own(code.co_filename):
            where = "%s line %d, in %s" % (code.co_filename, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    return where


def _write(text):
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except BaseException:
        pass


def a_type(obj):
    """'a str', 'an int': obj's type, named as a sentence says it."""
    return _a(type(obj).__name__)
