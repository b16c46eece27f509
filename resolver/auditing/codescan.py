"""What a project's code executes and imports, read with Python's ``ast`` (never regexes over source).

Pure: source text in, uses out. A **literal command** is a string the code itself names as the
program to run, found in one of these places (anything else, a command computed at run time, is
listed as *dynamic*, never guessed):

- the command argument of an execution call: ``processutils.execute``, ``utils.execute``,
  ``self._execute``, os-brick's ``execute_root``/``custom_execute`` (privsep helpers), ``trycmd``,
  neutron's ``create_process``/``AsyncProcess``, ``subprocess.run|call|check_call|check_output|
  Popen|getoutput|getstatusoutput`` and ``os.system|popen|exec*|spawn*``;
- the command argument is taken when it is a string (its first word), a list or tuple whose first
  element is a string, ``[...] + rest``, a conditional of those, or a name bound to one of those
  in the same function or at module level (``cmd = ['dnsmasq', ...]``; ``RADVD_CMD = 'radvd'``);
- the list returned by a process callback (a function whose name ends in ``callback``: neutron's
  ``ProcessManager`` runs what ``default_cmd_callback`` returns);
- the executable of each filter in a rootwrap ``*.filters`` file (``EnvFilter``: the program after
  the environment assignments);
- the program a dispatcher runs by type: ``mkfs -t vfat`` runs ``mkfs.vfat``, ``mount -t nfs``
  ``mount.nfs``, ``fsck -t ext4`` ``fsck.ext4``; a type given as a parameter is taken from what the
  project's calls pass for it (literals, names bound to them, ``d.get(k, default)``'s default),
  followed through callers that pass their own parameter on.

A **file read** is an absolute path the code reads: the first argument of ``open``,
``os.path.exists|isfile|isdir``, ``os.access``, ``os.listdir``, ``glob.glob``, ``shutil.copy*``, of
``pathlib.Path(X).read_text|exists|glob...``, or a file argument of ``cat``/``head``/``ls``; given as
a literal, a list of them (alternatives), a name bound to one (in the function, at module level, or
as a loop's target) or ``os.path.join`` of those; and the default of a ``StrOpt``/``ListOpt``. Paths
the service writes itself or the kernel serves are not reads of a package's file
(``code_uses.read_path``).

A **module import** is ``import x``/``from x import y`` (not under ``if TYPE_CHECKING``) or
``importutils.import_module('x')``/``try_import``/``importlib.import_module`` with a literal name;
only the top-level name is kept.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from .code_calls import PARAM, CallScan, dispatching_functions, wrapper_functions
from .code_uses import CommandUse, DynamicUse, FileUse, ImportUse, ProjectUses, command_name, module_of

_FILTER_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)\s*[:=]\s*(?P<kind>\w+)\s*,\s*(?P<rest>.*)$")


def scan_sources(files: Iterable[tuple[str, str]]) -> ProjectUses:
    """Every use in a project's files, given as (path, text): Python files and rootwrap ``*.filters``.

    Two passes over the parsed files: the first finds the project's own wrapper functions (by
    name), the second reads every call. A command taken from a configuration option is resolved to
    the option's default (``CONF.mkisofs_cmd`` -> genisoimage) when the project defines one."""
    trees: list[tuple[str, ast.Module]] = []
    commands: list[CommandUse] = []
    reads: list[FileUse] = []
    unparsed: list[str] = []
    for path, text in files:
        if path.endswith(".filters"):
            commands.extend(scan_filters(text, path))
            continue
        try:
            trees.append((path, ast.parse(text, filename=path)))
        except (SyntaxError, ValueError):
            unparsed.append(path)  # a template named .py, or Python 2
    wrappers: dict[str, int] = {}
    dispatching: set[str] = set()
    for _, tree in trees:
        wrappers.update(wrapper_functions(tree))
        dispatching |= dispatching_functions(tree)
    dynamic: list[DynamicUse] = []
    imports: list[ImportUse] = []
    options: dict[str, str] = {}
    calls: dict[str, list[str]] = {}
    dispatches: list[tuple[str, tuple[str, str, str, int, int]]] = []
    call_values: list[tuple[str, str, tuple[str, ...], tuple[frozenset[str], ...], dict[str, frozenset[str]]]] = []
    for path, tree in trees:
        scan = CallScan(path, tree, wrappers, frozenset(dispatching))
        scan.visit(tree)
        commands.extend(scan.commands)
        reads.extend(scan.files)
        dispatches.extend((path, d) for d in scan.dispatches)
        call_values.extend(scan.call_values)
        dynamic.extend(scan.dynamic)
        imports.extend(scan.imports)
        options.update(scan.options)
        for target, site in scan.calls:
            calls.setdefault(target, []).append(site)
    resolved = []
    for use in dynamic:
        name = command_name(options.get(use.option or "", "").split(" ")[0])
        if name:
            commands.append(CommandUse(name, use.path, use.line, f"{use.via} (default of option {use.option})",
                                       _function_at(trees, use.path, use.line)))
        else:
            resolved.append(use)
    for path, (program, function, parameter, index, line) in dispatches:
        # swap is never a type of mkfs: the callers branch to mkswap for it (nova, ironic)
        for kind in sorted(_passed(path, function, parameter, index, call_values) - {"swap"}):
            name = command_name(f"{program}.{kind}")
            if name:
                commands.append(CommandUse(name, path, line, f"{program} -t {kind} (runs {name})", function))
    commands = [replace(use, callers=_callers(use.path, use.function, calls)) for use in commands]
    reads = [replace(use, callers=_callers(use.path, use.function, calls)) for use in reads]
    key = lambda use: (use.path, use.line)  # noqa: E731 - one sort key for four lists
    return ProjectUses(tuple(sorted(commands, key=key)), tuple(sorted(resolved, key=key)),
                       tuple(sorted(imports, key=key)), tuple(sorted(unparsed)), tuple(sorted(reads, key=key)))


def _passed(path: str, function: str, parameter: str, index: int,
            call_values: Iterable[tuple[str, str, tuple[str, ...], tuple[frozenset[str], ...],
                                        dict[str, frozenset[str]]]], depth: int = 3) -> set[str]:
    """The literal values the project's calls pass for a function's parameter: a dispatcher's type
    (``unprivileged_mkfs('vfat', ...)`` in nova/virt/configdrive.py), followed through callers that
    pass their own parameter on (``mkfs(fs, path)`` -> ``unprivileged_mkfs(fs, path)``), ``depth``
    levels up. A module-level function is matched by its dotted name, a method by ``self.NAME`` in
    its own file."""
    name = function.rpartition(".")[2]
    dotted = f"{module_of(path)}.{function}"
    found: set[str] = set()
    calls = list(call_values)
    for callee, site, caller_params, args, kwargs in calls:
        caller_path, _, caller_function = site.split(":", 2)
        same_file = caller_path == path and callee in (name, f"self.{name}", f"cls.{name}")
        if not (callee == dotted or callee.endswith(f".{dotted}") or same_file
                or (callee.rpartition(".")[2] == name and dotted.endswith(callee))):
            continue
        values = kwargs.get(parameter) or (args[index] if index < len(args) else frozenset())
        for value in values:
            if not value.startswith(PARAM):
                found.add(value)
            elif depth and value.removeprefix(PARAM) in caller_params:
                outer = value.removeprefix(PARAM)
                found |= _passed(caller_path, caller_function, outer, caller_params.index(outer), calls, depth - 1)
    return found


def _callers(path: str, function: str, calls: Mapping[str, list[str]], depth: int = 3) -> tuple[str, ...]:
    """Call sites of a module-level function, then of the module-level functions those sites
    are in, ``depth`` levels up. A site reached through others is written ``site<via<...``
    (``nova/virt/disk/api.py:64:mkfs<nova/privsep/fs.py:310:mkfs``): the nearest caller first."""
    if not function or depth == 0:
        return ()
    # a nested function (extend.safe_resize2fs) runs when its enclosing function does; a method
    # counts from where its class is used
    found: list[str] = []
    for site in calls.get(f"{module_of(path)}.{function.partition('.')[0]}", ()):
        found.append(site)
        caller_path, _, caller_function = site.split(":", 2)
        if caller_path != path or caller_function.partition(".")[0] != function.partition(".")[0]:
            found.extend(f"{outer}<{site}" for outer in _callers(caller_path, caller_function, calls, depth - 1))
    return tuple(dict.fromkeys(found))


def _function_at(trees: list[tuple[str, ast.Module]], path: str, line: int) -> str:
    """The qualified name of the innermost function or class holding a line."""
    tree = next(t for p, t in trees if p == path)
    names: list[str] = []
    node: ast.AST = tree
    while True:
        inner = next((child for child in ast.iter_child_nodes(node)
                      if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and child.lineno <= line <= (child.end_lineno or child.lineno)), None)
        if inner is None:
            return ".".join(names)
        names.append(inner.name)
        node = inner


def scan_filters(text: str, path: str) -> tuple[CommandUse, ...]:
    """Programs named by a rootwrap filters file (oslo.rootwrap's ``name: FilterClass, exe, user, args``)."""
    found = []
    section = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        if section != "Filters" or not stripped or stripped.startswith("#") or line[0].isspace():
            continue
        match = _FILTER_LINE.match(stripped)
        if not match:
            continue
        fields = [f.strip() for f in match["rest"].split(",")]
        program = fields[0] if fields else ""
        if match["kind"] == "KillFilter":
            # KillFilter, USER, exe-it-may-signal...: what runs is kill itself
            program = "kill"
        elif match["kind"] == "EnvFilter":
            # EnvFilter, env, USER, VAR=, ..., program, args: the program is what env runs
            program = next((f for f in fields[2:] if f and "=" not in f), "")
        name = command_name(program)
        if name:
            found.append(CommandUse(name, path, number, f"rootwrap {match['kind']}"))
    return tuple(found)
