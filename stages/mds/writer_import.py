"""Importing mosaicml-streaming's MDS writer and index merge without its dataset side.

`import streaming` runs the package's `__init__`, which imports StreamingDataset, its data loader,
the text, vision and multimodal datasets and through them transformers: about 5 s on a 2-core
machine, paid by every process of the write pass and by the publish pass. The writer needs none of
it (only its `torch.distributed` import remains, about 2 s). So `streaming` and `streaming.base` are
registered as packages whose `__init__` runs on first use of a name it defines (`from streaming
import StreamingDataset` in the same process still works) rather than on import of a submodule.
The modules are the library's own, loaded once. Python's `importlib.util.LazyLoader` cannot do
this: the import system reads a package's `__path__` to find its submodules, which would load it.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types

_DEFERRED = ("streaming", "streaming.base")


class _DeferredPackage(types.ModuleType):
    """A package whose `__init__` runs when a name it defines is first looked up."""

    def __getattr__(self, name: str):
        spec = self.__dict__["__spec__"]
        self.__class__ = types.ModuleType  # runs once, and a failed run is not retried on every lookup
        spec.loader.exec_module(self)
        return getattr(self, name)


def streaming_module(name: str) -> types.ModuleType:
    """`streaming.<...>` module `name`, imported without first running streaming's package __init__."""
    if "streaming" not in sys.modules:
        _register_deferred_packages()
        # The writer first: its imports reach `streaming.base.util` in the order the package's own
        # __init__ does; starting from util would meet util half-initialized through a cycle.
        importlib.import_module("streaming.base.format.mds.writer")
    return importlib.import_module(name)


def _register_deferred_packages() -> None:
    parent = None
    for package in _DEFERRED:
        spec = importlib.util.find_spec(package) if parent is None else _child_spec(parent, package)
        if spec is None or spec.submodule_search_locations is None:  # a layout this was not written for
            return
        module = importlib.util.module_from_spec(spec)
        module.__class__ = _DeferredPackage
        sys.modules[package] = module
        if parent is not None:
            setattr(parent, package.rsplit(".", 1)[1], module)
        parent = module


def _child_spec(parent: types.ModuleType, name: str):
    return importlib.machinery.PathFinder.find_spec(name, parent.__path__)
