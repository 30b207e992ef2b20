"""huesign: digital signatures for Vietnamese public-service forms.

The library is layered; import from the subpackages:

- :mod:`huesign.pki`: keys, certificates, the development CA, trust, CMS/CAdES and PAdES.
- :mod:`huesign.forms`: procedures, submissions, rendered and signed dossiers.
- :mod:`huesign.client`: typed clients for the portal, the wallet and remote signing.
- :mod:`huesign.sandbox`: the reference server used by tests and the demo.
- :mod:`huesign.testing`: hypothesis strategies and pytest fixtures.

Every error derives from :class:`huesign.errors.HuesignError`.
"""

from huesign.errors import HuesignError

__version__ = "0.1.0"

__all__ = ["HuesignError", "__version__"]
