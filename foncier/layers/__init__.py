"""Data in and out: canonical schemas, readers and validators, the workspace store, sources and the
built-in sample territory."""
