"""warta: sentence classifiers for Indonesian news coverage."""

__version__ = "0.1.0"
