"""Domain logic: plain Python, no Flask, no SQL session, no HTTP.

Everything here is tested with plain values; the web layer converts to and from these types.
"""
