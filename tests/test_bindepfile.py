import pytest

from resolver.errors import BindepParseError
from resolver.inputs.bindepfile import parse_bindep
from resolver.inputs.platforms import platform

from .conftest import UPSTREAM


def _line_of(path, text):
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.split(" ")[0] == text)


def test_rules_keep_their_line_numbers():
    path = UPSTREAM / "nova.txt"
    bindep = parse_bindep(path.read_text(), str(path))
    lsscsi = next(r for r in bindep.rules if r.name == "lsscsi")
    assert lsscsi.line == _line_of(path, "lsscsi")


def test_active_rules_follow_bindep_for_the_target_not_the_host():
    path = UPSTREAM / "nova.txt"
    bindep = parse_bindep(path.read_text(), str(path))
    names = {r.name for r in bindep.active(platform("centos-9").profiles)}
    # nova's default profile on an rpm/redhat host: the test DB servers, no dpkg names, no test-only gcc
    assert {"mariadb-server", "postgresql-server", "openssh-clients", "lsscsi"} <= names
    assert not names & {"openssh-client", "mysql-server", "gcc", "libffi-dev"}
    with_test = {r.name for r in bindep.active([*platform("centos-9").profiles, "test"])}
    assert {"gcc", "python3-devel"} <= with_test


def test_duplicate_lines_each_map_to_their_own_line():
    # ironic's bindep.txt lists "socat [default]" twice
    path = UPSTREAM / "ironic.txt"
    bindep = parse_bindep(path.read_text(), str(path))
    socat = [r.line for r in bindep.active(["default"]) if r.name == "socat"]
    written = [i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("socat ")]
    assert socat == written and len(written) == 2


def test_malformed_line_names_file_and_line(tmp_path):
    text = "gcc [platform:rpm]\n# a comment\nlibffi-devel [platform:rpm\nopenssl\n"
    with pytest.raises(BindepParseError) as error:
        parse_bindep(text, "bindep.txt")
    assert error.value.line == 3
    assert str(error.value).startswith("bindep.txt:3: ")


@pytest.mark.parametrize("evil", ["foo;rm -rf /", "foo$(reboot)", "foo`id`", "foo|cat", "foo&&true"])
def test_shell_metacharacters_never_leave_the_parser(evil):
    with pytest.raises(BindepParseError) as error:
        parse_bindep(f"bash\n{evil}\n", "evil.txt")
    assert error.value.line == 2


def test_cached_parse_is_the_same_parse(tmp_path):
    # AND-groups are told apart from atoms by type in bindep: the cache must keep that
    text = "gcc [platform:rpm (test compile)]\nlsscsi\nlibvirt-client [!platform:dpkg libvirt] >=1.0\n"
    fresh = parse_bindep(text, "bindep.txt", tmp_path)
    cached = parse_bindep(text, "bindep.txt", tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
    assert cached.rules == fresh.rules
    for profiles in (["platform:rpm"], ["platform:rpm", "test"], ["platform:rpm", "test", "compile"], ["libvirt"]):
        assert [r.name for r in cached.active(profiles)] == [r.name for r in fresh.active(profiles)]
    assert [r.name for r in cached.active(["platform:rpm", "test", "compile"])] == ["gcc", "lsscsi"]


def test_a_form_feed_in_a_comment_is_a_comment_as_for_bindep():
    # str.splitlines() splits on form feeds; bindep's grammar splits on newlines only
    bindep = parse_bindep("# section one\x0c\nlsscsi\n", "x/bindep.txt")
    assert [(r.name, r.line) for r in bindep.rules] == [("lsscsi", 2)]


def test_an_empty_group_parses_the_same_from_the_cache(tmp_path):
    first = parse_bindep("openssl [()]\nlsscsi\n", "x/bindep.txt", tmp_path)
    again = parse_bindep("openssl [()]\nlsscsi\n", "x/bindep.txt", tmp_path)
    assert [r.name for r in again.rules] == [r.name for r in first.rules] == ["openssl", "lsscsi"]
    assert again.active(["platform:rpm"]) == first.active(["platform:rpm"])


def test_a_damaged_cache_entry_is_parsed_again(tmp_path):
    parse_bindep("lsscsi\n", "x/bindep.txt", tmp_path)
    for cached in tmp_path.glob("*.json"):
        cached.write_text('[["lsscsi", [[]], ')
    assert [r.name for r in parse_bindep("lsscsi\n", "x/bindep.txt", tmp_path).rules] == ["lsscsi"]


@pytest.mark.parametrize("text, line, words", [
    ("lsscsi\nbad\x0bname\n", 2, "control character"),
    ("lsscsi\nnämé\n", 2, "not a package name"),
])
def test_names_bindep_accepts_but_no_tool_should_see_are_refused_with_the_line(text, line, words):
    with pytest.raises(BindepParseError) as error:
        parse_bindep(text, "x/bindep.txt")
    assert error.value.line == line and words in error.value.message


def test_an_overlong_file_is_refused_before_parsing():
    with pytest.raises(BindepParseError, match="rule lines"):
        parse_bindep("lsscsi\n" * 5000, "x/bindep.txt")
