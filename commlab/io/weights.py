"""Weight files in, with no torch needed: PyTorch ``.pt``/``.pth`` state dicts, ``.safetensors`` and ``.npz``.

:func:`read_weights` tells the format from the file's first bytes (not its name) and returns the
arrays by name. Every reader is safe on untrusted files:

- PyTorch files (a zip of ``data.pkl`` plus one raw storage per tensor) are unpickled by a restricted
  unpickler that builds only tensors, ``OrderedDict``\\ s and plain values, as
  ``torch.load(weights_only=True)`` does; any other class in the pickle is refused, never imported.
- ``.safetensors`` headers are parsed here (8-byte little-endian length, a JSON table of dtype,
  shape and byte range per tensor) and every range is checked against the file before reading.
- ``.npz`` archives are read with ``allow_pickle=False`` after every member's ``.npy`` header has
  been checked: shape × dtype must match the member's stored size, and the total must stay below
  ``max_bytes``, so an archive that would inflate to gigabytes is refused before anything is loaded.

Anything else (an empty file, ``/dev/null``, a truncated archive, random bytes, a bare pickle, a
single ``.npy`` array) raises :class:`~commlab.errors.InvalidParameter` naming the file and what it
holds instead. :func:`save_safetensors` writes the one format every other tool reads too.
"""

from __future__ import annotations

import json
import math
import pickle
import struct
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from commlab.errors import InvalidParameter

__all__ = ["MAX_BYTES", "read_weights", "save_safetensors"]

#: The most bytes of arrays a weights file may unpack to (2 GiB, eight times GPT-2 small in float32).
MAX_BYTES = 2**31

_PICKLE_LIMIT = 64 * 2**20  # the pickle of a state dict is names and shapes: kilobytes

#: PyTorch storage classes → numpy dtype (bfloat16 is read as its 16 bits, then widened exactly).
_TORCH_STORAGES = {
    "DoubleStorage": "f8",
    "FloatStorage": "f4",
    "HalfStorage": "f2",
    "BFloat16Storage": "bf16",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}

#: safetensors dtype names → numpy dtype.
_SAFETENSORS_DTYPES = {
    "F64": "f8",
    "F32": "f4",
    "F16": "f2",
    "BF16": "bf16",
    "I64": "i8",
    "I32": "i4",
    "I16": "i2",
    "I8": "i1",
    "U64": "u8",
    "U32": "u4",
    "U16": "u2",
    "U8": "u1",
    "BOOL": "?",
}
_NUMPY_TO_SAFETENSORS = {np.dtype(v): k for k, v in _SAFETENSORS_DTYPES.items() if v != "bf16"}


def _stored_dtype(code: str, byteorder: str = "<") -> np.dtype:
    """The dtype the raw bytes are read as (bfloat16 as 16-bit unsigned integers)."""
    return np.dtype(byteorder + "u2") if code == "bf16" else np.dtype(code).newbyteorder(byteorder)


def _widen(raw: np.ndarray, code: str) -> np.ndarray:
    """Raw values to a native numpy array; bfloat16 bits become the float32 with the same value."""
    if code == "bf16":
        return (raw.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return raw.astype(raw.dtype.newbyteorder("="), copy=False)


class _Budget:
    """Counts the bytes a file declares before any of them are read."""

    def __init__(self, path: str, max_bytes: int):
        self.path, self.max_bytes, self.total = path, max_bytes, 0

    def claim(self, nbytes: int, what: str) -> None:
        self.total += nbytes
        if self.total > self.max_bytes:
            raise InvalidParameter(
                f"weights file {self.path!r} declares at least {self.total / 2**30:.2f} GiB of arrays "
                f"(up to {what}), over the limit of {self.max_bytes / 2**30:.2f} GiB; refused before "
                "loading anything (read_weights(..., max_bytes=...) raises the limit)"
            )


def _fail(path: str, what: str) -> InvalidParameter:
    return InvalidParameter(
        f"{path!r} is not a weights file commlab can read: {what}. Expected a PyTorch state dict "
        "(.pt/.pth, saved by torch.save(model.state_dict(), path)), a .safetensors file or an .npz "
        "archive of arrays (np.savez)"
    )


# --------------------------------------------------------------------------------------------------
# PyTorch zip archives


class _StorageKind:
    """What a ``torch.FloatStorage``-like global stands for in the pickle: just a dtype."""

    def __init__(self, name: str):
        self.name, self.code = name, _TORCH_STORAGES[name]


class _TorchUnpickler(pickle.Unpickler):
    """Builds tensors, OrderedDicts and plain values only (as ``torch.load(weights_only=True)``)."""

    def __init__(self, file, load_storage, budget: _Budget):
        super().__init__(file)
        self._load_storage, self._budget = load_storage, budget

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self._rebuild_tensor
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return _rebuild_parameter
        if module == "torch" and name in _TORCH_STORAGES:
            return _StorageKind(name)
        if (module, name) == ("_codecs", "encode"):  # how protocol 2 pickles bytes
            return _latin1_bytes
        raise pickle.UnpicklingError(f"the pickle refers to {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r:.60}")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageKind) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"malformed storage reference {pid!r:.60}")
        return self._load_storage(kind.code, str(key), numel)

    def _rebuild_tensor(self, storage, offset, size, *rest):
        """``torch._utils._rebuild_tensor_v2`` on a numpy storage, bounds and size checked."""
        if (
            isinstance(size, tuple)
            and all(isinstance(n, int) and n >= 0 for n in size)
            and isinstance(storage, np.ndarray)
        ):
            # a tensor can be far larger than its storage (stride 0): count what the copy allocates
            self._budget.claim(math.prod(size) * storage.itemsize, "a tensor")
        return _rebuild_tensor(storage, offset, size, *rest)


def _latin1_bytes(text, encoding="latin1"):
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("_codecs.encode used for something other than bytes")
    return text.encode("latin1")


def _rebuild_tensor(storage, offset, size, stride=(), *_ignored):
    """A strided view of a storage, copied; every index checked to lie inside the storage."""
    ints = (offset, *size, *stride)
    if not (isinstance(storage, np.ndarray) and all(isinstance(v, int) and v >= 0 for v in ints)):
        raise pickle.UnpicklingError("malformed tensor record")
    if len(size) != len(stride):
        raise pickle.UnpicklingError("tensor size and stride differ in length")
    if math.prod(size) == 0:
        return np.zeros(size, dtype=storage.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= storage.size:
        raise pickle.UnpicklingError(f"a tensor reaches element {last} of a storage of {storage.size}")
    strides = tuple(s * storage.itemsize for s in stride)
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size), strides=strides).copy()


def _rebuild_parameter(data, *_ignored):
    return data


def _read_torch_zip(archive: zipfile.ZipFile, pickle_name: str, path: str, budget: _Budget) -> dict:
    prefix = pickle_name[: -len("data.pkl")]
    names = set(archive.namelist())
    byteorder = "<"
    if prefix + "byteorder" in names:
        byteorder = "<" if archive.read(prefix + "byteorder").strip() == b"little" else ">"
    if archive.getinfo(pickle_name).file_size > _PICKLE_LIMIT:
        raise _fail(path, f"its data.pkl is over {_PICKLE_LIMIT >> 20} MiB, not a state dict")
    loaded: dict[str, np.ndarray] = {}

    def load_storage(code: str, key: str, numel: int) -> np.ndarray:
        if key in loaded:
            return loaded[key]
        member = f"{prefix}data/{key}"
        if member not in names:
            raise pickle.UnpicklingError(f"storage {key} is missing from the archive")
        dtype = _stored_dtype(code, byteorder)
        nbytes = numel * dtype.itemsize
        if archive.getinfo(member).file_size != nbytes:
            raise pickle.UnpicklingError(
                f"storage {key} holds {archive.getinfo(member).file_size} bytes, its record says {nbytes}"
            )
        budget.claim(nbytes, f"storage {key}")
        loaded[key] = _widen(np.frombuffer(archive.read(member), dtype=dtype), code)
        return loaded[key]

    with archive.open(pickle_name) as handle:
        try:
            obj = _TorchUnpickler(handle, load_storage, budget).load()
        except pickle.UnpicklingError as error:
            raise _fail(
                path,
                f"its pickle holds more than tensors and plain values ({error}); commlab never runs "
                "pickled code. If it is a whole pickled model, save model.state_dict() instead",
            ) from None
        except (
            EOFError,
            TypeError,
            ValueError,
            KeyError,
            AttributeError,
            IndexError,
            RecursionError,
        ) as error:
            raise _fail(path, f"its pickle is corrupt ({type(error).__name__}: {error})") from None
    return _arrays_of(obj, path)


def _arrays_of(obj, path: str, seen: set[int] | None = None) -> dict[str, np.ndarray]:
    """The arrays in a (possibly nested) dict, with dotted names; other plain values are dropped.

    A state dict is a tree: a dict reached twice (a pickle can share one child between many parents,
    and a few hundred bytes then expand into millions of names) is refused.
    """
    if not isinstance(obj, Mapping):
        raise _fail(path, f"it holds a {type(obj).__name__}, not a dict of tensors (a state dict)")
    seen = set() if seen is None else seen
    if id(obj) in seen:
        raise _fail(path, "a dict appears in it more than once (a state dict is a tree, not a graph)")
    seen.add(id(obj))
    out: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        if isinstance(value, np.ndarray):
            out[str(key)] = value
        elif isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in _arrays_of(value, path, seen).items()})
    return out


# --------------------------------------------------------------------------------------------------
# .npz archives


def _read_npz(archive: zipfile.ZipFile, path: str, budget: _Budget) -> dict[str, np.ndarray]:
    fmt = np.lib.format
    for info in archive.infolist():
        with archive.open(info) as member:
            try:
                version = fmt.read_magic(member)
                reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                shape, _, dtype = reader(member)
            except ValueError as error:
                raise _fail(path, f"member {info.filename} has no valid .npy header ({error})") from None
            if dtype.hasobject:
                raise _fail(path, f"member {info.filename} holds Python objects (pickled), not numbers")
            nbytes = math.prod(shape) * dtype.itemsize
            if info.file_size != member.tell() + nbytes:
                raise _fail(
                    path,
                    f"member {info.filename} declares {shape} of {dtype} ({nbytes} bytes) but stores "
                    f"{info.file_size - member.tell()} bytes; the archive is truncated or crafted",
                )
            budget.claim(nbytes, info.filename)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except ValueError as error:
        raise _fail(path, f"an array in it cannot be read ({error})") from None


# --------------------------------------------------------------------------------------------------
# safetensors


def _read_safetensors(handle, size: int, path: str, budget: _Budget) -> dict[str, np.ndarray]:
    header_len = int.from_bytes(handle.read(8), "little")
    try:
        header = json.loads(handle.read(header_len))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(path, f"its safetensors header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise _fail(path, "its safetensors header is not a table of tensors")
    start, available, plan = 8 + header_len, size - 8 - header_len, []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            code = _SAFETENSORS_DTYPES[entry["dtype"]]
            shape = tuple(entry["shape"])
            begin, end = entry["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise _fail(path, f"tensor {name!r} has a malformed header entry {entry!r:.80}") from None
        if not all(isinstance(v, int) and v >= 0 for v in (*shape, begin, end)):
            raise _fail(path, f"tensor {name!r} has a malformed shape or byte range")
        dtype = _stored_dtype(code)
        nbytes = math.prod(shape) * dtype.itemsize
        if end - begin != nbytes or end > available:
            raise _fail(
                path,
                f"tensor {name!r} ({entry['dtype']} {list(shape)}, {nbytes} bytes) has byte range "
                f"[{begin}, {end}) in a data section of {available} bytes; the file is truncated or corrupt",
            )
        budget.claim(nbytes, name)
        plan.append((name, code, dtype, shape, begin))
    ranges = sorted((begin, begin + math.prod(shape) * dtype.itemsize, name) for name, _, dtype, shape, begin in plan)
    for (_, end, first), (begin, _, second) in zip(ranges, ranges[1:], strict=False):
        if begin < end:
            raise _fail(path, f"tensors {first!r} and {second!r} overlap; the format needs disjoint byte ranges")
    out = {}
    for name, code, dtype, shape, begin in plan:
        handle.seek(start + begin)
        raw = np.frombuffer(handle.read(math.prod(shape) * dtype.itemsize), dtype=dtype).reshape(shape)
        out[name] = _widen(raw, code).copy()
    return out


def save_safetensors(
    path: str | Path, arrays: Mapping[str, np.ndarray], metadata: dict | None = None
) -> None:
    """Write arrays as a ``.safetensors`` file (readable by :func:`read_weights`, the ``safetensors``
    package and every framework that uses it).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> save_safetensors(path, {"w": np.eye(2, dtype=np.float32)})
    >>> read_weights(path)["w"].tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in arrays.items():
        value = np.ascontiguousarray(value)
        if value.dtype not in _NUMPY_TO_SAFETENSORS:
            raise InvalidParameter(f"safetensors cannot hold {name!r} of dtype {value.dtype}")
        blob = value.astype(value.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": _NUMPY_TO_SAFETENSORS[value.dtype],
            "shape": list(value.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    with open(path, "wb") as out:
        out.write(len(text).to_bytes(8, "little") + text)
        for blob in blobs:
            out.write(blob)


#: What the zip, JSON and numpy parsers raise on damaged input (InvalidParameter, a ValueError, is
#: re-raised before this is caught).
_CORRUPT = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    UnicodeDecodeError,
    NotImplementedError,
    ValueError,
    OverflowError,
    RecursionError,
    struct.error,
)


def read_weights(path: str | Path, *, max_bytes: int = MAX_BYTES) -> dict[str, np.ndarray]:
    """Read a weights file into arrays by name, whatever its format (told from its content).

    Parameters
    ----------
    path : str or Path
        A PyTorch ``.pt``/``.pth`` state dict (zip format, torch >= 1.6), a ``.safetensors`` file or
        an ``.npz`` archive.
    max_bytes : int
        Refuse files whose arrays add up to more bytes than this, before reading any of them.

    Returns
    -------
    dict of str → numpy array
        bfloat16 tensors become float32 (exactly); nested dicts of tensors get dotted names
        (``{"model": {"w": …}}`` → ``"model.w"``); non-tensor values (step counts, strings) are dropped.

    Raises
    ------
    InvalidParameter
        For a missing, empty or non-regular file, a truncated or corrupt archive, a file of another
        kind, a pickle holding anything but tensors and plain values, or arrays over ``max_bytes``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> np.savez(path, embedding=np.zeros((3, 2)))
    >>> read_weights(path)["embedding"].shape
    (3, 2)
    """
    name = str(path)
    file = Path(path)
    if not file.exists():
        raise InvalidParameter(f"cannot read weights file {name!r}: it does not exist")
    if file.is_dir():
        raise _fail(name, "it is a directory")
    if not file.is_file():
        raise _fail(name, "it is not a regular file (a device or pipe such as /dev/null)")
    size = file.stat().st_size
    if size == 0:
        raise _fail(name, "it is empty")
    budget = _Budget(name, max_bytes)
    try:
        with open(file, "rb") as handle:
            head = handle.read(16)
            handle.seek(0)
            if head.startswith(b"PK"):
                with zipfile.ZipFile(handle) as archive:
                    members = archive.namelist()
                    pickles = [m for m in members if m == "data.pkl" or m.endswith("/data.pkl")]
                    if pickles:
                        return _read_torch_zip(archive, pickles[0], name, budget)
                    if members and all(m.endswith(".npy") for m in members):
                        return _read_npz(archive, name, budget)
                    raise _fail(
                        name, f"it is a zip archive of {members[:3]}…, neither a PyTorch file nor .npz"
                    )
            if head.startswith(b"\x93NUMPY"):
                raise _fail(name, "it is a single .npy array; put named arrays in an archive with np.savez")
            if head[:1] == b"\x80":
                raise _fail(
                    name,
                    "it is a bare pickle (the legacy torch.save format before torch 1.6, or pickled Python "
                    "objects), which commlab does not unpickle; save it again with torch >= 1.6 or as .safetensors",
                )
            header_len = int.from_bytes(head[:8], "little") if len(head) >= 9 else 0
            if 2 <= header_len <= size - 8 and head[8:9] == b"{":
                return _read_safetensors(handle, size, name, budget)
    except InvalidParameter:
        raise
    except _CORRUPT as error:  # whatever a damaged archive or header makes the parsers raise
        raise _fail(name, f"it is truncated or corrupt ({type(error).__name__}: {error})") from None
    raise _fail(name, f"its first bytes {head[:8]!r} match none of these formats")
