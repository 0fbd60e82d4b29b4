// Tokenizers: filled in by its issue.
