"""The two tiers of STYLE.md, read from the imports of every module.

Core packages rank from the bottom floor up; a module may import only from lower ranks (or
its own package). Systems (one package per paper study) import the core, never each other.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "caloml"
# The core, bottom floor first. Equal ranks may not import each other.
# jets (Pythia 8 + FastJet generation) sits between sim and data: like the simulator's files,
# its files are generated and cached by caloml.data (caloml.data.jets.dataset_file). events
# (Pythia 8 events rendered twice, for CALPAGAN) sits above jets, whose Pythia and FastJet code
# it reuses, and below data (caloml.data.events.dataset_file).
CORE_RANKS = {
    "errors": 0, "outputs": 1, "checks": 1, "seeding": 1, "cli": 2, "io": 2, "sim": 3,
    "jets": 3.5, "events": 3.7, "data": 4, "observables": 4, "layers": 4, "training": 5,
    "plotting": 5, "benchmarking": 5,
}
# Every system package holds (a subset of) the same modules.
SYSTEM_MODULES = {"__init__", "config", "networks", "trainer", "experiment", "evaluation",
                  "figures", "benchmark"}
# Modules a system holds beyond that set, each with its reason. simreport.geant4: the packaged
# Geant4 reference of the CaloGAN geometry (digitised fixture, loader, separation powers).
# reco.baselines: the feature-based BDT and regression baselines the networks are compared
# with; reco.resampling: the ATLAS/CMS-like resampling study's work directory (§5.4).
SYSTEM_EXTRAS = {"simreport": {"geant4"}, "reco": {"baselines", "resampling"}}


def caloml_units():
    """Top-level units of caloml: packages (directories) and modules (files)."""
    return {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
            if (p.is_dir() and (p / "__init__.py").exists())
            or (p.suffix == ".py" and p.name != "__init__.py")}


SYSTEMS = sorted(caloml_units() - set(CORE_RANKS))


def module_name(path: pathlib.Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports(path: pathlib.Path):
    """``(name, lineno, inside_function)`` of every absolute import in a file.

    ``from a.b import c`` gives ``a.b.c`` when ``c`` is a caloml module, else ``a.b``.
    """
    tree = ast.parse(path.read_text())
    known = {module_name(p) for p in PACKAGE.rglob("*.py")}
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and not child.level and child.module:
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    found.append((full if full in known else child.module, child.lineno,
                                  in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def unit_of(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0].removesuffix(".py")


def caloml_modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def imported_units(name: str) -> str | None:
    bits = name.split(".")
    return bits[1] if bits[0] == "caloml" and len(bits) > 1 else None


def test_the_tiers_are_what_the_readme_draws():
    assert SYSTEMS == ["calogan", "calpagan", "gan3d", "jet_sr", "reco", "simreport", "srgan"]
    for system in SYSTEMS:
        modules = {p.stem for p in (PACKAGE / system).glob("*.py")}
        allowed = SYSTEM_MODULES | SYSTEM_EXTRAS.get(system, set())
        assert modules <= allowed, f"{system} has {modules - allowed}"
        assert (PACKAGE / system / "config.py").exists()


@pytest.mark.parametrize("path", caloml_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_downward_only(path):
    me = unit_of(path)
    entry_point = path.name == "__main__.py"
    for name, line, in_function in imports(path):
        unit = imported_units(name)
        if unit is None or unit == me:
            continue
        where = f"{path.relative_to(ROOT)}:{line} imports {name}"
        assert not in_function, f"{where} inside a function (no lazy imports of caloml)"
        if me in SYSTEMS:
            assert unit in CORE_RANKS, f"{where}: systems never import each other"
            continue
        assert unit in CORE_RANKS, f"{where}: the core never imports a system"
        if me == "sim":
            allowed = {"io", "errors"} | ({"cli"} if entry_point else set())
            assert unit in allowed, f"{where}: sim imports only io, errors and itself"
        assert CORE_RANKS[unit] < CORE_RANKS[me], f"{where}: an import running upward"


def test_only_entry_points_import_absl_flags():
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        # cli.py is the entry points' own support module (flag checks shared by all of them).
        if relative.parts[0] in ("train", "eval", "baselines", ".venv", "tests") \
                or path.name == "__main__.py" or relative == pathlib.Path("caloml/cli.py"):
            continue
        for name, line, _ in imports(path):
            if name == "absl.flags" or (name == "absl" and "flags" in path.read_text()
                                         .splitlines()[line - 1]):
                offenders.append(f"{relative}:{line}")
    assert offenders == []


def test_no_import_cycle_between_caloml_modules():
    graph = {}
    for path in caloml_modules():
        module = module_name(path)
        graph[module] = {name for name, _, _ in imports(path)
                         if name.startswith("caloml.") and name != module}
    known = set(graph)
    for module in graph:
        graph[module] = {n for n in graph[module] if n in known}
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
