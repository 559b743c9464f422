"""The kernel and hybrid reductions: bit-exact against the model for every feature map and format,
bits and rounds as declared, isolation, and the s = H·r·(m+1)·p the corollary counts."""

import numpy as np
import pytest

from commlab import UnsupportedModel, run
from commlab.models.hybrid import random_hybrid_model
from commlab.models.kernel import FEATURE_MAPS, random_kernel_model
from commlab.problems.pointer_chasing import PointerChasing
from reductions import compile_to_protocol, get_reduction
from reductions.conformance import check_reduction
from reductions.kernel import reduce_hybrid, reduce_kernel
from reductions.pointer_chasing import encode

FORMATS = ["float64", "float32", "float16", "bfloat16", "fixed16.8"]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # float16 given maps overflow, exactly alike
@pytest.mark.parametrize("features", FEATURE_MAPS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_conformance_for_every_feature_map_and_format(features, fmt):
    seeds = iter(range(1000))
    report = check_reduction(
        "kernel",
        lambda alphabet, rng: random_kernel_model(2, 2, 3, 2, alphabet, fmt, features, seed=next(seeds)),
        seed=len(features) + len(fmt),
        audit=(fmt == "float32" and features == "performer"),
    )
    assert report.cases == 6 and report.declared_bits == report.measured_bits
    assert report.rounds == [2] * 6
    bits = 2 * 2 * (3 + 1) * random_kernel_model(1, 1, 1, 1, 2, fmt).fmt.bits
    assert set(report.declared_bits) == {bits}  # k ≥ 2 in every case that posts a state


@pytest.mark.parametrize("pattern", ["gru,kernel,gru", "kernel,lstm", "mamba,kernel,ssm,elman"])
def test_hybrid_stacks_compile_with_no_new_code(pattern):
    seeds = iter(range(1000))
    report = check_reduction(
        "hybrid",
        lambda alphabet, rng: random_hybrid_model(
            pattern, 4, 2, alphabet, "float32", heads=2, seed=next(seeds)
        ),
        audit=False,  # the same layer-wise protocol as the audited kernel and rnn cases
    )
    model = random_hybrid_model(pattern, 4, 2, 5, heads=2)
    assert report.rounds == [len(model.layers)] * 6
    assert set(report.measured_bits) == {max(layer.state_bits for layer in model.layers)}


def test_messages_are_the_prefix_sums_of_every_head():
    model = random_kernel_model(2, 2, 3, 4, 10, "float32", "elu", seed=3)
    enc = encode(PointerChasing.random(4, 3, 5, seed=1))
    protocol = compile_to_protocol(model, enc.blocks)
    assert protocol.spec.name == "kernel"  # chosen by validation: rnn and hybrid come first only for RNNs
    result = run(protocol, enc.player_inputs(), truth=enc.answer)
    forward = model.forward(enc.tokens, record=[7, 15])
    sums, norms = forward.recorded[0][15]  # P_2 holds [8, 16)
    assert sums.shape == (5, 2, 4, 3) and norms.shape == (5, 2, 4)
    np.testing.assert_array_equal(
        result.transcript.message(1, 2).bits, model.layers[0].encode_state((sums, norms))
    )
    assert np.array_equal(result.output, forward.predictions[:, -1])
    assert result.bits_per_message == get_reduction("kernel").bits_per_message(model, 3) == 2 * 4 * 4 * 32


def test_kernel_reduction_refuses_recurrent_layers_and_the_hybrid_takes_them():
    model = random_hybrid_model("gru,kernel", 4, 2, 6)
    with pytest.raises(UnsupportedModel, match="layer 0 is 'gru', not one of the kinds kernel compiles"):
        compile_to_protocol(model, [(0, 3), (3, 6)], "kernel")
    assert compile_to_protocol(model, [(0, 3), (3, 6)]).spec.name == "hybrid"


def test_reduce_kernel_and_hybrid_report_declared_equal_measured():
    report = reduce_kernel(layers=2, heads=2, width=4, rank=3, q=4, trials=20)
    assert (report.k, report.rounds, report.mismatches) == (3, 2, 0)
    assert report.bits_per_message == report.declared_bits_per_message == 2 * 3 * 5 * 32
    assert report.bound[0]["critical_N"] == 2 * 960 * 3**6  # N* = 2·s·k⁶/c (docs/theory.md §5)
    hybrid = reduce_hybrid(pattern="gru,kernel,gru", width=4, rank=2, q=4, trials=20, fmt="bfloat16")
    assert (hybrid.k, hybrid.rounds, hybrid.mismatches) == (4, 3, 0)
    assert hybrid.bits_per_message == hybrid.declared_bits_per_message == 2 * 5 * 16
    assert hybrid.params["pattern"] == "gru,kernel,gru"
