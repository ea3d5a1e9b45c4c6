"""The lab: training loops, runs on disk, comparisons, plots and reports."""
