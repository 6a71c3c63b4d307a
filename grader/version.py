"""The grader's version: written into every report's environment and into the batch cache's key."""

__version__ = "0.1.0"
