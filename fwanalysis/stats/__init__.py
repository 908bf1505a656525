"""Statistics: pure functions on arrays and frames (no plotting, no file I/O).

Modules: ``jaccard``, ``itop``, ``never_removed``, ``cd``, ``tables``; import them directly (nothing is
imported eagerly here, so a command pays only for what it uses: ``cd`` brings in scipy).
"""
