"""The structure of the package, measured by reading its imports (docs/model.md, "Architecture").

Every ``import`` and ``from ... import`` inside ``sim/`` counts, those inside functions too:
no module may reach itself again through them, no module imports another's private name,
and the solution method is decided in one place (the engine).
"""

import ast
import re
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SIM.rglob("*.py")}


def imports(name: str) -> list[tuple[str, str]]:
    """(module imported, name imported) for every import statement in module ``name``, at any depth."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
            found += [(target, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return [(t, n) for t, n in found if t == "sim" or t.startswith("sim.")]


def graph() -> dict[str, set[str]]:
    edges = {}
    for name in MODULES:
        targets = set()
        for target, imported in imports(name):
            submodule = f"{target}.{imported}"
            targets.add(submodule if submodule in MODULES else target)
        edges[name] = {t for t in targets if t in MODULES and t != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(root):
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_even_inside_functions():
    assert cycles(graph()) == []


def test_no_private_name_crosses_modules():
    crossing = [(name, target, imported) for name in MODULES for target, imported in imports(name)
                if imported.startswith("_") and not imported.startswith("__")]
    assert crossing == []


def test_the_engine_imports_nothing_above_it():
    above = {"sim.runner", "sim.results", "sim.comparison", "sim.uncertainty", "sim.sensitivity", "sim.sweeps",
             "sim.tables", "sim.statistics", "sim.plots", "sim.output", "sim.excel", "sim.summary", "sim.cli",
             "sim.case", "sim.scenario", "sim.shocks", "sim"}
    edges = graph()
    assert {(m, t) for m in MODULES if m.startswith("sim.engine") for t in edges[m] if t in above} == set()


def test_the_method_is_decided_in_one_place():
    """Only the engine names a method to act on it; elsewhere the scenario's method is only recorded."""
    deciding = re.compile(r"\.method\s*(==|!=|in\b)|[\"']gsim-linear[\"']\s*(==|!=|in\b)|(==|!=)\s*[\"']gsim-linear")
    offenders = [str(p.relative_to(SIM.parent)) for name, p in MODULES.items()
                 if not name.startswith("sim.engine") and deciding.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_modules_import_each_other_at_the_top():
    """Imports of tradesim's own modules inside functions only where they keep pandas and the command line's
    work off ``import sim`` (the package's lazy attributes, the CLI's commands); matplotlib, openpyxl and dask
    are imported inside the functions that draw or write with them."""
    nested = []
    for name, path in MODULES.items():
        if name in ("sim", "sim.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.level or (inner.module or "").startswith("sim")):
                        nested.append((name, node.name, inner.module))
    assert nested == []


def test_import_sim_stays_light():
    import subprocess
    import sys

    heavy = "('pandas', 'matplotlib', 'openpyxl', 'distributed')"
    code = f"import sim, sys; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=SIM.parent, check=True)
    assert out.stdout.strip() == "[]"
