"""Per-chapter plumbing: each module builds its chapter's live widgets and players."""
