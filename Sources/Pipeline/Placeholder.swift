// Pipeline: filled in by its issue.
