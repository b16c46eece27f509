"""resolver: bindep-driven dependency resolution and image planning for RPM service containers."""

__version__ = "0.1.0"
