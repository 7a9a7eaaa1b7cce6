import type * as KoffiModule from 'koffi' with { 'resolution-mode': 'import' };
import { NuwsgiError } from '../../util/errors';
import { koffi } from '../../util/libc';

/** An opaque CPython object or thread-state pointer, as koffi hands it to us. */
export type PyPtr = unknown;

/**
 * The handful of CPython C-API functions nuwsgi calls, bound through koffi.
 *
 * Only functions of the stable ABI that exist from 3.8 on are used, so one
 * binding serves every interpreter. The library is opened with RTLD_GLOBAL so
 * that C extension modules (which are not linked against libpython) resolve
 * their Py* symbols against it.
 */
export class LibPython {
  readonly path: string;
  readonly Py_InitializeEx: (initsigs: number) => void;
  readonly Py_IsInitialized: () => number;
  readonly Py_SetProgramName: (name: PyPtr) => void;
  readonly Py_DecodeLocale: (arg: string, size: null) => PyPtr;
  readonly PyRun_SimpleString: (code: string) => number;
  readonly PyImport_ImportModule: (name: string) => PyPtr;
  readonly PyObject_GetAttrString: (obj: PyPtr, name: string) => PyPtr;
  readonly PyObject_CallObject: (callable: PyPtr, args: PyPtr) => PyPtr;
  readonly PyTuple_New: (size: number) => PyPtr;
  readonly PyTuple_SetItem: (tuple: PyPtr, index: number, item: PyPtr) => number;
  readonly PyUnicode_FromString: (s: string) => PyPtr;
  readonly PyUnicode_AsUTF8: (obj: PyPtr) => string;
  readonly PyMemoryView_FromMemory: (mem: PyPtr, size: number, flags: number) => PyPtr;
  readonly PyBytes_AsString: (obj: PyPtr) => PyPtr;
  readonly PyBytes_Size: (obj: PyPtr) => number;
  readonly Py_DecRef: (obj: PyPtr) => void;
  readonly PyErr_Print: () => void;
  readonly PyEval_SaveThread: () => PyPtr;
  readonly PyEval_RestoreThread: (tstate: PyPtr) => void;

  constructor(path: string) {
    this.path = path;
    let lib: KoffiModule.LibraryHandle;
    try {
      lib = koffi.load(path, { global: true });
    } catch (err) {
      throw new NuwsgiError('E_PYTHON_INIT', `cannot load ${path}: ${(err as Error).message}`);
    }
    this.Py_InitializeEx = lib.func('void Py_InitializeEx(int)');
    this.Py_IsInitialized = lib.func('int Py_IsInitialized()');
    this.Py_SetProgramName = lib.func('void Py_SetProgramName(void*)');
    this.Py_DecodeLocale = lib.func('void* Py_DecodeLocale(const char*, void*)');
    this.PyRun_SimpleString = lib.func('int PyRun_SimpleString(const char*)');
    this.PyImport_ImportModule = lib.func('void* PyImport_ImportModule(const char*)');
    this.PyObject_GetAttrString = lib.func('void* PyObject_GetAttrString(void*, const char*)');
    this.PyObject_CallObject = lib.func('void* PyObject_CallObject(void*, void*)');
    this.PyTuple_New = lib.func('void* PyTuple_New(intptr_t)');
    this.PyTuple_SetItem = lib.func('int PyTuple_SetItem(void*, intptr_t, void*)');
    this.PyUnicode_FromString = lib.func('void* PyUnicode_FromString(const char*)');
    this.PyUnicode_AsUTF8 = lib.func('const char* PyUnicode_AsUTF8(void*)');
    this.PyMemoryView_FromMemory = lib.func('void* PyMemoryView_FromMemory(void*, intptr_t, int)');
    this.PyBytes_AsString = lib.func('void* PyBytes_AsString(void*)');
    this.PyBytes_Size = lib.func('intptr_t PyBytes_Size(void*)');
    this.Py_DecRef = lib.func('void Py_DecRef(void*)');
    this.PyErr_Print = lib.func('void PyErr_Print()');
    this.PyEval_SaveThread = lib.func('void* PyEval_SaveThread()');
    this.PyEval_RestoreThread = lib.func('void PyEval_RestoreThread(void*)');
  }
}

/** Copy `length` bytes at a foreign address into a new Node Buffer. */
export function copyFromPointer(ptr: PyPtr, length: number): Buffer {
  if (length === 0) return Buffer.alloc(0);
  return Buffer.from(new Uint8Array(koffi.view(ptr, length)));
}

/** A Node view (no copy) over foreign memory that outlives every use of the view. */
export function viewOfPointer(ptr: PyPtr, length: number): Buffer {
  return Buffer.from(koffi.view(ptr, length));
}
