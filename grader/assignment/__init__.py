"""The assignment: what a submission must define and what each parameter means (the declaration read from
``packaged/NAME/assignment.toml``), the grader's vocabulary of parameter roles, how roles bind to the parameters
a student wrote, and which value each of the grader's calls passes for each role. Imports nothing heavy."""
