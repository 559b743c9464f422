"""The registry of reductions: built-in ones by name, plugins through the entry-point group
``commlab.reductions``; a name registered twice fails loudly."""

from __future__ import annotations

from abc import ABC, abstractmethod
from importlib.metadata import entry_points
from typing import Any, ClassVar

from commlab.engine.protocol import Protocol
from commlab.errors import RegistryError

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "Reduction", "get_reduction", "load_plugins", "register"]

ENTRY_POINT_GROUP = "commlab.reductions"


class Reduction(ABC):
    """How one family of models compiles into (k, R, s) blackboard protocols.

    A reduction declares its ``name``, the ``family`` of models it accepts (in words), the
    ``bound`` it implies (text), its ``references``, how the model's parameters give R and s, and
    its compile step. :func:`reductions.compile_to_protocol` runs its :meth:`validate` first and
    refuses the model with every reason at once.
    """

    name: ClassVar[str]
    family: ClassVar[str]
    bound: ClassVar[str]
    references: ClassVar[str] = ""
    #: Whether the compiled protocol's s grows with the sequence length (a Longformer's globals,
    #: full attention's keys and values): then no fixed-s critical length N* exists.
    message_grows_with_n: ClassVar[bool] = False

    @abstractmethod
    def validate(self, model: Any) -> list[str]:
        """Every reason this reduction cannot compile ``model`` (empty: it can)."""

    def expects(self, model: Any, kind: type, what: str | None = None) -> list[str]:
        """The first check of a validation: the problem if ``model`` is not a ``kind`` (empty if it is)."""
        if isinstance(model, kind):
            return []
        return [f"the {self.name} reduction compiles {what or 'a ' + kind.__name__}, got {type(model).__name__}"]

    @abstractmethod
    def rounds(self, model: Any) -> int:
        """R: the rounds the compiled protocol uses."""

    @abstractmethod
    def bits_per_message(self, model: Any, k: int, blocks: list[tuple[int, int]] | None = None) -> int:
        """s: the largest message of the compiled protocol with k players. Reductions whose s
        depends on the partition itself (the Longformer's: the global positions each block holds)
        need ``blocks``; the others ignore it."""

    @abstractmethod
    def compile(self, model: Any, blocks: list[tuple[int, int]]) -> Protocol:
        """The protocol for players holding the contiguous ``blocks`` (speaking order, P_k first)."""


REGISTRY: dict[str, Reduction] = {}


def register(cls: type[Reduction]) -> type[Reduction]:
    """Class decorator: add a reduction to the registry under ``cls.name``.

    Raises
    ------
    RegistryError
        If the name is taken (rename one of them, or unregister the old one first).
    """
    if not getattr(cls, "name", None):
        raise RegistryError(f"{cls.__name__} needs a class attribute 'name' to be registered")
    if cls.name in REGISTRY:
        raise RegistryError(
            f"a reduction named {cls.name!r} is already registered ({type(REGISTRY[cls.name]).__module__}."
            f"{type(REGISTRY[cls.name]).__name__}); give {cls.__module__}.{cls.__name__} another name"
        )
    REGISTRY[cls.name] = cls()
    return cls


_loaded_plugins: set[str] = set()


def load_plugins() -> list[str]:
    """Import every reduction other packages declare under the entry-point group
    ``commlab.reductions`` (value ``package.module:ReductionClass``); importing registers it.

    Returns
    -------
    list of str
        The entry points loaded by this call.
    """
    loaded = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        key = f"{point.name}={point.value}"
        if key in _loaded_plugins:
            continue
        _loaded_plugins.add(key)
        target = point.load()
        if isinstance(target, type) and issubclass(target, Reduction) and target.name not in REGISTRY:
            register(target)
        loaded.append(point.name)
    return loaded


def get_reduction(name: str) -> Reduction:
    """The registered reduction called ``name``."""
    load_plugins()
    if name not in REGISTRY:
        raise RegistryError(f"no reduction named {name!r}; registered: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]
