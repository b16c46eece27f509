"""Each rule of ``codescan`` on a small project written here: one snippet per rule, the uses found
asserted by program, file and line (the line the snippet puts the call on)."""

import textwrap

from resolver.auditing.codescan import scan_filters, scan_sources


def scan(**files):
    """Scan files given as name=text (``__`` in a name stands for ``/``)."""
    return scan_sources((name.replace("__", "/").replace("_py", ".py"), textwrap.dedent(text))
                        for name, text in files.items())


def commands(uses):
    return {(u.command, u.line) for u in uses.commands}


def test_subprocess_and_os_calls_under_any_import_spelling():
    uses = scan(pkg__run_py="""\
        import subprocess as sp
        from os import system
        from subprocess import check_output
        from eventlet.green import subprocess as green

        sp.run(['lsblk', '-J'])
        system('mount -a')
        check_output(['blkid'])
        green.Popen(['udevadm', 'settle'])
        """)
    assert commands(uses) == {("lsblk", 6), ("mount", 7), ("blkid", 8), ("udevadm", 9)}
    # os.system runs a shell: the whole line is a command line; the others run argv lists
    assert {u.command: u.via for u in uses.commands}["mount"] == "os.system"
    assert {u.command: u.via for u in uses.commands}["blkid"] == "subprocess.check_output"


def test_a_string_with_spaces_is_a_command_only_through_a_shell():
    uses = scan(pkg__db_py="""\
        import subprocess
        from oslo_concurrency import processutils

        subprocess.run('tar -xf archive.tar', shell=True)
        processutils.execute('SELECT 1 FROM x')
        """)
    assert commands(uses) == {("tar", 4)}
    # the computed-looking execute() is listed as dynamic, not guessed as a program
    assert [(d.line, d.via) for d in uses.dynamic] == [(5, "processutils.execute")]


def test_templates_through_a_shell_keep_their_literal_first_word():
    uses = scan(pkg__shell_py="""\
        import os
        import subprocess

        def f(path, name):
            os.system('grep -Gil "%s" %s' % (name, path))
            os.popen('mount {}'.format(path))
            subprocess.run(f"ls {path}", shell=True)
            subprocess.run(f"{path} --help", shell=True)
            os.system('%s -v' % path)
            subprocess.run(f"mount{path}", shell=True)
        """)
    assert commands(uses) == {("grep", 5), ("mount", 6), ("ls", 7)}
    # a template whose program is itself the substitution, or glued to one, is computed at run time
    assert {d.line for d in uses.dynamic} == {8, 9, 10}


def test_argv_built_from_names_lists_conditionals_and_functions():
    uses = scan(pkg__argv_py="""\
        import subprocess
        from oslo_concurrency import processutils

        BASE = ['ip', 'netns', 'exec']

        def _args(node):
            return ['ipmitool', '-H', node]

        def run(flag, rest):
            cmd = BASE + rest
            subprocess.run(cmd)
            subprocess.run(['dmsetup' if flag else 'multipath', '-ll'])
            subprocess.run(list(('iptables', '-L')))
            processutils.execute(*_args('n1'))
            processutils.execute(*['timeout', '30', 'qemu-img', 'info'])
        """)
    assert commands(uses) == {("ip", 11), ("dmsetup", 12), ("multipath", 12), ("iptables", 13),
                              ("ipmitool", 14), ("qemu-img", 15)}
    assert {u.function for u in uses.commands} == {"run"}


def test_process_callbacks_return_what_is_run():
    uses = scan(pkg__agent_py="""\
        def default_cmd_callback(pid_file):
            cmd = ['dnsmasq', '--no-hosts'] + ['--pid-file=%s' % pid_file]
            return cmd

        def label_callback():
            def inner():
                return ['not-run-by-the-callback']
            return 'not a command'
        """)
    assert commands(uses) == {("dnsmasq", 3)}
    assert [u.via for u in uses.commands] == ["process callback"]


def test_wrapper_functions_run_what_they_are_given():
    uses = scan(pkg__lvm_py="""\
        class LVM:
            def _run(self, *cmd):
                return self._execute(*cmd, root_helper='sudo')

            def create(self):
                self._run('lvcreate', '-n', 'x')
        """)
    assert ("lvcreate", 6) in commands(uses)
    assert {u.via for u in uses.commands if u.command == "lvcreate"} == {"self._run (runs its argument)"}


def test_option_defaults_resolve_configured_commands_and_prefixes_stay_options():
    uses = scan(
        pkg__conf_py="""\
            from oslo_config import cfg
            opts = [cfg.StrOpt('mkisofs-cmd', default='genisoimage'), cfg.StrOpt('helper')]
            """,
        pkg__drive_py="""\
            from oslo_concurrency import processutils
            CONF = None

            def make(path):
                processutils.execute(CONF.mkisofs_cmd, '-o', path)
                processutils.execute('sudo', CONF.helper, 'ls')
                processutils.execute('env', 'A=1', CONF.mkisofs_cmd)
            """)
    found = {(u.command, u.line, u.via) for u in uses.commands}
    assert ("genisoimage", 5, "processutils.execute (default of option mkisofs_cmd)") in found
    assert ("genisoimage", 7, "processutils.execute (default of option mkisofs_cmd)") in found
    # an option without a default stays a computed command, with the option named
    assert [(d.line, d.option) for d in uses.dynamic] == [(6, "helper")]


def test_imports_of_all_kinds_keep_the_top_level_name():
    uses = scan(pkg__imports_py="""\
        import os.path as osp
        from typing import TYPE_CHECKING
        import importlib
        from oslo_utils import importutils

        if TYPE_CHECKING:
            import libvirt
        else:
            import rados

        guestfs = importutils.try_import('guestfs.core')
        importlib.import_module('rbd')
        __import__('ldap')
        from . import sibling
        """)
    found = {(u.module, u.line) for u in uses.imports}
    assert found == {("os", 1), ("typing", 2), ("importlib", 3), ("oslo_utils", 4), ("rados", 9),
                     ("guestfs", 11), ("rbd", 12), ("ldap", 13)}


def test_callers_of_helper_functions_are_traced_across_modules():
    uses = scan(
        pkg__privsep__fs_py="""\
            import subprocess

            def mount(path):
                subprocess.run(['mount', path])
            """,
        pkg__disk_py="""\
            import pkg.privsep.fs

            def attach(path):
                pkg.privsep.fs.mount(path)
            """,
        pkg__driver_py="""\
            from pkg import disk

            class Driver:
                def spawn(self):
                    disk.attach('/dev/sda')
            """)
    [mount] = uses.commands
    assert mount.function == "mount"
    assert mount.callers == ("pkg/disk.py:4:attach", "pkg/driver.py:5:Driver.spawn<pkg/disk.py:4:attach")


def test_files_python_cannot_parse_are_listed_not_skipped():
    uses = scan(pkg__template_py="{% if x %}\nprint 'py2'\n", pkg__ok_py="import os\n")
    assert uses.unparsed == ("pkg/template.py",)
    assert [u.module for u in uses.imports] == ["os"]


def test_rootwrap_filters_read_only_well_formed_lines_of_the_filters_section():
    text = textwrap.dedent("""\
        [Filters]
        # a comment
        dnsmasq: CommandFilter, /usr/sbin/dnsmasq, root
        this line is not a filter
          indented: CommandFilter, continued, root
        ip: IpFilter, ip, root
        haproxy: EnvFilter, env, root, PROCESS_TAG=, haproxy

        [DEFAULT]
        other: CommandFilter, nope, root
        """)
    assert {(u.command, u.line, u.via) for u in scan_filters(text, "x.filters")} == {
        ("/usr/sbin/dnsmasq", 3, "rootwrap CommandFilter"), ("ip", 6, "rootwrap IpFilter"),
        ("haproxy", 7, "rootwrap EnvFilter")}


def test_kill_filters_name_kill_not_their_user():
    """oslo.rootwrap's `name: KillFilter, root, /usr/sbin/dnsmasq, -9` lets the service run kill
    (as root) on dnsmasq: the image needs kill; root is the user, not a program."""
    found = scan_filters("[Filters]\nkill_dnsmasq: KillFilter, root, /usr/sbin/dnsmasq, -9\n", "x.filters")
    assert [(u.command, u.line) for u in found] == [("kill", 2)]
