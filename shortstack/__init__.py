"""shortstack: the template repository's own tooling."""
