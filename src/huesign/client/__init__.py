"""huesign.client (see the package documentation)."""

__all__: list[str] = []
