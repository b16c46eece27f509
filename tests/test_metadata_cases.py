"""Repository metadata cases the other tests do not reach: module streams (AppStream's modules.yaml
in the bundled metadata) and requirements nothing satisfies."""

import pytest

from resolver.errors import RepoError


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
