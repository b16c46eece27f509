"""Stage 3, resolution: each image's selection resolved on the metadata (one dnf install into an
empty root), what did not resolve and why, and how a package enters an image."""
