"""Helpers shared by tests: plan tables and plan files built with the real libraries."""
