"""Package signatures: gpgcheck/gpgkey from the repository configuration reach the build's
``dnf --installroot`` (real dnf and rpm into a plain directory; no buildah runs here), and the demo
distribution's signing (gpg + rpmsign) makes packages that check."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from resolver.containers.buildah import DBPATH, Buildah
from resolver.demo.signing import KEY_FILE, sign_packages
from resolver.errors import BuildError, RepoError
from resolver.metadata.repo_config import RepoSpec, repo_specs

TOOLS = ("rpmbuild", "rpmsign", "gpg", "createrepo_c", "dnf", "rpm", "buildah", "podman")
needs_tools = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                                 reason=f"needs {', '.join(TOOLS)} (./bootstrap installs them)")

SPEC = """Name: hello-signed
Version: 1
Release: 1
Summary: a package to sign
License: MIT
BuildArch: noarch
%description
A package to sign.
%install
mkdir -p %{buildroot}/usr/share/hello && echo hello > %{buildroot}/usr/share/hello/greeting
%files
/usr/share/hello/greeting
"""


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    """The same package in a signed repository (with its key), an unsigned one, and another key."""
    work = tmp_path_factory.mktemp("signing")
    (work / "hello.spec").write_text(SPEC)
    subprocess.run(["rpmbuild", "--quiet", "-bb", "--define", f"_topdir {work}", str(work / "hello.spec")],
                   check=True, capture_output=True)
    signed, unsigned = work / "signed", work / "unsigned"
    shutil.copytree(work / "RPMS", unsigned)
    shutil.copytree(work / "RPMS", signed)
    sign_packages(sorted(signed.rglob("*.rpm")), signed / KEY_FILE)
    sign_packages([], work / "other.key")
    for repo in (signed, unsigned):
        subprocess.run(["createrepo_c", "--quiet", str(repo)], check=True)
    return signed, unsigned, work / "other.key"


def install(spec: RepoSpec, root: Path) -> set[str]:
    engine = Buildah([spec])
    try:
        engine.install(root, ["hello-signed"], "installing hello-signed")
        return engine.installed(root)
    finally:
        engine.close()


@needs_tools
def test_signed_packages_install_with_their_key_and_leave_no_key_in_the_image(repos, tmp_path):
    signed, _, _ = repos
    done = subprocess.run(["rpm", "-qp", "--qf", "%{RSAHEADER:pgpsig}", str(next(signed.rglob("*.rpm")))],
                          capture_output=True, text=True, check=True)
    assert done.stdout.startswith("RSA/SHA")
    spec = RepoSpec("signed", str(signed), gpgcheck=True, gpgkey=(f"file://{signed / KEY_FILE}",))
    assert install(spec, tmp_path / "root") == {"hello-signed"}
    listed = subprocess.run(["rpm", "--root", str(tmp_path / "root"), "--dbpath", DBPATH, "-qa"],
                            capture_output=True, text=True, check=True, env={**os.environ, "HOME": str(tmp_path)})
    assert "gpg-pubkey" not in listed.stdout  # the key checked the packages; it is not one of them


@needs_tools
@pytest.mark.parametrize("case", ["unsigned", "other key"])
def test_a_signature_that_does_not_check_fails_the_install(repos, tmp_path, case):
    signed, unsigned, other = repos
    repo, key = (unsigned, signed / KEY_FILE) if case == "unsigned" else (signed, other)
    with pytest.raises(BuildError, match="GPG check FAILED"):
        install(RepoSpec("r", str(repo), gpgcheck=True, gpgkey=(f"file://{key}",)), tmp_path / "root")
    assert not list((tmp_path / "root").rglob("greeting"))


@needs_tools
def test_gpgcheck_off_installs_unsigned_packages(repos, tmp_path):
    _, unsigned, _ = repos
    assert install(RepoSpec("r", str(unsigned)), tmp_path / "root") == {"hello-signed"}  # local: off by default


@needs_tools
def test_a_checked_repository_without_a_key_is_refused_before_any_install():
    with pytest.raises(RepoError, match="no gpgkey is given"):
        Buildah(repo_specs(["https://mirror.example/9/BaseOS/x86_64/os/"]))


def test_repo_files_say_whether_signatures_are_checked(tmp_path):
    repo_file = tmp_path / "site.repo"
    repo_file.write_text("[baseos]\nbaseurl=https://mirror.example/BaseOS/\ngpgcheck=1\n"
                         "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial https://mirror.example/KEY2\n"
                         "[local]\nbaseurl=file:///srv/repo\ngpgcheck=0\n"
                         "[remote-default]\nbaseurl=https://mirror.example/AppStream/\n")
    baseos, local, remote = repo_specs([str(repo_file)])
    assert baseos.checks_signatures and baseos.gpgkey == ("file:///etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial",
                                                          "https://mirror.example/KEY2")
    assert not local.checks_signatures and remote.checks_signatures  # remote: on unless the file says 0
    (url,) = repo_specs(["https://mirror.example/BaseOS/"])
    (directory,) = repo_specs([str(tmp_path)])
    assert url.checks_signatures and not directory.checks_signatures


@pytest.mark.parametrize("line, message", [("gpgcheck=maybe", "write gpgcheck=1 or gpgcheck=0"),
                                           ("gpgkey=/etc/pki/key", "is not a file://, http:// or https:// URL")])
def test_bad_signature_settings_are_refused_with_the_section(tmp_path, line, message):
    repo_file = tmp_path / "site.repo"
    repo_file.write_text(f"[baseos]\nbaseurl=https://mirror.example/BaseOS/\n{line}\n")
    with pytest.raises(RepoError, match=message):
        repo_specs([str(repo_file)])
