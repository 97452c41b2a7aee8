"""App code for errutil's tests: a crash through three modules (api -> service -> repo).

The tests make this package one of errutil's app packages, so its frames are shown the way a
repository's own code is. It needs nothing outside the standard library: the HTTP tests mount
``api``'s functions as routes themselves.
"""
