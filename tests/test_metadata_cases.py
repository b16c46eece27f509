"""Repository metadata cases the other tests do not reach: module streams (AppStream's modules.yaml
in the bundled metadata) and requirements nothing satisfies."""

import re

import pytest

from resolver.errors import RepoError
from resolver.metadata.repo_config import BUNDLED_REPOS_DIR, repo_specs
from resolver.metadata.repodata import parse_repomd


def nginx(repos, modules=()):
    resolution = repos.resolve(["nginx"], modules=modules)
    [package] = [p for p in resolution.closure if p.name == "nginx"]
    return package


def test_module_streams_are_read_from_the_metadata(bundled_repos):
    streams = bundled_repos.module_streams()
    # AppStream ships several nginx streams; each list is sorted and without repeats
    assert len(streams["nginx"]) >= 2
    for stream_list in streams.values():
        assert stream_list == sorted(set(stream_list))


def test_an_enabled_stream_selects_its_own_build_and_the_default_comes_back(bundled_repos):
    default = nginx(bundled_repos)
    assert bundled_repos.module_of(default) is None  # the non-modular build, as plain dnf installs
    for stream in bundled_repos.module_streams()["nginx"]:
        chosen = nginx(bundled_repos, [f"nginx:{stream}"])
        assert bundled_repos.module_of(chosen) == f"nginx:{stream}"
        assert chosen.evr.partition(":")[2].startswith(stream)
    # every other query, and the next resolve, sees dnf's default module state again
    assert nginx(bundled_repos) == default


def test_an_unknown_stream_is_an_error_naming_the_streams_there_are(bundled_repos):
    with pytest.raises(RepoError) as raised:
        nginx(bundled_repos, ["nginx:0.1"])
    assert "nginx:0.1" in str(raised.value)
    assert all(f"nginx:{s}" in str(raised.value) for s in bundled_repos.module_streams()["nginx"])
    assert bundled_repos.module_of(nginx(bundled_repos)) is None  # the failed enable left nothing enabled


def test_unmet_requires_are_requirements_no_package_provides(bundled_repos):
    unmet = bundled_repos.unmet_requires()
    assert unmet == sorted(set(unmet))
    for package, requirement in unmet[:20]:
        assert not requirement.startswith("rpmlib(")
        assert bundled_repos.providers_of(requirement) == [], (package, requirement)


def test_repos_arguments_name_urls_repodata_dirs_and_directories(tmp_path):
    url, repodata, directory = repo_specs(["https://mirror.example/centos/9/BaseOS/x86_64/os/",
                                           str(tmp_path / "appstream" / "repodata"), str(tmp_path / "extra")])
    assert url.repo_id == "mirror.example-centos-9-BaseOS-x86_64-os" and url.local_dir is None
    assert url.checks_signatures  # a remote repository is checked unless the user says otherwise
    assert (repodata.repo_id, repodata.local_dir) == ("appstream", tmp_path / "appstream")
    assert (directory.repo_id, directory.local_dir) == ("extra", tmp_path / "extra")
    assert not directory.checks_signatures
    assert repo_specs(["file:///srv/repo"])[0].local_dir.as_posix() == "/srv/repo"
    with pytest.raises(RepoError, match="only http://, https:// and file://"):
        repo_specs(["ftp://mirror.example/repo"])


REPO_FILE = """\
[off]
enabled=0
baseurl=https://nowhere.example/
[baseos]
baseurl=https://mirror.example/BaseOS/ https://second.example/BaseOS/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial, https://keys.example/key
"""


def test_repo_files_read_enabled_sections_with_their_signature_settings(tmp_path):
    path = tmp_path / "site.repo"
    path.write_text(REPO_FILE)
    [spec] = repo_specs([str(path)])
    assert (spec.repo_id, spec.baseurl, spec.gpgcheck) == ("baseos", "https://mirror.example/BaseOS/", True)
    assert spec.gpgkey == ("file:///etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial", "https://keys.example/key")


@pytest.mark.parametrize("text, message", [
    ("[a]\nmirrorlist=https://m.example/\n", r"\[a\] has no baseurl"),
    ("[a]\nbaseurl=https://m.example/\ngpgcheck=maybe\n", r"gpgcheck='maybe'"),
    ("[a]\nbaseurl=https://m.example/\ngpgkey=/etc/key\n", r"gpgkey '/etc/key' is not a file://"),
    ("[a]\nenabled=0\nbaseurl=https://m.example/\n", "no enabled repository"),
    ("baseurl=https://m.example/\n", "cannot read repo file"),
])
def test_repo_files_that_cannot_be_used_are_errors_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.repo"
    path.write_text(text)
    with pytest.raises(RepoError, match=message) as raised:
        repo_specs([str(path)])
    assert str(path) in str(raised.value)


BASEOS_REPOMD = (BUNDLED_REPOS_DIR / "cs9-baseos-osbuild-2022" / "repodata" / "repomd.xml").read_text()


def test_a_real_repomd_names_each_record_with_its_checksum_and_size():
    records = parse_repomd(BASEOS_REPOMD.encode(), "repomd.xml")
    primary = records["primary"]
    assert primary.href.startswith("repodata/") and primary.href.endswith("-primary.xml.gz")
    assert primary.checksum[0] == "sha256" and primary.href.split("/")[1].startswith(primary.checksum[1])
    assert primary.size == (BUNDLED_REPOS_DIR / "cs9-baseos-osbuild-2022" / primary.href).stat().st_size


def _first_record_edited(pattern, replacement):
    return re.sub(pattern, replacement, BASEOS_REPOMD, count=1).encode()


@pytest.mark.parametrize("data, message", [
    (b"<repomd/>", "root element 'repomd'"),
    (_first_record_edited(r"<checksum [^>]*>[^<]*</checksum>", ""), "has no location or checksum"),
    (re.sub(r'<data type="primary">', '<data type="other-kind">', BASEOS_REPOMD).encode(), "names no primary"),
    (_first_record_edited(r'<checksum type="sha256"', '<checksum type="crc32"'), "checksum type 'crc32'"),
    (_first_record_edited(r"<size>\d+</size>", "<size>big</size>"), "size 'big' is not a number"),
])
def test_a_damaged_repomd_is_refused_with_what_is_wrong(data, message):
    with pytest.raises(RepoError, match=message):
        parse_repomd(data, "repomd.xml")


def test_a_record_without_size_is_read_without_one():
    records = parse_repomd(re.sub(r"<size>\d+</size>", "", BASEOS_REPOMD).encode(), "repomd.xml")
    assert all(record.size is None for record in records.values())
