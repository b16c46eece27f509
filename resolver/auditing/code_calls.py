"""The ``ast`` reading behind ``codescan``: a visitor over one Python file that finds execution
calls and their literal argument vectors (through names bound in the function, the module or a
class body, and functions of the file returning a list), the absolute paths the file reads,
imports, configuration option defaults, and the call sites of functions by dotted name; and the
project's own wrapper functions (those that run the command they are given)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping, Sequence

from .code_uses import CommandUse, DynamicUse, FileUse, ImportUse, command_name, module_of, read_path

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
#: calls that read the file or directory named by their first argument (by full dotted name)
_READ_CALLS = frozenset({"open", "io.open", "builtins.open", "os.path.exists", "os.path.isfile", "os.path.isdir",
                         "os.path.lexists", "os.access", "os.listdir", "os.scandir", "os.stat", "glob.glob",
                         "glob.iglob", "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree"})
#: methods of ``pathlib.Path(X)`` that read X
_PATH_READS = frozenset({"read_text", "read_bytes", "open", "exists", "is_file", "is_dir", "glob", "rglob",
                         "iterdir", "stat"})
#: programs that read the files named in their arguments (``cat /etc/iscsi/initiatorname.iscsi``)
_READERS = frozenset({"cat", "head", "tail", "ls", "stat", "test"})
#: configuration options whose default can name a file or directory
_PATH_OPTIONS = frozenset({"StrOpt", "ListOpt", "MultiStrOpt"})


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain; ``?`` stands for anything else (``self.x()``)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    parts.append(node.id if isinstance(node, ast.Name) else "?")
    return ".".join(reversed(parts))


class CallScan(ast.NodeVisitor):
    def __init__(self, path: str, tree: ast.Module, wrappers: Mapping[str, int],
                 dispatching: frozenset[str] = frozenset()):
        self.path = path
        self.wrappers = wrappers
        #: names of the project's functions that run a dispatcher with a type they are given
        self.dispatching = dispatching
        #: a dispatcher run with a parameter as its type: (program, function, parameter, its index, line)
        self.dispatches: list[tuple[str, str, str, int, int]] = []
        #: calls of dispatching functions: (callee as written, site, the caller's parameters,
        #: the literal values of each positional argument, of each keyword argument)
        self.call_values: list[tuple[str, str, tuple[str, ...], tuple[frozenset[str], ...],
                                     dict[str, frozenset[str]]]] = []
        #: the parameters of the functions being read, innermost last
        self.params: list[tuple[str, ...]] = []
        self.commands: list[CommandUse] = []
        self.files: list[FileUse] = []
        #: the functions being read, innermost last (their loops bind names a path is read through)
        self.function_nodes: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.tree = tree
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
        self.params.append(parameters(node))
        self.qualname.append(node.name)
        self.function_nodes.append(node)
        if node.name.lower().endswith("callback"):
            for line, value in _returns(node):
                if self._is_argv_list(value):
                    self._command(line, "process callback", [value], report_dynamic=False)
        self.generic_visit(node)
        self.function_nodes.pop()
        self.qualname.pop()
        self.params.pop()
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
        if name in self.dispatching and self.scopes:
            self.call_values.append((callee, self._site(node.lineno), self.params[-1],
                                     tuple(self._values(a) for a in node.args),
                                     {k.arg: self._values(k.value) for k in node.keywords if k.arg}))
        imported = _text(node.args[0]) if node.args else None
        if name in _IMPORT_CALLS and imported is not None:
            self.imports.append(ImportUse(imported.partition(".")[0], self.path, node.lineno))
        elif callee in ("importlib.import_module", "__import__") and imported is not None:
            self.imports.append(ImportUse(imported.partition(".")[0], self.path, node.lineno))
        option = _option_default(node)
        if option:
            self.options.append(option)
        self._file_read(node, callee, head, tail)
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

    def _file_read(self, node: ast.Call, callee: str, head: str, tail: str) -> None:
        """An absolute path read by ``open(X)``, ``os.path.exists(X)``, ``glob.glob(X)``,
        ``pathlib.Path(X).read_text()``... or named by the default of a ``StrOpt``/``ListOpt``."""
        full = f"{self.imported[head]}{'.' + tail if tail else ''}" if head in self.imported else callee
        if full.rpartition(".")[2] in _PATH_OPTIONS and full.partition(".")[0] in ("cfg", "oslo_config"):
            default = next((k.value for k in node.keywords if k.arg == "default"), None)
            if default is not None:
                self._read(node.lineno, f"default of option {_text(node.args[0]) if node.args else '?'}",
                           self._paths(default))
            return
        target: ast.AST | None = None
        if full in _READ_CALLS:
            target = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg in ("file", "path", "pathname", "src")), None)
            via = full
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _PATH_READS \
                and isinstance(node.func.value, ast.Call) and node.func.value.args:
            inner = _dotted(node.func.value.func)
            inner_head, _, inner_tail = inner.partition(".")
            inner = f"{self.imported[inner_head]}{'.' + inner_tail if inner_tail else ''}" \
                if inner_head in self.imported else inner
            if inner in ("pathlib.Path", "pathlib.PurePath"):
                target, via = node.func.value.args[0], f"pathlib.Path.{node.func.attr}"
        if target is not None:
            paths = self._paths(target)
            if via in ("pathlib.Path.glob", "pathlib.Path.rglob") and node.args:  # Path(dir).glob('*.json')
                paths = frozenset(f"{p}/{q}" for p in paths for q in self._paths(node.args[0])) or paths
            self._read(node.lineno, via, paths)

    def _read(self, line: int, via: str, paths: Iterable[str]) -> None:
        files = tuple(sorted({f for f in (read_path(p, self.path) for p in paths) if f}))
        if files:
            self.files.append(FileUse(files, self.path, line, via, ".".join(self.qualname)))

    def _paths(self, node: ast.AST, depth: int = 0) -> frozenset[str]:
        """The literal paths an argument can be: a string, a list or tuple of them (alternatives),
        a name bound to one (in the function, at module level, or as the target of a loop or
        comprehension over one), ``os.path.join`` of those (a computed part ends it: the path is
        the directory written so far)."""
        if depth > 6:
            return frozenset()
        text = _text(node)
        if text is not None:
            return frozenset([text])
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return frozenset().union(*(self._paths(e, depth + 1) for e in node.elts))
        if isinstance(node, ast.IfExp):
            return self._paths(node.body, depth + 1) | self._paths(node.orelse, depth + 1)
        if isinstance(node, ast.BoolOp):
            return frozenset().union(*(self._paths(v, depth + 1) for v in node.values))
        if isinstance(node, ast.Call) and _dotted(node.func) in ("os.path.join", "path.join") and node.args:
            joined = {""}
            for part in node.args:
                values = self._paths(part, depth + 1)
                if not values:
                    break
                joined = {f"{j.rstrip('/')}/{v.lstrip('/')}" if j else v for j in joined for v in values}
            return frozenset(j for j in joined if j)
        if isinstance(node, ast.Name):
            local = self.scopes[-1] if self.scopes and node.id in self.scopes[-1] else None
            bound = local[node.id] if local is not None else self.module_names.get(node.id, [])
            bound = [*bound, *_loop_sources(self.function_nodes[-1] if self.function_nodes else self.tree, node.id)]
            return frozenset().union(*(self._paths(v, depth + 1) for v in bound[:6])) if bound else frozenset()
        return frozenset()

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

    def _command(self, line: int, via: str, arguments: Sequence[ast.AST], report_dynamic: bool = True,
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
                kind = _dispatched_type(name, argv)
                if kind and kind.startswith(PARAM) and self.params:
                    parameter = kind.removeprefix(PARAM)
                    self.dispatches.append((name, ".".join(self.qualname), parameter,
                                            self.params[-1].index(parameter), line))
                elif kind and command_name(f"{name}.{kind}"):
                    names.add(f"{name}.{kind}")
            if name in _READERS:
                self._read(line, f"{via} ({name})", argv[1:])
        for name in sorted(names):
            self.commands.append(CommandUse(name, self.path, line, via, ".".join(self.qualname)))
        if not names and (report_dynamic or options):
            named: list[str | None] = [*sorted(options)]
            for option in named or [None]:
                self.dynamic.append(DynamicUse(self.path, line, via, option))

    def _argvs(self, nodes: Sequence[ast.AST], scopes: list[dict[str, list[ast.AST]]],
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
        if (isinstance(first, ast.Name) and self.params and scopes and scopes[-1] is self.scopes[-1]
                and first.id in self.params[-1] and first.id not in scopes[-1]):
            # a parameter of the function being read: what its callers pass (a dispatcher's type)
            return [(PARAM + first.id,)]
        if isinstance(first, ast.Name):
            bound = next((scope[first.id] for scope in reversed(scopes) if first.id in scope), None)
            values = [(v, scopes) for v in (self.module_names.get(first.id, []) if bound is None else bound)]
        elif isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name):
            # self.CMD, cls.CMD, LVM.LVM_CMD_PREFIX: bound in a class body of this file
            values = [(v, []) for v in self.class_names.get(first.attr, [])]
        elif isinstance(first, ast.Call) and _dotted(first.func).rpartition(".")[2] in self.functions:
            # args = _get_ipmitool_args(info): what a function of this file returns
            function = self.functions[_dotted(first.func).rpartition(".")[2]]
            values = [(value, [_LazyBindings(function)]) for _, value in _returns(function)]
        elif isinstance(first, ast.Call) and _dotted(first.func) in ("list", "tuple") and first.args:
            values = [(first.args[0], scopes)]
        else:
            template = _template_head(first) if self.shell else None
            return [(template,)] if template else [()]
        return [argv for value, where in values[:4]
                for argv in self._argvs([value, *rest], where, depth + 1)] or [()]


    def _values(self, node: ast.AST, depth: int = 0) -> frozenset[str]:
        """The literal strings an argument can be, read in the caller's function: a string, a name
        bound to one (here or at module level), a conditional or ``or`` of those, ``d.get(k, default)``
        (the default: the value when no entry applies); a parameter of the caller stays a marker,
        followed to its own callers."""
        if depth > 6:
            return frozenset()
        text = _text(node)
        if text is not None:
            return frozenset([text])
        if isinstance(node, ast.IfExp):
            return self._values(node.body, depth + 1) | self._values(node.orelse, depth + 1)
        if isinstance(node, ast.BoolOp):
            return frozenset().union(*(self._values(v, depth + 1) for v in node.values))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and len(node.args) == 2:
            return self._values(node.args[1], depth + 1)
        if isinstance(node, ast.Name):
            local = self.scopes[-1] if self.scopes and node.id in self.scopes[-1] else None
            bound = local[node.id] if local is not None else self.module_names.get(node.id, [])
            found = frozenset().union(*(self._values(v, depth + 1) for v in bound[:6])) if bound else frozenset()
            if self.params and node.id in self.params[-1]:
                found |= {PARAM + node.id}
            return found
        return frozenset()


#: marks a word read from a configuration option (the option's name follows)
_OPTION = "\x00option:"
#: marks a word that is a parameter of the function (its name follows)
PARAM = "\x00param:"
#: programs that run another by the type they are given: ``mkfs -t vfat`` runs mkfs.vfat
DISPATCHERS = frozenset({"mkfs", "fsck", "mount"})


def _dispatched_type(program: str, argv: tuple[str, ...]) -> str | None:
    """The type word after ``-t`` of a dispatcher's argument vector (a literal or a parameter marker)."""
    if program not in DISPATCHERS or "-t" not in argv[:-1]:
        return None
    return argv[argv.index("-t") + 1]


def parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """Positional parameter names as a caller counts them (``self``/``cls`` not counted)."""
    names = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    return tuple(names[1:] if names[:1] in (["self"], ["cls"]) else names)


def dispatching_functions(tree: ast.Module) -> set[str]:
    """Names of functions that hold a dispatcher's literal name and ``-t`` (cheap: a first pass, so
    that only calls of these have their argument values read)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            words = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
            if "-t" in words and words & DISPATCHERS:
                found.add(node.name)
    return found

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
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        text = _text(node.left)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        text = _text(node.func.value)
    elif isinstance(node, ast.JoinedStr) and node.values:
        text = _text(node.values[0])
        if text is not None and (not text[:1].strip() or " " not in text):
            return None  # f"{x} ..." or f"cmd{x}": the word is not whole
    words = text.split() if text else []
    return words[0] if words and not any(c in words[0] for c in "%{}") else None


def _option_default(node: ast.Call) -> tuple[str, str] | None:
    """``cfg.StrOpt('mkisofs_cmd', default='genisoimage')`` -> (mkisofs_cmd, genisoimage)."""
    name = _text(node.args[0]) if node.args else None
    if _dotted(node.func).rpartition(".")[2] != "StrOpt" or name is None:
        return None
    default = _text(next((k.value for k in node.keywords if k.arg == "default"), None))
    if default is None:
        return None
    return name.replace("-", "_"), default


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


def _text(node: ast.AST | None) -> str | None:
    """The string a node is, when it is a string literal."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


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


def _loop_sources(scope: ast.AST, name: str) -> list[ast.expr]:
    """What a name iterates over as the target of a ``for`` or a comprehension in this scope
    (``for path in QEMU_FIRMWARE_DESCRIPTOR_PATHS``)."""
    found = []
    for node in ast.walk(scope):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) and isinstance(node.target, ast.Name) \
                and node.target.id == name:
            found.append(node.iter)
    return found


def _returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[int, ast.expr]]:
    """(line of the ``return``, its value) of each return with a value in the function's own body."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            yield node.lineno, node.value
        stack.extend(ast.iter_child_nodes(node))


def wrapper_functions(tree: ast.Module) -> dict[str, int]:
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

