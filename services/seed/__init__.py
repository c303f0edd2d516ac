"""Synthetic Swedish seed data for all four modules, written through their HTTP APIs."""
