"""The build's one time (issue 23, item 2): SOURCE_DATE_EPOCH, else the repositories' newest
repomd.xml time; and an rpm header's install times set without touching anything else."""

import struct
import xml.etree.ElementTree as ET

import pytest

from resolver.containers.reproducible import _stamped, source_date_epoch
from resolver.errors import InputError
from resolver.metadata.repo_config import RepoSpec

from .conftest import BASEOS_2022


def test_the_time_is_source_date_epoch_else_the_metadata_s(monkeypatch):
    specs = (RepoSpec("baseos", str(BASEOS_2022)), RepoSpec("remote", "https://mirror.example/BaseOS/"))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root = ET.parse(BASEOS_2022 / "repodata" / "repomd.xml").getroot()
    times = [int(e.text) for e in root.iter() if e.tag.rsplit("}", 1)[-1] in ("timestamp", "revision")
             and (e.text or "").strip().isdigit()]
    assert source_date_epoch(specs) == max(times) > 1_600_000_000
    assert source_date_epoch(specs[1:]) == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert source_date_epoch(specs) == 1700000000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH='yesterday'"):
        source_date_epoch(specs)


def header(*entries):
    """An rpm header blob: (tag, type, value) INT32 entries."""
    index = b"".join(struct.pack(">iiii", tag, kind, 4 * n, 1) for n, (tag, kind, _) in enumerate(entries))
    data = b"".join(struct.pack(">I", value) for _, _, value in entries)
    return struct.pack(">ii", len(entries), len(data)) + index + data


def test_only_the_install_time_and_transaction_id_are_set():
    blob = header((1000, 6, 0x41424344), (1008, 4, 1796702550), (1128, 4, 1796702550), (1009, 4, 12345))
    assert _stamped(blob, 1700000000) == header((1000, 6, 0x41424344), (1008, 4, 1700000000),
                                                (1128, 4, 1700000000), (1009, 4, 12345))
