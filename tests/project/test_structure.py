"""The structure docs/architecture.md promises, checked on the source (ast): no import cycles among the
project's modules (none at all, not even behind ``TYPE_CHECKING``, in the layered packages), no private
singer-sdk name used outside the one seam module, ``mautic_api`` free of singer-sdk, and no module-level
mutable state in ``mautic_api``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PACKAGES = ("mautic_api", "mautic_singer", "tap_mautic", "target_mautic", "mautic_sim")
# Packages whose modules import each other in one direction only, TYPE_CHECKING imports included: inner
# modules depend on small Protocols, never on the module that uses them.
LAYERED = ("mautic_api", "mautic_singer", "tap_mautic", "mautic_sim")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imports_of(name: str, path: Path, known: set[str], *, typing_too: bool = False) -> set[str]:
    """Every project module ``name`` imports at run time: at the top, inside functions, anywhere but under
    ``if TYPE_CHECKING:`` (an import inside a function still closes a cycle when it runs); with
    ``typing_too``, those under ``if TYPE_CHECKING:`` as well."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_block(node) and not typing_too:
            for child in getattr(node, "orelse", []):
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    out.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in known:
                    out.add(full)
                elif base in known:
                    out.add(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    out.discard(name)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                found = dfs(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = dfs(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_among_the_project_modules():
    found = modules()
    known = set(found)
    graph = {name: imports_of(name, path, known) for name, path in found.items()}
    assert len(graph) > 40
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_no_import_cycles_in_the_layered_packages_even_for_type_checking():
    found = modules()
    known = set(found)
    graph = {name: imports_of(name, path, known, typing_too=True) for name, path in found.items()
             if name.split(".")[0] in LAYERED}
    graph = {name: {m for m in deps if m in graph} for name, deps in graph.items()}
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_typing_cycle_finder_sees_type_checking_imports(tmp_path):
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from b import X\n"
    (tmp_path / "a.py").write_text(source)
    assert imports_of("a", tmp_path / "a.py", {"b"}) == set()
    assert imports_of("a", tmp_path / "a.py", {"b"}, typing_too=True) == {"b"}


# ----------------------------------------------------------------------------------- singer-sdk privates

# Where singer-sdk's private names may appear: the seam (every name pinned by tests/project/test_sdk_seam.py),
# and, until the lead moves them, target_mautic's current uses (empty this list, then drop it).
SEAM_MODULE = "mautic_singer/sdk.py"
NO_SDK_PRIVATES = ("mautic_api", "tap_mautic", "target_mautic", "mautic_sim", "scripts")


def sdk_private_names() -> frozenset[str]:
    """Every single-underscore name of the singer-sdk classes the project builds on (their whole MRO):
    class attributes and methods, and the attributes their code assigns on ``self`` (``self._config``)."""
    import inspect
    import textwrap

    from singer_sdk import RESTStream, Tap, Target
    from singer_sdk.pagination import BaseAPIPaginator
    from singer_sdk.plugin_base import SingerCommand
    from singer_sdk.singerlib.encoding.simple import SimpleSingerReader
    from singer_sdk.sinks import BatchSink

    names: set[str] = set()
    bases = (RESTStream, Tap, Target, BatchSink, SingerCommand, SimpleSingerReader, BaseAPIPaginator)
    for klass in {k for base in bases for k in base.__mro__ if k.__module__.startswith("singer_sdk")}:
        names |= {n for n in vars(klass) if n.startswith("_") and not n.startswith("__")}
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(klass)))):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name) and node.value.id == "self"
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                names.add(node.attr)
    return frozenset(names - {"_abc_impl"})


def private_sdk_uses(path: Path, private: frozenset[str]) -> list[tuple[int, str]]:
    """(line, name) of each private singer-sdk name ``path`` imports, calls, reads or overrides."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom | ast.Import):
            # isinstance, not a saved flag, so that the type checker narrows ``node``
            modules_ = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                        else [a.name for a in node.names])
            for module in modules_:
                if module.split(".")[0] == "singer_sdk":
                    parts = module.split(".") + ([a.name for a in node.names]
                                                 if isinstance(node, ast.ImportFrom) else [])
                    found += [(node.lineno, f"{module}:{p}") for p in parts
                              if p.startswith("_") and not p.startswith("__")]
        elif isinstance(node, ast.Attribute) and node.attr in private:
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in private:
            found.append((node.lineno, node.name))
    return found


def test_the_private_name_finder_finds_calls_imports_and_overrides(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("from singer_sdk.helpers._util import utc_now\nfrom singer_sdk import typing\n"
                      "class S:\n    def _increment_stream_state(self):\n        self._request(1)\n"
                      "        self.request_records(None)\n")
    uses = private_sdk_uses(sample, sdk_private_names())
    assert [line for line, _ in uses] == [1, 4, 5]


def test_no_private_sdk_name_outside_the_seam():
    private = sdk_private_names()
    assert {"_request", "_prepare_request", "_tap", "_config", "_write_state_message"} <= private
    bad = []
    for package in (*NO_SDK_PRIVATES, "mautic_singer"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == SEAM_MODULE:
                continue
            bad += [f"{rel}:{line} {name}" for line, name in private_sdk_uses(path, private)]
    assert bad == []


def test_mautic_api_imports_no_singer_sdk_and_no_plugin():
    """mautic_api reaches no plugin, no SDK and no simulator (a script needs none of them)."""
    for path in sorted((ROOT / "mautic_api").glob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        outward = {m for m in _imported_roots(path) if m in {"singer_sdk", "mautic_singer", "tap_mautic",
                                                            "target_mautic", "mautic_sim", "click"}}
        assert outward == set(), rel


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            roots.add((node.module or "").split(".")[0])
    return roots


MUTABLE_CALLS = frozenset({"set", "dict", "list", "defaultdict", "OrderedDict", "Counter", "deque",
                           "WeakValueDictionary", "WeakKeyDictionary", "WeakSet"})


def mutable_globals(path: Path) -> list[str]:
    """Module-level names bound to a mutable container (a literal list/dict/set or such a constructor)."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        mutable = isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp)
        if isinstance(value, ast.Call):
            func = value.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            mutable = called in MUTABLE_CALLS
        if mutable and not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            found += [ast.unparse(t) for t in targets]
    return found


def test_the_mutable_state_finder_finds_containers(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("A = {}\nB: set[str] = set()\nC = frozenset({1})\nD = (1, 2)\nE = [x for x in D]\n")
    assert mutable_globals(sample) == ["A", "B", "E"]


@pytest.mark.parametrize("path", sorted((ROOT / "mautic_api").glob("*.py")), ids=lambda p: p.name)
def test_no_module_level_mutable_state_in_mautic_api(path):
    assert mutable_globals(path) == []
