"""Data side: synthetic phantoms, preprocessing (window, resample, tubularity, lungs, labels) and the cache."""
