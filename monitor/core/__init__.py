"""The pure core of telmon: no sockets, files, databases or clocks.

Everything here is a function of its inputs; the tracker takes time only from
each event's ``Timestamp:`` header. ``tests/test_purity.py`` checks that importing
this package pulls in no I/O library.
"""
