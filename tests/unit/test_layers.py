"""The layers of docs/ARCHITECTURE.md hold: no import cycle between modules or between
packages, no import from a lower layer into a higher one, and between domain packages
only the edges the document lists. The tables are read from the document itself (its
```layers and ```edges blocks), so code and document cannot drift apart. There is no
list of exceptions: every cycle fails.

Every `import` counts, including those inside functions (lazy imports are imports too).
"""

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "lib")
DOC = os.path.join(ROOT, "docs", "ARCHITECTURE.md")


# ---- reading the document -------------------------------------------------------------

def _blocks(text, kind):
    """The lines of every fenced block whose info string is `kind`, comments dropped."""
    lines = []
    for body in re.findall(rf"^```{kind}\n(.*?)^```", text, re.M | re.S):
        for line in body.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                lines.append(line)
    return lines


def read_architecture(text):
    """(layers, edges) from ARCHITECTURE.md's text.

    layers: unit -> (rank, layer name); a unit is a flat module or a package under rex
    (`__init__` is rex/__init__.py). edges: the allowed domain -> domain package edges."""
    layers = {}
    for rank, line in enumerate(_blocks(text, "layers")):
        name, *units = line.split()
        for unit in units:
            assert unit not in layers, f"{unit} listed in two layers"
            layers[unit] = (rank, name.rstrip(":"))
    edges = set()
    for line in _blocks(text, "edges"):
        source, arrow, *targets = line.split()
        assert arrow == "->" and targets, f"not 'PACKAGE -> PACKAGE...': {line}"
        edges |= {(source, target) for target in targets}
    return layers, edges


# ---- reading the code -----------------------------------------------------------------

def modules(lib=LIB):
    """{dotted module name: path} of every module of the rex package."""
    found = {}
    for directory, dirs, files in os.walk(os.path.join(lib, "rex")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                dotted = os.path.relpath(path, lib)[:-3].replace(os.sep, ".")
                found[dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return found


def imports(name, path, known):
    """{(imported rex module, line, third-party top-level name)}: every import in the module,
    at any depth (function-level lazy imports included). `from P import X` names the
    module P.X when X is one, else P."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add((child if child in known else source, node.lineno))
    return found


def graph(lib=LIB):
    """{module: {(imported rex module, line)}} and {module: {third-party top-level name}}."""
    known = modules(lib)
    internal, external = {}, {}
    for name, path in known.items():
        internal[name], external[name] = set(), set()
        for target, line in imports(name, path, known):
            if target == "rex" or target.startswith("rex."):
                internal[name].add((target, line))
            else:
                external[name].add(target.split(".")[0])
    return internal, external


def unit(module):
    """The layer unit of a module: its flat module or package under rex."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def cycles(edges):
    """The strongly connected components with more than one node (or a self-loop)."""
    index, low, stack, on, found = {}, {}, [], set(), []
    nodes = set(edges) | {t for ts in edges.values() for t in ts}

    def visit(v):   # Tarjan; the graphs are small, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                found.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def problems(internal, external, layers, allowed):
    """Every breach of the architecture, one line each (empty when the tree is sound)."""
    found = []
    for module in sorted(internal):
        if unit(module) not in layers:
            found.append(f"{module}: its unit {unit(module)!r} is in no layer of docs/ARCHITECTURE.md")
    module_edges = {m: {t for t, _ in targets if t != m} for m, targets in internal.items()}
    for component in cycles(module_edges):
        found.append("module import cycle: " + " -> ".join(component))
    unit_edges = {}
    for module, targets in sorted(internal.items()):
        for target, line in sorted(targets):
            a, b = unit(module), unit(target)
            if a == b or a not in layers or b not in layers:
                continue
            unit_edges.setdefault(a, set()).add(b)
            (rank_a, layer_a), (rank_b, layer_b) = layers[a], layers[b]
            where = f"{module} (line {line}) imports {target}"
            if rank_a < rank_b:
                found.append(f"{where}: upward, from {layer_a} into {layer_b}")
            elif rank_a == rank_b and layer_a == "domains" and (a, b) not in allowed:
                found.append(f"{where}: domain edge {a} -> {b} not listed in docs/ARCHITECTURE.md")
    for component in cycles(unit_edges):
        found.append("package import cycle: " + " -> ".join(component))
    for module, names in sorted(external.items()):
        if "click" in names and unit(module) not in ("cli", "commands"):
            found.append(f"{module} imports click: only cli and commands speak click")
    return found


# ---- the tests ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def architecture():
    with open(DOC, encoding="utf-8") as f:
        return read_architecture(f.read())


def test_the_tree_keeps_the_documented_layers(architecture):
    internal, external = graph()
    assert problems(internal, external, *architecture) == []


def test_the_document_names_real_units_and_edges(architecture):
    layers, allowed = architecture
    units = {unit(m) for m in modules()}
    assert sorted(set(layers) - units) == [], "layers name units that do not exist"
    for a, b in allowed:
        assert layers.get(a, (0, ""))[1] == layers.get(b, (0, ""))[1] == "domains", (a, b)


def test_the_document_lists_no_exception():
    """Every breach is fixed, not excused: the document holds no table of exceptions."""
    with open(DOC, encoding="utf-8") as f:
        assert "```exceptions" not in f.read()


LAYERS = {"errors": (0, "base"), "config": (1, "core"), "pg": (2, "domains"),
          "backups": (2, "domains"), "cli": (3, "cli")}


def _breaches(edges, allowed=()):
    internal = {m: set() for m in ["rex.errors", "rex.config", "rex.config.load", "rex.pg.dump",
                                   "rex.backups.sets", "rex.backups.verify", "rex.cli"]}
    for source, target in edges:
        internal[source].add((target, 1))
    return problems(internal, {}, LAYERS, set(allowed))


def test_a_module_cycle_fails():
    found = _breaches([("rex.config", "rex.config.load"), ("rex.config.load", "rex.config")])
    assert found == ["module import cycle: rex.config -> rex.config.load"]


def test_a_package_cycle_fails_even_when_the_modules_do_not_loop():
    found = _breaches([("rex.pg.dump", "rex.backups.sets"), ("rex.backups.verify", "rex.pg.dump")],
                      allowed=[("pg", "backups"), ("backups", "pg")])
    assert found == ["package import cycle: backups -> pg"]


def test_an_upward_import_fails_lazy_or_not():
    found = _breaches([("rex.config.load", "rex.pg.dump"), ("rex.errors", "rex.cli")])
    assert len(found) == 2 and all("upward" in line for line in found), found


def test_an_unlisted_domain_edge_fails_and_a_listed_one_passes():
    assert len(_breaches([("rex.backups.verify", "rex.pg.dump")])) == 1
    assert _breaches([("rex.backups.verify", "rex.pg.dump")], allowed=[("backups", "pg")]) == []


def test_lazy_imports_are_read(tmp_path):
    package = tmp_path / "rex"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "errors.py").write_text("def f():\n    from .sub import deep\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "deep.py").write_text("from .. import errors\nimport click\n")
    internal, external = graph(str(tmp_path))
    assert {t for t, _ in internal["rex.errors"]} == {"rex.sub.deep"}
    assert {t for t, _ in internal["rex.sub.deep"]} == {"rex.errors"}
    assert external["rex.sub.deep"] == {"click"}
    found = problems(internal, external, {"__init__": (0, "base"), "errors": (0, "base"),
                                          "sub": (2, "domains")}, set())
    assert any("upward" in f for f in found) and any("cycle" in f for f in found)
    assert any("click" in f for f in found)
