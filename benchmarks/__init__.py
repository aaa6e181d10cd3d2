"""Benchmarks: how close the pipeline is to the cheapest possible work per webhook (``make bench``).

Every measure runs the project side by side with its floor (or with the usual design) in the
same run, alternating the two, and reports medians and their ratio: on a noisy machine the
ratio is what holds. See docs/performance.md for the numbers of one run and what they mean.
"""
