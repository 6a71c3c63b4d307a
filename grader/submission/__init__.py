"""A handed-in folder becomes the modules the worker imports: files found by name (misnamed ones too), notebooks
converted to modules (only definitions and what they need run), a copy prepared for the sandbox."""
