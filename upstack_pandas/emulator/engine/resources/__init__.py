"""Per-pixel state of the account, costs, products and events endpoints (no HTTP here).

One module per resource: :mod:`.account`, :mod:`.costs`, :mod:`.products`, :mod:`.events`;
:mod:`.pricing` turns the cost configuration into every order's ``cogs`` and
``shipping_cost`` (the recalculation the documentation says every cost mutation triggers).
Bodies reach these classes already validated against the spec; the rules a schema cannot
state raise :class:`~upstack_pandas.emulator.engine.api_errors.ApiError` (400 or 404).
"""
