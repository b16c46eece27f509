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
  the environment assignments).

A **module import** is ``import x``/``from x import y`` (not under ``if TYPE_CHECKING``) or
``importutils.import_module('x')``/``try_import``/``importlib.import_module`` with a literal name;
only the top-level name is kept.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

#: calls whose first argument is a command, whatever object they are called on
_EXECUTE_NAMES = frozenset({"execute", "_execute", "execute_root", "custom_execute", "trycmd",
                            "create_process", "AsyncProcess"})
#: calls that run a command only when called on these modules
_MODULE_CALLS = {
    "subprocess": frozenset({"run", "call", "check_call", "check_output", "Popen", "getoutput",
                             "getstatusoutput"}),
    "os": frozenset({"system", "popen", "execv", "execve", "execvp", "execvpe", "execl", "execlp",
                     "execle", "execlpe", "spawnv", "spawnvp", "spawnl", "spawnlp"}),
}
_IMPORT_CALLS = frozenset({"import_module", "try_import", "import_class", "import_object"})
#: what a program name looks like (a word, or an absolute path to one); SQL, format strings and
#: sentences passed to other ``execute`` methods do not
COMMAND_NAME = re.compile(r"^(/[A-Za-z0-9_.+-]+)*/?[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_FILTER_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)\s*[:=]\s*(?P<kind>\w+)\s*,\s*(?P<rest>.*)$")


@dataclass(frozen=True)
class CommandUse:
    """A program the code runs: ``command`` is its name (``iscsiadm``), ``path:line`` where,
    ``function`` the function it is in (``Class.method``; empty at module level), and ``callers``
    the call sites (``path:line:function``, two levels up) of that function when it is a
    module-level function other modules call by name (``nova.privsep.fs.mount``)."""

    command: str
    path: str
    line: int
    via: str
    function: str = ""
    callers: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class DynamicUse:
    """An execution call whose command is computed at run time (listed, not guessed); ``option``
    names the configuration option it comes from (``CONF.mkisofs_cmd``), when it does."""

    path: str
    line: int
    via: str
    option: str | None = None


@dataclass(frozen=True)
class ImportUse:
    module: str
    path: str
    line: int


@dataclass(frozen=True)
class ProjectUses:
    """What a project's files use: commands, computed commands, imports, and the files Python
    could not parse (listed, so nothing is skipped silently)."""

    commands: tuple[CommandUse, ...]
    dynamic: tuple[DynamicUse, ...]
    imports: tuple[ImportUse, ...]
    unparsed: tuple[str, ...] = ()


def command_name(text: str) -> str | None:
    """``iscsiadm`` stays; an absolute path stays whole (``/lib/udev/scsi_id``: it is looked up as
    that file); ``bin/x`` -> ``x``; None for what is not a program name."""
    if not COMMAND_NAME.match(text) or text.isupper() or text.endswith("/"):
        return None
    return text if text.startswith("/") else text.rpartition("/")[2]


def module_of(path: str) -> str:
    """``nova/privsep/fs.py`` -> ``nova.privsep.fs`` (a package's ``__init__.py`` is the package)."""
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain; ``?`` stands for anything else (``self.x()``)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    parts.append(node.id if isinstance(node, ast.Name) else "?")
    return ".".join(reversed(parts))


class _Scan(ast.NodeVisitor):
    def __init__(self, path: str, tree: ast.Module, wrappers: Mapping[str, int]):
        self.path = path
        self.wrappers = wrappers
        self.commands: list[CommandUse] = []
        self.dynamic: list[DynamicUse] = []
        self.imports: list[ImportUse] = []
        self.options: list[tuple[str, str]] = []
        self.module_names = _bindings(tree.body)
        #: attributes bound in class bodies (``LVM_CMD_PREFIX = ['env', 'LC_ALL=C']``), any class of the file
        self.class_names: dict[str, list[ast.AST]] = {}
        #: functions and methods of the file by name (their returns can be a command list)
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, node)
            if isinstance(node, ast.ClassDef):
                for attribute, values in _bindings(node.body).items():
                    self.class_names.setdefault(attribute, []).extend(values)
        self.scopes: list[dict[str, list[ast.AST]]] = []
        #: local names bound to a module that runs commands (``from eventlet.green import subprocess``)
        self.aliases: dict[str, str] = {}
        #: local names bound to imported modules or names (``disk_api`` -> ``nova.virt.disk.api``)
        self.imported: dict[str, str] = {}
        self.module = module_of(path)
        self.qualname: list[str] = []
        #: whether the call being read runs its command through a shell (shell=True, os.system)
        self.shell = False
        #: calls by full dotted name (``nova.privsep.fs.mount``) -> where, for callers of helpers
        self.calls: list[tuple[str, str]] = []

    # ---- imports -----------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append(ImportUse(alias.name.partition(".")[0], self.path, node.lineno))
            if alias.asname:
                self.imported[alias.asname] = alias.name
            module = alias.name.rpartition(".")[2]
            if alias.asname and module in _MODULE_CALLS:  # import subprocess as sp
                self.aliases[alias.asname] = module

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.imports.append(ImportUse(node.module.partition(".")[0], self.path, node.lineno))
            module = node.module.rpartition(".")[2]
            for alias in node.names:
                self.imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                if alias.name in _MODULE_CALLS:  # from eventlet.green import subprocess
                    self.aliases[alias.asname or alias.name] = alias.name
                elif module in _MODULE_CALLS and alias.name in _MODULE_CALLS[module]:
                    self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"

    def visit_If(self, node: ast.If) -> None:
        # `if TYPE_CHECKING: import libvirt` is for type checkers, not run
        if _dotted(node.test).rpartition(".")[2] == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    # ---- functions ---------------------------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scopes.append(_LazyBindings(node))
        self.qualname.append(node.name)
        if node.name.lower().endswith("callback"):
            for returned in _returns(node):
                if self._is_argv_list(returned.value):
                    self._command(returned.lineno, "process callback", [returned.value], report_dynamic=False)
        self.generic_visit(node)
        self.qualname.pop()
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.qualname.append(node.name)
        self.generic_visit(node)
        self.qualname.pop()

    # ---- calls -------------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        callee = _dotted(node.func)
        qualifier, _, name = callee.rpartition(".")
        head, _, tail = callee.partition(".")
        if head in self.imported:
            self.calls.append((f"{self.imported[head]}{'.' + tail if tail else ''}", self._site(node.lineno)))
        elif not qualifier and name in self.functions:
            self.calls.append((f"{self.module}.{name}", self._site(node.lineno)))
        elif head != "?" and tail:  # nova.privsep.fs.mount(...) after `import nova.privsep.fs`
            self.calls.append((callee, self._site(node.lineno)))
        if name in _IMPORT_CALLS and node.args and _is_text(node.args[0]):
            self.imports.append(ImportUse(node.args[0].value.partition(".")[0], self.path, node.lineno))
        elif callee in ("importlib.import_module", "__import__") and node.args and _is_text(node.args[0]):
            self.imports.append(ImportUse(node.args[0].value.partition(".")[0], self.path, node.lineno))
        option = _option_default(node)
        if option:
            self.options.append(option)
        via = self._execution_call(qualifier, name)
        if via:
            arguments = list(node.args) or [k.value for k in node.keywords if k.arg in ("args", "cmd", "command")]
            shell = any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value is True
                        for k in node.keywords) or via in ("os.system", "os.popen", "subprocess.getoutput",
                                                             "subprocess.getstatusoutput")
            self._command(node.lineno, via, arguments, report_dynamic=_runs_processes(via), shell=shell)
        elif name in self.wrappers and len(node.args) > self.wrappers[name]:
            # a function of the project that runs what it is given (os-brick's run_mdadm(cmd))
            self._command(node.lineno, f"{callee} (runs its argument)", list(node.args[self.wrappers[name]:]),
                          report_dynamic=False)
        self.generic_visit(node)

    def _is_argv_list(self, node: ast.AST) -> bool:
        """A list (or ``[...] + rest``, or a local name bound to one): what a process callback
        returns for ProcessManager to run; a callback returning a string returns something else."""
        if isinstance(node, ast.BinOp):
            return self._is_argv_list(node.left)
        if isinstance(node, ast.Name) and node.id in self.scopes[-1]:
            return any(self._is_argv_list(value) for value in self.scopes[-1][node.id])
        return isinstance(node, (ast.List, ast.Tuple))

    def _site(self, line: int) -> str:
        return f"{self.path}:{line}:{'.'.join(self.qualname)}"

    def _execution_call(self, qualifier: str, name: str) -> str | None:
        if name in _EXECUTE_NAMES:
            return f"{qualifier}.{name}" if qualifier else name
        module = self.aliases.get(qualifier, qualifier).rpartition(".")[2]
        if name in _MODULE_CALLS.get(module, ()):
            return f"{module}.{name}"
        if not qualifier and "." in self.aliases.get(name, ""):
            return self.aliases[name]  # from subprocess import check_output
        return None

    def _command(self, line: int, via: str, arguments: list[ast.AST], report_dynamic: bool = True,
                 shell: bool = False) -> None:
        names: set[str] = set()
        options: set[str] = set()
        self.shell = shell
        for argv in self._argvs(arguments, self.scopes[-1:], 0):
            name = _program(argv)
            if name and name.startswith(_OPTION):
                options.add(name.removeprefix(_OPTION))
            elif name:
                names.add(name)
        for name in sorted(names):
            self.commands.append(CommandUse(name, self.path, line, via, ".".join(self.qualname)))
        if not names and (report_dynamic or options):
            for option in sorted(options) or [None]:
                self.dynamic.append(DynamicUse(self.path, line, via, option))

    def _argvs(self, nodes: list[ast.AST], scopes: list[dict[str, list[ast.AST]]],
               depth: int) -> list[tuple[str, ...]]:
        """Possible literal beginnings of an argument vector written as these expressions
        (``'env', 'LC_ALL=C', 'qemu-img'``; ``['ip', 'netns'] + cmd``; a name bound to a list; a
        call to a function of this file that returns one). A configuration option read in place
        of a word (``CONF.mkisofs_cmd``) is kept as a marker, resolved to its default later."""
        if not nodes or depth > 12:
            return [()]
        first, rest = nodes[0], nodes[1:]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            words = tuple(first.value.split())
            if len(words) != 1:
                # a command line only when a shell reads it; else SQL or prose given to another execute()
                return [words] if self.shell and words else [()]
            return [words + tail for tail in self._argvs(rest, scopes, depth + 1)]
        if isinstance(first, (ast.List, ast.Tuple)):
            return self._argvs([*first.elts, *rest], scopes, depth + 1)
        if isinstance(first, ast.Starred):
            return self._argvs([first.value, *rest], scopes, depth + 1)
        if isinstance(first, ast.BinOp) and isinstance(first.op, ast.Add):
            return self._argvs([first.left, ast.Starred(first.right), *rest], scopes, depth + 1)
        if isinstance(first, ast.IfExp):
            return [*self._argvs([first.body, *rest], scopes, depth + 1),
                    *self._argvs([first.orelse, *rest], scopes, depth + 1)]
        if isinstance(first, ast.Subscript) and isinstance(first.slice, ast.Slice) and first.slice.lower is None:
            return self._argvs([first.value, *rest], scopes, depth + 1)  # args[:] is a copy
        option = _config_option(first)
        if option:
            return [(_OPTION + option,)]
        values: list[tuple[ast.AST, list]] = []
        if isinstance(first, ast.Name):
            bound = next((scope[first.id] for scope in reversed(scopes) if first.id in scope), None)
            values = [(v, scopes) for v in (self.module_names.get(first.id, []) if bound is None else bound)]
        elif isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name):
            # self.CMD, cls.CMD, LVM.LVM_CMD_PREFIX: bound in a class body of this file
            values = [(v, []) for v in self.class_names.get(first.attr, [])]
        elif isinstance(first, ast.Call) and _dotted(first.func).rpartition(".")[2] in self.functions:
            # args = _get_ipmitool_args(info): what a function of this file returns
            function = self.functions[_dotted(first.func).rpartition(".")[2]]
            values = [(r.value, [_LazyBindings(function)]) for r in _returns(function)]
        elif isinstance(first, ast.Call) and _dotted(first.func) in ("list", "tuple") and first.args:
            values = [(first.args[0], scopes)]
        else:
            template = _template_head(first) if self.shell else None
            return [(template,)] if template else [()]
        return [argv for value, where in values[:4]
                for argv in self._argvs([value, *rest], where, depth + 1)] or [()]


#: marks a word read from a configuration option (the option's name follows)
_OPTION = "\x00option:"

#: programs that run the program named after their own options and assignments
_WRAPPERS = frozenset({"env", "sudo", "nice", "ionice", "taskset", "stdbuf", "timeout"})


def _program(argv: tuple[str, ...]) -> str | None:
    """The program an argument vector runs: ``env LC_ALL=C qemu-img`` runs qemu-img."""
    words = list(argv)
    if words and words[0].startswith(_OPTION):
        return words[0]
    while words and command_name(words[0]) in _WRAPPERS:
        wrapper = command_name(words.pop(0))
        while words and ("=" in words[0] or words[0].startswith("-")
                         or (wrapper == "timeout" and words[0][:1].isdigit())):
            words.pop(0)
        if words and words[0].startswith(_OPTION):
            return words[0]
    return command_name(words[0]) if words else None


def _template_head(node: ast.AST) -> str | None:
    """The first word of a command line built from a template (``'grep -Gil "%s" %s' % ...``,
    ``'mount {}'.format(...)``, ``f"ls {path}"``) when that word is itself literal."""
    text = None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _is_text(node.left):
        text = node.left.value
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
          and _is_text(node.func.value)):
        text = node.func.value.value
    elif isinstance(node, ast.JoinedStr) and node.values and _is_text(node.values[0]):
        text = node.values[0].value
        if not text[:1].strip() or " " not in text:  # f"{x} ..." or f"cmd{x}": the word is not whole
            return None
    words = text.split() if text else []
    return words[0] if words and not any(c in words[0] for c in "%{}") else None


def _option_default(node: ast.Call) -> tuple[str, str] | None:
    """``cfg.StrOpt('mkisofs_cmd', default='genisoimage')`` -> (mkisofs_cmd, genisoimage)."""
    if _dotted(node.func).rpartition(".")[2] != "StrOpt" or not node.args or not _is_text(node.args[0]):
        return None
    default = next((k.value for k in node.keywords if k.arg == "default"), None)
    if default is None or not _is_text(default):
        return None
    return node.args[0].value.replace("-", "_"), default.value


def _config_option(node: ast.AST) -> str | None:
    """``CONF.mkisofs_cmd`` or ``self.conf.AGENT.root_helper`` -> the option name."""
    dotted = _dotted(node)
    parts = dotted.split(".")
    if len(parts) >= 2 and any(p.lower() == "conf" for p in parts[:-1]):
        return parts[-1]
    return None


def _runs_processes(via: str) -> bool:
    """Whether a call with a computed command is worth listing: ``conn.execute(stmt)`` (SQL) and
    ``task.execute()`` (taskflow) share the name but run no program."""
    qualifier, _, name = via.rpartition(".")
    return (name != "execute" or not qualifier
            or any(hint in qualifier.lower() for hint in ("processutils", "putils", "utils", "rootwrap",
                                                          "privsep", "netns", "self")))


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


class _LazyBindings(dict):
    """A function's bindings, read only when a name in it needs resolving (most functions run nothing)."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef):
        super().__init__()
        self._function: ast.FunctionDef | ast.AsyncFunctionDef | None = function

    def _load(self) -> None:
        if self._function is not None:
            self.update(_bindings(self._function.body))
            self._function = None

    def __contains__(self, name: object) -> bool:
        self._load()
        return super().__contains__(name)

    def __getitem__(self, name: str) -> list[ast.AST]:
        self._load()
        return super().__getitem__(name)


def _bindings(body: list[ast.stmt]) -> dict[str, list[ast.AST]]:
    """Values bound to plain names in a body (nested functions and classes excluded)."""
    found: dict[str, list[ast.AST]] = {}
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found.setdefault(node.target.id, []).append(node.value)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.Return]:
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _wrappers(tree: ast.Module) -> dict[str, int]:
    """Functions that run the command they are given: ``def run_mdadm(self, cmd): self._execute(*cmd)``.
    Name -> index of that argument in a call (``self`` not counted)."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, None if child.name in _EXECUTE_NAMES else child)
                continue
            if (function is not None and isinstance(child, ast.Call) and child.args
                    and _dotted(child.func).rpartition(".")[2] in _EXECUTE_NAMES):
                head = child.args[0].value if isinstance(child.args[0], ast.Starred) else child.args[0]
                if isinstance(head, ast.Name):
                    params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
                    if params[:1] in (["self"], ["cls"]):
                        params = params[1:]
                    if function.args.vararg:
                        params.append(function.args.vararg.arg)
                    # `cmd = ['tc'] + cmd` runs tc, not what it was given
                    if head.id in params and head.id not in _bindings(function.body):
                        found[function.name] = params.index(head.id)
            visit(child, function)

    visit(tree, None)
    return found


def scan_sources(files: Iterable[tuple[str, str]]) -> ProjectUses:
    """Every use in a project's files, given as (path, text): Python files and rootwrap ``*.filters``.

    Two passes over the parsed files: the first finds the project's own wrapper functions (by
    name), the second reads every call. A command taken from a configuration option is resolved to
    the option's default (``CONF.mkisofs_cmd`` -> genisoimage) when the project defines one."""
    trees: list[tuple[str, ast.Module]] = []
    commands: list[CommandUse] = []
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
    for _, tree in trees:
        wrappers.update(_wrappers(tree))
    dynamic: list[DynamicUse] = []
    imports: list[ImportUse] = []
    options: dict[str, str] = {}
    calls: dict[str, list[str]] = {}
    for path, tree in trees:
        scan = _Scan(path, tree, wrappers)
        scan.visit(tree)
        commands.extend(scan.commands)
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
    commands = [replace(use, callers=_callers(use.path, use.function, calls)) for use in commands]
    key = lambda use: (use.path, use.line)  # noqa: E731 - one sort key for three lists
    return ProjectUses(tuple(sorted(commands, key=key)), tuple(sorted(resolved, key=key)),
                       tuple(sorted(imports, key=key)), tuple(sorted(unparsed)))


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
        if match["kind"] == "EnvFilter":
            # EnvFilter, env, USER, VAR=, ..., program, args: the program is what env runs
            program = next((f for f in fields[2:] if f and "=" not in f), "")
        name = command_name(program)
        if name:
            found.append(CommandUse(name, path, number, f"rootwrap {match['kind']}"))
    return tuple(found)
