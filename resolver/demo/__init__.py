"""The demo distribution: EL-named RPMs made from Debian binaries, so that builds run here for real."""
