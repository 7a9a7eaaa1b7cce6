"""marshal's bytes as src/worker/python/marshal.ts writes them (no refs, short ASCII strings):
what the micro-benchmarks feed the Python side, as Node would."""
import struct


def enc(o):
    if o is None:
        return b"N"
    if isinstance(o, int):
        return b"i" + struct.pack("<i", o)
    if isinstance(o, str):
        b = o.encode("latin-1")
        return b"z" + bytes([len(b)]) + b
    if isinstance(o, bytes):
        return b"s" + struct.pack("<I", len(o)) + o
    if isinstance(o, tuple):
        return b")" + bytes([len(o)]) + b"".join(enc(x) for x in o)
    if isinstance(o, list):
        return b"[" + struct.pack("<I", len(o)) + b"".join(enc(x) for x in o)
    if isinstance(o, dict):
        return b"{" + b"".join(enc(k) + enc(v) for k, v in o.items()) + b"0"
    raise TypeError(o)
