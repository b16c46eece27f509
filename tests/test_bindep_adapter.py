"""The bindep adapter: the one place resolver uses bindep's internals, for the versions it pins."""

import re

import pytest

from resolver.errors import ResolverError
from resolver.inputs import bindep_adapter
from resolver.inputs.bindepfile import parse_bindep

from .conftest import ROOT, UPSTREAM


def test_the_pinned_range_is_pyprojects_and_holds_the_installed_bindep():
    pins = re.findall(r'"bindep([<>=!~][^"]*)"', (ROOT / "pyproject.toml").read_text())
    assert pins == [bindep_adapter.SUPPORTED]
    assert bindep_adapter.bindep_version()  # the installed one passes the check


@pytest.mark.parametrize("version", ["2.10.2", "2.15.0", "3.0", "not-a-version"])
def test_an_unsupported_bindep_is_an_error_naming_the_supported_range(version):
    supported = re.escape(bindep_adapter.SUPPORTED)
    with pytest.raises(ResolverError, match=rf"bindep {re.escape(version)} is installed.*bindep{supported}"):
        bindep_adapter.check_supported(version)


def test_a_missing_internal_is_a_resolver_error_not_an_attribute_error(monkeypatch):
    # a bindep whose depends module no longer has the names resolver uses
    import bindep.depends

    for name in ("grammar", "Depends", "distro"):
        monkeypatch.delattr(bindep.depends, name)
    bindep_adapter.line_grammar.cache_clear()
    bindep_adapter._parsed_depends_type.cache_clear()
    try:
        with pytest.raises(ResolverError, match="lacks what resolver uses of its internals"):
            bindep_adapter.line_grammar()
        with pytest.raises(ResolverError, match="lacks what resolver uses of its internals"):
            bindep_adapter.evaluator([], "bindep.txt")
        with pytest.raises(ResolverError, match="lacks what resolver uses of its internals"):
            bindep_adapter.platform_profiles(object())
    finally:
        bindep_adapter.line_grammar.cache_clear()
        bindep_adapter._parsed_depends_type.cache_clear()


def test_rules_parsed_once_are_evaluated_by_bindep():
    path = UPSTREAM / "nova.txt"
    raws = bindep_adapter.line_grammar()(path.read_text()).rules()
    depends = bindep_adapter.evaluator(raws, str(path))
    assert "test" in depends.profiles()
    active = {raw[0] for raw in depends.active_rules(["platform:rpm", "platform:redhat"])}
    assert "mariadb-server" in active and "libffi-dev" not in active
    # the file's own BindepFile evaluates through the same adapter
    assert parse_bindep(path.read_text(), str(path)).defined_profiles() == frozenset(depends.profiles())
