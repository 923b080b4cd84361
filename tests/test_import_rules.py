"""The import rules of docs/architecture.md, checked on the source with `ast` (nothing imported).

Layers hold only while something checks them: `appliance/` never reaches for hardware, mocks,
benchmarks or tests; inside `appliance/emrtd` the protocol layer stays sans-I/O and knows no
file format, the LDS parsers know only TLV, the PKI knows no session, and the config is read
only at the CLI edge. Cycles among `appliance` modules are found with Tarjan's algorithm over
the module-level imports (those under `if TYPE_CHECKING:` do not run and are left out); the
layer rules count every import, wherever it stands in the module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: first-party top-level packages that the product must never import
NOT_FROM_APPLIANCE = ("drivers", "hardware_mocks", "benchmarks", "tests")
#: the CLI command modules of `appliance.emrtd`: the I/O edge, allowed to read the config
EMRTD_CLI = ("appliance.emrtd.commands", "appliance.emrtd.pki.commands")
#: cycles hidden behind a deferred import (inside a function or under `if TYPE_CHECKING:`),
#: known and scheduled to be broken; none left (issue #12 step 2 broke ledger <-> verify)
KNOWN_DEFERRED_CYCLES: set[frozenset[str]] = set()


@dataclass(frozen=True)
class Import:
    """One import statement's target module, as `importer` names it."""

    importer: str
    target: str
    line: int
    #: runs when the module is imported (not inside a function or `if TYPE_CHECKING:`)
    module_level: bool


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, module_level: bool) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, False)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield stmt, False
                yield from _walk(stmt, False)
            for stmt in child.orelse:
                yield stmt, module_level
                yield from _walk(stmt, module_level)
        else:
            yield child, module_level
            yield from _walk(child, module_level)


def imports_of(path: Path, root: Path, modules: set[str]) -> list[Import]:
    """Every import in the file; `from pkg import sub` names `pkg.sub` when that is a module."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    for node, level in _walk(ast.parse(path.read_text(), str(path)), True):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, node.lineno, level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = sub if sub in modules else base
                found.append(Import(name, target, node.lineno, level))
    return found


def scan(root: Path, package: str = "appliance") -> tuple[set[str], list[Import]]:
    files = sorted((root / package).rglob("*.py"))
    modules = {module_name(path, root) for path in files}
    found = [imp for path in files for imp in imports_of(path, root, modules)]
    return modules, found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def cycles(modules: set[str], found: Iterable[Import], deferred: bool = False) -> list[set[str]]:
    """Strongly connected components of more than one module (or a module importing itself),
    over the module-level imports, or over every import when `deferred`."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in found:
        if (imp.module_level or deferred) and imp.target in modules:
            graph[imp.importer].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan; the module graph is shallow enough to recurse
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def layer_violations(found: Iterable[Import], layer: str, allowed: tuple[str, ...]) -> list[str]:
    """Imports of first-party `appliance` modules from `layer` that `allowed` does not cover."""
    return [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in found
        if within(imp.importer, layer)
        and within(imp.target, "appliance")
        and not any(within(imp.target, ok) for ok in allowed)
    ]


@pytest.fixture(scope="module")
def graph() -> tuple[set[str], list[Import]]:
    return scan(ROOT)


def test_appliance_never_imports_hardware_mocks_benchmarks_or_tests(
    graph: tuple[set[str], list[Import]],
) -> None:
    _, found = graph
    bad = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in found
        if any(within(imp.target, top) for top in NOT_FROM_APPLIANCE)
    ]
    assert bad == []


def test_protocol_layer_imports_only_errors_ports_and_itself(
    graph: tuple[set[str], list[Import]],
) -> None:
    _, found = graph
    allowed = ("appliance.emrtd.protocol", "appliance.errors", "appliance.ports")
    assert layer_violations(found, "appliance.emrtd.protocol", allowed) == []


def test_lds_layer_imports_only_tlv_and_errors(graph: tuple[set[str], list[Import]]) -> None:
    _, found = graph
    # DG1 hands its lines to the MRZ package, the one owner of the MRZ field rules; DG2 asks
    # the pure header reader of `appliance.imaging` for a portrait's size before anyone decodes it
    allowed = (
        "appliance.emrtd.lds",
        "appliance.emrtd.protocol.tlv",
        "appliance.errors",
        "appliance.imaging",
        "appliance.mrz",
    )
    assert layer_violations(found, "appliance.emrtd.lds", allowed) == []


def test_pki_knows_no_session_reader_document_or_chip_protocols(
    graph: tuple[set[str], list[Import]],
) -> None:
    _, found = graph
    allowed = ("appliance.emrtd.pki", "appliance.emrtd.protocol", "appliance.emrtd.lds")
    core = [imp for imp in found if imp.importer != "appliance.emrtd.pki.commands"]
    assert layer_violations(core, "appliance.emrtd.pki", (*allowed, "appliance.errors")) == []
    # the `trust` CLI group is the I/O edge: it may also open the configured trust store and
    # read the operator's file through the bounded reader, and refuse as every command does
    cli_allowed = (
        *allowed,
        "appliance.errors",
        "appliance.cli_output",
        "appliance.config",
        "appliance.inputs",
        "appliance.wiring",
    )
    assert layer_violations(found, "appliance.emrtd.pki.commands", cli_allowed) == []


def test_chip_protocols_know_no_session_reader_or_document(
    graph: tuple[set[str], list[Import]],
) -> None:
    _, found = graph
    allowed = (
        "appliance.emrtd.chip",
        "appliance.emrtd.pki",
        "appliance.emrtd.protocol",
        "appliance.emrtd.lds",
        "appliance.errors",
    )
    assert layer_violations(found, "appliance.emrtd.chip", allowed) == []


def test_file_reader_and_session_stay_below_document_and_commands(
    graph: tuple[set[str], list[Import]],
) -> None:
    _, found = graph
    below = ("appliance.emrtd.protocol", "appliance.errors")
    assert layer_violations(found, "appliance.emrtd.file_reader", below) == []
    session_allowed = (
        *below,
        "appliance.emrtd.file_reader",
        "appliance.emrtd.lds",
        "appliance.emrtd.pki.checks",
        "appliance.emrtd.chip",
        "appliance.ports",
        "appliance.mrz",
    )
    assert layer_violations(found, "appliance.emrtd.session", session_allowed) == []


def test_only_the_emrtd_cli_modules_read_the_config(graph: tuple[set[str], list[Import]]) -> None:
    _, found = graph
    bad = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in found
        if within(imp.importer, "appliance.emrtd")
        and imp.importer not in EMRTD_CLI
        and within(imp.target, "appliance.config")
    ]
    assert bad == []


def test_only_the_cli_imports_the_emrtd_cli_modules(graph: tuple[set[str], list[Import]]) -> None:
    _, found = graph
    bad = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in found
        if imp.target in EMRTD_CLI and imp.importer != "appliance.cli"
    ]
    assert bad == []


def test_no_import_cycle_among_appliance_modules(graph: tuple[set[str], list[Import]]) -> None:
    modules, found = graph
    assert [sorted(c) for c in cycles(modules, found)] == []


def test_no_cycle_hidden_behind_a_deferred_import(graph: tuple[set[str], list[Import]]) -> None:
    """An import moved into a function or under TYPE_CHECKING to dodge a cycle is still one."""
    modules, found = graph
    hidden = cycles(modules, found, deferred=True)
    new = [sorted(c) for c in hidden if frozenset(c) not in KNOWN_DEFERRED_CYCLES]
    assert new == []


def test_private_file_writer_imports_nothing_of_the_appliance(
    graph: tuple[set[str], list[Import]],
) -> None:
    """`appliance.files` sits below every package that keeps a private file."""
    _, found = graph
    assert layer_violations(found, "appliance.files", ("appliance.files",)) == []


def test_signed_artefacts_stand_below_inspection(graph: tuple[set[str], list[Import]]) -> None:
    """A sync downlink must install policies and watchlists without the lane's code."""
    _, found = graph
    allowed = (
        "appliance.signed",
        "appliance.errors",
        "appliance.files",
        "appliance.history.events",
    )
    assert layer_violations(found, "appliance.signed", allowed) == []


def test_the_device_side_of_sync_ships_without_central() -> None:
    """`sync.device` is in the product wheel, `sync.central` is not: the device side (and the
    wire format it shares) must never need the central service, the mocks or the tests."""
    _, found = scan(ROOT, "sync")
    shipped = [imp for imp in found if not within(imp.importer, "sync.central")]
    bad = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in shipped
        if within(imp.target, "sync.central")
        or any(within(imp.target, pkg) for pkg in (*NOT_FROM_APPLIANCE, "drivers"))
    ]
    assert bad == []


def test_model_training_imports_no_benchmark() -> None:
    """Training and benchmarks share generators through `hardware_mocks`, not each other."""
    _, found = scan(ROOT, "models")
    bad = [f"{imp.importer}:{imp.line}" for imp in found if within(imp.target, "benchmarks")]
    assert bad == []


# -- the checker itself finds what it should ---------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> tuple[set[str], list[Import]]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return scan(tmp_path)


def test_checker_finds_cycles_but_not_type_checking_or_function_imports(tmp_path: Path) -> None:
    modules, found = _tree(
        tmp_path,
        {
            "appliance/__init__.py": "",
            "appliance/a.py": "from appliance import b\n",
            "appliance/b.py": "import appliance.c\n",
            "appliance/c.py": "from appliance.a import thing\n",
            "appliance/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from appliance import e\n",
            "appliance/e.py": "def f():\n    from appliance import d\n",
        },
    )
    assert cycles(modules, found) == [{"appliance.a", "appliance.b", "appliance.c"}]
    assert {"appliance.d", "appliance.e"} in cycles(modules, found, deferred=True)


def test_checker_finds_a_layer_violation_anywhere_in_a_module(tmp_path: Path) -> None:
    _, found = _tree(
        tmp_path,
        {
            "appliance/__init__.py": "",
            "appliance/emrtd/__init__.py": "",
            "appliance/emrtd/protocol/__init__.py": "",
            "appliance/emrtd/protocol/x.py": "from . import y\ndef f():\n"
            "    from appliance.emrtd.lds import dg1\n",
            "appliance/emrtd/protocol/y.py": "import hardware_mocks.pki\n",
            "appliance/emrtd/lds/__init__.py": "",
            "appliance/emrtd/lds/dg1.py": "",
        },
    )
    allowed = ("appliance.emrtd.protocol", "appliance.errors")
    violations = layer_violations(found, "appliance.emrtd.protocol", allowed)
    assert violations == ["appliance.emrtd.protocol.x:3 imports appliance.emrtd.lds.dg1"]
    assert any(imp.target == "hardware_mocks.pki" for imp in found)
