"""Benchmarks: how close the pipeline is to the cheapest possible work per webhook (``make bench``).

Every measure runs the project side by side with its floor (or with the usual design) in the
same run, alternating the two, and reports medians and their ratio: on a noisy machine the
ratio is what holds. ``make bench`` writes benchmarks/results.json and docs/performance.md.
"""

import os

# Lambda's runtime has no awscrt; with it installed (moto and SAM CLI bring it here) botocore signs
# every request with the CRT instead of its own code, a different CPU cost on both sides of a ratio.
# Set before anything imports botocore: it reads this once, at import.
os.environ["BOTO_DISABLE_CRT"] = "true"
