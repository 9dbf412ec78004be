"""The spatial engine: pure functions over GeoDataFrames, arrays and graphs.

Nothing here reads or writes files, talks to the network, or imports from the other folders
(``layers``, ``maps``, ``api``, ``scripts``). Criterion functions take the candidate sites and one
layer and return a :class:`pandas.Series` aligned on ``sites.index``.
"""
