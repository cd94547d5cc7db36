"""Shared machinery of the resource modules (account, costs, products, events).

``checks`` holds the argument checks that run before any request; ``writes`` turns a table of
rows into a plan (add / update / delete per row), applies it one request at a time and, when a
request fails midway, raises :class:`~upstack_pandas._resources.writes.PartialWriteError`
saying exactly which rows were applied.
"""
