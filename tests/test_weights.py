"""Weight readers: exact tensors from committed PyTorch/safetensors/npz fixtures, and every bad file refused
with one clear error (no torch needed; the torch-marked tests compare against torch itself)."""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commlab.cli import main
from commlab.errors import InvalidParameter
from commlab.io.weights import read_weights, save_safetensors

FIXTURES = Path(__file__).parent / "fixtures"


def _expected_cases() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "reader_cases_expected.npz") as data:
        return {name: data[name] for name in data.files}


def test_pytorch_zip_gives_exactly_the_saved_tensors():
    got, expected = read_weights(FIXTURES / "reader_cases.pt"), _expected_cases()
    # nested dicts get dotted names; the step count and the name string are dropped
    assert set(got) == {f"state.{name}" for name in expected}
    for name, value in expected.items():
        assert got[f"state.{name}"].dtype == value.dtype, name
        assert np.array_equal(got[f"state.{name}"], value), name  # bf16 → float32 exactly; strided views


def test_safetensors_gives_exactly_the_saved_tensors():
    got, expected = read_weights(FIXTURES / "reader_cases.safetensors"), _expected_cases()
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert np.array_equal(got[name], value) and got[name].shape == value.shape, name


def test_safetensors_round_trip_and_alignment(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": np.float64([1.5]), "c": np.zeros((0, 2))}
    save_safetensors(tmp_path / "w.safetensors", arrays, {"note": "x"})
    raw = (tmp_path / "w.safetensors").read_bytes()
    assert int.from_bytes(raw[:8], "little") % 8 == 0
    back = read_weights(tmp_path / "w.safetensors")
    assert all(np.array_equal(back[k], v) and back[k].dtype == v.dtype for k, v in arrays.items())


def test_safetensors_agrees_with_the_safetensors_package(tmp_path):
    numpy_api = pytest.importorskip("safetensors.numpy")
    arrays = {"w": np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32), "i": np.arange(4)}
    save_safetensors(tmp_path / "ours.safetensors", arrays)
    theirs = numpy_api.load_file(str(tmp_path / "ours.safetensors"))
    assert all(np.array_equal(theirs[k], v) for k, v in arrays.items())
    numpy_api.save_file(arrays, str(tmp_path / "theirs.safetensors"))
    assert all(np.array_equal(read_weights(tmp_path / "theirs.safetensors")[k], v) for k, v in arrays.items())


def test_npz_is_read_without_pickle(tmp_path):
    np.savez_compressed(tmp_path / "w.npz", w=np.eye(3), k=np.int32(3))
    got = read_weights(tmp_path / "w.npz")
    assert np.array_equal(got["w"], np.eye(3)) and got["k"] == 3


def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy_header(shape, dtype="<f4") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Every kind of bad file → (path, a phrase its error must contain)."""
    rng = np.random.default_rng(0)
    (tmp / "empty.pt").write_bytes(b"")
    (tmp / "random.pt").write_bytes(rng.bytes(4096))
    np.save(tmp / "single.npy", np.zeros(3))
    (tmp / "bare.pkl").write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    good = (FIXTURES / "torch_gru.pt").read_bytes()
    (tmp / "truncated.pt").write_bytes(good[: len(good) // 2])
    np.savez(tmp / "objects.npz", o=np.array([{"a": 1}], dtype=object))
    # a member that declares 8 GiB of float32 but stores 128 bytes (a crafted or truncated archive)
    inflating = _npy_header((2**31,)) + bytes(128)
    _zip(tmp / "inflating.npz", {"w.npy": inflating}, zipfile.ZIP_DEFLATED)
    evil = b"cos\nsystem\n(S'echo pwned'\ntR."  # would run a shell command under plain pickle.load
    _zip(tmp / "evil.pt", {"archive/data.pkl": evil, "archive/byteorder": b"little"})
    _zip(tmp / "counter.pt", {"archive/data.pkl": pickle.dumps(Counter("ab"), protocol=2)})
    st_good = (FIXTURES / "reader_cases.safetensors").read_bytes()
    (tmp / "short.safetensors").write_bytes(st_good[:-5])
    header = b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,17]}}'
    (tmp / "lying.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(17))
    _zip(tmp / "other.zip", {"readme.txt": b"hello"})
    (tmp / "dir").mkdir()
    return {
        "empty": (tmp / "empty.pt", "empty"),
        "dev-null": (Path("/dev/null"), "not a regular file"),
        "missing": (tmp / "none.pt", "does not exist"),
        "directory": (tmp / "dir", "directory"),
        "random bytes": (tmp / "random.pt", "match none of these formats"),
        "single npy": (tmp / "single.npy", "single .npy array"),
        "bare pickle": (tmp / "bare.pkl", "bare pickle"),
        "truncated zip": (tmp / "truncated.pt", "truncated or corrupt"),
        "object array": (tmp / "objects.npz", "Python objects"),
        "inflating npz": (tmp / "inflating.npz", "truncated or crafted"),
        "code in pickle": (tmp / "evil.pt", "os.system"),
        "other class": (tmp / "counter.pt", "collections.Counter"),
        "short safetensors": (tmp / "short.safetensors", "truncated or corrupt"),
        "lying safetensors": (tmp / "lying.safetensors", "byte range"),
        "other zip": (tmp / "other.zip", "neither a PyTorch file nor .npz"),
    }


def test_every_bad_file_is_one_clear_error(tmp_path):
    for case, (path, phrase) in _bad_files(tmp_path).items():
        with pytest.raises(InvalidParameter) as error:
            read_weights(path)
        message = str(error.value)
        assert phrase in message, (case, message)
        assert "allow_pickle=True" not in message and "weights_only=False" not in message, case


def test_bad_files_exit_2_with_one_line(tmp_path, capsys):
    for case, (path, phrase) in _bad_files(tmp_path).items():
        args = ["reduce", "rnn", "--layers", "1", "--state", "4", "--q", "2", "--trials", "2"]
        code = main([*args, "--weights", str(path)])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and err.count("\n") == 1 and phrase in err, (case, err)


def test_pickled_code_is_never_run(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr("os.system", lambda command: ran.append(command))
    path, _ = _bad_files(tmp_path)["code in pickle"]
    with pytest.raises(InvalidParameter):
        read_weights(path)
    assert ran == []


def test_size_limit_is_checked_from_headers_before_loading(tmp_path, monkeypatch):
    np.savez(tmp_path / "w.npz", a=np.zeros(1000), b=np.zeros(1000))
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("np.load called before the size check"))
    with pytest.raises(InvalidParameter, match="over the limit"):
        read_weights(tmp_path / "w.npz", max_bytes=12_000)
    for name in ("reader_cases.pt", "reader_cases.safetensors"):
        with pytest.raises(InvalidParameter, match="over the limit"):
            read_weights(FIXTURES / name, max_bytes=40)


def test_tensor_records_outside_their_storage_are_refused(tmp_path):
    archive = zipfile.ZipFile(FIXTURES / "torch_gru.pt")
    members = {name: archive.read(name) for name in archive.namelist()}
    storage = sorted(n for n in members if "/data/" in n)[0]
    members[storage] = members[storage][:-4]  # one float short of what the pickle records
    with pytest.raises(InvalidParameter, match="its record says"):
        read_weights(_zip(tmp_path / "short.pt", members))


@pytest.mark.torch
def test_reader_matches_torch_load_on_random_state_dicts(tmp_path):
    torch = pytest.importorskip("torch")
    generator = torch.Generator().manual_seed(0)
    dtypes = [
        torch.float32,
        torch.float64,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int8,
        torch.bool,
    ]
    for trial in range(20):
        state = {}
        for i in range(5):
            shape = tuple(
                int(s) for s in torch.randint(0, 5, (int(torch.randint(0, 4, ())),), generator=generator)
            )
            tensor = (torch.randn(shape, generator=generator) * 10).to(dtypes[(trial + i) % len(dtypes)])
            state[f"t{i}"] = tensor.t() if tensor.ndim == 2 else tensor
        torch.save(state, tmp_path / "w.pt")
        reference = torch.load(tmp_path / "w.pt", weights_only=True)
        got = read_weights(tmp_path / "w.pt")
        for name, tensor in reference.items():
            value = tensor.float() if tensor.dtype == torch.bfloat16 else tensor
            assert np.array_equal(got[name], value.numpy()) and got[name].shape == tuple(tensor.shape)


def test_json_header_of_fixture_is_plain():  # the fixture is what the safetensors package writes
    raw = (FIXTURES / "reader_cases.safetensors").read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    assert header["bf16"]["dtype"] == "BF16"


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(
        ["torch_lstm.pt", "reader_cases.pt", "reader_cases.safetensors", "gpt2_lm.safetensors"]
    ),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=4),
)
def test_corrupted_files_give_arrays_or_one_clear_error(tmp_path_factory, name, cut, flips):
    """Any truncation or byte flips of a good file: the reader returns arrays or raises
    InvalidParameter, never another exception."""
    raw = bytearray((FIXTURES / name).read_bytes())
    for where, value in flips:
        raw[int(where * (len(raw) - 1))] ^= value
    raw = raw[: max(1, int(cut * len(raw)))] if cut < 0.95 else raw
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(bytes(raw))
    try:
        arrays = read_weights(path)
    except InvalidParameter:
        return
    assert all(isinstance(v, np.ndarray) for v in arrays.values())


def _pickled_state_dict(size: tuple[int, ...], stride: tuple[int, ...]) -> bytes:
    """Protocol-2 opcodes of ``{"w": _rebuild_tensor_v2(storage 0 of one float, 0, size, stride)}``,
    written by hand (the way torch.save writes them) so no torch is needed."""

    def text(value: str) -> bytes:
        return b"X" + struct.pack("<I", len(value)) + value.encode()

    def ints(values) -> bytes:
        return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"

    storage = b"(" + text("storage") + b"ctorch\nFloatStorage\n" + text("0") + text("cpu") + b"K\x01tQ"
    tensor = b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage + b"K\x00" + ints(size) + ints(stride)
    tensor += b"\x89ccollections\nOrderedDict\n)RtR"
    return b"\x80\x02ccollections\nOrderedDict\n)R(" + text("w") + tensor + b"u."


def test_tensors_larger_than_their_storage_are_budgeted(tmp_path):
    """A stride-0 record can make one stored float a (10⁵, 10⁵) tensor: 40 GB if copied. Refused first."""
    members = {
        "archive/data.pkl": _pickled_state_dict((2, 3), (0, 0)),
        "archive/data/0": struct.pack("<f", 1.5),
    }
    assert read_weights(_zip(tmp_path / "small.pt", members))["w"].tolist() == [[1.5] * 3] * 2
    members["archive/data.pkl"] = _pickled_state_dict((100_000, 100_000), (0, 0))
    with pytest.raises(InvalidParameter, match="over the limit"):
        read_weights(_zip(tmp_path / "huge.pt", members))
    members["archive/data.pkl"] = _pickled_state_dict((2, 3), (1, 1))  # reaches element 3 of 1
    with pytest.raises(InvalidParameter, match="reaches element 3"):
        read_weights(_zip(tmp_path / "outside.pt", members))


def test_a_dict_shared_between_parents_is_refused_not_expanded():
    """A pickle can make one child dict the value of many keys at every level, so a few hundred
    bytes name millions of tensors; a state dict is a tree, so a dict reached twice is refused."""
    from commlab.io.weights import _arrays_of

    inner = {"w": np.zeros(1)}
    with pytest.raises(InvalidParameter, match="more than once"):
        _arrays_of({"a": inner, "b": inner}, "x.pt")
    assert list(_arrays_of({"a": {"w": np.zeros(1)}, "b": {"w": np.ones(1)}}, "x.pt")) == ["a.w", "b.w"]


def test_overlapping_safetensors_ranges_are_refused(tmp_path):
    header = {
        "x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        "z": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    text = json.dumps(header).encode()
    path = tmp_path / "overlap.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + np.arange(4, dtype=np.float32).tobytes())
    with pytest.raises(InvalidParameter, match="overlap"):
        read_weights(path)
