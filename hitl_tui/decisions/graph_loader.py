"""Load the graph named in config.toml (`module:attr` or `path/file.py:attr`, like langgraph.json) and bind it
to a checkpointer on the shared DB.

The attribute may be a compiled graph (copied with our checkpointer), an uncompiled StateGraph (compiled here
with the configured breakpoints), or a factory called as `factory(checkpointer)` that returns a compiled graph.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from hitl_tui.config import Config, GraphConfig
from hitl_tui.db_target import DbTarget
from hitl_tui.errors import GraphLoadError


def _import_target(spec: str, base: Path | None) -> Any:
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise GraphLoadError(f"Graph {spec!r} must look like 'package.module:attribute' or 'path/file.py:attribute'.")
    try:
        path = _graph_file(module_part, base)
        if path is not None:
            if not path.is_file():
                raise GraphLoadError(f"Graph file {path} does not exist.")
            name = f"hitl_graph_{abs(hash(str(path.resolve())))}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            if module_spec is None or module_spec.loader is None:
                raise GraphLoadError(f"Graph file {path} can't be imported.")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_part)
    except GraphLoadError:
        raise
    except Exception as err:  # user code: any import-time error becomes one sentence
        raise GraphLoadError(f"Importing graph {spec!r} failed: {type(err).__name__}: {err}.") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise GraphLoadError(f"Graph {spec!r}: module has no attribute {attr!r}.") from None


def _graph_file(module_part: str, base: Path | None) -> Path | None:
    """The file a `path/file.py:attr` spec names, or None for a module spec."""
    if not (module_part.endswith(".py") or "/" in module_part):
        return None
    path = Path(module_part)
    return base / path if not path.is_absolute() and base is not None else path


def check_graph_targets(config: Config) -> None:
    """Every configured graph's module or file can be found (without running it): a typo is reported when the
    config loads, in one sentence, instead of after a decision was committed and its resume failed."""
    base = config.source.resolve().parent if config.source else None
    where = f"Config file {config.source}" if config.source else "The config"
    for graph in config.graphs.values():
        if graph.graph is None:
            continue
        module_part, sep, attr = graph.graph.rpartition(":")
        if not sep or not module_part or not attr:
            raise GraphLoadError(f"{where}: graphs.{graph.name}.graph = {graph.graph!r} must look like "
                                 "'package.module:attribute' or 'path/file.py:attribute'.")
        path = _graph_file(module_part, base)
        if path is not None:
            if not path.is_file():
                raise GraphLoadError(f"{where}: graphs.{graph.name}.graph names the file {path}, which does not "
                                     "exist.")
            continue
        try:
            found = importlib.util.find_spec(module_part) is not None
        except (ImportError, ValueError):  # a parent package is missing, or the name is malformed
            found = False
        except Exception as err:  # finding a submodule imports its parent packages, which may raise
            raise GraphLoadError(f"{where}: graphs.{graph.name}.graph: importing the package of "
                                 f"{module_part!r} failed: {type(err).__name__}: {err}.") from None
        if not found:
            raise GraphLoadError(f"{where}: graphs.{graph.name}.graph names the module {module_part!r}, which "
                                 "can't be found; check the spelling and that it is installed here.")


def bind_graph(target: Any, checkpointer: Any, graph: GraphConfig) -> Any:
    """A compiled graph that uses `checkpointer`."""
    from langgraph.graph import StateGraph
    from langgraph.pregel import Pregel

    try:
        if isinstance(target, Pregel):
            return target.copy(update={"checkpointer": checkpointer})
        if isinstance(target, StateGraph):
            return target.compile(
                checkpointer=checkpointer,
                interrupt_before=list(graph.interrupt_before) or None,
                interrupt_after=list(graph.interrupt_after) or None,
            )
        if callable(target):
            built = target(checkpointer)
            if not isinstance(built, Pregel):
                raise GraphLoadError(f"Graph factory for {graph.name!r} returned {type(built).__name__}, not a graph.")
            return built
    except GraphLoadError:
        raise
    except Exception as err:
        raise GraphLoadError(f"Building graph {graph.name!r} failed: {type(err).__name__}: {err}.") from None
    raise GraphLoadError(f"Graph {graph.name!r} is a {type(target).__name__}, not a graph, StateGraph or factory.")


class GraphRegistry:
    """Compiled graphs per graph id, bound to one checkpointer on the shared DB; built on first use."""

    def __init__(self, config: Config, db_path: DbTarget) -> None:
        self.config = config
        self.db_path = db_path
        self._graphs: dict[str, Any] = {}
        self._saver: Any = None

    def can_load(self, graph_id: str | None) -> bool:
        graph = self.config.graph(graph_id)
        return graph is not None and graph.graph is not None

    def get(self, graph_id: str | None) -> Any:
        graph = self.config.graph(graph_id)
        if graph is None or graph.graph is None:
            raise GraphLoadError(f"config.toml names no graph to load for {graph_id!r}.")
        if graph.name not in self._graphs:
            base = self.config.source.resolve().parent if self.config.source else None
            self._graphs[graph.name] = bind_graph(_import_target(graph.graph, base), self.saver, graph)
        return self._graphs[graph.name]

    @property
    def saver(self) -> Any:
        if self._saver is None:
            from hitl_tui.decisions.backend import open_saver

            self._saver = open_saver(self.db_path)  # SqliteSaver, or PostgresSaver for a postgresql:// URL
        return self._saver

    def breakpoints(self, graph_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The compiled graph's own breakpoint nodes, for graphs configured without explicit lists."""
        compiled = self.get(graph_id)
        before = compiled.interrupt_before_nodes
        after = compiled.interrupt_after_nodes
        return (tuple(before) if isinstance(before, list | tuple) else (),
                tuple(after) if isinstance(after, list | tuple) else ())

    def close(self) -> None:
        if self._saver is not None:
            self._saver.conn.close()
            self._saver = None
