// ImageIO: filled in by its issue.
