"""Training on k-hop in the paper's format (needs the optional extra ``commlab[torch]``).

The recipe of SHT24 §5 / Appendix G and its released code: AdamW at learning rate 1e−4, linear
warm-up over the first 1000 steps then linear decay to 0 at the last step, batch 32, cross-entropy
over every position of the released task format (:class:`~commlab.problems.paper_format.PaperTask`),
fresh data every step (or a fixed training set of ``samples`` sequences cycled in order). GPT-2
models are HuggingFace ``GPT2Model``\\ s whose final hidden state is the logits (as released);
recurrent ones are ``nn.Embedding`` → ``nn.RNN``/``nn.GRU``/``nn.LSTM`` → ``nn.Linear``.

A run directory holds ``config.yaml`` (the released layout, so ``commlab evaluate`` reads it),
``model.safetensors`` (the latest weights, names as PyTorch's state dict), ``metrics.jsonl`` (one JSON
object per logged step) and ``state.pt`` (model, optimiser, schedule and step). Every write is to a
temporary file renamed into place, so a kill never leaves a half-written file; a rerun with the
same ``--out`` resumes after the last checkpoint, and the data of every step depends only on
``(seed, step)``, so a resumed run sees the data an uninterrupted one would have.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.weights import save_safetensors
from commlab.problems.hop import sample_hop_data
from commlab.problems.paper_format import PaperTask
from commlab.seeds import training_seed

__all__ = ["TrainConfig", "depth_vs_k", "rnn_bits", "train"]

MODELS = ("gpt2", "lstm", "gru", "rnn")


@dataclass(frozen=True)
class TrainConfig:
    """What ``commlab train`` was asked for (written into the run's ``config.yaml``)."""

    model: str = "gpt2"
    layers: int = 2
    width: int = 128
    heads: int = 4
    k_max: int = 16
    n: int = 100
    alphabet: int = 4
    steps: int = 1000
    batch: int = 32
    samples: int | None = None
    seed: int = 0
    lr: float = 1e-4
    warmup: int = 1000
    checkpoint_every: int = 2000
    dropout: float = 0.1
    threads: int = 1

    def check(self) -> PaperTask:
        problems = []
        if self.model not in MODELS:
            problems.append(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        for name in ("layers", "width", "heads", "steps", "batch", "checkpoint_every", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"--{name.replace('_', '-')} must be an integer >= 1, got {value!r}")
        if not isinstance(self.warmup, int) or self.warmup < 0:
            problems.append(f"--warmup must be an integer >= 0, got {self.warmup!r}")
        if self.samples is not None and (not isinstance(self.samples, int) or self.samples < self.batch):
            problems.append(f"--samples must be an integer >= --batch ({self.batch}), got {self.samples!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            problems.append(f"--seed must be an integer in 0..2^63-1, got {self.seed!r}")
        if not (0 < self.lr < 1) or not (0 <= self.dropout < 1):
            problems.append(f"need 0 < --lr < 1 and 0 <= dropout < 1, got {self.lr}, {self.dropout}")
        if problems:
            raise InvalidParameter("; ".join(problems))
        task = PaperTask(char_tokens=self.alphabet, max_hops=self.k_max, seq_len=self.n)
        self._check_memory(task)
        if self.model == "gpt2":
            if self.width % self.heads:
                raise InvalidParameter(f"--heads {self.heads} must divide --width {self.width}")
            if self.width < task.vocabulary:
                raise InvalidParameter(
                    f"a GPT-2 uses its hidden state as logits, so --width must be >= the task's "
                    f"{task.vocabulary} tokens, got {self.width}"
                )
        return task

    def parameters(self, task: PaperTask) -> int:
        """Number of trainable parameters of the model these settings build."""
        m, layers, vocab = self.width, self.layers, task.vocabulary
        if self.model == "gpt2":  # per block 12m² + 13m; embeddings; final layer norm
            return layers * (12 * m * m + 13 * m) + (vocab + task.seq_len) * m + 2 * m
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[self.model]
        return layers * gates * (2 * m * m + 2 * m) + vocab * m + m * vocab + vocab

    def _check_memory(self, task: PaperTask) -> None:
        """Refuse up front what cannot fit: weights, gradients and AdamW's two moments in float32
        (16 bytes a parameter) against the machine's memory."""
        need = 16 * self.parameters(task)
        try:
            have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return
        if need > have:
            raise InvalidParameter(
                f"a {self.layers}-layer {self.model} of width {self.width} has {self.parameters(task):,} "
                f"parameters: training needs about {need / 2**30:.1f} GiB, this machine has {have / 2**30:.1f} GiB"
            )


def _batch(task: PaperTask, config: TrainConfig, step: int, fixed) -> tuple[np.ndarray, np.ndarray]:
    """The data of one step: fresh from ``(seed, step)``, or the next slice of the fixed set."""
    if fixed is not None:
        inputs, targets = fixed
        start = (step % (len(inputs) // config.batch)) * config.batch
        return inputs[start : start + config.batch], targets[start : start + config.batch]
    return _mixed(task, config.batch, training_seed(config.seed, step))


def _mixed(task: PaperTask, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequences with a hop count drawn uniformly per sequence, as the released generator does."""
    ks = list(range(task.min_hops, task.max_hops + 1))
    data = sample_hop_data(count, task.seq_len, task.char_tokens, ks, seed)
    return task.encode(data.inputs, data.k, data.targets)


def _build(config: TrainConfig, task: PaperTask):
    import torch

    if config.model == "gpt2":
        from transformers import GPT2Config, GPT2Model

        class Released(torch.nn.Module):  # the released layout: GPT2Model under "backbone"
            def __init__(self):
                super().__init__()
                settings = GPT2Config(
                    vocab_size=task.vocabulary,
                    n_positions=task.seq_len,
                    n_embd=config.width,
                    n_layer=config.layers,
                    n_head=config.heads,
                    resid_pdrop=config.dropout,
                    embd_pdrop=config.dropout,
                    attn_pdrop=config.dropout,
                    use_cache=False,
                )
                self.backbone = GPT2Model(settings)

            def forward(self, tokens):
                return self.backbone(tokens).last_hidden_state

        return Released()

    kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[config.model]

    class Recurrent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(task.vocabulary, config.width)
            self.rnn = kind(config.width, config.width, num_layers=config.layers, batch_first=True)
            self.readout = torch.nn.Linear(config.width, task.vocabulary)

        def forward(self, tokens):
            return self.readout(self.rnn(self.embedding(tokens))[0])

    return Recurrent()


def _replace(path: Path, write) -> None:
    """Write through a temporary file in the same directory, then rename: never a partial file."""
    temporary = path.with_name(f".{path.name}.tmp")
    write(temporary)
    os.replace(temporary, path)


def _released_config(config: TrainConfig, task: PaperTask) -> dict:
    return {
        "model": {
            "family": "gpt2_model" if config.model == "gpt2" else config.model,
            "depth": config.layers,
            "dim_embedding": config.width,
            "headcount": config.heads,
            "vocab_size": task.vocabulary,
        },
        "training": {
            "task": "InductionHopsFullSequenceTask",
            "task_kwargs": asdict(task),
            "batch_size": config.batch,
            "learning_rate": config.lr,
            "warmup_steps": config.warmup,
            "train_steps": config.steps,
            "seed": config.seed,
            **({"samples": config.samples} if config.samples else {}),
        },
        "commlab": asdict(config),
    }


def train(config: TrainConfig, out: str | Path, progress: bool = True) -> dict:
    """Train (or resume) a run in ``out``; returns the last logged metrics.

    Raises
    ------
    InvalidParameter
        For bad settings, or an ``out`` that holds a run with other settings.
    """
    task = config.check()
    try:
        import torch
    except ImportError:
        raise InvalidParameter("training needs torch: pip install 'commlab[torch]'") from None
    import yaml

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = _released_config(config, task)
    if (out / "config.yaml").exists():
        previous = yaml.safe_load((out / "config.yaml").read_text()).get("commlab", {})
        changed = {
            k: (previous.get(k), v)
            for k, v in asdict(config).items()
            if k != "steps" and previous.get(k) != v
        }
        if changed:
            raise InvalidParameter(
                f"{str(out)!r} holds a run with other settings {changed}; use another --out"
            )
    _replace(out / "config.yaml", lambda p: p.write_text(yaml.safe_dump(settings, sort_keys=False)))

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(config.threads)  # small models on shared CPUs: one thread is many times faster
    torch.manual_seed(config.seed)
    model = _build(config, task).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)

    def schedule(step: int) -> float:
        if step < config.warmup:
            return (step + 1) / config.warmup
        return max(0.0, (config.steps - step) / max(1, config.steps - config.warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    start = 0
    if (out / "state.pt").exists():
        state = torch.load(out / "state.pt", map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])  # dropout masks continue as if never interrupted
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        start = int(state["step"])
    kept = _keep_metrics_through(out / "metrics.jsonl", start)
    # seconds of training before this call: known when every earlier call logged its time
    before = kept.get("elapsed_s", None if start else 0.0)
    fixed = _mixed(task, config.samples, config.seed) if config.samples else None

    def checkpoint(step: int) -> None:
        weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        _replace(out / "model.safetensors", lambda p: save_safetensors(p, weights, {"step": step}))
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "rng": torch.get_rng_state(),
            **({"cuda_rng": torch.cuda.get_rng_state_all()} if device.type == "cuda" else {}),
        }
        _replace(out / "state.pt", lambda p: torch.save(state, p))

    last: dict = {}
    bar = _Bar(config.steps, start, progress)
    model.train()
    began = time.perf_counter()
    with open(out / "metrics.jsonl", "a") as metrics, bar:
        for step in range(start, config.steps):
            inputs, targets = (torch.from_numpy(a).to(device) for a in _batch(task, config, step, fixed))
            logits = model(inputs)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                counted = (targets != task.bottom) & (targets != task.blank)
                wrong = ((logits.argmax(-1) != targets) & counted).sum().item()
                error = wrong / max(1, counted.sum().item())
            last = {"step": step + 1, "loss": loss.item(), "error": error, "lr": scheduler.get_last_lr()[0]}
            if before is not None:
                last["elapsed_s"] = round(before + time.perf_counter() - began, 3)
            metrics.write(json.dumps(last) + "\n")
            bar.update(last)
            if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
                metrics.flush()
                checkpoint(step + 1)
    last = last or kept  # a finished run trains nothing more: its last logged step
    return {**last, "device": str(device), "threads": config.threads, "out": str(out), "resumed_from": start}


def _keep_metrics_through(path: Path, step: int) -> dict:
    """Drop logged steps after the checkpoint a run resumes from (they are trained again); return
    the last step kept (``{}`` if none)."""
    if not path.exists():
        return {}
    kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    _replace(path, lambda p: p.write_text("".join(line + "\n" for line in kept)))
    return json.loads(kept[-1]) if kept else {}


class _Bar:
    """A rich progress bar on stderr showing loss and error (nothing when disabled)."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.enabled = total, done, enabled

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(stderr=True), transient=True)
            self.progress.__enter__()
            self.task = self.progress.add_task("training", total=self.total, completed=self.done)
        return self

    def update(self, last: dict) -> None:
        if self.enabled:
            description = f"loss {last['loss']:.3f} error {last['error']:.3f}"
            self.progress.update(self.task, advance=1, description=description)

    def __exit__(self, *exc):
        if self.enabled:
            self.progress.__exit__(*exc)
        return False


def depth_vs_k(
    out: str | Path,
    depths: list[int],
    *,
    k_max: int = 16,
    n: int = 100,
    width: int = 128,
    heads: int = 4,
    steps: int = 100_000,
    lr: float = 1e-4,
    warmup: int = 1000,
    dropout: float = 0.1,
    samples: int = 100,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """SHT24's experiment (§5, Fig. 2): train a GPT-2 of every depth on k ∈ 0..k_max, evaluate each
    per k (docs/evaluation.md, inference mode), and write ``out/results.json``.

    Each depth trains in ``out/depth{L}`` and resumes there, so depths can run in separate
    processes and a final call with all of them only evaluates and collects.
    """
    from commlab._version import __version__
    from commlab.models.released import evaluate_run

    out = Path(out)
    rows = []
    for depth in depths:
        config = TrainConfig(
            model="gpt2",
            layers=depth,
            width=width,
            heads=heads,
            k_max=k_max,
            n=n,
            steps=steps,
            lr=lr,
            warmup=warmup,
            dropout=dropout,
            seed=seed,
            checkpoint_every=max(1, steps // 10),
        )
        trained = train(config, out / f"depth{depth}", progress)
        result = evaluate_run(out / f"depth{depth}" / "model.safetensors", samples=samples, seed=seed)
        # seconds of training (None for runs that did not log them) and where it ran
        timing = {"train_seconds": trained.get("elapsed_s"), "device": trained["device"], "threads": trained["threads"]}
        rows.append({"depth": depth, "per_k": result["per_k"], **timing})
    results = {
        "experiment": "depth-vs-k",
        "settings": {
            "k_max": k_max,
            "n": n,
            "width": width,
            "heads": heads,
            "steps": steps,
            "lr": lr,
            "warmup": warmup,
            "dropout": dropout,
            "samples": samples,
        },
        "seed": seed,
        "mode": "inference",
        "depths": rows,
        "version": __version__,
    }
    _replace(out / "results.json", lambda p: p.write_text(json.dumps(results, indent=1)))
    return results


def rnn_bits(
    out: str | Path,
    cells: tuple[str, ...] = ("lstm", "gru"),
    widths: tuple[int, ...] = (8, 16, 32, 64),
    *,
    layers: int = 1,
    k_max: int = 4,
    n: int = 24,
    alphabet: int = 4,
    steps: int = 5000,
    lr: float = 3e-3,
    warmup: int = 100,
    samples: int = 200,
    seed: int = 0,
    c_value: float = 1.0,
    progress: bool = False,
) -> dict:
    """Trained recurrent models through the rnn reduction (issue 12 §5; SHT24 Cor 5.2).

    For every cell and state size m: train an ``layers``-layer model on hop_k in the paper's format
    (k ∈ 0..k_max, no dropout) in ``out/{cell}{m}``, import its weights
    (:func:`commlab.models.importers.torch_recurrent_model`, float32), and for every k = L+1..k_max
    compile it for k players holding contiguous blocks of the sequence, verify every message bit for
    bit and score its last-position prediction
    (:func:`reductions.experiment.reduce_on_paper_task`); also its error per k over all counted
    positions by the rule the depth-vs-k results use (docs/evaluation.md), so the two compare.
    Writes ``out/results.json`` and returns it. Runs resume like :func:`depth_vs_k`'s.

    Parameters
    ----------
    out : path
        Folder for the runs (``{cell}{m}``) and ``results.json``.
    cells : tuple of {"lstm", "gru", "rnn"}
    widths : tuple of int
        State sizes m.
    layers, k_max, n, alphabet, steps, lr, warmup : training settings (see :class:`TrainConfig`).
    samples : int
        Evaluation sequences per k.
    seed : int
        Training data, initialisation and evaluation sequences all derive from it.
    c_value : float
        The bound's constant c.
    progress : bool
        Show the training progress bar.

    Returns
    -------
    dict
        ``settings``, ``seed``, ``c`` and per model ``cell``, ``width``, ``parameters``,
        ``state_bits``, ``last_position`` (one row per k > L) and ``per_k`` (error over all positions).

    Raises
    ------
    InvalidParameter
        For a bad cell, width or setting (before anything is trained), or no torch.
    """
    from commlab._version import __version__
    from commlab.io.weights import read_weights
    from commlab.models.importers import torch_recurrent_model
    from commlab.models.released import error_per_k
    from reductions.experiment import reduce_on_paper_task

    if not isinstance(layers, int) or isinstance(layers, bool) or not 1 <= layers < k_max:
        raise InvalidParameter(f"need 1 <= --layers < --k-max so some k > L, got L = {layers}, k_max = {k_max}")
    if not cells or any(cell not in MODELS or cell == "gpt2" for cell in cells):
        raise InvalidParameter(f"cells must be some of lstm, gru, rnn, got {list(cells)}")
    configs = [
        TrainConfig(
            model=cell,
            layers=layers,
            width=width,
            k_max=k_max,
            n=n,
            alphabet=alphabet,
            steps=steps,
            lr=lr,
            warmup=warmup,
            dropout=0.0,
            seed=seed,
            checkpoint_every=max(1, steps // 5) if isinstance(steps, int) else 1,
        )
        for cell in cells
        for width in widths
    ]
    tasks = [config.check() for config in configs]  # every bad value refused before any training
    out = Path(out)
    models = []
    for config, task in zip(configs, tasks, strict=True):
        run_dir = out / f"{config.model}{config.width}"
        train(config, run_dir, progress)
        model = torch_recurrent_model(read_weights(run_dir / "model.safetensors"))
        last = [
            reduce_on_paper_task(model, task, k, samples=samples, seed=seed, c_value=c_value)
            for k in range(layers + 1, k_max + 1)
        ]
        every = error_per_k(lambda x, rng, model=model: model.logits(x), task, range(k_max + 1), samples, seed)
        models.append(
            {
                "cell": config.model,
                "layers": layers,
                "width": config.width,
                "parameters": config.parameters(task),
                "state_bits": last[0]["declared_bits_per_message"],
                "last_position": last,
                "per_k": every,
            }
        )
    results = {
        "experiment": "rnn-bits",
        "settings": {
            "layers": layers,
            "k_max": k_max,
            "n": n,
            "alphabet": alphabet,
            "steps": steps,
            "lr": lr,
            "warmup": warmup,
            "dropout": 0.0,
            "samples": samples,
            "format": "float32",
        },
        "seed": seed,
        "c": c_value,
        "mode": "inference",
        "models": models,
        "version": __version__,
    }
    _replace(out / "results.json", lambda p: p.write_text(json.dumps(results, indent=1)))
    return results
