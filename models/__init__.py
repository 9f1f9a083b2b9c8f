"""Sentence classifiers: the TF-IDF baseline and the multi-head transformer."""
