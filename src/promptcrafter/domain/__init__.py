"""The rules of every resource, between HTTP and SQL.

Functions here take a unit of work (`Transaction`) or the `Database` and plain values,
raise domain errors (`promptcrafter.errors`), and know nothing of HTTP.
"""
