"""huesign.testing: hypothesis strategies and pytest fixtures for suites built on huesign.

Install with ``pip install huesign[testing]``.  Nothing here is imported by the rest of
huesign, and this package imports none of its modules, so loading the pytest plugin never
pulls in hypothesis.

- :mod:`huesign.testing.plugin`: the pytest plugin, registered through the ``pytest11`` entry
  point (fixtures ``huesign_pki``, ``citizen``, ``officer``, ``agency_seal``,
  ``pki_services``, ``signed_pdf``, ``huesign_artifacts`` and the token, sandbox and client
  fixtures; option ``--huesign-keep-artifacts DIR``).
- :mod:`huesign.testing.strategies`: every strategy, gathered from the modules that define
  them: identities and keys, :mod:`huesign.testing.pki_strategies` (certificates, CMS),
  :mod:`huesign.testing.document_strategies` (PDFs) and
  :mod:`huesign.testing.forms_strategies` (procedures, submissions, addresses, phone
  numbers).
- :mod:`huesign.testing.softhsm`: throwaway SoftHSM2 tokens with imported keys.
"""

__all__: list[str] = []
