"""Exact round trips of every bit codec, including IEEE special values."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commlab.errors import InvalidParameter
from commlab.io.codecs import BFloat16, FixedPoint, Float, UInt, bits_for, decode, encode, number_format

UINT_OF = {16: np.uint16, 32: np.uint32, 64: np.uint64}


@given(
    st.integers(1, 64).flatmap(
        lambda w: st.tuples(st.just(w), st.lists(st.integers(0, 2**w - 1), min_size=1, max_size=20))
    )
)
def test_uint_round_trip(case):
    width, values = case
    fmt = UInt(width)
    x = np.array(values, dtype=np.uint64)
    bits = fmt.to_bits(x)
    assert bits.shape == (len(values), width)
    assert np.array_equal(fmt.from_bits(bits), x)
    # MSB first, against Python's own binary formatting
    assert "".join(map(str, bits[0])) == format(values[0], f"0{width}b")


@pytest.mark.parametrize("width", [16, 32, 64])
@given(data=st.data())
def test_ieee_every_bit_pattern_round_trips(width, data):
    """bits -> value -> bits is the identity on all patterns: NaN payloads, ±0, subnormals, ±inf."""
    patterns = np.array(
        data.draw(st.lists(st.integers(0, 2**width - 1), min_size=1, max_size=30)), dtype=np.uint64
    )
    fmt = Float(width)
    values = patterns.astype(UINT_OF[width]).view(fmt.dtype)
    bits = fmt.to_bits(values)
    assert np.array_equal(fmt.from_bits(bits).view(UINT_OF[width]), patterns.astype(UINT_OF[width]))


@pytest.mark.parametrize("width", [16, 32, 64])
def test_ieee_special_values(width):
    fmt = Float(width)
    special = np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, np.finfo(fmt.dtype).smallest_subnormal, np.finfo(fmt.dtype).max],
        dtype=fmt.dtype,
    )
    back = fmt.from_bits(fmt.to_bits(special))
    assert np.array_equal(back.view(UINT_OF[width]), special.view(UINT_OF[width]))
    assert np.signbit(back[1]) and not np.signbit(back[0])


@given(st.lists(st.integers(0, 2**16 - 1), min_size=1, max_size=30))
def test_bfloat16_every_pattern_round_trips(patterns):
    fmt = BFloat16()
    p = np.array(patterns, dtype=np.uint32)
    values = (p << np.uint32(16)).view(np.float32)
    assert np.array_equal(fmt.to_bits(values), UInt(16).to_bits(p))
    assert np.array_equal(fmt.from_bits(fmt.to_bits(values)).view(np.uint32), p << np.uint32(16))


def _bf16_reference(x: float) -> float:
    """Nearest bfloat16 to a finite float32, ties to even, by brute force over the two neighbours."""
    u = int(np.float32(x).view(np.uint32))
    low = u & 0xFFFF0000
    candidates = [low, (low + 0x10000) & 0xFFFFFFFF]
    vals = [float(np.uint32(c).view(np.float32)) for c in candidates]
    dist = [abs(v - float(np.float32(x))) if np.isfinite(v) else np.inf for v in vals]
    if dist[0] != dist[1]:
        return vals[int(np.argmin(dist))]
    return vals[0] if (candidates[0] >> 16) % 2 == 0 else vals[1]


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_bfloat16_rounds_to_nearest_even(x):
    got = float(BFloat16().round(np.float32(x)))
    ref = _bf16_reference(x)
    assert got == ref or (np.isinf(got) and abs(x) > 3.38e38)


def test_bfloat16_keeps_nan_and_refuses_unrounded():
    fmt = BFloat16()
    nan = np.array([0x7F800001], dtype=np.uint32).view(np.float32)  # payload only in low bits
    assert np.isnan(fmt.round(nan)).all()
    with pytest.raises(InvalidParameter, match="round with bfloat16.round"):
        fmt.to_bits(np.float32([1.0000001]))


@given(
    st.integers(2, 53).flatmap(
        lambda w: st.tuples(
            st.just(w),
            st.integers(0, w - 1),
            st.lists(st.integers(-(2 ** (w - 1)), 2 ** (w - 1) - 1), min_size=1, max_size=20),
        )
    )
)
def test_fixed_point_round_trip(case):
    width, frac, ints = case
    fmt = FixedPoint(width, frac)
    values = np.array(ints, dtype=np.float64) / 2.0**frac
    assert np.array_equal(fmt.from_bits(fmt.to_bits(values)), values)
    assert np.array_equal(fmt.round(values), values)


def test_fixed_point_rounds_and_saturates():
    fmt = FixedPoint(8, 4)
    assert fmt.round(np.array([0.03125, 0.09375, 1e9, -1e9, np.nan])).tolist() == [
        0.0,
        0.125,
        7.9375,
        -8.0,
        0.0,
    ]
    with pytest.raises(InvalidParameter):
        fmt.to_bits(np.array([0.01]))


def test_refusals():
    with pytest.raises(InvalidParameter, match="0..7"):
        UInt(3).to_bits(np.array([8]))
    with pytest.raises(InvalidParameter):
        UInt(3).to_bits(np.array([-1]))
    with pytest.raises(InvalidParameter, match="cannot hold"):
        Float(16).to_bits(np.float64([0.1]))
    with pytest.raises(InvalidParameter, match="unknown number format"):
        number_format("float8")
    with pytest.raises(InvalidParameter):
        FixedPoint(64, 3)
    with pytest.raises(InvalidParameter):
        decode(UInt(4), np.zeros((2, 7), np.uint8), (2,))


@given(st.lists(st.floats(width=32, allow_nan=False), min_size=6, max_size=6))
def test_encode_decode_batches(values):
    x = np.array(values, dtype=np.float32).reshape(2, 3)
    bits = encode(Float(32), x)
    assert bits.shape == (2, 96)
    assert np.array_equal(decode(Float(32), bits, (3,)), x)


@pytest.mark.parametrize(
    "name,bits",
    [("float64", 64), ("float32", 32), ("float16", 16), ("bfloat16", 16), ("fixed12.4", 12), ("uint5", 5)],
)
def test_number_format_names(name, bits):
    fmt = number_format(name)
    assert fmt.bits == bits and number_format(fmt) is fmt


def test_bits_for():
    assert [bits_for(q) for q in (1, 2, 3, 4, 5, 1024, 1025)] == [0, 1, 2, 2, 3, 10, 11]


@given(
    st.integers(0, 23),
    st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1, max_size=10),
)
def test_short_floats_round_trip_and_nest(mantissa, values):
    from commlab.io.codecs import ShortFloat

    fmt = ShortFloat(mantissa)
    held = fmt.round(np.array(values, dtype=np.float32))
    assert np.array_equal(fmt.from_bits(fmt.to_bits(held)), held)
    assert fmt.to_bits(held).shape == (len(values), 9 + mantissa)
    # rounding to t bits is idempotent and every value with fewer bits passes through unchanged
    assert np.array_equal(fmt.round(held), held)
    assert np.array_equal(ShortFloat(23).round(held), held)


@pytest.mark.parametrize("mantissa", range(24))
def test_short_floats_keep_nan_and_inf_encodable(mantissa):
    from commlab.io.codecs import ShortFloat

    fmt = ShortFloat(mantissa)
    special = np.array([0x7F800001, 0xFFC00000, 0x7F800000, 0xFF800000], dtype=np.uint32).view(np.float32)
    held = fmt.round(special)
    assert np.array_equal(fmt.from_bits(fmt.to_bits(held)).view(np.uint32), held.view(np.uint32))
    assert np.isinf(held[2:]).all()
    assert np.isnan(held[:2]).all() if mantissa else np.isinf(held[:2]).all()


def test_short_float_names():
    from commlab.io.codecs import ShortFloat

    assert number_format("e8m7") == ShortFloat(7) and ShortFloat(7).name == "bfloat16"
    assert number_format("e8m3").bits == 12
    with pytest.raises(InvalidParameter):
        ShortFloat(24)


# --- issue 11: a codec never rounds or wraps silently ----------------------------------------------


@pytest.mark.parametrize(
    "values,says",
    [
        ([2.0**64], "0..18446744073709551615"),  # used to wrap to 0 with only a numpy warning
        ([1e30], "0..18446744073709551615"),
        ([-1.0], "0..18446744073709551615"),
        ([0.5], "integers"),
        ([float("nan")], "integers"),
        ([float("inf")], "integers"),
    ],
)
def test_uint64_refuses_floats_it_cannot_hold(values, says):
    with pytest.raises(InvalidParameter, match=says):
        UInt(64).to_bits(np.array(values))


def test_uint_keeps_the_largest_values_exactly():
    top = np.array([2**64 - 1], dtype=np.uint64)
    assert np.array_equal(UInt(64).from_bits(UInt(64).to_bits(top)), top)
    assert UInt(64).to_bits(np.array([2.0**63]))[0].tolist() == [1] + [0] * 63
    with pytest.raises(InvalidParameter, match="0..7"):
        UInt(3).to_bits(np.array([8.0]))
    with pytest.raises(InvalidParameter, match="integers"):
        UInt(8).to_bits(np.array(["1"]))


@pytest.mark.parametrize("fmt", [UInt(4), Float(16), BFloat16(), FixedPoint(4, 2)])
@pytest.mark.parametrize("bad", [2, -1, 0.5, 255])
def test_from_bits_refuses_anything_but_0_and_1(fmt, bad):
    bits = np.zeros((1, fmt.bits), dtype=np.int64 if isinstance(bad, int) else np.float64)
    bits[0, 1] = bad
    with pytest.raises(InvalidParameter, match="only 0 and 1"):
        fmt.from_bits(bits)
    with pytest.raises(InvalidParameter, match="only 0 and 1"):
        decode(fmt, bits, (1,))


def test_from_bits_accepts_bools_and_float_bits():
    assert UInt(3).from_bits(np.array([True, False, True])) == 5
    assert UInt(3).from_bits(np.array([1.0, 0.0, 1.0])) == 5


@pytest.mark.parametrize(
    "name,says",
    [("fixed8.9", "frac=9"), ("fixed99", "width=99"), ("fixed1.0", "width=1"), ("e8m30", "0..23")],
)
def test_number_format_says_why_a_format_is_out_of_range(name, says):
    with pytest.raises(InvalidParameter, match=says):
        number_format(name)
