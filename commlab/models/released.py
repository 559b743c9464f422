"""SHT24's released GPT-2 runs: a ``config.yaml`` beside a ``model_<step>.pt``, loaded and evaluated in numpy.

Recurrent runs of ``commlab train`` (an ``nn.Embedding`` → RNN/GRU/LSTM → ``nn.Linear`` state dict
beside the same kind of config) are evaluated the same way.

A run's ``config.yaml`` has a ``model`` section (``depth``, ``dim_embedding``, ``headcount``,
``vocab_size``) and ``training.task_kwargs`` (``char_tokens``, ``max_hops``, ``min_hops``,
``seq_len``); the weights are a ``GPT2Model`` under ``backbone.`` whose final hidden state is the
output. :func:`evaluate_run` measures the error per hop count k by the rule in docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from commlab.analysis.stats import clopper_pearson
from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat
from commlab.io.weights import read_weights
from commlab.models.gpt2 import GPT2, gpt2_from_state_dict
from commlab.models.importers import is_torch_recurrent, torch_recurrent_model
from commlab.models.model import SequenceModel
from commlab.problems.paper_format import PaperTask
from commlab.seeds import DROPOUT, EVALUATION, stream_seed

__all__ = ["RULE", "error_per_k", "evaluate_run", "load_run", "parse_ks", "parse_range", "read_run_config"]

#: The evaluation rule, as reported with every result.
RULE = (
    "prediction = argmax over all of the model's outputs at each position; error = wrong predictions / "
    "positions whose target is neither ⊥ nor blank, on fresh sequences; 95% Clopper-Pearson interval "
    "over those positions"
)

_CHUNK = 256  # sequences per forward pass: bounds memory (attention scores are B·H·N² numbers)


def read_run_config(path: str | Path) -> dict:
    """A run's ``config.yaml`` as a dict (``yaml.safe_load``: plain data only)."""
    import yaml

    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidParameter(f"cannot read config {str(path)!r}: {error}") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidParameter(
            f"config {str(path)!r} is not valid YAML: {' '.join(str(error).split())}"
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise InvalidParameter(
            f"config {str(path)!r} has no 'model' section (depth, dim_embedding, headcount, …)"
        )
    return config


def load_run(
    weights: str | Path,
    config: str | Path | None = None,
    heads: int | None = None,
    fmt: str | NumberFormat = "float32",
) -> tuple[GPT2 | _Recurrent, PaperTask, Path | None]:
    """A released-format GPT-2 run: the model, its task and the config file used.

    ``config`` defaults to ``config.yaml`` beside the weights when there is one; without a config,
    ``heads`` must be given and the task is the paper's (4 characters, k ≤ 16, length 100).

    Raises
    ------
    InvalidParameter
        For unreadable files, or a config that disagrees with the weights (depth, width, vocabulary,
        heads, positions too few for the task's sequences).
    """
    weights = Path(weights)
    if config is None and (weights.parent / "config.yaml").is_file():
        config = weights.parent / "config.yaml"
    arrays = read_weights(weights)
    if is_torch_recurrent(arrays):  # a recurrent run of `commlab train`
        task = PaperTask()
        if config is not None:
            settings = read_run_config(config)
            task = PaperTask.from_kwargs((settings.get("training") or {}).get("task_kwargs") or {})
        return (
            _Recurrent(torch_recurrent_model(arrays, fmt=fmt)),
            task,
            None if config is None else Path(config),
        )
    if config is None:
        if heads is None:
            raise InvalidParameter(
                f"no config.yaml beside {str(weights)!r}: pass --config PATH or --heads H "
                "(a state dict does not record the number of attention heads)"
            )
        return gpt2_from_state_dict(arrays, heads, fmt), PaperTask(), None
    settings = read_run_config(config)
    section, task_kwargs = settings["model"], (settings.get("training") or {}).get("task_kwargs") or {}
    task = PaperTask.from_kwargs(task_kwargs)
    wanted_heads = section.get("headcount")
    if heads is not None and wanted_heads is not None and heads != wanted_heads:
        raise InvalidParameter(f"--heads {heads} contradicts headcount {wanted_heads} in {str(config)!r}")
    heads = heads if heads is not None else wanted_heads
    if heads is None:
        raise InvalidParameter(f"config {str(config)!r} has no model.headcount; pass --heads H")
    model = gpt2_from_state_dict(arrays, heads, fmt)
    found = {"depth": model.depth, "dim_embedding": model.width, "vocab_size": model.wte.shape[0]}
    problems = [
        f"{name} is {section[name]} in the config but {value} in the weights"
        for name, value in found.items()
        if name in section and section[name] != value
    ]
    if model.wpe.shape[0] < task.seq_len - 1:
        problems.append(f"the weights have {model.wpe.shape[0]} positions, the task needs {task.seq_len - 1}")
    if model.wte.shape[0] < task.vocabulary:
        problems.append(
            f"the vocabulary {model.wte.shape[0]} is smaller than the task's {task.vocabulary} tokens"
        )
    if problems:
        raise InvalidParameter(f"{str(config)!r} does not describe {str(weights)!r}: " + "; ".join(problems))
    return model, task, Path(config)


class _Recurrent:
    """An imported recurrent model with the interface :func:`evaluate_run` uses."""

    def __init__(self, model: SequenceModel):
        self.model, self.fmt, self.heads = model, model.fmt, None

    def describe(self) -> str:
        return self.model.describe()

    def logits(self, tokens: np.ndarray, dropout: float = 0.0, rng=None) -> np.ndarray:
        if dropout:
            raise InvalidParameter(
                "--dropout applies to GPT-2 checkpoints only; recurrent runs train without it"
            )
        return self.model.logits(tokens)


def parse_ks(spec: str, task: PaperTask) -> list[int]:
    """``"0-16"``, ``"3"`` or ``"0,2,8-10"`` → sorted distinct hop counts, each in the task's range.

    Examples
    --------
    >>> parse_ks("0,2,8-10", PaperTask())
    [0, 2, 8, 9, 10]
    """
    return parse_range(spec, task.min_hops, task.max_hops, "--k", "this task's hop counts")


def parse_range(spec: str, low: int, high: int, option: str, what: str = "the allowed range") -> list[int]:
    """A list of integers and ranges (``"2-6"``, ``"2,4"``) → sorted distinct values in ``low..high``."""
    values: set[int] = set()
    try:
        for part in str(spec).split(","):
            first_text, _, last_text = part.strip().partition("-")
            first = int(first_text)
            last = int(last_text) if last_text else first
            if last < first:
                raise ValueError
            values.update(range(first, last + 1))
    except ValueError:
        raise InvalidParameter(f"{option} must look like 2-6, 3 or 0,2,8-10; got {spec!r}") from None
    bad = sorted(v for v in values if not low <= v <= high)
    if bad:
        raise InvalidParameter(f"{option} {spec}: {bad} outside {what} {low}..{high}")
    return sorted(values)


def error_per_k(
    scores: Callable[[np.ndarray, np.random.Generator], np.ndarray],
    task: PaperTask,
    ks: Sequence[int],
    samples: int,
    seed: int,
) -> list[dict]:
    """Error per hop count by the rule of docs/evaluation.md, for any model given as ``scores``.

    Parameters
    ----------
    scores : callable (inputs (B, N), rng) → array (B, N, outputs)
        The model's outputs; the prediction is their argmax. ``rng`` draws any dropout.
    task : PaperTask
    ks : hop counts
    samples : int
        Fresh sequences per k, drawn in chunks of 256 seeded by ``(seed, k, chunk)`` in the
        evaluation stream (:mod:`commlab.seeds`), so one k's data never depends on the others, never
        shares a seed with a training batch, and memory stays bounded.
    seed : int

    Returns
    -------
    list of dict, one per k: ``k``, ``sequences``, ``positions`` (counted), ``errors``, ``error`` and
    ``error_ci`` (``None`` when no position counts: every target ⊥).
    """
    if not isinstance(samples, int) or samples < 1:
        raise InvalidParameter(f"--samples must be an integer >= 1, got {samples}")
    rows = []
    for k in ks:
        rng = np.random.default_rng(stream_seed(seed, DROPOUT, k))
        wrong = counted = 0
        for chunk, start in enumerate(range(0, samples, _CHUNK)):  # bounded memory for any --samples
            inputs, targets = task.sample(
                min(_CHUNK, samples - start), k, stream_seed(seed, EVALUATION, k, chunk)
            )
            predictions = np.argmax(scores(inputs, rng), axis=-1)
            mask = task.counted(targets)
            wrong += int(((predictions != targets) & mask).sum())
            counted += int(mask.sum())
        rows.append(
            {
                "k": k,
                "sequences": samples,
                "positions": counted,
                "errors": wrong,
                "error": wrong / counted if counted else None,
                "error_ci": list(clopper_pearson(wrong, counted)) if counted else None,
            }
        )
    return rows


def evaluate_run(
    weights: str | Path,
    config: str | Path | None = None,
    *,
    ks: str = "",
    samples: int = 100,
    seed: int = 0,
    dropout: float = 0.0,
    heads: int | None = None,
    fmt: str | NumberFormat = "float32",
) -> dict:
    """Evaluate a released-format GPT-2 checkpoint on the paper's task: what ``commlab evaluate`` prints.

    ``dropout`` 0 (the default) is inference mode; ``dropout = 0.1`` with a seed reproduces the
    protocol of the published tables (models left in training mode), with numpy's random masks.

    Examples
    --------
    >>> from pathlib import Path
    >>> run = Path("tests/fixtures/paper_run/model_100.pt")
    >>> result = evaluate_run(run, ks="0-1", samples=4) if run.exists() else {"mode": "inference"}
    >>> result["mode"]
    'inference'
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise InvalidParameter(f"--seed must be an integer in 0..2^63-1, got {seed}")
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise InvalidParameter(f"--dropout must be in [0, 1), got {dropout}")
    model, task, config_path = load_run(weights, config, heads, fmt)
    chosen = parse_ks(ks, task) if ks else list(range(task.min_hops, task.max_hops + 1))
    rows = error_per_k(lambda x, rng: model.logits(x, dropout, rng), task, chosen, samples, seed)
    return {
        "model": model.describe(),
        "weights": str(weights),
        "config": None if config_path is None else str(config_path),
        "format": model.fmt.name,
        "heads": model.heads,
        "n": task.seq_len,
        "task": {"char_tokens": task.char_tokens, "min_hops": task.min_hops, "max_hops": task.max_hops},
        "samples": samples,
        "seed": seed,
        "mode": "training (dropout)" if dropout else "inference",
        "dropout": float(dropout),
        "rule": RULE,
        "per_k": rows,
    }
