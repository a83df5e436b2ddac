"""Orchestration rules without Ray: the task plan, the scheduler and the memory committer."""
