"""The import graph has no circles, and each layer imports only what is below it.

`lint-imports` (in `make lint`) checks the layers of ARCHITECTURE.md between folders; this
checks what it does not: no two modules anywhere import each other, directly or around a loop.
"""

from __future__ import annotations

import grimp
import pytest


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("service", "parsers")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    found: list[list[str]] = []
    modules = sorted(graph.modules)
    colour: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        colour[module] = 1
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if colour.get(imported) == 1:
                found.append([*path[path.index(imported) :], imported])
            elif imported not in colour:
                visit(imported, [*path, imported])
        colour[module] = 2

    for module in modules:
        if module not in colour:
            visit(module, [module])
    return found


def test_no_module_imports_itself_around_a_loop(graph: grimp.ImportGraph) -> None:
    assert _cycles(graph) == []


def test_the_loop_finder_sees_a_loop() -> None:
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.z")
    graph.add_import(importer="a.z", imported="a.x")
    assert _cycles(graph) == [["a.x", "a.y", "a.z", "a.x"]]


def test_parsers_never_import_the_service(graph: grimp.ImportGraph) -> None:
    assert not graph.chain_exists(importer="parsers", imported="service", as_packages=True)


def test_handlers_never_import_the_pipeline_or_the_programs(graph: grimp.ImportGraph) -> None:
    for low in ("service.core", "service.mail", "service.context", "service.minutes", "service.items"):
        for high in ("service.pipeline", "service.routes", "service.daemon", "service.cli"):
            assert not graph.chain_exists(importer=low, imported=high, as_packages=True), (low, high)


def test_the_route_table_in_the_docs_is_the_one_the_code_runs() -> None:
    from pathlib import Path

    from service import routes

    documented = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in (routes.__doc__ or "").splitlines()
        if line.startswith("|") and not line.startswith(("| what", "|--"))
    ]
    assert len(documented) == len(routes.ROUTES)
    for (what, who, state, _), row in zip(documented, routes.ROUTES, strict=True):
        assert (what, who, state) == (row.what.value, row.who.value, str(row.state))
    architecture = (Path(__file__).resolve().parent.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert (routes.__doc__ or "").split("| what", 1)[1].strip() in architecture
    for folder in ("service/core", "service/mail", "service/minutes", "service/items", "parsers"):
        assert folder in architecture
