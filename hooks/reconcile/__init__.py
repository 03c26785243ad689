"""Reconcilers: the shell's loop of observe, plan (in the core), apply, report."""
