"""Operators' tools behind `dx simulate`, `dx import` and `dx dlq`; the command modules stay thin."""
