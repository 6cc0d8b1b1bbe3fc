"""Comparing runs: metrics over (software run, other run) pairs and their rendering."""
