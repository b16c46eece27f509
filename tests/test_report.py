"""The report and the Kolla/TCIB baselines on the bundled metadata."""

import html
import re

from resolver.reporting.baselines import resolve_baseline

from .conftest import run_here


def test_kolla_baseline_resolved_on_the_same_metadata(bundled_repos):
    kolla = resolve_baseline("kolla", ["nova-compute", "memcached", "cinder-api"], bundled_repos)
    # ../shared/data/README.md: 6 of Kolla's EL9 base names (release RPMs, dumb-init) are not in these repos
    assert set(kolla.unresolved["base"]) == {
        "centos-release-ceph-reef", "centos-release-nfv-openvswitch", "centos-release-openstack-epoxy",
        "centos-release-opstools", "epel-release", "dumb-init"}
    assert kolla.missing == ("cinder-api",)  # Kolla's EL9 lists have no cinder-api image
    # every involved Kolla image (matches and their ancestors) is counted once in the total
    assert set(kolla.layer_sizes) == {"base", "openstack-base", "nova-base", "nova-compute", "memcached"}
    assert kolla.total_set_size == sum(kolla.layer_sizes.values())
    assert kolla.image_sizes["nova-compute"] == sum(kolla.layer_sizes[i] for i in
                                                    ("base", "openstack-base", "nova-base", "nova-compute"))


def test_report_writes_markdown_and_the_tree_picture(tmp_path):
    done = run_here("report", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "report.md").read_text()
    assert "| lower bound, packages |" in report and "## Ours against Kolla's and TCIB's lists" in report
    # the whole set's figures lead, saying what they leave out (the venvs: no --python)
    assert "\n**The whole set** (**RPM only**: the venvs were not planned (--python plans them)): objective " in report
    # the images compared are the complete ones; nova-libvirt (libvirt, qemu-kvm unresolved) is apart
    for baseline in ("kolla", "tcib"):
        complete = re.search(rf"^\| {baseline} \| \d+ complete: ([^|]*) \|", report, re.M).group(1).split(", ")
        apart = re.search(rf"^\| {baseline} \| \d+ incomplete \(!\), not compared: ([^|]*) \|", report, re.M)
        assert {"mariadb", "memcached", "nova-api"} <= set(complete) and "nova-libvirt" not in complete
        assert "nova-libvirt" in apart.group(1).split(", ")
    assert "incomplete (!), not compared:" in report and "| nova-libvirt ! |" in report
    assert "## Unresolved requests (best effort)" in report and "| qemu-kvm | uninstallable | nova-libvirt |" in report
    assert "![image tree](tree.svg)" in report
    # the Pareto curve: a table of proven points and the plot beside it
    assert "## Objective against bloat" in report and "![objective against bloat](pareto.svg)" in report
    rows = [line for line in report.splitlines() if line.startswith("| ") and line.endswith(" yes |")]
    assert len(rows) >= 5 and "| unlimited |" in report
    plot = (tmp_path / "pareto.svg").read_text()
    assert plot.startswith("<svg") and "bloat (MB)" in plot
    assert plot.count("<circle") == len(rows) - ("no budget (off the plot)" in plot)
    svg = html.unescape((tmp_path / "tree.svg").read_text())  # graphviz writes '-' as &#45;
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for image in ("nova-compute", "keystone", "memcached"):
        assert image in svg and f"| {image} |" in report
