"""Sequence models in numpy, with exact arithmetic in a chosen number format."""

from commlab.models.indicator import IndicatorChase, indicator_chase_model
from commlab.models.kernel_chase import kernel_chase_model
from commlab.models.layer import Layer, Scan
from commlab.models.model import (
    Forward,
    SequenceModel,
    load_recurrent_model,
    random_recurrent_model,
    save_weights,
)
from commlab.models.recurrent import CELLS
from commlab.models.window import WindowHop, window_hop_model

__all__ = [
    "CELLS",
    "Forward",
    "IndicatorChase",
    "Layer",
    "Scan",
    "indicator_chase_model",
    "kernel_chase_model",
    "SequenceModel",
    "WindowHop",
    "load_recurrent_model",
    "random_recurrent_model",
    "save_weights",
    "window_hop_model",
]
