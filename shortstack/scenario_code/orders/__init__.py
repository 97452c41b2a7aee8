"""A small order service that crashes on purpose: the scenarios' application code."""
