// Schedulers: filled in by its issue.
