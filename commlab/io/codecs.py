"""Bit codecs: exact conversions between numbers and bit strings, and the number formats they use.

Every message on the blackboard is a bit string, so every number a protocol posts goes through one
of these formats. The same formats define the arithmetic of compiled models (``NumberFormat.round``),
which is what lets a protocol reproduce a model bit for bit.

Bit strings are ``uint8`` arrays of 0/1 whose last axis is the bit axis, most significant bit first.
A batch of numbers of shape ``(B, *shape)`` encodes to ``(B, prod(shape) * format.bits)`` bits in C
order (:func:`encode`), and :func:`decode` inverts it exactly.

Not checked: that fixed-point values carry no more than 53 significant bits (the constructor refuses
formats that would need more).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from commlab.errors import InvalidParameter

__all__ = [
    "BFloat16",
    "FixedPoint",
    "Float",
    "NumberFormat",
    "ShortFloat",
    "UInt",
    "bits_for",
    "decode",
    "encode",
    "number_format",
]


def bits_for(q: int) -> int:
    """Number of bits that name one of ``q`` values, ``ceil(log2 q)`` (0 for ``q = 1``).

    Examples
    --------
    >>> bits_for(1024), bits_for(1000), bits_for(2), bits_for(1)
    (10, 10, 1, 0)
    """
    if q < 1:
        raise InvalidParameter(f"bits_for needs q >= 1, got {q}")
    return (int(q) - 1).bit_length()


def _uint_to_bits(u: np.ndarray, width: int) -> np.ndarray:
    """Unsigned integers (any uint dtype) to their ``width`` low bits, MSB first."""
    nbytes = -(-width // 8)
    as_bytes = np.ascontiguousarray(u, dtype=">u8").view(np.uint8).reshape(*u.shape, 8)
    return np.unpackbits(as_bytes[..., 8 - nbytes :], axis=-1)[..., 8 * nbytes - width :]


def _check_bits(bits) -> np.ndarray:
    """``bits`` as ``uint8``, refusing anything but 0 and 1 (a 2, a −1 or a 0.5 is not a bit, and
    casting would silently turn it into one)."""
    bits = np.asarray(bits)
    if bits.dtype == np.uint8 and (bits.size == 0 or bits.max() <= 1):
        return bits
    valid = (bits == 0) | (bits == 1) if bits.dtype.kind in "biuf" else np.zeros(bits.shape, bool)
    if not np.all(valid):
        bad = bits[~valid].ravel()[:4].tolist()
        raise InvalidParameter(f"bit strings hold only 0 and 1, got {bad}")
    return bits.astype(np.uint8)


def _bits_to_uint(bits: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_uint_to_bits`: bit strings (..., width) to uint64."""
    width = bits.shape[-1]
    nbytes = -(-width // 8)
    padded = np.zeros((*bits.shape[:-1], 8 * nbytes), dtype=np.uint8)
    padded[..., 8 * nbytes - width :] = bits
    packed = np.packbits(padded, axis=-1)
    value = np.zeros(bits.shape[:-1], dtype=np.uint64)
    for i in range(nbytes):  # at most 8 byte-wide steps, vectorised over all numbers
        value = (value << np.uint64(8)) | packed[..., i]
    return value


class NumberFormat(ABC):
    """A way to write numbers in a fixed number of bits.

    Subclasses say how many bits one number takes (``bits``), which numpy dtype holds its values
    (``dtype``), how to round arbitrary reals into the format (``round``), and how to turn values of
    the format into bits and back, exactly (``to_bits`` / ``from_bits``).
    """

    name: str
    bits: int
    dtype: np.dtype

    @abstractmethod
    def round(self, x: np.ndarray) -> np.ndarray:
        """Round real numbers to the nearest value of this format (stored as ``dtype``)."""

    @abstractmethod
    def to_bits(self, x: np.ndarray) -> np.ndarray:
        """Values of this format, shape ``S``, to bits of shape ``(*S, bits)``; refuses values the
        format cannot hold exactly (a codec never rounds silently)."""

    @abstractmethod
    def from_bits(self, bits: np.ndarray) -> np.ndarray:
        """Bits of shape ``(*S, bits)`` to values of shape ``S`` (the exact inverse of ``to_bits``)."""

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class UInt(NumberFormat):
    """Unsigned integers in ``width`` bits (``0 <= x < 2**width``), e.g. vertex names in
    ``bits_for(q)`` bits.

    Examples
    --------
    >>> UInt(4).to_bits(np.array([5, 15])).tolist()
    [[0, 1, 0, 1], [1, 1, 1, 1]]
    """

    width: int

    def __post_init__(self):
        if not 0 <= self.width <= 64:
            raise InvalidParameter(f"UInt width must be in 0..64, got {self.width}")

    @property
    def name(self) -> str:
        return f"uint{self.width}"

    @property
    def bits(self) -> int:
        return self.width

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint64)

    def round(self, x):
        return np.clip(np.rint(np.asarray(x, dtype=np.float64)), 0, 2.0**self.width - 1).astype(np.uint64)

    def to_bits(self, x):
        x = np.asarray(x)
        if x.dtype.kind not in "buif":
            raise InvalidParameter(f"{self.name}: values must be integers, got an array of {x.dtype}")
        if x.dtype.kind == "f" and x.size:
            with np.errstate(invalid="ignore"):
                whole = np.isfinite(x) & (np.mod(x, 1) == 0)
            if not np.all(whole):
                raise InvalidParameter(
                    f"{self.name}: values must be integers, got {x[~whole].ravel()[:4].tolist()}"
                )
        # Compared as Python ints (exact at any size), so a float 2**64 is refused, never wrapped to 0.
        if x.size and (int(np.min(x)) < 0 or int(np.max(x)) >= 2**self.width):
            raise InvalidParameter(
                f"{self.name}: values must lie in 0..{2**self.width - 1}, got range "
                f"[{np.min(x)}, {np.max(x)}]; widen the field"
            )
        return _uint_to_bits(x.astype(np.uint64), self.width)

    def from_bits(self, bits):
        return _bits_to_uint(_check_bits(bits))


_FLOAT_UINT = {16: np.uint16, 32: np.uint32, 64: np.uint64}


def _check_exact(fmt: NumberFormat, x: np.ndarray, held: np.ndarray) -> None:
    """Refuse a conversion that changed a value (NaNs must stay NaN)."""
    with np.errstate(invalid="ignore", over="ignore"):
        wide = x.astype(np.float64)
        same = (held.astype(np.float64) == wide) | (np.isnan(wide) & np.isnan(held))
    if not np.all(same):
        bad = wide[~same].ravel()[:3]
        raise InvalidParameter(
            f"{fmt.name} cannot hold {bad.tolist()} exactly; round with {fmt.name}.round first"
        )


@dataclass(frozen=True)
class Float(NumberFormat):
    """IEEE 754 binary floats with a native numpy type: ``float16``, ``float32``, ``float64``.

    The bits are the IEEE bit pattern itself, so NaN payloads, signed zeros, subnormals and
    infinities survive a round trip.

    Examples
    --------
    >>> Float(16).to_bits(np.float16([1.0, -0.0])).tolist()[1][:4]
    [1, 0, 0, 0]
    """

    width: int

    def __post_init__(self):
        if self.width not in _FLOAT_UINT:
            raise InvalidParameter(f"IEEE float width must be 16, 32 or 64, got {self.width}")

    @property
    def name(self) -> str:
        return f"float{self.width}"

    @property
    def bits(self) -> int:
        return self.width

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(f"float{self.width}")

    def round(self, x):
        if isinstance(x, np.ndarray) and x.dtype == self.dtype:
            return x  # numpy already computed in this type
        with np.errstate(over="ignore"):
            return np.asarray(x).astype(self.dtype, copy=False)

    def to_bits(self, x):
        x = np.asarray(x)
        held = x if x.dtype == self.dtype else self.round(x)
        if x.dtype != self.dtype:
            _check_exact(self, x, held)
        return _uint_to_bits(held.view(_FLOAT_UINT[self.width]), self.width)

    def from_bits(self, bits):
        u = _bits_to_uint(_check_bits(bits)).astype(_FLOAT_UINT[self.width])
        return u.view(self.dtype)


@dataclass(frozen=True)
class ShortFloat(NumberFormat):
    """float32's 8 exponent bits with the fraction cut to ``mantissa`` bits (1 + 8 + mantissa bits),
    held in ``float32`` with the dropped low bits zero. ``ShortFloat(7)`` is bfloat16 and
    ``ShortFloat(23)`` is float32; the family measures how many fraction bits a message needs.

    ``round`` is IEEE round-to-nearest-even on the float32 pattern. NaNs stay NaN, made quiet (the
    payload's top kept bits survive); with no fraction bits there is no NaN, and NaN becomes ±inf.

    Examples
    --------
    >>> float(BFloat16().round(np.float32(1.00390625)))  # halfway: rounds to even
    1.0
    >>> ShortFloat(2).round(np.float32([1.3, 1.4])).tolist()
    [1.25, 1.5]
    """

    mantissa: int

    def __post_init__(self):
        if not 0 <= self.mantissa <= 23:
            raise InvalidParameter(f"a short float keeps 0..23 fraction bits, got {self.mantissa}")

    @property
    def name(self) -> str:
        return "bfloat16" if self.mantissa == 7 else f"e8m{self.mantissa}"

    @property
    def bits(self) -> int:
        return 9 + self.mantissa

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def _dropped(self) -> int:
        return 23 - self.mantissa

    def round(self, x):
        with np.errstate(over="ignore"):
            f = np.asarray(x).astype(np.float32)
        drop = self._dropped
        if drop == 0:
            return f
        u = f.view(np.uint32).astype(np.uint64)
        keep = np.uint64((0xFFFFFFFF >> drop) << drop)
        half = np.uint64((1 << (drop - 1)) - 1)
        rounded = ((u + half + ((u >> np.uint64(drop)) & np.uint64(1))) & keep).astype(np.uint32)
        quiet = np.uint32(0x00400000 if self.mantissa else 0)  # the top fraction bit, if any is kept
        kept = (f.view(np.uint32) & np.uint32(keep)) | quiet
        return np.where(np.isnan(f), kept, rounded).view(np.float32)

    def to_bits(self, x):
        x = np.asarray(x)
        f32 = x if x.dtype == np.float32 else Float(32).round(x)
        if x.dtype != np.float32:
            _check_exact(self, x, f32)
        low = f32.view(np.uint32) & np.uint32((1 << self._dropped) - 1)
        if np.any(low):
            bad = f32[low != 0].ravel()[:3].tolist()
            raise InvalidParameter(
                f"{self.name} cannot hold {bad} exactly; round with {self.name}.round first"
            )
        return _uint_to_bits(f32.view(np.uint32) >> np.uint32(self._dropped), self.bits)

    def from_bits(self, bits):
        u = _bits_to_uint(_check_bits(bits)).astype(np.uint32)
        return (u << np.uint32(self._dropped)).view(np.float32)


def BFloat16() -> ShortFloat:  # noqa: N802  (reads like the type it names)
    """bfloat16 (1 sign, 8 exponent, 7 fraction bits): ``ShortFloat(7)``."""
    return ShortFloat(7)


@dataclass(frozen=True)
class FixedPoint(NumberFormat):
    """Signed two's-complement fixed point: ``width`` bits of which ``frac`` are fractional, so the
    values are ``n / 2**frac`` for integers ``-2**(width-1) <= n < 2**(width-1)``.

    ``round`` rounds half to even and saturates at the ends of the range (NaN becomes 0).

    Examples
    --------
    >>> fmt = FixedPoint(8, 4)
    >>> fmt.round(np.array([0.53, 100.0, -100.0])).tolist()
    [0.5, 7.9375, -8.0]
    """

    width: int
    frac: int

    def __post_init__(self):
        if not 2 <= self.width <= 53 or not 0 <= self.frac < self.width:
            raise InvalidParameter(
                f"fixed point needs 2 <= width <= 53 and 0 <= frac < width, "
                f"got width={self.width}, frac={self.frac}"
            )

    @property
    def name(self) -> str:
        return f"fixed{self.width}.{self.frac}"

    @property
    def bits(self) -> int:
        return self.width

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64)

    @property
    def _range(self) -> tuple[float, float]:
        return -(2.0 ** (self.width - 1)), 2.0 ** (self.width - 1) - 1

    def round(self, x):
        scaled = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0) * 2.0**self.frac
        return np.clip(np.rint(scaled), *self._range) / 2.0**self.frac

    def to_bits(self, x):
        x = np.asarray(x, dtype=np.float64)
        _check_exact(self, x, self.round(x))
        n = np.rint(x * 2.0**self.frac).astype(np.int64)
        return _uint_to_bits(n.astype(np.uint64) & np.uint64(2**self.width - 1), self.width)

    def from_bits(self, bits):
        u = _bits_to_uint(_check_bits(bits)).astype(np.int64)
        n = np.where(u >= 2 ** (self.width - 1), u - 2**self.width, u)
        return n.astype(np.float64) / 2.0**self.frac


def number_format(spec: str | NumberFormat) -> NumberFormat:
    """Parse a format name: ``float64``, ``float32``, ``float16``, ``bfloat16``, ``e8mT`` (float32
    with T fraction bits), ``fixedP`` (P bits, half of them fractional) or ``fixedP.F`` (F fractional
    bits), or ``uintW``.

    Examples
    --------
    >>> number_format("fixed16").name, number_format("bfloat16").bits
    ('fixed16.8', 16)
    """
    if isinstance(spec, NumberFormat):
        return spec
    s = str(spec).strip().lower()
    if s in ("float16", "float32", "float64"):
        return Float(int(s[5:]))
    if s == "bfloat16":
        return BFloat16()
    if s.startswith("e8m") and s[3:].isdigit():
        return ShortFloat(int(s[3:]))
    width, dot, frac = s[5:].partition(".")
    if s.startswith("fixed") and width.isdigit() and (frac.isdigit() or not dot):
        p = int(width)
        return FixedPoint(p, int(frac) if frac else p // 2)  # refuses P, F out of range, saying why
    if s.startswith("uint") and s[4:].isdigit():
        return UInt(int(s[4:]))
    raise InvalidParameter(
        f"unknown number format {spec!r}; use float64, float32, float16, bfloat16, e8mT, "
        "fixedP or fixedP.F (e.g. fixed16.8)"
    )


def encode(fmt: NumberFormat, values: np.ndarray) -> np.ndarray:
    """A batch of numbers ``(B, *shape)`` to bit strings ``(B, prod(shape) * fmt.bits)``.

    Examples
    --------
    >>> encode(UInt(3), np.array([[1, 2], [7, 0]])).tolist()
    [[0, 0, 1, 0, 1, 0], [1, 1, 1, 0, 0, 0]]
    """
    values = np.asarray(values)
    return fmt.to_bits(values).reshape(values.shape[0], -1)


def decode(fmt: NumberFormat, bits: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
    """Inverse of :func:`encode`: bit strings ``(B, n)`` to numbers ``(B, *shape)``."""
    bits = _check_bits(bits)
    count = math.prod(shape)
    if bits.shape[-1] != count * fmt.bits:
        raise InvalidParameter(
            f"decode: {bits.shape[-1]} bits do not hold {count} numbers of {fmt.bits} bits"
        )
    return fmt.from_bits(bits.reshape(bits.shape[0], count, fmt.bits)).reshape(bits.shape[0], *shape)
