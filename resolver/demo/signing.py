"""Signing the demo distribution's RPMs with a key made for it, so that builds check signatures
exactly as they do on a real distribution (``gpgcheck=1``, ``gpgkey=file://…``).

The key pair is generated with gpg for each repository build, the RPMs are signed with rpmsign,
the public key is kept beside the repository, and the private key is destroyed with the temporary
keyring: nothing can sign for that repository afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import SigningError

#: the public key's file name in the repository directory (as distributions name theirs)
KEY_FILE = "RPM-GPG-KEY-resolver-demo"
_IDENTITY = "resolver demo distribution <demo@resolver.invalid>"
_KEY_PARAMETERS = """%no-protection
Key-Type: RSA
Key-Length: 3072
Key-Usage: sign
Name-Real: resolver demo distribution
Name-Email: demo@resolver.invalid
Expire-Date: 0
%commit
"""


def sign_packages(rpms: Sequence[Path], public_key: Path) -> None:
    """Sign ``rpms`` in place with a new key; write its public half to ``public_key``."""
    gpg = shutil.which("gpg") or shutil.which("gpg2")
    if gpg is None or shutil.which("rpmsign") is None:
        raise SigningError("signing the demo RPMs needs gpg and rpmsign; run ./bootstrap (it installs gnupg and rpm)")
    # a short path of its own: gpg-agent's socket path must stay under 108 bytes
    home = tempfile.mkdtemp(prefix="resolver-gpg-")
    env = {**os.environ, "GNUPGHOME": home, "LC_ALL": "C"}
    try:
        _run([gpg, "--batch", "--quiet", "--gen-key"], env, _KEY_PARAMETERS)
        public_key.write_text(_run([gpg, "--batch", "--armor", "--export", _IDENTITY], env))
        if rpms:
            _run(["rpmsign", "--addsign", "--define", f"_gpg_name {_IDENTITY}", "--define", f"__gpg {gpg}",
                  *map(str, rpms)], env)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def _run(command: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(command, input=stdin, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SigningError(f"{' '.join(command[:2])} failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return done.stdout
