"""Procedural memory: build, retrieve and update policies over a Qdrant procedure store.

Assembled in one place, pipeline.memory.stack.MemoryStack; the submodules are imported directly
(this package imports nothing, so reading a policy registry does not load Qdrant).
"""
