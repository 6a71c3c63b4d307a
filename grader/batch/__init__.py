"""Grading a whole class (``autograde batch``): the entries found in a folder or an LMS export, a pool of grader
processes, the gradebook they fill in, and the summary of the class."""
