"""huesign.sandbox (see the package documentation)."""

__all__: list[str] = []
