import path from 'node:path';
import { NuwsgiError } from '../../util/errors';
import type { InterpreterInfo } from './locate';
import { koffi, libc } from '../../util/libc';
import { LibPython, PyPtr, copyFromPointer, viewOfPointer } from './libpython';
import { MarshalWriter } from './marshal';
import { u16, UwsgiVars } from '../../protocol/uwsgi';
import { ResponseKind, ResponseMeta, readMeta, readInt64, HEADER_SIZE, FLAG_BODY_RETURNED, DATA_ADDRESS, DATA_LENGTH } from './meta';

/** Where python/_nuwsgi.py lives, from dist/src/worker/python/ or src/worker/python/. */
const PYTHON_DIR = path.resolve(__dirname, '..', '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []), 'python');

const PyBUF_WRITE = 0x200;

export interface BridgeOptions {
  interpreter: InterpreterInfo;
  pythonpath: string[];
  multiprocess: boolean;
  multithread: boolean;
  version: string;
  node: string;
  /** Bytes of each core's shared region (request in, response head and small bodies out). */
  regionSize: number;
  /** Cores (--threads): one region and one slot each. */
  cores: number;
  /** --py-autoreload: a Python thread checks the modules' files every `seconds` and SIGHUPs the master on a change. */
  autoreload?: { seconds: number; masterPid: number } | undefined;
  /** --add-header lines ("Name: value") and --del-header names (lower case), applied by the loader to every response. */
  responseHeaders?: { add: string[]; del: string[] };
}

export interface AppSpec {
  mountpoint: string;
  kind: 'module' | 'file';
  target: string;
  callable: string;
  /** --interface / --asgi: how the app is called; absent = auto (detected as uvicorn does). */
  interface?: 'auto' | 'wsgi' | 'asgi';
}

/**
 * A request's CGI variables as the bridge takes them: [key, value] pairs, or
 * a uwsgi packet's vars block, marshalled from its bytes without JS strings.
 */
export type BridgeVars = ReadonlyArray<readonly [string, string]> | UwsgiVars;

/** The body of a request as the bridge hands it to Python. */
export type BridgeBody = Buffer | { spooledPath: string } | null;

/**
 * What handle() returns. `head`, and `body` of a complete response that fit
 * the region, are VIEWS of the shared region: valid only until the next call
 * into the bridge. Callers serialize them at once (one copy, straight into the
 * bytes that go on the wire).
 */
export interface HandleResult {
  meta: ResponseMeta;
  /** Response head: "200 OK\r\nName: value\r\n..." (status line text without the protocol). */
  head: Buffer;
  /** COMPLETE: the whole body; STREAM: the first chunk; FILE: the /proc path of the file. */
  body: Buffer;
}

/** End may carry an ASGI app's trailer fields ("Name: value\r\n" lines) for a chunked response. */
/** Broken's `clientLeft`: the client had gone and the app stopped (ASGI's http.disconnect): logged as a client that left, not as the app's failure. */
export type PullResult = { kind: ResponseKind.Stream; chunk: Buffer } | { kind: ResponseKind.End; trailers?: Buffer } | { kind: ResponseKind.Broken; clientLeft?: boolean };

/**
 * One embedded CPython interpreter. Every method takes the GIL, calls into
 * python/_nuwsgi.py, and releases the GIL before returning, so threads the app
 * started run whenever Node is not inside a call.
 */
export class PythonBridge {
  private readonly py: LibPython;
  /** One region per core; regions[0] is also the inline (threads = 1) path's. */
  private readonly regions: Buffer[];
  private readonly region: Buffer;
  private readonly regionPtr: PyPtr;
  private readonly fns: { handle: PyPtr; pull: PyPtr; abort: PyPtr; loadApp: PyPtr; startCores: PyPtr };
  private threadState: PyPtr;
  private readonly regionSize: number;
  /** The inline path's head and body views of region 0, made again only when their place changes. */
  private readonly headView: RegionView;
  private readonly bodyView: RegionView;

  private constructor(py: LibPython, regionPtr: PyPtr, regions: Buffer[], fns: PythonBridge['fns'], threadState: PyPtr) {
    this.py = py;
    this.regionPtr = regionPtr;
    this.regions = regions;
    this.region = regions[0] as Buffer;
    this.fns = fns;
    this.threadState = threadState;
    this.regionSize = regions[0]?.length ?? 0;
    this.headView = new RegionView(this.region);
    this.bodyView = new RegionView(this.region);
  }

  /** Load libpython, initialize the interpreter and our loader module. */
  static boot(opts: BridgeOptions): PythonBridge {
    const py = new LibPython(opts.interpreter.libpython);
    if (py.Py_IsInitialized() === 0) {
      // Never freed: CPython keeps pointing at the program name.
      py.Py_SetProgramName(py.Py_DecodeLocale(opts.interpreter.programName, null));
      py.Py_InitializeEx(0); // 0: no Python signal handlers, Node owns signals
    }
    if (py.PyRun_SimpleString(importFromLoaderDir('_nuwsgi')) !== 0) {
      throw new NuwsgiError('E_PYTHON_INIT', `cannot import nuwsgi's loader from ${PYTHON_DIR}`);
    }
    const module = py.PyImport_ImportModule('_nuwsgi');
    const get = (name: string): PyPtr => py.PyObject_GetAttrString(module, name);
    const fns = { handle: get('handle'), pull: get('pull'), abort: get('abort'), loadApp: get('load_app'), startCores: get('start_cores') };
    // malloc'ed pages are only touched as used: idle cores cost address space, not memory.
    const pointers = Array.from({ length: Math.max(1, opts.cores) }, () => libc().malloc(opts.regionSize));
    const regions = pointers.map((ptr) => viewOfPointer(ptr, opts.regionSize));
    const memoryviews = py.PyTuple_New(pointers.length);
    pointers.forEach((ptr, i) => py.PyTuple_SetItem(memoryviews, i, py.PyMemoryView_FromMemory(ptr, opts.regionSize, PyBUF_WRITE)));
    const setupOptions = JSON.stringify({
      pythonpath: opts.pythonpath,
      multiprocess: opts.multiprocess,
      multithread: opts.multithread,
      version: opts.version,
      node: opts.node,
      argv: [opts.interpreter.executable],
      autoreload: opts.autoreload ?? null,
      responseHeaders: opts.responseHeaders ?? null,
    });
    const result = callWithArgs(py, get('setup'), [memoryviews, py.PyUnicode_FromString(setupOptions)]);
    if (isNull(result)) {
      py.PyErr_Print();
      throw new NuwsgiError('E_PYTHON_INIT', 'nuwsgi loader setup failed (see the traceback above)');
    }
    py.Py_DecRef(result);
    const threadState = py.PyEval_SaveThread();
    return new PythonBridge(py, pointers[0], regions, fns, threadState);
  }

  /** Import an app. Returns null when it loaded, or why it did not (traceback already printed). */
  loadApp(spec: AppSpec): string | null {
    return this.withGil(() => {
      const py = this.py;
      const args = [spec.mountpoint, spec.kind, spec.target, spec.callable].map((s) => py.PyUnicode_FromString(s));
      const result = callWithArgs(py, this.fns.loadApp, args);
      if (isNull(result)) {
        py.PyErr_Print();
        return 'internal error in the loader';
      }
      const reason = py.PyUnicode_AsUTF8(result); // load_app returns "" when the app loaded
      py.Py_DecRef(result);
      return reason === '' ? null : reason;
    });
  }

  /** Run one request through the app on core 0, inline; returns what to send. `scheme` becomes wsgi.url_scheme. */
  handle(vars: BridgeVars, scheme: 'http' | 'https', body: BridgeBody, appId = 0): HandleResult {
    this.writeRequest(this.region, vars, scheme, body, appId);
    return this.withGil(() => {
      const result = this.py.PyObject_CallObject(this.fns.handle, null);
      return this.readHandleResult(result);
    });
  }

  /** The next chunk of a streaming response. */
  pull(): PullResult {
    return this.withGil(() => {
      const result = this.py.PyObject_CallObject(this.fns.pull, null);
      if (isNull(result)) {
        this.py.PyErr_Print();
        return { kind: ResponseKind.Broken };
      }
      const meta = readMeta(this.region);
      const chunk = meta.kind === ResponseKind.Stream ? this.takeBytes(result) : (this.py.Py_DecRef(result), null);
      if (chunk !== null) return { kind: ResponseKind.Stream, chunk };
      return { kind: meta.kind === ResponseKind.End ? ResponseKind.End : ResponseKind.Broken };
    });
  }

  /** Close the streaming (or file) response's iterable: the client left, or Node finished sending a file. */
  abort(): void {
    this.withGil(() => {
      const result = this.py.PyObject_CallObject(this.fns.abort, null);
      if (isNull(result)) this.py.PyErr_Print();
      else this.py.Py_DecRef(result);
    });
  }

  // ------------------------------------------------------------ ASGI (src/worker/asgi)

  /** Call `_nuwsgi_asgi.<name>(arg)` (a JSON string in, a string out); null when it raised (traceback printed). */
  callAsgi(name: string, arg: string): string | null {
    return this.withGil(() => {
      const py = this.py;
      const module = this.asgiModule();
      if (isNull(module)) return null;
      const fn = py.PyObject_GetAttrString(module, name);
      const result = callWithArgs(py, fn, [py.PyUnicode_FromString(arg)]);
      py.Py_DecRef(fn);
      py.Py_DecRef(module);
      if (isNull(result)) {
        py.PyErr_Print();
        return null;
      }
      const text = py.PyUnicode_AsUTF8(result);
      py.Py_DecRef(result);
      return text;
    });
  }

  /** _nuwsgi_asgi (imported on first use: asyncio costs WSGI-only workers nothing); call with the GIL. */
  private asgiModule(): PyPtr {
    const py = this.py;
    if (py.PyRun_SimpleString(importFromLoaderDir('_nuwsgi_asgi')) !== 0) return null;
    return py.PyImport_ImportModule('_nuwsgi_asgi');
  }

  /** Regions (slots) beyond the cores': ASGI keeps one per request in flight. Lazily backed by malloc. */
  growRegions(total: number): void {
    const extra = total - this.regions.length;
    if (extra <= 0) return;
    const pointers = Array.from({ length: extra }, () => libc().malloc(this.regionSize));
    this.withGil(() => {
      const py = this.py;
      const views = py.PyTuple_New(extra);
      pointers.forEach((ptr, i) => py.PyTuple_SetItem(views, i, py.PyMemoryView_FromMemory(ptr, this.regionSize, PyBUF_WRITE)));
      const module = this.asgiModule();
      const fn = isNull(module) ? module : py.PyObject_GetAttrString(module, 'add_regions');
      const result = isNull(fn) ? fn : callWithArgs(py, fn, [views]);
      if (isNull(result)) {
        py.PyErr_Print();
        throw new NuwsgiError('E_PYTHON_INIT', 'cannot add the ASGI slots (see the traceback above)');
      }
      py.Py_DecRef(result);
    });
    for (const ptr of pointers) this.regions.push(viewOfPointer(ptr, this.regionSize));
  }

  // ------------------------------------------------------------ threaded cores

  /**
   * --threads: start one Python thread per core. From here on Node never takes
   * the GIL: each core's thread reads commands (CMD_*) from its job eventfd and
   * writes its core id into `doneFd` when the core's region holds the answer.
   * `followLoop`: the cores will be pinned (core-placement.ts), so threads the
   * app starts must not inherit that. Returns the core threads' OS thread ids.
   */
  startCores(jobFds: number[], doneFd: number, stackKiB: number, followLoop: boolean): number[] {
    return this.withGil(() => {
      const options = JSON.stringify({ jobFds, doneFd, stackKib: stackKiB, followLoop });
      const result = callWithArgs(this.py, this.fns.startCores, [this.py.PyUnicode_FromString(options)]);
      if (isNull(result)) {
        this.py.PyErr_Print();
        throw new NuwsgiError('E_PYTHON_INIT', 'cannot start the core threads (see the traceback above)');
      }
      const tids = this.py.PyUnicode_AsUTF8(result);
      this.py.Py_DecRef(result);
      return tids === '' ? [] : tids.split(',').map(Number);
    });
  }

  /** A slot's whole region (ASGI writes request body pieces at its end, python/_nuwsgi_asgi.py; WebSocket messages, src/worker/asgi/ws-contract.ts). */
  slotRegion(slot: number): Buffer {
    return this.regions[slot] as Buffer;
  }

  /** Put a request into a core's region (no GIL: the core's thread is waiting on its pipe). */
  writeCoreRequest(slot: number, vars: BridgeVars, scheme: 'http' | 'https', body: BridgeBody, appId: number): void {
    this.writeRequest(this.regions[slot] as Buffer, vars, scheme, body, appId);
  }

  /** What a core answered to CMD_HANDLE (no GIL: the core's thread is waiting again). */
  coreResult(slot: number): HandleResult {
    const region = this.regions[slot] as Buffer;
    const meta = readMeta(region);
    const head = region.subarray(HEADER_SIZE, HEADER_SIZE + meta.headLength);
    const returned = coreData(region);
    if (returned !== null) return { meta, head, body: returned };
    const start = HEADER_SIZE + meta.headLength;
    return { meta, head, body: region.subarray(start, start + meta.bodyLength) };
  }

  /** What a core answered to CMD_PULL. */
  corePull(slot: number): PullResult {
    const region = this.regions[slot] as Buffer;
    const kind = region.readUInt32LE(0) as ResponseKind;
    if (kind === ResponseKind.Stream) return { kind, chunk: coreData(region) ?? Buffer.alloc(0) };
    if (kind !== ResponseKind.End) return { kind: ResponseKind.Broken };
    const trailers = coreData(region);
    return trailers !== null && trailers.length > 0 ? { kind, trailers } : { kind };
  }

  /** The bytes a slot's thread returned by address (kept alive until its next command); null when none. */
  slotData(slot: number): Buffer | null {
    return coreData(this.regions[slot] as Buffer);
  }

  /** The length of the bytes the slot's answer returns by address; -1 when none. */
  slotDataLength(slot: number): number {
    return Number((this.regions[slot] as Buffer).readBigInt64LE(DATA_LENGTH));
  }

  /**
   * Copy the bytes the slot's answer returns by address into `target` at
   * `at` (room for slotDataLength bytes): no intermediate Buffer, and the
   * address read as a Number (user-space addresses fit in 53 bits), not a BigInt.
   */
  copySlotData(slot: number, target: Buffer, at: number): void {
    const region = this.regions[slot] as Buffer;
    const length = region.readUInt32LE(DATA_LENGTH);
    const address = region.readUInt32LE(DATA_ADDRESS) + region.readUInt32LE(DATA_ADDRESS + 4) * 0x100000000;
    if (length > 0) memcpyFrom()(target.subarray(at, at + length), address, length);
  }

  private writeRequest(region: Buffer, vars: BridgeVars, scheme: 'http' | 'https', body: BridgeBody, appId: number): void {
    const w = new MarshalWriter(region, 4);
    w.tuple(3);
    w.beginDict();
    if (vars instanceof UwsgiVars) writeUwsgiVars(w, vars);
    else {
      for (const [key, value] of vars) {
        w.key(key);
        w.str(value);
      }
    }
    w.key('wsgi.url_scheme');
    w.str(scheme);
    w.endDict();
    writeBody(w, body);
    w.int(appId);
    region.writeUInt32LE(w.offset - 4, 0);
  }

  /**
   * ASGI: the slot's request as `(scope, body, app, flags)`, the scope tuple
   * written by `writeScope` (src/worker/asgi/scope.ts), which returns flags
   * of its own to add.
   */
  writeCoreScope(slot: number, writeScope: (w: MarshalWriter) => number, body: BridgeBody, appId: number, flags: number): void {
    const region = this.regions[slot] as Buffer;
    const w = new MarshalWriter(region, 4);
    w.tuple(4);
    const more = writeScope(w);
    writeBody(w, body);
    w.int(appId);
    w.int(flags | more);
    region.writeUInt32LE(w.offset - 4, 0);
  }

  private readHandleResult(result: PyPtr): HandleResult {
    if (isNull(result)) {
      // A bug in _nuwsgi itself (the app's own errors are caught there): answer 500.
      this.py.PyErr_Print();
      return { meta: { ...readMeta(this.region), kind: ResponseKind.Error }, head: Buffer.alloc(0), body: Buffer.alloc(0) };
    }
    const meta = readMeta(this.region);
    const head = this.headView.of(HEADER_SIZE, meta.headLength);
    const returnsBody =
      meta.kind === ResponseKind.Stream || meta.kind === ResponseKind.File || (meta.flags & FLAG_BODY_RETURNED) !== 0;
    if (returnsBody) return { meta, head, body: this.takeBytes(result) };
    this.py.Py_DecRef(result);
    return { meta, head, body: this.bodyView.of(HEADER_SIZE + meta.headLength, meta.bodyLength) };
  }

  /** Copy a bytes object's contents into Node memory and drop our reference. */
  private takeBytes(obj: PyPtr): Buffer {
    const size = this.py.PyBytes_Size(obj);
    const data = copyFromPointer(this.py.PyBytes_AsString(obj), size);
    this.py.Py_DecRef(obj);
    return data;
  }

  private withGil<T>(fn: () => T): T {
    this.py.PyEval_RestoreThread(this.threadState);
    try {
      return fn();
    } finally {
      this.threadState = this.py.PyEval_SaveThread();
    }
  }

  /** For diagnostics: the region's address, to tell workers apart in a core dump. */
  get regionAddress(): PyPtr {
    return this.regionPtr;
  }
}

/**
 * A view of part of a region, remembered: an app answers with the same head
 * and body lengths request after request, and a fresh view each time was a
 * typed array allocated per response (`CreateTypedArray` in perf). Views
 * are valid until the next call into the bridge anyway (HandleResult).
 */
class RegionView {
  private readonly region: Buffer;
  private view: Buffer;
  private start = 0;

  constructor(region: Buffer) {
    this.region = region;
    this.view = region.subarray(0, 0);
  }

  of(start: number, length: number): Buffer {
    if (this.start !== start || this.view.length !== length) {
      this.view = this.region.subarray(start, start + length);
      this.start = start;
    }
    return this.view;
  }
}

/**
 * The bytes a core thread returned: Python keeps the object alive and
 * unchanged until the core's next command, so copying by address is safe
 * without the GIL.
 */
function coreData(region: Buffer): Buffer | null {
  const length = readInt64(region, DATA_LENGTH);
  if (length < 0) return null;
  const out = Buffer.allocUnsafe(length);
  if (length > 0) memcpyFrom()(out, region.readBigInt64LE(DATA_ADDRESS), length);
  return out;
}

type MemcpyFrom = (dst: Buffer, src: bigint | number, n: number) => unknown;
let memcpyFn: MemcpyFrom | undefined;

function memcpyFrom(): MemcpyFrom {
  return (memcpyFn ??= koffi.load('libc.so.6').func('void* memcpy(void*, intptr_t, size_t)') as MemcpyFrom);
}

function callWithArgs(py: LibPython, fn: PyPtr, args: PyPtr[]): PyPtr {
  const tuple = py.PyTuple_New(args.length);
  args.forEach((arg, i) => py.PyTuple_SetItem(tuple, i, arg)); // steals each reference
  const result = py.PyObject_CallObject(fn, tuple);
  py.Py_DecRef(tuple);
  return result;
}

/** Python code importing one of our modules from python/, without leaving python/ on sys.path. */
function importFromLoaderDir(module: string): string {
  const dir = JSON.stringify(PYTHON_DIR);
  return `import sys\nsys.path.insert(0, ${dir})\ntry:\n    import ${module}\nfinally:\n    sys.path.remove(${dir})\n`;
}

function isNull(ptr: PyPtr): boolean {
  return ptr === null || ptr === undefined;
}

/** Each var's key and value straight from the packet's bytes (the same latin-1 strings, made by marshal.loads). */
function writeUwsgiVars(w: MarshalWriter, vars: UwsgiVars): void {
  const block = vars.block;
  if (vars.allShort) {
    w.shortLatin1Block(block);
    return;
  }
  let pos = 0;
  while (pos < block.length) {
    const keyEnd = pos + 2 + u16(block, pos);
    const valueEnd = keyEnd + 2 + u16(block, keyEnd);
    w.latin1Span(block, pos + 2, keyEnd);
    w.latin1Span(block, keyEnd + 2, valueEnd);
    pos = valueEnd;
  }
}

function writeBody(w: MarshalWriter, body: BridgeBody): void {
  if (body === null) w.none();
  else if (Buffer.isBuffer(body)) w.bytes(body);
  else w.str(body.spooledPath);
}
